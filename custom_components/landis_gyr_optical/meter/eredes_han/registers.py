"""The E-Redes HAN register map (DEF-C44-509 §5.6) as data, and decoding of its objects.

One Modbus address is one object of 1 to 12 bytes (a clock, an octet string, an unsigned or
signed integer); a block read returns the objects back to back, padded to an even length.
Every object becomes a ``Register`` of the normalised model (OBIS code, ``Decimal`` value,
normalised unit: kWh, W, V, A, Hz), so the entity table, the spike guard and the
diagnostics treat a HAN meter like any optical one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from ..cosem import CosemError, decode_datetime, encode_datetime
from ..errors import ProtocolError
from ..obis import ObisCode
from ..registers import Register, Value

PROTOCOL: Final = "eredes_han"
"""The protocol value of a HAN readout (``Readout.protocol``)."""


class Kind(StrEnum):
    """How the bytes of an object are to be read."""

    CLOCK = "clock"
    TEXT = "text"
    MODEL = "model"
    TARIFF = "tariff"
    UNSIGNED = "unsigned"
    SIGNED = "signed"


class Phases(StrEnum):
    """Which meters carry a register."""

    ANY = "any"
    THREE = "three"
    """Three-phase meters only (the SPEC marks it 3φ)."""


@dataclass(frozen=True, slots=True)
class HanRegister:
    """One object of the HAN map: where it is, what it is, how to turn it into a reading."""

    address: int
    name: str
    kind: Kind
    size: int
    obis: ObisCode | None
    """``None``: read because it sits inside a block, not reported (a duplicate total)."""
    scaler: int = 0
    """Power of ten applied to the integer, unit conversion included (Wh → kWh is -3)."""
    unit: str | None = None
    phases: Phases = Phases.ANY

    @property
    def label(self) -> str:
        """Name and address for messages: ``active energy import +A (0x0016)``."""
        return f"{self.name} (0x{self.address:04X})"

    def decode(self, data: bytes) -> Register | None:
        """Turn the object's bytes into a register (``None`` for an unreported object)."""
        if len(data) != self.size:
            raise ProtocolError(f"{self.label}: {len(data)} bytes instead of {self.size}")
        if self.obis is None:
            return None
        values = _DECODERS[self.kind](self, data)
        return Register(obis=self.obis, raw=")(".join(value.encode() for value in values), values=values)


def _obis(text: str) -> ObisCode:
    return ObisCode.parse(text)


def _energy(address: int, name: str, code: str, phases: Phases = Phases.ANY) -> HanRegister:
    return HanRegister(address, name, Kind.UNSIGNED, 4, _obis(code), -3, "kWh", phases)


def _reactive(address: int, name: str, code: str) -> HanRegister:
    return HanRegister(address, name, Kind.UNSIGNED, 4, _obis(code), -3, "kvarh")


def _power(address: int, name: str, code: str, phases: Phases = Phases.ANY) -> HanRegister:
    return HanRegister(address, name, Kind.UNSIGNED, 4, _obis(code), 0, "W", phases)


def _tenths(address: int, name: str, code: str, unit: str, phases: Phases = Phases.ANY) -> HanRegister:
    return HanRegister(address, name, Kind.UNSIGNED, 2, _obis(code), -1, unit, phases)


def _power_factor(address: int, name: str, code: str, phases: Phases = Phases.ANY) -> HanRegister:
    return HanRegister(address, name, Kind.UNSIGNED, 2, _obis(code), -3, None, phases)


_THREE = Phases.THREE

