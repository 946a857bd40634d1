"""Push lists as an array of ``structure {OBIS code, value, scaler_unit}`` (Aidon).

Aidon meters wrap each object in a structure of its own, the scaler and unit last
(absent for texts); unwrapped, the list reads as OBIS code, value and scaler in sequence.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...cosem import Scaling
from ...obis import ObisCode
from ...registers import Register
from ..axdr import Data, DataType
from . import obis_pairs


def _is_named(item: Data) -> bool:
    return (
        item.type is DataType.STRUCTURE
        and len(item.items) in (2, 3)
        and item.items[0].type is DataType.OCTET_STRING
        and isinstance(item.items[0].value, bytes)
        and len(item.items[0].value) == 6
    )


def decode(items: tuple[Data, ...], scalings: Mapping[ObisCode, Scaling]) -> list[Register] | None:
    """Return the registers of an array of named structures, ``None`` when the body is not one."""
    if not items or not all(_is_named(item) for item in items):
        return None
    return obis_pairs.decode(tuple(part for item in items for part in item.items), scalings)


__all__ = ["decode"]
