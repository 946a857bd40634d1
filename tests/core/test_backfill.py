"""Hourly rows from a load profile: exact per hour, gaps empty, joining the confirmed total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from custom_components.landis_gyr_optical.meter.backfill import (
    Anchor,
    history_anchor,
    hourly_backfill,
    to_utc,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.profile import parse_profile
from custom_components.landis_gyr_optical.meter.load_profile import LoadProfile, Season
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.simulator.recording import Recording

LISBON = ZoneInfo("Europe/Lisbon")
BERLIN = ZoneInfo("Europe/Berlin")
DEMAND = ObisCode.parse("1.5.0")
NOW = datetime(2026, 11, 30, 12, 20)
OUTAGE = (datetime(2026, 11, 30, 5, 10), datetime(2026, 11, 30, 7, 40))
RECORDING = Recording(start=datetime(2026, 11, 29, 0, 15), outages=(OUTAGE,), clock=lambda: NOW)


def truth(start: datetime, end: datetime) -> Decimal:
    """Energy the simulated meter consumed in the intervals ending in ``(start, end]`` (meter clock)."""
    return sum((RECORDING.energy(moment) for moment in RECORDING.ends(end) if moment > start), Decimal(0))


def read_back() -> LoadProfile:
    """The profile as the meter answers it, parsed."""
    return parse_profile(RECORDING.render(datetime(2026, 11, 30, 0, 0), None))


def test_filled_hours_hold_the_meter_consumption() -> None:
    """Down from 02:xx to 12:20: hours 03:00-11:00 filled, each exactly the profile's energy."""
    anchor = Anchor(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), Decimal("1000.000"), Decimal("50.000"))
    confirmed = Decimal("1000.000") + truth(datetime(2026, 11, 30, 2, 40), NOW)
    result = hourly_backfill(
        read_back(), DEMAND, anchor=anchor, confirmed_total=confirmed,
        confirmed_at=datetime(2026, 11, 30, 12, 20, tzinfo=UTC), zone=LISBON,
    )  # fmt: skip
    assert result.hours_missing == 9
    assert result.hours_filled == 9
    assert result.coverage == 1.0
    for row in result.rows:
        local = row.start.replace(tzinfo=None)
        assert row.energy == truth(local, local + timedelta(hours=1)), row
    # The power failure: no energy recorded in hours 06:00 and 07:00 except what was before/after it.
    energies = {row.start.hour: row.energy for row in result.rows}
    assert energies[6] == 0
    assert energies[5] == truth(datetime(2026, 11, 30, 5), datetime(2026, 11, 30, 5, 10))
    states = [row.state for row in result.rows]
    assert states == sorted(states)
    assert states[-1] <= confirmed
    assert [row.sum - row.state for row in result.rows] == [Decimal("-950.000")] * 9
    assert result.energy_filled == states[-1] - anchor.state
    # What the profile cannot place (02:40-03:00 is placed; 12:00-12:20 is not) stays with the reading's hour.
    assert confirmed - states[-1] == truth(datetime(2026, 11, 30, 2, 40), datetime(2026, 11, 30, 3)) + truth(
        datetime(2026, 11, 30, 12), NOW
    )


def test_never_past_the_confirmed_total() -> None:
    """A profile that adds up to more than the total grew is cut at the confirmed total."""
    anchor = Anchor(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), Decimal(1000), Decimal(0))
    result = hourly_backfill(
        read_back(), DEMAND, anchor=anchor, confirmed_total=Decimal(1001),
        confirmed_at=datetime(2026, 11, 30, 12, 20, tzinfo=UTC), zone=LISBON,
    )  # fmt: skip
    assert result.rows[-1].state == Decimal(1001)
    assert all(row.energy >= 0 for row in result.rows)
    # A total that went backwards (a glitch) fills nothing above the anchor.
    backwards = hourly_backfill(
        read_back(), DEMAND, anchor=anchor, confirmed_total=Decimal(999),
        confirmed_at=datetime(2026, 11, 30, 12, 20, tzinfo=UTC), zone=LISBON,
    )  # fmt: skip
    assert {row.state for row in backwards.rows} == {Decimal(1000)}


def test_time_zone_and_clock_offset() -> None:
    """A Berlin meter (UTC+1) whose clock runs 5 minutes ahead: hours shift into true UTC."""
    anchor = Anchor(datetime(2026, 11, 30, 1, 0, tzinfo=UTC), Decimal(0), Decimal(0))
    result = hourly_backfill(
        read_back(), DEMAND, anchor=anchor, confirmed_total=Decimal(100),
        confirmed_at=datetime(2026, 11, 30, 11, 0, tzinfo=UTC), zone=BERLIN, clock_offset=timedelta(minutes=5),
    )  # fmt: skip
    first = result.rows[0]
    assert first.start == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    # True 02:00-03:00 UTC is 03:00-04:00 Berlin, meter clock 03:05-04:05: two thirds of the
    # interval ending 03:15, the three ending 03:30 .. 04:00, a third of the one ending 04:15.
    expected = (
        RECORDING.energy(datetime(2026, 11, 30, 3, 15)) * 2 / 3
        + truth(datetime(2026, 11, 30, 3, 15), datetime(2026, 11, 30, 4, 0))
        + RECORDING.energy(datetime(2026, 11, 30, 4, 15)) / 3
    )
    assert abs(first.energy - expected) < Decimal("1e-20")
    assert to_utc(datetime(2026, 11, 30, 3, 5), None, BERLIN, timedelta(minutes=5)) == datetime(
        2026, 11, 30, 2, 0, tzinfo=UTC
    )


