"""Push lists of OBIS code, value and (optionally) scaler_unit in sequence.

Kamstrup and many HAN pushes name each value by a 6-byte logical name just before it,
and may follow it with its ``structure {scaler, unit}``. Some wrap each such group in a
structure of its own after a first bare pair (the TINETZ Kaifa push); those groups are
read as if they stood in sequence.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...cosem import Scaling, obis_from_bytes
from ...obis import ObisCode
from ...registers import Register
from ..axdr import Data, DataType
from ..registers import DlmsError, register_from, scaling_from_data
from .scaling import default_scaling, list_identifier


def decode(items: tuple[Data, ...], scalings: Mapping[ObisCode, Scaling]) -> list[Register] | None:
    """Return the registers named by logical names in the list, ``None`` when it names none."""
    items = tuple(part for item in items for part in (item.items if _is_named_group(item) else (item,)))
    registers: list[Register] = []
    list_id = list_identifier(items)
    index = 0
    while index < len(items) - 1:
        name = items[index]
        if not (
            name.type is DataType.OCTET_STRING and isinstance(name.value, bytes) and len(name.value) == 6
        ):
            index += 1
            continue
        obis = obis_from_bytes(name.value)
        value = items[index + 1]
        index += 2
        scaling = scalings.get(obis)
        if index < len(items) and items[index].type is DataType.STRUCTURE:
            try:
                scaling = scaling_from_data(items[index])
                index += 1
            except DlmsError:
                pass
        register = register_from(obis, value, scaling or default_scaling(obis, list_id=list_id))
        if register is not None:
            registers.append(register)
    return registers or None


def _is_named_group(item: Data) -> bool:
    """Whether an item is ``structure {logical name, value[, scaler_unit]}``."""
    parts = item.items
    return (
        item.type is DataType.STRUCTURE
        and len(parts) in (2, 3)
        and parts[0].type is DataType.OCTET_STRING
        and isinstance(parts[0].value, bytes)
        and len(parts[0].value) == 6
    )


__all__ = ["decode"]
