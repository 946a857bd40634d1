"""COSEM value semantics shared by DLMS/COSEM, SML and E-Redes HAN (IEC 62056-6-2).

SML and the E-Redes HAN map reuse COSEM's vocabulary without its transport: six-byte
logical names (OBIS codes), the unit enumeration with a power-of-ten scaler, and the
12-byte date-time. One definition here serves every family that speaks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
import string

from .errors import ProtocolError
from .obis import ObisCode
from .registers import Register, Value


class CosemError(ProtocolError):
    """A COSEM value (logical name, scaler, date-time) is malformed."""


_LETTER_GROUPS = {"C": 96, "F": 97, "L": 98, "P": 99}
_PRINTABLE = frozenset(string.printable.encode("ascii")) - frozenset(b"\t\n\r\x0b\x0c")

# DLMS unit enumeration (IEC 62056-6-2 table 4, shared by SML), mapped to the spelling
# of ``datasets.normalise_unit``. Energy and its reactive and apparent kin are converted
# to the kilo unit, which is what the text protocol reports and the entity table expects.
UNITS: dict[int, str] = {
    1: "a",
    2: "mo",
    3: "wk",
    4: "d",
    5: "h",
    6: "min",
    7: "s",
    8: "°",
    9: "°C",
    11: "m",
    12: "m/s",
    13: "m³",
    14: "m³",
    15: "m³/h",
    16: "m³/h",
    19: "L",
    20: "kg",
    23: "Pa",
    24: "bar",
    25: "J",
    27: "W",
    28: "VA",
    29: "var",
    30: "Wh",
    31: "VAh",
    32: "varh",
    33: "A",
    34: "C",
    35: "V",
    44: "Hz",
    52: "K",
    56: "%",
    57: "Ah",
}
_KILO = {"Wh": "kWh", "varh": "kvarh", "VAh": "kVAh"}
NO_UNIT = 255


# --- OBIS ----------------------------------------------------------------------------------


def obis_from_bytes(raw: bytes) -> ObisCode:
    """Return the OBIS code of a 6-byte logical name (F = 255 is the current value)."""
    if len(raw) != 6:
        raise CosemError(f"a logical name has 6 bytes, not {len(raw)}: {raw.hex()}")
    a, b, c, d, e, f = raw
    return ObisCode.parse(f"{a}-{b}:{c}.{d}.{e}*{f}")


def obis_to_bytes(obis: ObisCode) -> bytes:
    """Return the 6-byte logical name of an OBIS code (lettered groups become 96..99)."""
    groups = [_group_number(group) for group in (obis.c, obis.d, obis.e)]
    return bytes([obis.a, obis.b, *groups, 255 if obis.f is None else obis.f])


def _group_number(group: str) -> int:
    return _LETTER_GROUPS[group] if group in _LETTER_GROUPS else int(group)


# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scaling:
    """Scaler (power of ten) and DLMS unit code of a register."""

    scaler: int = 0
    unit: int = NO_UNIT


def scaled_value(number: int | float, scaling: Scaling | None) -> Value:  # noqa: PYI041
    """Return a number with the scaler applied and the unit normalised (energy in kilo units)."""
    if isinstance(number, float):
        decimal = Decimal(repr(number))
        if not decimal.is_finite():
            raise CosemError(f"non-finite number {number}")
    else:
        decimal = Decimal(number)
    if scaling is None:
        return Value(decimal, None)
    if not -128 <= scaling.scaler <= 127:
        raise CosemError(f"scaler {scaling.scaler} is out of range")
    decimal = decimal.scaleb(scaling.scaler)
    unit = UNITS.get(scaling.unit)
    if unit in _KILO:
        decimal = decimal.scaleb(-3)
        unit = _KILO[unit]
    return Value(decimal, unit)


def text_value(raw: bytes, *, clock: bool = False) -> Value:
    """Render an octet string as text: a date-time, printable ASCII, or hex."""
    if clock and len(raw) == 12:
        moment = decode_datetime(raw)
        return Value(None if moment is None else moment.isoformat())
    if raw and all(byte in _PRINTABLE for byte in raw):
        return Value(raw.decode("ascii"))
    return Value(raw.hex().upper() if raw else None)


def normalise_channels(registers: Iterable[Register]) -> list[Register]:
    """Report channel 1 (``1-1:``) electricity registers as ``1-0:`` unless both exist.

    Meters with a single measuring channel number it 1 or 0 at will (E360, Kamstrup);
    the entity table and the text protocol use 0.
    """
    registers = list(registers)
    present = {register.obis for register in registers}
    out: list[Register] = []
    for register in registers:
        obis = register.obis
        if obis.a == 1 and obis.b == 1:
            moved = ObisCode(1, 0, obis.c, obis.d, obis.e, obis.f, obis.separator)
            if moved not in present:
                register = replace(register, obis=moved)
        out.append(register)
    return out


# --- COSEM date-time (12 octets, IEC 62056-6-2 4.1.6.1) ----------------------------------------

_NOT_SPECIFIED_DEVIATION = -0x8000


def decode_datetime(raw: bytes) -> datetime | None:
    """Decode a 12-byte COSEM date-time; ``None`` when the date or time is not specified.

    The deviation counts minutes from local time to UTC, so -120 is UTC+02:00; an
    unspecified deviation (0x8000) gives a naive (meter local) time.
    """
    if len(raw) != 12:
        raise CosemError(f"a COSEM date-time has 12 bytes, not {len(raw)}")
    year = int.from_bytes(raw[0:2], "big")
    month, day, hour, minute, second = raw[2], raw[3], raw[5], raw[6], raw[7]
    if year == 0xFFFF or month > 12 or day > 31 or hour == 0xFF or minute == 0xFF or second == 0xFF:
        return None
    hundredths = 0 if raw[8] == 0xFF else raw[8]
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    zone = None
    if deviation != _NOT_SPECIFIED_DEVIATION:
        if not -720 <= deviation <= 840:
            raise CosemError(f"COSEM date-time deviation {deviation} min is out of range")
        zone = timezone(timedelta(minutes=-deviation))
    try:
        return datetime(year, month, day, hour, minute, second, min(hundredths, 99) * 10_000, tzinfo=zone)
    except ValueError as err:
        raise CosemError(f"invalid COSEM date-time {raw.hex()}: {err}") from None


def encode_datetime(moment: datetime, *, status: int = 0) -> bytes:
    """Encode a date-time; a naive one gets an unspecified deviation."""
    offset = moment.utcoffset()
    deviation = _NOT_SPECIFIED_DEVIATION if offset is None else -int(offset.total_seconds() // 60)
    return (
        moment.year.to_bytes(2, "big")
        + bytes(
            [
                moment.month,
                moment.day,
                moment.isoweekday(),
                moment.hour,
                moment.minute,
                moment.second,
                moment.microsecond // 10_000,
            ]
        )
        + deviation.to_bytes(2, "big", signed=True)
        + bytes([status])
    )
