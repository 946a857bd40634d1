"""The ``P.01`` load profile parser and the shared load profile model."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.errors import ProfileUnavailableError, ProtocolError
from custom_components.landis_gyr_optical.meter.iec62056_21.profile import (
    format_time,
    parse_profile,
    parse_time,
    profile_request,
)
from custom_components.landis_gyr_optical.meter.load_profile import Interval, Season
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.registers import Value

IMPORT = ObisCode.parse("1.5.0")
EXPORT = ObisCode.parse("2.5.0")

# Captured answers of an EMH and a Metcom meter, as published in the tests of a public
# IEC 62056-21 parser (the values and time stamps are the meters', not ours).
EMH = (
    "P.01(1220823161500)(00000000)(15)(6)(1.5)(kW)(2.5)(kW)(5.5)(kvar)(6.5)(kvar)(7.5)(kvar)(8.5)(kvar)\r\n"
    "(0.18374)(0.00078)(0.00000)(0.00006)(0.00087)(0.02431)\r\n"
    "(0.16832)(0.00000)(0.00000)(0.00000)(0.00000)(0.02686)"
)
METCOM = (
    "P.01(1220823150000)(08)(15)(6)(1-0:1.5.0)(kW)(1-0:2.5.0)(kW)(1-0:5.5.0)(kvar)(1-0:6.5.0)(kvar)"
    "(1-0:7.5.0)(kvar)(1-0:8.5.0)(kvar)\r\n"
    "(0.00000)(0.12683)(0.00000)(0.11411)(0.00000)(0.00000)\r\n"
    "(0.00028)(0.06188)(0.00059)(0.07409)(0.00000)(0.00000)\r\n"
    "(0.00000)(0.11250)(0.00000)(0.11677)(0.00000)(0.00000)\r\n"
    "(0.00006)(0.04656)(0.00082)(0.09270)(0.00000)(0.00000)\r\n"
)
EMH_ENERGY = (
    "P.01(1221005001500)(00000000)(15)(8)(1-1:1.29)(kWh)(1-1:2.29)(kWh)(1-1:5.29)(kvarh)(1-1:6.29)(kvarh)"
    "(1-1:7.29)(kvarh)(1-1:8.29)(kvarh)(1-2:1.29)(kWh)(1-3:2.29)(kWh)\r\n"
    "(0.00000)(0.04088)(0.00000)(0.00358)(0.00000)(0.00000)(0.00000)(0.00000)\r\n"
    "(0.00000)(0.03964)(0.00000)(0.00350)(0.00000)(0.00000)(0.00000)(0.00000)\r\n"
)
# An L+G block pair: 15-minute demand, a power failure between 10:00 and 10:45.
LGZ = (
    "P.01(2611300015)(00)(15)(2)(1.5.0)(kW)(2.5.0)(kW)\r\n"
    "(1.167)(0.000)\r\n"
    "(0.980)(0.000)\r\n"
    "P.01(2611301100)(80)(15)(2)(1.5.0)(kW)(2.5.0)(kW)\r\n"
    "(0.400)(0.012)\r\n"
)


def test_emh_capture() -> None:
    """13-digit time stamps with the season digit, an 8-digit status, short codes."""
    profile = parse_profile(EMH)
    assert len(profile) == 2
    first, second = profile.intervals
    assert first.end == datetime(2022, 8, 23, 16, 15)
    assert first.season is Season.SUMMER
    assert first.status == "00000000"
    assert first.period == 900
    assert second.end == datetime(2022, 8, 23, 16, 30)
    assert first.values[IMPORT] == Value(Decimal("0.18374"), "kW")
    assert second.values[ObisCode.parse("8.5.0")] == Value(Decimal("0.02686"), "kvar")


def test_metcom_capture() -> None:
    """Full OBIS codes, a 2-digit status kept as printed, four lines one block."""
    profile = parse_profile(METCOM.encode("ascii"))
    assert [interval.end.strftime("%H:%M") for interval in profile] == ["15:00", "15:15", "15:30", "15:45"]
    assert {interval.status for interval in profile} == {"08"}
    assert profile.channels[:2] == (IMPORT, EXPORT)
    assert profile.intervals[3].values[EXPORT].value == Decimal("0.04656")
    assert profile.gaps() == []


def test_energy_channels_are_used_as_they_are() -> None:
    """An energy profile (kWh per interval) is not integrated again."""
    profile = parse_profile(EMH_ENERGY)
    code = ObisCode.parse("1-1:2.29")
    assert profile.intervals[0].energy(code) == Decimal("0.04088")
    assert profile.intervals[1].values[ObisCode.parse("1-3:2.29")].unit == "kWh"


def test_power_failure_gap_stays_a_gap() -> None:
    """A new block after a power failure: no intervals are made up for the outage."""
    profile = parse_profile(LGZ)
    assert [interval.end for interval in profile] == [
        datetime(2026, 11, 30, 0, 15),
        datetime(2026, 11, 30, 0, 30),
        datetime(2026, 11, 30, 11, 0),
    ]
    assert profile.gaps() == [(datetime(2026, 11, 30, 0, 30), datetime(2026, 11, 30, 10, 45))]
    assert profile.intervals[2].status == "80"
    assert profile.intervals[0].season is None


def test_demand_is_integrated_over_its_period() -> None:
    """1.167 kW over 15 minutes is 0.29175 kWh; units in W and MW scale."""
    profile = parse_profile(LGZ)
    assert profile.intervals[0].energy(IMPORT) == Decimal("0.29175")
    values = {
        "W": Value(Decimal(1000), "W"),
        "Wh": Value(Decimal(500), "Wh"),
        "MWh": Value(Decimal("0.001"), "MWh"),
        "MW": Value(Decimal("0.001"), "MW"),
        "kvar": Value(Decimal(1), "kvar"),
        "none": Value(None, "kW"),
    }
    interval = Interval(
        end=datetime(2026, 1, 1, 1),
        period=3600,
        status="00",
        values={ObisCode.parse(f"{i}.5.0"): v for i, v in enumerate(values.values(), 1)},
    )
    assert [interval.energy(ObisCode.parse(f"{i}.5.0")) for i in range(1, 8)] == [
        Decimal(1),
        Decimal("0.5"),
        Decimal(1),
        Decimal(1),
        None,
        None,
        None,
    ]
    assert interval.start == datetime(2026, 1, 1, 0)


def test_between_keeps_whole_intervals_inside_the_range() -> None:
    """``between`` keeps an interval only when both its start and its end are in the range."""
    profile = parse_profile(LGZ)
    kept = profile.between(datetime(2026, 11, 30, 0, 10), datetime(2026, 11, 30, 11, 0))
    assert [interval.end.minute for interval in kept] == [30, 0]
    assert len(profile.between(None, datetime(2026, 11, 30, 0, 15))) == 1


def test_partial_block_read_starts_mid_block() -> None:
    """A range read starting inside a block: the meter's header names the first interval asked for."""
    profile = parse_profile("P.01(2611300030)(00)(15)(2)(1.5.0)(kW)(2.5.0)(kW)\r\n(0.980)(0.000)\r\n")
    assert profile.intervals[0].end == datetime(2026, 11, 30, 0, 30)


