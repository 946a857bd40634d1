"""COSEM objects the readers know, and COSEM data mapped to the shared register model.

Interface classes and well-known logical names, the scaler_unit attribute, and the
rules that turn one COSEM value into a ``Register`` (numbers scaled, octet strings as
text or date-time, the serial number taken from the logical device name).
"""

from __future__ import annotations

from dataclasses import replace

from ..cosem import CosemError, Scaling, normalise_channels, scaled_value, text_value
from ..obis import ObisCode
from ..registers import Register, Value
from .axdr import Data, DataType

CLASS_DATA = 1
CLASS_REGISTER = 3
CLASS_EXTENDED_REGISTER = 4
CLASS_CLOCK = 8
CLASS_PUSH_SETUP = 40

LOGICAL_DEVICE_NAME = ObisCode.parse("0-0:42.0.0")
SERIAL_NUMBER = ObisCode.parse("0-0:96.1.0")
CLOCK = ObisCode.parse("0-0:1.0.0")


class DlmsError(CosemError):
    """A DLMS APDU is malformed or is not the one the exchange expects."""


class AccessError(DlmsError):
    """The meter answered a GET with a data-access-result other than success."""

    def __init__(self, obis: ObisCode, result: int) -> None:
        """Name the object and the result code."""
        super().__init__(f"{obis}: data access result {result}")
        self.obis = obis
        self.result = result


def register_from(obis: ObisCode, data: Data, scaling: Scaling | None = None) -> Register | None:
    """Map one COSEM value to a register; ``None`` for values that are not readings."""
    if isinstance(data.value, bool):
        value = Value(str(data.value).lower())
    elif isinstance(data.value, int | float):
        value = scaled_value(data.value, scaling)
    elif isinstance(data.value, bytes):
        value = text_value(data.value, clock=obis == CLOCK or data.type is DataType.DATE_TIME)
    elif isinstance(data.value, str):
        value = Value(data.value)
    else:
        return None
    return Register(obis=obis, raw=value.encode(), values=(value,))


def with_serial(registers: list[Register]) -> list[Register]:
    """Add 0-0:96.1.0 from the logical device name when the meter does not send it."""
    registers = normalise_channels(registers)
    codes = {register.obis for register in registers}
    if SERIAL_NUMBER not in codes:
        for register in registers:
            if register.obis == LOGICAL_DEVICE_NAME and isinstance(register.value, str):
                registers.append(replace(register, obis=SERIAL_NUMBER))
                break
    return registers


def scaling_from_data(data: Data) -> Scaling:
    """Decode attribute 3 of a register: ``structure {integer scaler, enum unit}``."""
    items = data.items
    if data.type is not DataType.STRUCTURE or len(items) != 2 or not all(item.is_integer for item in items):
        raise DlmsError(f"not a scaler_unit structure: {data}")
    scaler, unit = (item.value for item in items)
    assert isinstance(scaler, int) and isinstance(unit, int)
    return Scaling(scaler, unit)
