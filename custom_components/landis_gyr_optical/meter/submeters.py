"""Sub-meters a P1 meter reads over its M-Bus (channels 1-4): gas, water, heat.

DSMR and e-MUCS meters pass on the readings of up to four M-Bus devices: ``0-n:24.1.0``
is the device type (EN 13757-3), ``0-n:96.1.0`` or ``0-n:96.1.1`` the device's id
(its digits hex-encoded as ASCII), and ``0-n:24.2.1`` / ``0-n:24.2.3`` (DSMR 2.2/3:
``0-n:24.3.0``) the reading with the time it was captured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from .obis import ObisCode
from .registers import Register

CHANNELS: Final = range(1, 5)
"""M-Bus channels of a P1 meter (value group B)."""
READING_CODES: Final = ("24.2.1", "24.2.3", "24.3.0")
"""``C.D.E`` of a sub-meter's reading, in order of preference."""


class SubMeterKind(StrEnum):
    """What a sub-meter measures."""

    GAS = "gas"
    WATER = "water"
    HEAT = "heat"


DEVICE_TYPES: Final[Mapping[int, SubMeterKind]] = {
    0x03: SubMeterKind.GAS,
    0x04: SubMeterKind.HEAT,
    0x0C: SubMeterKind.HEAT,
    0x0D: SubMeterKind.HEAT,
    0x06: SubMeterKind.WATER,
    0x07: SubMeterKind.WATER,
    0x15: SubMeterKind.WATER,
    0x16: SubMeterKind.WATER,
}
"""EN 13757-3 device types: gas; heat (outlet, inlet, heat/cooling); warm, cold, hot water."""

_VOLUME_UNITS: Final = frozenset({"m³"})


def is_sub_meter_reading(obis: ObisCode) -> bool:
    """Whether a code is the reading of an M-Bus sub-meter (``0-1:24.2.1``)."""
    return obis.a == 0 and obis.b in CHANNELS and obis.f is None and obis.short in READING_CODES


@dataclass(frozen=True, slots=True)
class SubMeter:
    """One M-Bus device on a channel, and its reading."""

    channel: int
    kind: SubMeterKind
    reading: Register
    device_type: int | None = None
    identifier: str | None = None


def sub_meter_of(obis: ObisCode, registers: Mapping[ObisCode, Register]) -> SubMeter | None:
    """Return the sub-meter whose reading ``obis`` is, ``None`` if it is none or unknown."""
    if not is_sub_meter_reading(obis) or obis not in registers:
        return None
    channel = obis.b
    reading = registers[obis]
    device_type = _device_type(registers.get(ObisCode(0, channel, "24", "1", "0")))
    kind = DEVICE_TYPES.get(device_type) if device_type is not None else None
    if kind is None and device_type is None:
        # DSMR 2.2/3 meters send no device type: a volume is their gas meter.
        kind = SubMeterKind.GAS if reading.unit in _VOLUME_UNITS else None
    if kind is None:
        return None
    return SubMeter(channel, kind, reading, device_type, _identifier(channel, registers))


def _device_type(register: Register | None) -> int | None:
    if register is None or not isinstance(register.value, Decimal):
        return None
    return int(register.value)


def _identifier(channel: int, registers: Mapping[ObisCode, Register]) -> str | None:
    """Return the device id: its ASCII text where the hex digits decode to one, else the digits."""
    for e in ("0", "1"):
        register = registers.get(ObisCode(0, channel, "96", "1", e))
        if register is None or not register.text:
            continue
        text = register.text
        try:
            decoded = bytes.fromhex(text).decode("ascii")
        except ValueError:
            return text
        return decoded if decoded.isprintable() and decoded.isalnum() else text
    return None


__all__ = [
    "CHANNELS",
    "DEVICE_TYPES",
    "READING_CODES",
    "SubMeter",
    "SubMeterKind",
    "is_sub_meter_reading",
    "sub_meter_of",
]
