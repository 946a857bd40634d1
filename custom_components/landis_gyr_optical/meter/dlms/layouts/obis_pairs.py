"""Push lists of OBIS code, value and (optionally) scaler_unit in sequence.

Kamstrup and many HAN pushes name each value by a 6-byte logical name just before it,
and may follow it with its ``structure {scaler, unit}``.
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


__all__ = ["decode"]