# OBIS codes: IEC 62056-61 where a standard code exists. The demand-control thresholds
# have none; 0-0:17.0.E (the limiter object, E = rate) is this integration's convention.
REGISTERS: Final[tuple[HanRegister, ...]] = (
    HanRegister(0x0001, "clock", Kind.CLOCK, 12, _obis("0-0:1.0.0")),
    HanRegister(0x0002, "serial number", Kind.TEXT, 10, _obis("0-0:96.1.0")),
    HanRegister(0x0003, "model code and year", Kind.MODEL, 6, _obis("0-0:96.1.1")),
    HanRegister(0x0004, "core firmware", Kind.TEXT, 5, _obis("1-0:0.2.0")),
    HanRegister(0x0005, "application firmware", Kind.TEXT, 5, _obis("1-1:0.2.0")),
    HanRegister(0x0006, "communication firmware", Kind.TEXT, 5, _obis("1-2:0.2.0")),
    HanRegister(0x000B, "active tariff", Kind.TARIFF, 1, _obis("0-0:96.14.0")),
    *(
        HanRegister(
            0x000C + rate - 1,
            f"demand control threshold T{rate}",
            Kind.UNSIGNED,
            4,
            _obis(f"0-0:17.0.{rate}"),
            0,
            "VA",
        )
        for rate in range(1, 7)
    ),
    _energy(0x0016, "active energy import +A", "1-0:1.8.0"),
    _energy(0x0017, "active energy export -A", "1-0:2.8.0"),
    _reactive(0x0018, "reactive energy QI", "1-0:5.8.0"),
    _reactive(0x0019, "reactive energy QII", "1-0:6.8.0"),
    _reactive(0x001A, "reactive energy QIII", "1-0:7.8.0"),
    _reactive(0x001B, "reactive energy QIV", "1-0:8.8.0"),
    _energy(0x001C, "active energy import +A L1", "1-0:21.8.0", _THREE),
    _energy(0x001D, "active energy import +A L2", "1-0:41.8.0", _THREE),
    _energy(0x001E, "active energy import +A L3", "1-0:61.8.0", _THREE),
    _energy(0x001F, "active energy export -A L1", "1-0:22.8.0", _THREE),
    _energy(0x0020, "active energy export -A L2", "1-0:42.8.0", _THREE),
    _energy(0x0021, "active energy export -A L3", "1-0:62.8.0", _THREE),
    *(
        _energy(0x0026 + rate - 1, f"active energy import +A rate {rate}", f"1-0:1.8.{rate}")
        for rate in range(1, 7)
    ),
    HanRegister(0x002C, "active energy import +A (rate total)", Kind.UNSIGNED, 4, None),
    *(
        _energy(0x002D + rate - 1, f"active energy export -A rate {rate}", f"1-0:2.8.{rate}")
        for rate in range(1, 7)
    ),
    HanRegister(0x0033, "active energy export -A (rate total)", Kind.UNSIGNED, 4, None),
    _tenths(0x006C, "voltage L1", "1-0:32.7.0", "V"),
    _tenths(0x006D, "current L1", "1-0:31.7.0", "A"),
    _tenths(0x006E, "voltage L2", "1-0:52.7.0", "V", _THREE),
    _tenths(0x006F, "current L2", "1-0:51.7.0", "A", _THREE),
    _tenths(0x0070, "voltage L3", "1-0:72.7.0", "V", _THREE),
    _tenths(0x0071, "current L3", "1-0:71.7.0", "A", _THREE),
    _tenths(0x0072, "current sum of phases", "1-0:90.7.0", "A", _THREE),
    _power(0x0073, "active power import +P L1", "1-0:21.7.0", _THREE),
    _power(0x0074, "active power export -P L1", "1-0:22.7.0", _THREE),
    _power(0x0075, "active power import +P L2", "1-0:41.7.0", _THREE),
    _power(0x0076, "active power export -P L2", "1-0:42.7.0", _THREE),
    _power(0x0077, "active power import +P L3", "1-0:61.7.0", _THREE),
    _power(0x0078, "active power export -P L3", "1-0:62.7.0", _THREE),
    _power(0x0079, "active power import +P", "1-0:1.7.0"),
    _power(0x007A, "active power export -P", "1-0:2.7.0"),
    _power_factor(0x007B, "power factor", "1-0:13.7.0"),
    _power_factor(0x007C, "power factor L1", "1-0:33.7.0", _THREE),
    _power_factor(0x007D, "power factor L2", "1-0:53.7.0", _THREE),
    _power_factor(0x007E, "power factor L3", "1-0:73.7.0", _THREE),
    _tenths(0x007F, "frequency", "1-0:14.7.0", "Hz"),
    # Quality-of-service block of the 2020 edition; meters of the 2017 edition may answer
    # 0x02 here, which the poll tolerates.
    HanRegister(0x00B4, "number of power failures in any phase", Kind.UNSIGNED, 2, _obis("0-0:96.7.21")),
    HanRegister(0x00B5, "number of long power failures in any phase", Kind.UNSIGNED, 2, _obis("0-0:96.7.9")),
)

BY_ADDRESS: Final[dict[int, HanRegister]] = {register.address: register for register in REGISTERS}

