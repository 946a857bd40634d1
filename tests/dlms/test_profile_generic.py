"""The Profile Generic load profile: the range request and the buffer, as bytes and values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.cosem import Scaling, encode_datetime, obis_to_bytes
from custom_components.landis_gyr_optical.meter.dlms.axdr import (
    Data,
    DataType,
    array,
    decode_all,
    integer,
    octet_string,
    structure,
)
from custom_components.landis_gyr_optical.meter.dlms.profile_generic import (
    CaptureObject,
    capture_objects,
    decode_buffer,
    encode_range_request,
)
from custom_components.landis_gyr_optical.meter.dlms.registers import DlmsError
from custom_components.landis_gyr_optical.meter.load_profile import Season
from custom_components.landis_gyr_optical.meter.obis import ObisCode

CLOCK = ObisCode.parse("0-0:1.0.0")
STATUS = ObisCode.parse("0-0:96.10.1")
IMPORT = ObisCode.parse("1-0:1.8.0")
DEMAND = ObisCode.parse("1-0:1.5.0")
SCALERS = {IMPORT: Scaling(0, 30), DEMAND: Scaling(-3, 27)}
"""Import energy in Wh (scaler 0), demand in W with three decimals, as the meter reports them."""


def column(class_id: int, obis: ObisCode, attribute: int = 2) -> Data:
    """A capture object as the meter encodes it."""
    return structure(
        integer(DataType.LONG_UNSIGNED, class_id),
        octet_string(obis_to_bytes(obis)),
        integer(DataType.INTEGER, attribute),
        integer(DataType.LONG_UNSIGNED, 0),
    )


COLUMNS = array(column(8, CLOCK), column(1, STATUS), column(3, IMPORT), column(3, DEMAND))


def row(moment: datetime | None, status: int, energy: int, demand: int, *, dst: bool = False) -> Data:
    """One buffer entry; ``None`` leaves the time stamp unspecified."""
    stamp = (
        Data(DataType.NULL)
        if moment is None
        else octet_string(encode_datetime(moment, status=0x80 if dst else 0))
    )
    return structure(
        stamp,
        integer(DataType.UNSIGNED, status),
        integer(DataType.DOUBLE_LONG_UNSIGNED, energy),
        integer(DataType.DOUBLE_LONG, demand),
    )


def test_range_request_bytes() -> None:
    """GET.request-normal, class 7 1-0:99.1.0.255 attribute 2, access selector 1 with clock and range."""
    start, end = datetime(2026, 11, 30, 0, 0), datetime(2026, 11, 30, 6, 0)
    request = encode_range_request(start, end)
    assert request[:14] == bytes.fromhex("C001C1 0007 0100630100FF 02 01 01".replace(" ", ""))
    parameters = decode_all(request[14:])
    restricting, first, last, selected = parameters.items
    assert [item.value for item in restricting.items] == [8, bytes.fromhex("0000010000FF"), 2, 0]
    assert first.value == encode_datetime(start)
    assert last.value == encode_datetime(end)
    assert selected == array()


def test_buffer_becomes_intervals() -> None:
    """Energy in Wh becomes kWh, demand in W keeps its scaler; status words stay hex; DST is the season."""
    columns = capture_objects(COLUMNS)
    assert columns[0] == CaptureObject(8, CLOCK, 2, 0)
    assert columns[0].is_clock and columns[1].is_status
    buffer = array(
        row(datetime(2026, 7, 1, 0, 15), 0, 1_234_567, 1_167_000, dst=True),
        row(None, 0x80, 1_234_859, 980_000),
        row(datetime(2026, 7, 1, 3, 0), 0x04, 1_235_000, 400_000, dst=True),
    )
    profile = decode_buffer(buffer, columns, SCALERS, period=900)
    first, second, third = profile.intervals
    assert first.end == datetime(2026, 7, 1, 0, 15)
    assert first.season is Season.SUMMER
    assert first.values[IMPORT].value == Decimal("1234.567")
    assert first.values[IMPORT].unit == "kWh"
    assert first.values[DEMAND].value == Decimal("1167.000")
    assert first.values[DEMAND].unit == "W"
    assert second.end == datetime(2026, 7, 1, 0, 30)
    assert second.status == "80"
    assert third.status == "04"
    assert profile.gaps() == [(datetime(2026, 7, 1, 0, 30), datetime(2026, 7, 1, 2, 45))]
    assert first.energy(DEMAND) == Decimal("0.29175")


def test_aware_time_stamps_keep_the_meter_clock() -> None:
    """A deviation in the time stamp is dropped: intervals carry the meter's own clock and season."""
    stamp = encode_datetime(datetime(2026, 1, 5, 10, 0).astimezone())
    buffer = array(
        structure(
            octet_string(stamp),
            integer(DataType.UNSIGNED, 0),
            integer(DataType.DOUBLE_LONG_UNSIGNED, 5),
            Data(DataType.NULL),
        )
    )
    profile = decode_buffer(buffer, capture_objects(COLUMNS), SCALERS, period=900)
    assert profile.intervals[0].end.tzinfo is None
    assert profile.intervals[0].season is Season.NORMAL
    assert profile.intervals[0].values[DEMAND].value is None
    bits = array(
        structure(
            octet_string(stamp),
            Data(DataType.BIT_STRING, b"\x12"),
            integer(DataType.DOUBLE_LONG_UNSIGNED, 5),
            integer(DataType.DOUBLE_LONG, 1),
        )
    )
    assert decode_buffer(bits, capture_objects(COLUMNS), SCALERS, period=900).intervals[0].status == "12"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (Data(DataType.STRUCTURE, ()), "must be an array"),
        (array(structure(integer(DataType.LONG_UNSIGNED, 3))), "malformed capture object"),
        (array(column(3, IMPORT)), "first capture object is not its clock"),
    ],
)
def test_bad_capture_objects(columns: Data, message: str) -> None:
    """Capture objects the decoder cannot place are typed errors."""
    with pytest.raises(DlmsError, match=message):
        capture_objects(columns)


