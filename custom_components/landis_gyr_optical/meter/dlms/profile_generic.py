"""A COSEM Profile Generic (class 7) load profile read by range, as plain bytes and values.

The load profile of a DLMS meter (``1-0:99.1.0.255``) is a Profile Generic: its buffer
(attribute 2) holds one structure per interval, one element per capture object
(attribute 3: class, logical name, attribute, data index), the first of them the clock at
the interval's end. A range is asked for with selective access by range descriptor
(IEC 62056-6-2 4.3.6, selector 1): the clock as restricting object and from/to
date-times. The values are raw integers; each register's scaler and unit (its attribute 3)
turn them into quantities. Long answers arrive in GET blocks (``get.py``).

This module only builds the request and decodes the answer into a ``LoadProfile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..cosem import CosemError, Scaling, decode_datetime, encode_datetime, obis_from_bytes, scaled_value
from ..load_profile import Interval, LoadProfile, Season
from ..obis import ObisCode
from ..registers import Value
from .axdr import Data, DataType, array, integer, octet_string, structure
from .get import GET_REQUEST, AttributeReference
from .registers import CLASS_CLOCK, CLASS_DATA, CLASS_EXTENDED_REGISTER, CLASS_REGISTER, CLOCK, DlmsError

CLASS_PROFILE_GENERIC = 7
LOAD_PROFILE = ObisCode.parse("1-0:99.1.0")
"""Load profile 1 of electricity meters."""
BUFFER = 2
CAPTURE_OBJECTS = 3
CAPTURE_PERIOD = 4
RANGE_DESCRIPTOR = 1
_DAYLIGHT_SAVING = 0x80
"""Clock status bit: daylight saving time is active (IEC 62056-6-2 4.1.6.1)."""
_STATUS_C = ("96", "97")
"""Value group C of status words captured beside the values (``0.0.96.10.1`` AMR status)."""


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """One column of the buffer."""

    class_id: int
    obis: ObisCode
    attribute: int
    data_index: int = 0

    @property
    def is_clock(self) -> bool:
        """Whether the column is the interval's time stamp."""
        return self.class_id == CLASS_CLOCK or (self.obis == CLOCK and self.attribute == 2)

    @property
    def is_status(self) -> bool:
        """Whether the column is a status word (kept as hex, not a quantity)."""
        return self.class_id == CLASS_DATA and self.obis.c in _STATUS_C


def encode_range_request(
    start: datetime, end: datetime, *, profile: ObisCode = LOAD_PROFILE, invoke_id: int = 1
) -> bytes:
    """GET.request-normal of the buffer with selective access by range (clock from/to)."""
    restricting = structure(
        integer(DataType.LONG_UNSIGNED, CLASS_CLOCK),
        octet_string(bytes([0, 0, 1, 0, 0, 255])),
        integer(DataType.INTEGER, 2),
        integer(DataType.LONG_UNSIGNED, 0),
    )
    parameters = structure(
        restricting, octet_string(encode_datetime(start)), octet_string(encode_datetime(end)), array()
    )
    reference = AttributeReference(CLASS_PROFILE_GENERIC, profile, BUFFER)
    return (
        bytes([GET_REQUEST, 0x01, 0xC0 | (invoke_id & 0x0F)])
        + reference.encode()
        + bytes([0x01, RANGE_DESCRIPTOR])
        + parameters.encode()
    )


def capture_objects(data: Data) -> tuple[CaptureObject, ...]:
    """Decode attribute 3: an array of ``{class, logical name, attribute, data index}``."""
    if data.type is not DataType.ARRAY:
        raise DlmsError(f"capture objects must be an array, not {data.type.name}")
    found: list[CaptureObject] = []
    for item in data.items:
        fields = item.items
        if (
            item.type is not DataType.STRUCTURE
            or len(fields) != 4
            or not isinstance(fields[0].value, int)
            or not isinstance(fields[1].value, bytes)
            or not isinstance(fields[2].value, int)
            or not isinstance(fields[3].value, int)
        ):
            raise DlmsError(f"malformed capture object {item!r}")
        found.append(
            CaptureObject(fields[0].value, obis_from_bytes(fields[1].value), fields[2].value, fields[3].value)
        )
    if not found or not found[0].is_clock:
        raise DlmsError("the profile's first capture object is not its clock")
    return tuple(found)


def decode_buffer(
    buffer: Data,
    columns: tuple[CaptureObject, ...],
    scalers: dict[ObisCode, Scaling],
    *,
    period: int,
) -> LoadProfile:
    """Turn the buffer into intervals; ``period`` is the capture period (attribute 4) in seconds.

    A row whose clock is not specified continues the previous one by one period (meters
    compress the time stamps of consecutive rows that way); a register column without a
    known scaler is an error rather than an unscaled number.
    """
    if buffer.type is not DataType.ARRAY:
        raise DlmsError(f"a profile buffer is an array, not {buffer.type.name}")
    if period <= 0:
        raise DlmsError(f"capture period of {period} s")
    intervals: list[Interval] = []
    previous: datetime | None = None
    for row in buffer.items:
        cells = row.items
        if row.type is not DataType.STRUCTURE or len(cells) != len(columns):
            raise DlmsError(f"a buffer row has {len(cells)} values for {len(columns)} capture objects")
        end, season = _clock(cells[0], previous, period)
        previous = end
        status = "00"
        values: dict[ObisCode, Value] = {}
        for column, cell in zip(columns[1:], cells[1:], strict=True):
            if column.is_status:
                status = _status(cell)
            elif column.class_id in (CLASS_REGISTER, CLASS_EXTENDED_REGISTER) and column.attribute == 2:
                values[column.obis] = _quantity(column, cell, scalers)
        intervals.append(Interval(end=end, period=period, status=status, values=values, season=season))
    return LoadProfile(tuple(intervals))


def _clock(cell: Data, previous: datetime | None, period: int) -> tuple[datetime, Season | None]:
    if cell.type is DataType.NULL or (isinstance(cell.value, bytes) and decode_datetime(cell.value) is None):
        if previous is None:
            raise DlmsError("the first row of the profile has no time stamp")
        return previous + timedelta(seconds=period), None
    if not isinstance(cell.value, bytes):
        raise DlmsError(f"a profile time stamp must be a date-time octet string, not {cell.type.name}")
    moment = decode_datetime(cell.value)
    assert moment is not None
    season = Season.SUMMER if cell.value[11] & _DAYLIGHT_SAVING else Season.NORMAL
    return moment.replace(tzinfo=None), season


def _status(cell: Data) -> str:
    if isinstance(cell.value, int) and not isinstance(cell.value, bool):
        return f"{cell.value:02X}"
    if isinstance(cell.value, bytes):
        return cell.value.hex().upper() or "00"
    raise DlmsError(f"a status word must be an integer or bit string, not {cell.type.name}")


def _quantity(column: CaptureObject, cell: Data, scalers: dict[ObisCode, Scaling]) -> Value:
    if cell.type is DataType.NULL:
        return Value(None, None)
    number = cell.value
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        raise DlmsError(f"{column.obis} carries {cell.type.name}, not a number")
    scaling = scalers.get(column.obis)
    if scaling is None:
        raise DlmsError(f"no scaler and unit known for {column.obis}")
    try:
        return scaled_value(number, scaling)
    except CosemError as err:
        raise DlmsError(f"{column.obis}: {err}") from err


__all__ = [
    "CLASS_PROFILE_GENERIC",
    "LOAD_PROFILE",
    "CaptureObject",
    "capture_objects",
    "decode_buffer",
    "encode_range_request",
]