THREE_PHASE_PROBE: Final = 0x006E
"""Voltage L2: above zero on a three-phase meter; zero or an exception on a single-phase one."""
ENERGY_IMPORT: Final = 0x0016
"""The one register a useful poll cannot do without."""

ACCESS_GROUPS: Final[tuple[range, ...]] = (
    range(0x0001, 0x0007),  # clock, serial number, model, firmware
    range(0x000B, 0x000C),  # active tariff
    range(0x000C, 0x0012),  # demand-control thresholds T1..T6
    range(0x0016, 0x0018),  # total +A / -A
    range(0x0018, 0x001C),  # reactive energy QI..QIV
    range(0x001C, 0x0022),  # +A / -A per phase
    range(0x0026, 0x002D),  # +A per rate
    range(0x002D, 0x0034),  # -A per rate
    range(0x006C, 0x0073),  # voltages and currents
    range(0x0073, 0x0079),  # +P / -P per phase
    range(0x0079, 0x007C),  # total +P / -P, power factor
    range(0x007C, 0x007F),  # power factor per phase
    range(0x007F, 0x0080),  # frequency
    range(0x00B4, 0x00B6),  # power-failure counters
)
"""Registers an access profile opens or closes together (one kind of reading each).

E-Redes sets the HAN access profile by kind of reading (thresholds, reactive energy,
per-phase values), so a block that is refused is split along these groups first.
"""


def access_group(address: int) -> range:
    """Return the access group of an address (a group of its own if it is in none)."""
    return next((group for group in ACCESS_GROUPS if address in group), range(address, address + 1))


TARIFFS: Final[dict[int, str]] = {1: "vazio", 2: "ponta", 3: "cheias"}
"""Active tariff codes (off-peak, peak, mid-peak), as the ENUM sensor's options."""


def lookup(addresses: Iterable[int]) -> tuple[HanRegister, ...]:
    """Return the map entries of consecutive addresses (a block); unknown ones raise."""
    out = []
    for address in addresses:
        register = BY_ADDRESS.get(address)
        if register is None:
            raise ValueError(f"0x{address:04X} is not in the HAN register map")
        out.append(register)
    return tuple(out)


def split_objects(registers: Sequence[HanRegister], data: bytes) -> list[bytes]:
    """Cut a reply's data into the objects of a block read.

    DEF-C44-509 §5.4.1.1: the objects follow each other and the total is padded to an even
    length. A meter that pads every odd-sized object to a word is accepted too.
    """
    total = sum(register.size for register in registers)
    if len(data) in (total, total + 1) and (len(data) == total or total % 2):
        widths = [register.size for register in registers]
        steps = widths
    elif len(data) == sum(size + size % 2 for size in (register.size for register in registers)):
        widths = [register.size for register in registers]
        steps = [size + size % 2 for size in widths]
    else:
        first, last = registers[0], registers[-1]
        what = first.label if first is last else f"0x{first.address:04X}..0x{last.address:04X}"
        raise ProtocolError(f"reply to {what} has {len(data)} data bytes; the objects need {total}")
    objects: list[bytes] = []
    position = 0
    for width, step in zip(widths, steps, strict=True):
        objects.append(data[position : position + width])
        position += step
    return objects


def decode_block(registers: Sequence[HanRegister], data: bytes) -> list[Register]:
    """Decode the reply to a block read into registers, in address order."""
    out: list[Register] = []
    for register, chunk in zip(registers, split_objects(registers, data), strict=True):
        decoded = register.decode(chunk)
        if decoded is not None:
            out.append(decoded)
    return out


def encode_object(register: HanRegister, value: int | str | datetime | bytes) -> bytes:
    """Return the bytes a meter sends for an object (the simulator's side of ``decode``)."""
    if isinstance(value, bytes):
        data = value
    elif register.kind is Kind.CLOCK:
        assert isinstance(value, datetime)
        data = encode_clock(value)
    elif register.kind is Kind.TEXT:
        data = str(value).encode("ascii").ljust(register.size, b"\x00")
    else:
        assert isinstance(value, int)
        data = value.to_bytes(register.size, "big", signed=register.kind is Kind.SIGNED)
    if len(data) != register.size:
        raise ValueError(f"{register.label} holds {register.size} bytes, not {len(data)}")
    return data


def encode_block(objects: Sequence[bytes]) -> bytes:
    """Concatenate objects and pad to an even length, as the meter does."""
    data = b"".join(objects)
    return data + b"\x00" * (len(data) % 2)


# --- object decoders ---------------------------------------------------------------------


