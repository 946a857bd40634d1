"""The M-Bus application layer (EN 13757-3): an RSP_UD answer with variable data structure.

A long frame's body is ``C A CI`` and, for CI ``0x72``, the fixed header (identification
number, manufacturer, version, medium, access number, status, signature) followed by data
records. Each record is a DIF (data field coding, function, storage number bit), DIFEs
(storage number, tariff, subunit), a VIF (what the value is, with its decimal exponent),
VIFEs, and the value: binary integers (two's complement), BCD (a leading ``F`` digit means
negative), dates of type G and date-times of type F. Records with a VIF or VIFE this
decoder does not know are kept with ``quantity`` ``None`` and are never given a meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from .frames import MbusError, long_frame_body

RSP_UD_CONTROLS: Final = frozenset({0x08, 0x18, 0x28, 0x38})
"""C fields of RSP_UD (FCB and ACD bits either way)."""
CI_VARIABLE_LONG: Final = 0x72
"""CI of a variable data structure with the long header, least significant byte first."""
_FIXED_HEADER: Final = 12
_MANUFACTURER_DATA: Final = 0x0F
_MORE_RECORDS: Final = 0x1F
_IDLE_FILLER: Final = 0x2F
_EXTENSION: Final = 0x80


class Function(StrEnum):
    """The function field of a DIF."""

    INSTANTANEOUS = "instantaneous"
    MAXIMUM = "maximum"
    MINIMUM = "minimum"
    ERROR_STATE = "error_state"


_FUNCTIONS: Final = (Function.INSTANTANEOUS, Function.MAXIMUM, Function.MINIMUM, Function.ERROR_STATE)


class Quantity(StrEnum):
    """What a record measures, from its VIF."""

    ENERGY = "energy"
    VOLUME = "volume"
    MASS = "mass"
    ON_TIME = "on_time"
    OPERATING_TIME = "operating_time"
    POWER = "power"
    VOLUME_FLOW = "volume_flow"
    MASS_FLOW = "mass_flow"
    FLOW_TEMPERATURE = "flow_temperature"
    RETURN_TEMPERATURE = "return_temperature"
    TEMPERATURE_DIFFERENCE = "temperature_difference"
    EXTERNAL_TEMPERATURE = "external_temperature"
    PRESSURE = "pressure"
    DATE = "date"
    DATE_TIME = "date_time"
    AVERAGING_DURATION = "averaging_duration"
    ACTUALITY_DURATION = "actuality_duration"
    FABRICATION_NUMBER = "fabrication_number"
    BUS_ADDRESS = "bus_address"
    ERROR_FLAGS = "error_flags"


@dataclass(frozen=True, slots=True)
class Header:
    """The fixed part of a variable data structure."""

    identification: str
    """The identification number, eight BCD digits as printed on the meter."""
    manufacturer: str
    """The three letters of the manufacturer code (EN 13757-3 / FLAG)."""
    version: int
    medium: int
    """The device type (``0x04`` heat outlet, ``0x0C`` heat inlet, ...)."""
    access_number: int
    status: int
    signature: int


Number = Decimal | date | datetime | int


@dataclass(frozen=True, slots=True)
class Record:
    """One data record, its value scaled into ``unit``."""

    quantity: Quantity | None
    """``None`` for a VIF or VIFE without a meaning here (the value is then the raw integer)."""
    value: Number | None
    """``None`` where the meter's BCD digits are not digits (an error or filler value)."""
    unit: str | None
    function: Function
    storage: int
    tariff: int
    subunit: int
    dif: bytes
    vif: bytes


@dataclass(frozen=True, slots=True)
class Telegram:
    """A decoded RSP_UD: the header, its records, and the manufacturer-specific tail."""

    header: Header
    records: tuple[Record, ...]
    manufacturer_data: bytes = b""
    more_records: bool = False


def manufacturer_code(value: int) -> str:
    """Return the three letters of a 15-bit manufacturer field (``0x32A7`` → ``LUG``)."""
    letters = [(value >> shift) & 0x1F for shift in (10, 5, 0)]
    if value > 0x7FFF or not all(1 <= letter <= 26 for letter in letters):
        raise MbusError(f"M-Bus manufacturer field 0x{value:04X} is no three-letter code")
    return "".join(chr(64 + letter) for letter in letters)


def _bcd(data: bytes) -> int | None:
    digits = data[::-1].hex()
    negative = digits[0] == "f"
    if negative:
        digits = digits[1:]
    if not digits.isdigit():
        return None
    number = int(digits or "0")
    return -number if negative else number


def _integer(data: bytes) -> int:
    return int.from_bytes(data, "little", signed=True)


_LENGTHS: Final = {0x0: 0, 0x1: 1, 0x2: 2, 0x3: 3, 0x4: 4, 0x5: 4, 0x6: 6, 0x7: 8, 0x8: 0}
_BCD_LENGTHS: Final = {0x9: 1, 0xA: 2, 0xB: 3, 0xC: 4, 0xE: 6}
_TIME_UNITS: Final = ("s", "min", "h", "d")