@pytest.mark.parametrize(
    ("buffer", "scalers", "period", "message"),
    [
        (structure(), SCALERS, 900, "is an array"),
        (array(row(datetime(2026, 1, 1), 0, 1, 1)), SCALERS, 0, "capture period"),
        (array(structure(octet_string(b"x" * 12))), SCALERS, 900, "has 1 values for 4"),
        (array(row(None, 0, 1, 1)), SCALERS, 900, "first row of the profile has no time stamp"),
        (
            array(
                structure(
                    integer(DataType.UNSIGNED, 1),
                    integer(DataType.UNSIGNED, 0),
                    integer(DataType.DOUBLE_LONG, 1),
                    integer(DataType.DOUBLE_LONG, 1),
                )
            ),
            SCALERS,
            900,
            "must be a date-time octet string",
        ),
        (
            array(
                structure(
                    octet_string(encode_datetime(datetime(2026, 1, 1))),
                    Data(DataType.BOOLEAN, True),
                    integer(DataType.DOUBLE_LONG, 1),
                    integer(DataType.DOUBLE_LONG, 1),
                )
            ),
            SCALERS,
            900,
            "status word",
        ),
        (
            array(
                structure(
                    octet_string(encode_datetime(datetime(2026, 1, 1))),
                    integer(DataType.UNSIGNED, 0),
                    Data(DataType.VISIBLE_STRING, b"1"),
                    integer(DataType.DOUBLE_LONG, 1),
                )
            ),
            SCALERS,
            900,
            "not a number",
        ),
        (
            array(row(datetime(2026, 1, 1), 0, 1, 1)),
            {IMPORT: Scaling(0, 30)},
            900,
            "no scaler and unit known",
        ),
        (
            array(row(datetime(2026, 1, 1), 0, 1, 1)),
            {**SCALERS, IMPORT: Scaling(300, 30)},
            900,
            "out of range",
        ),
    ],
)
def test_bad_buffers(buffer: Data, scalers: dict[ObisCode, Scaling], period: int, message: str) -> None:
    """Rows the decoder cannot trust are typed errors, never unscaled numbers."""
    with pytest.raises(DlmsError, match=message):
        decode_buffer(buffer, capture_objects(COLUMNS), scalers, period=period)