def decode_clock(data: bytes) -> datetime | None:
    """Decode the 12-byte clock, a COSEM date-time; ``None`` when fields are unspecified or invalid."""
    try:
        return decode_datetime(data)
    except CosemError:
        return None


def encode_clock(moment: datetime, *, summer: bool = False) -> bytes:
    """Encode a clock object (the inverse of ``decode_clock``); the status flags summer time."""
    return encode_datetime(moment, status=0x80 if summer else 0x00)


def _clock(_register: HanRegister, data: bytes) -> tuple[Value, ...]:
    moment = decode_clock(data)
    return (Value(None if moment is None else moment.isoformat()),)


def decode_text(data: bytes) -> str:
    """Decode an octet string: ASCII if it is printable, hexadecimal otherwise."""
    stripped = data.strip(b"\x00 ")
    if all(0x20 <= byte < 0x7F for byte in stripped):
        return stripped.decode("ascii")
    return data.hex().upper()


def _text(_register: HanRegister, data: bytes) -> tuple[Value, ...]:
    text = decode_text(data)
    return (Value(text or None),)


def _number(register: HanRegister, data: bytes) -> tuple[Value, ...]:
    number = int.from_bytes(data, "big", signed=register.kind is Kind.SIGNED)
    return (Value(Decimal(number).scaleb(register.scaler), register.unit),)


def _tariff(_register: HanRegister, data: bytes) -> tuple[Value, ...]:
    return (Value(TARIFFS.get(data[0])),)


def _model(_register: HanRegister, data: bytes) -> tuple[Value, ...]:
    model = MeterModel.from_object(data)
    return (Value(model.name), Value(Decimal(model.code)), Value(Decimal(model.year)))


_DECODERS: Final = {
    Kind.CLOCK: _clock,
    Kind.TEXT: _text,
    Kind.MODEL: _model,
    Kind.TARIFF: _tariff,
    Kind.UNSIGNED: _number,
    Kind.SIGNED: _number,
}


# --- model codes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a model code says: manufacturer (FLAG id and name), model, phases."""

    flag_id: str
    manufacturer: str
    model: str
    three_phase: bool


# The first four bytes of 0x0003 as one big-endian number. Codes as reported by the
# EasyHAN community driver; that a ZCXe110 reports 6750210 is unverified.
MODELS: Final[dict[int, ModelInfo]] = {
    6750210: ModelInfo("LGZ", "Landis+Gyr", "S3 single-phase", three_phase=False),
    6754306: ModelInfo("LGZ", "Landis+Gyr", "S3 three-phase", three_phase=True),
    6754307: ModelInfo("LGZ", "Landis+Gyr", "S5 three-phase", three_phase=True),
    6623491: ModelInfo("JAN", "Janz", "GPRS three-phase", three_phase=True),
    11010050: ModelInfo("SAG", "Sagemcom", "CX1000-6 single-phase", three_phase=False),
    11014146: ModelInfo("SAG", "Sagemcom", "CX2000-9 three-phase", three_phase=True),
    18481154: ModelInfo("KFM", "Kaifa", "MA109P single-phase", three_phase=False),
    18481156: ModelInfo("KFM", "Kaifa", "MA109H single-phase", three_phase=False),
    16977920: ModelInfo("ZIV", "ZIV", "three-phase", three_phase=True),
}

UNKNOWN_FLAG_ID: Final = "HAN"
"""FLAG id of a meter whose model code is not in the table (no manufacturer is claimed)."""


@dataclass(frozen=True, slots=True)
class MeterModel:
    """The decoded 0x0003 object: model code, year, and what the table knows about it."""

    code: int
    year: int
    info: ModelInfo | None

    @classmethod
    def from_object(cls, data: bytes) -> MeterModel:
        """Decode the 6-byte object: model code (u32) and year (u16)."""
        code = int.from_bytes(data[0:4], "big")
        return cls(code, int.from_bytes(data[4:6], "big"), MODELS.get(code))

    @property
    def name(self) -> str:
        """``Landis+Gyr S3 single-phase``, or ``model 1234`` when unknown."""
        if self.info is None:
            return f"model {self.code}"
        return f"{self.info.manufacturer} {self.info.model}"

    @property
    def flag_id(self) -> str:
        """The manufacturer's FLAG id, ``HAN`` when unknown."""
        return UNKNOWN_FLAG_ID if self.info is None else self.info.flag_id