def test_season_flags_resolve_the_repeated_hour() -> None:
    """On 2026-10-25 02:30 happens twice in Berlin: the summer flag is the first, UTC+2."""
    moment = datetime(2026, 10, 25, 2, 30)
    assert to_utc(moment, Season.SUMMER, BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert to_utc(moment, Season.NORMAL, BERLIN) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert to_utc(moment, Season.UTC, BERLIN) == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)


def test_nothing_to_fill() -> None:
    """No missing hour, a profile that starts too late, or no usable channel: no rows."""
    anchor = Anchor(datetime(2026, 11, 30, 11, 0, tzinfo=UTC), Decimal(0), Decimal(0))
    at = datetime(2026, 11, 30, 12, 20, tzinfo=UTC)
    assert (
        hourly_backfill(
            read_back(), DEMAND, anchor=anchor, confirmed_total=Decimal(1), confirmed_at=at, zone=UTC
        ).rows
        == ()
    )
    early = Anchor(datetime(2026, 11, 29, 20, 0, tzinfo=UTC), Decimal(0), Decimal(0))
    late = hourly_backfill(
        read_back(), DEMAND, anchor=early, confirmed_total=Decimal(99), confirmed_at=at, zone=UTC
    )
    assert late.rows == ()
    assert late.hours_missing == 15
    assert late.coverage == 0
    other = hourly_backfill(
        read_back(),
        ObisCode.parse("3.5.0"),
        anchor=anchor,
        confirmed_total=Decimal(1),
        confirmed_at=at,
        zone=UTC,
    )
    assert other.energy_filled == 0
    assert (
        hourly_backfill(
            LoadProfile(()), DEMAND, anchor=early, confirmed_total=Decimal(1), confirmed_at=at, zone=UTC
        ).coverage
        == 0
    )
    with pytest.raises(ValueError, match="time zone"):
        hourly_backfill(
            read_back(), DEMAND, anchor=Anchor(datetime(2026, 11, 30), Decimal(0), Decimal(0)),
            confirmed_total=Decimal(1), confirmed_at=at, zone=UTC,
        )  # fmt: skip


def test_negative_and_empty_values_are_left_out() -> None:
    """A corrupted negative interval or an empty value adds nothing."""
    profile = parse_profile(
        "P.01(2611300115)(00)(15)(1)(1.5.0)(kW)\r\n(-4.000)\r\n()\r\n(4.000)\r\n(4.000)\r\n"
    )
    anchor = Anchor(datetime(2026, 11, 30, 0, 0, tzinfo=UTC), Decimal(0), Decimal(0))
    result = hourly_backfill(
        profile, DEMAND, anchor=anchor, confirmed_total=Decimal(10),
        confirmed_at=datetime(2026, 11, 30, 3, 0, tzinfo=UTC), zone=UTC,
    )  # fmt: skip
    assert [row.energy for row in result.rows] == [Decimal(2)]


def test_history_import_ends_at_zero_sum() -> None:
    """A new meter: the stored history ends at the first reading's total, its sum at zero."""
    at = datetime(2026, 11, 30, 12, 20, tzinfo=UTC)
    total = Decimal("5000.000")
    profile = read_back()
    anchor = history_anchor(profile, DEMAND, confirmed_total=total, confirmed_at=at, zone=UTC)
    assert anchor is not None
    assert anchor.hour == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    result = hourly_backfill(profile, DEMAND, anchor=anchor, confirmed_total=total, confirmed_at=at, zone=UTC)
    assert result.hours_filled == 12
    assert result.rows[-1].state == total - truth(datetime(2026, 11, 30, 12), NOW)
    assert result.rows[-1].sum == result.rows[-1].state - total
    assert all(row.sum <= 0 for row in result.rows)
    # A profile that starts mid-hour begins with the next whole hour.
    late = parse_profile(
        "P.01(2611300030)(00)(15)(1)(1.5.0)(kW)\r\n(4.000)\r\n(4.000)\r\n(4.000)\r\n(4.000)\r\n"
    )
    anchor = history_anchor(late, DEMAND, confirmed_total=Decimal(3), confirmed_at=at, zone=UTC)
    assert anchor == Anchor(datetime(2026, 11, 30, 0, 0, tzinfo=UTC), Decimal(2), Decimal(-1))
    assert history_anchor(LoadProfile(()), DEMAND, confirmed_total=total, confirmed_at=at, zone=UTC) is None