def _primary(vif: int) -> tuple[Quantity, str | None, int] | None:
    """Return the quantity, unit and decimal exponent of a primary VIF (extension bit cleared)."""
    n = vif & 0x07
    nn = vif & 0x03
    table: tuple[tuple[int, int, Quantity, str | None, int], ...] = (
        (0x00, 0x07, Quantity.ENERGY, "Wh", n - 3),
        (0x08, 0x07, Quantity.ENERGY, "J", n),
        (0x10, 0x07, Quantity.VOLUME, "m³", n - 6),
        (0x18, 0x07, Quantity.MASS, "kg", n - 3),
        (0x28, 0x07, Quantity.POWER, "W", n - 3),
        (0x30, 0x07, Quantity.POWER, "J/h", n),
        (0x38, 0x07, Quantity.VOLUME_FLOW, "m³/h", n - 6),
        (0x40, 0x07, Quantity.VOLUME_FLOW, "m³/min", n - 7),
        (0x48, 0x07, Quantity.VOLUME_FLOW, "m³/s", n - 9),
        (0x50, 0x07, Quantity.MASS_FLOW, "kg/h", n - 3),
        (0x58, 0x03, Quantity.FLOW_TEMPERATURE, "°C", nn - 3),
        (0x5C, 0x03, Quantity.RETURN_TEMPERATURE, "°C", nn - 3),
        (0x60, 0x03, Quantity.TEMPERATURE_DIFFERENCE, "K", nn - 3),
        (0x64, 0x03, Quantity.EXTERNAL_TEMPERATURE, "°C", nn - 3),
        (0x68, 0x03, Quantity.PRESSURE, "bar", nn - 3),
    )
    for base, mask, quantity, unit, exponent in table:
        if vif & ~mask == base:
            return quantity, unit, exponent
    durations = (
        (0x20, Quantity.ON_TIME),
        (0x24, Quantity.OPERATING_TIME),
        (0x70, Quantity.AVERAGING_DURATION),
        (0x74, Quantity.ACTUALITY_DURATION),
    )
    for base, quantity in durations:
        if vif & ~0x03 == base:
            return quantity, _TIME_UNITS[nn], 0
    fixed = {
        0x6C: (Quantity.DATE, None, 0),
        0x6D: (Quantity.DATE_TIME, None, 0),
        0x78: (Quantity.FABRICATION_NUMBER, None, 0),
        0x7A: (Quantity.BUS_ADDRESS, None, 0),
    }
    return fixed.get(vif)


_ERROR_FLAGS: Final = 0x17
"""VIFE of the first extension table (VIF ``0xFD``): error flags (binary)."""


def _year(low: int, high: int) -> int:
    year = ((low & 0xE0) >> 5) | ((high & 0xF0) >> 1)
    return 2000 + year if year < 81 else 1900 + year


def _date(data: bytes) -> date | None:
    """Type G: day, month and a 7-bit year over two bytes."""
    try:
        return date(_year(data[0], data[1]), data[1] & 0x0F, data[0] & 0x1F)
    except ValueError:
        return None


def _date_time(data: bytes) -> datetime | None:
    """Type F: minute, hour, then a type G date; bit 7 of the minute byte marks it invalid."""
    if data[0] & 0x80:
        return None
    try:
        return datetime(
            _year(data[2], data[3]), data[3] & 0x0F, data[2] & 0x1F, data[1] & 0x1F, data[0] & 0x3F
        )
    except ValueError:
        return None


def _scaled(raw: int | None, exponent: int) -> Decimal | None:
    if raw is None:
        return None
    return Decimal(raw * 10**exponent) if exponent > 0 else Decimal(raw).scaleb(exponent)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int, what: str) -> bytes:
        if self.offset + count > len(self.data):
            raise MbusError(f"M-Bus record cut short in its {what} at byte {self.offset}")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    @property
    def done(self) -> bool:
        return self.offset >= len(self.data)


