"""Self-describing push lists: the first element lists the captured objects, one value follows each.

L+G E450, E360 and E570 pushes send the push setup's own object list (class id, logical
name, attribute, data index per entry) before the values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ...cosem import Scaling, obis_from_bytes
from ...obis import ObisCode
from ...registers import Register
from ..axdr import Data, DataType
from ..registers import CLASS_PUSH_SETUP, DlmsError, register_from
from .scaling import VOLTAGE_SCALER, default_scaling


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """One entry of a push setup's object list: which attribute of which object."""

    class_id: int
    obis: ObisCode
    attribute: int
    data_index: int = 0

    @classmethod
    def from_data(cls, data: Data) -> CaptureObject | None:
        """Decode ``structure {long-unsigned, octet-string(6), integer, long-unsigned}``."""
        items = data.items
        if data.type is not DataType.STRUCTURE or len(items) != 4:
            return None
        class_id, name, attribute, index = items
        if not (
            class_id.type is DataType.LONG_UNSIGNED
            and name.type is DataType.OCTET_STRING
            and isinstance(name.value, bytes)
            and len(name.value) == 6
            and attribute.is_integer
            and index.is_integer
        ):
            return None
        assert isinstance(class_id.value, int) and isinstance(attribute.value, int)
        assert isinstance(index.value, int)
        return cls(class_id.value, obis_from_bytes(name.value), attribute.value, index.value)


def decode(items: tuple[Data, ...], scalings: Mapping[ObisCode, Scaling]) -> list[Register] | None:
    """Return the registers of a self-describing list, ``None`` when the body is not one."""
    if not items or items[0].type is not DataType.ARRAY or not items[0].items:
        return None
    captures = [CaptureObject.from_data(item) for item in items[0].items]
    if not all(capture is not None for capture in captures):
        return None
    listed = [capture for capture in captures if capture is not None]
    if len(listed) != len(items):
        raise DlmsError(f"push lists {len(listed)} objects but carries {len(items)} values")
    voltage_scaler = 0
    for capture in listed:
        if capture.class_id == CLASS_PUSH_SETUP:
            voltage_scaler = VOLTAGE_SCALER.get(capture.obis, voltage_scaler)
    registers: list[Register] = []
    for capture, value in zip(listed, items, strict=True):
        if capture.class_id == CLASS_PUSH_SETUP or capture.attribute != 2:
            continue
        scaling = scalings.get(capture.obis) or default_scaling(capture.obis, voltage_scaler=voltage_scaler)
        register = register_from(capture.obis, value, scaling)
        if register is not None:
            registers.append(register)
    return registers


__all__ = ["CaptureObject", "decode"]