def test_empty_answers_are_an_empty_profile() -> None:
    """No intervals in the range is not an error."""
    assert len(parse_profile("")) == 0
    assert len(parse_profile("P.01()\r\n")) == 0
    assert len(parse_profile("()")) == 0


@pytest.mark.parametrize("answer", ["(ERROR)", "P.01(ERROR)", "(ER12)"])
def test_error_answer_means_no_profile(answer: str) -> None:
    """The meter answers an error data set when it keeps no profile."""
    with pytest.raises(ProfileUnavailableError, match="answered the load profile request"):
        parse_profile(answer)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(0.1)(0.2)", "before any P.01 header"),
        ("P.01(2611300015)(00)(15)", "too short"),
        ("P.01(2611300015)(0G)(15)(1)(1.5.0)(kW)", "not hexadecimal"),
        ("P.01(2611300015)(00)(xx)(1)(1.5.0)(kW)", "not a number"),
        ("P.01(2611300015)(00)(0)(1)(1.5.0)(kW)", "period of 0 minutes"),
        ("P.01(2611300015)(00)(15)(2)(1.5.0)(kW)", "announces 2 channels"),
        ("P.01(2611300015)(00)(15)(1)(1.5.0)(kW)\r\n(0.1)(0.2)", "has 2 values"),
        ("P.01(2611300015)(00)(15)(1)(1.5.0)(kW)\r\n(abc)", "is not a number"),
        ("P.01(2611300015)(00)(15)(1)(1.5.0)(kW)\r\n0.1", "not a list of bracketed fields"),
        ("P.01(2613300015)(00)(15)(1)(1.5.0)(kW)", "not a valid date"),
        ("P.01(26113000)(00)(15)(1)(1.5.0)(kW)", "not a load profile time stamp"),
        ("P.01(2611300015)(00)(15)(1)(1.x.0)(kW)", "not an OBIS code"),
    ],
)
def test_malformed_answers_raise_typed_errors(text: str, message: str) -> None:
    """Every malformed line is a ``ProtocolError`` naming what is wrong."""
    with pytest.raises(ProtocolError, match=message):
        parse_profile(text)


def test_empty_value_is_kept_empty() -> None:
    """An empty value (the meter has none for the interval) is not made a zero."""
    profile = parse_profile("P.01(2611300015)(00)(15)(1)(1.5.0)(kW)\r\n()\r\n")
    assert profile.intervals[0].values[IMPORT] == Value(None, "kW")
    assert profile.intervals[0].energy(IMPORT) is None


def test_time_stamps_and_requests() -> None:
    """Time stamps with and without season digit and seconds; the request data set."""
    assert parse_time("2611300015") == (datetime(2026, 11, 30, 0, 15), None)
    assert parse_time("02611300015") == (datetime(2026, 11, 30, 0, 15), Season.NORMAL)
    assert parse_time("261130001530") == (datetime(2026, 11, 30, 0, 15, 30), None)
    assert parse_time("2261130001530") == (datetime(2026, 11, 30, 0, 15, 30), Season.UTC)
    moment = datetime(2026, 11, 30, 0, 15)
    assert format_time(moment) == "2611300015"
    assert format_time(moment, Season.SUMMER) == "12611300015"
    assert profile_request(moment, None) == "P.01(2611300015;)"
    assert profile_request(None, None) == "P.01(;)"
    assert profile_request(moment, moment, Season.NORMAL) == "P.01(02611300015;02611300015)"