def _record(cursor: _Cursor, dif: int) -> Record:
    difs = bytearray([dif])
    storage = (dif >> 6) & 0x01
    tariff = subunit = 0
    index = 0
    extended = bool(dif & _EXTENSION)
    while extended:
        if index == 10:
            raise MbusError("M-Bus record with more than ten DIFEs")
        dife = cursor.take(1, "DIFE")[0]
        difs.append(dife)
        storage |= (dife & 0x0F) << (1 + 4 * index)
        tariff |= ((dife >> 4) & 0x03) << (2 * index)
        subunit |= ((dife >> 6) & 0x01) << index
        extended = bool(dife & _EXTENSION)
        index += 1
    vifs = bytearray(cursor.take(1, "VIF"))
    while vifs[-1] & _EXTENSION:
        if len(vifs) == 11:
            raise MbusError("M-Bus record with more than ten VIFEs")
        vifs.append(cursor.take(1, "VIFE")[0])
    if vifs[0] & 0x7F == 0x7C:  # plain-text VIF: its length and characters follow the VIF
        raise MbusError("M-Bus record with a plain-text VIF is not read")
    coding = dif & 0x0F
    if coding == 0xD:
        length = cursor.take(1, "length")[0]
        if length > 0xBF:
            raise MbusError(f"M-Bus variable-length record of type 0x{length:02X} is not read")
        data = cursor.take(length, "data")
        raw: int | None = None
        text: str | None = data[::-1].decode("latin-1")
    else:
        text = None
        if coding in _BCD_LENGTHS:
            data = cursor.take(_BCD_LENGTHS[coding], "data")
            raw = _bcd(data)
        elif coding == 0x5:
            raise MbusError("M-Bus record with a 32-bit real value is not read")
        else:
            data = cursor.take(_LENGTHS[coding], "data")
            raw = _integer(data) if data else None
    function = _FUNCTIONS[(dif >> 4) & 0x03]
    meaning = _meaning(bytes(vifs))
    value: Number | None
    if meaning is None:
        return Record(None, raw, None, function, storage, tariff, subunit, bytes(difs), bytes(vifs))
    quantity, unit, exponent = meaning
    if quantity is Quantity.DATE:
        value = _date(data) if len(data) == 2 else None
    elif quantity is Quantity.DATE_TIME:
        value = _date_time(data) if len(data) == 4 else None
    elif quantity in (Quantity.FABRICATION_NUMBER, Quantity.BUS_ADDRESS, Quantity.ERROR_FLAGS):
        value = raw
    elif text is not None:
        value = None
    else:
        value = _scaled(raw, exponent)
    return Record(quantity, value, unit, function, storage, tariff, subunit, bytes(difs), bytes(vifs))


def _meaning(vifs: bytes) -> tuple[Quantity, str | None, int] | None:
    """Return the VIF's meaning, ``None`` when a VIFE modifies it in a way not read here."""
    if vifs[0] == 0xFD and len(vifs) == 2 and vifs[1] == _ERROR_FLAGS:
        return Quantity.ERROR_FLAGS, None, 0
    if len(vifs) > 1:
        return None
    return _primary(vifs[0] & 0x7F)


def decode_records(data: bytes) -> tuple[tuple[Record, ...], bytes, bool]:
    """Decode the data records of a variable data structure (after the fixed header)."""
    cursor = _Cursor(data)
    records: list[Record] = []
    while not cursor.done:
        dif = cursor.take(1, "DIF")[0]
        if dif == _IDLE_FILLER:
            continue
        if dif in (_MANUFACTURER_DATA, _MORE_RECORDS):
            return tuple(records), data[cursor.offset :], dif == _MORE_RECORDS
        if dif & 0x0F == 0x0F:
            raise MbusError(f"M-Bus DIF 0x{dif:02X} is reserved")
        records.append(_record(cursor, dif))
    return tuple(records), b"", False


def decode_header(data: bytes) -> Header:
    """Decode the 12-byte fixed header of a variable data structure (CI ``0x72``)."""
    if len(data) < _FIXED_HEADER:
        raise MbusError(f"M-Bus variable data header of {len(data)} bytes, not {_FIXED_HEADER}")
    identification = data[3::-1].hex()
    if not identification.isdigit():
        raise MbusError(f"M-Bus identification number {identification} is not BCD")
    return Header(
        identification=identification,
        manufacturer=manufacturer_code(int.from_bytes(data[4:6], "little")),
        version=data[6],
        medium=data[7],
        access_number=data[8],
        status=data[9],
        signature=int.from_bytes(data[10:12], "little"),
    )


def decode_body(body: bytes) -> Telegram:
    """Decode a long frame's body (C, A, CI, data) holding an RSP_UD variable data structure."""
    if len(body) < 3 or body[0] not in RSP_UD_CONTROLS:
        raise MbusError(f"M-Bus C field 0x{body[0]:02X} is no RSP_UD" if body else "empty M-Bus frame")
    if body[2] != CI_VARIABLE_LONG:
        raise MbusError(f"M-Bus CI field 0x{body[2]:02X} is no variable data structure this reads")
    data = body[3:]
    header = decode_header(data)
    records, tail, more = decode_records(data[_FIXED_HEADER:])
    return Telegram(header, records, tail, more)


def decode_frame(frame: bytes) -> Telegram:
    """Verify a whole long frame and decode its RSP_UD."""
    return decode_body(long_frame_body(frame))


__all__ = [
    "Function",
    "Header",
    "Quantity",
    "Record",
    "Telegram",
    "decode_body",
    "decode_frame",
    "decode_header",
    "decode_records",
    "manufacturer_code",
]
