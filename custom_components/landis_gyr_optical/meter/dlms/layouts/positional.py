"""Positional push lists: values without OBIS codes, whose position gives their meaning.

The Norwegian HAN lists of Kaifa meters (MA105H2E, MA304H3E, MA304H4, MA304H4D) send a
structure of bare values: list 1 the active power alone, list 2 and 3 the list id,
meter id and type first, then the readings in a fixed order that depends only on the
list and the number of phases. The Wiener Netze configuration of the L+G E450 sends
the clock and then the eight totals and powers (A+, A-, R+, R-, P+, P-, Q+, Q-). Each
row names the codes of one such list in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ...cosem import Scaling
from ...obis import ObisCode
from ...registers import Register
from ..axdr import Data, DataType
from ..registers import register_from
from .scaling import default_scaling, list_identifier


@dataclass(frozen=True, slots=True)
class PositionalLayout:
    """One list: the list id it starts with (``None``: it carries none) and its codes in order."""

    name: str
    list_id: str | None
    codes: tuple[ObisCode, ...]
    leading_clock: bool = False
    """The list opens with its clock (a 12-byte date-time) instead of a list id."""


def _codes(*texts: str) -> tuple[ObisCode, ...]:
    return tuple(ObisCode.parse(text) for text in texts)


_HEADER = ("1-0:0.2.129", "0-0:96.1.0", "0-0:96.1.7", "1-0:1.7.0", "1-0:2.7.0", "1-0:3.7.0", "1-0:4.7.0")
_ENERGY = ("0-0:1.0.0", "1-0:1.8.0", "1-0:2.8.0", "1-0:3.8.0", "1-0:4.8.0")
_ONE_PHASE = ("1-0:31.7.0", "1-0:32.7.0")
_THREE_PHASES = ("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0", "1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0")

POSITIONAL_LAYOUTS: Final[tuple[PositionalLayout, ...]] = (
    PositionalLayout("Kaifa list 1", None, _codes("1-0:1.7.0")),
    PositionalLayout("Kaifa list 2, one phase", "KFM_", _codes(*_HEADER, *_ONE_PHASE)),
    PositionalLayout("Kaifa list 3, one phase", "KFM_", _codes(*_HEADER, *_ONE_PHASE, *_ENERGY)),
    PositionalLayout("Kaifa list 2, three phases", "KFM_", _codes(*_HEADER, *_THREE_PHASES)),
    PositionalLayout("Kaifa list 3, three phases", "KFM_", _codes(*_HEADER, *_THREE_PHASES, *_ENERGY)),
    PositionalLayout(
        "L+G E450, Wiener Netze",
        None,
        _codes(
            "0-0:1.0.0",
            "1-0:1.8.0",
            "1-0:2.8.0",
            "1-0:3.8.0",
            "1-0:4.8.0",
            "1-0:1.7.0",
            "1-0:2.7.0",
            "1-0:3.7.0",
            "1-0:4.7.0",
        ),
        leading_clock=True,
    ),
)
"""The lists as the Norwegian HAN specification and Kaifa's documentation order them."""


def layout_of(items: tuple[Data, ...]) -> PositionalLayout | None:
    """Return the row whose list id and length the body has."""
    list_id = list_identifier(items)
    for layout in POSITIONAL_LAYOUTS:
        if len(layout.codes) != len(items):
            continue
        if layout.list_id is None and list_id is None and _bare(items, layout.leading_clock):
            return layout
        if layout.list_id is not None and list_id is not None and list_id.startswith(layout.list_id):
            return layout
    return None


def _bare(items: tuple[Data, ...], leading_clock: bool) -> bool:
    """Whether the values are all numbers, after a leading clock where the list has one."""
    if leading_clock:
        clock = items[0]
        if not (
            clock.type is DataType.OCTET_STRING and isinstance(clock.value, bytes) and len(clock.value) == 12
        ):
            return False
        items = items[1:]
    return all(item.is_integer for item in items)


def decode(items: tuple[Data, ...], scalings: Mapping[ObisCode, Scaling]) -> list[Register] | None:
    """Return the registers of a positional list, ``None`` when no row has its shape."""
    layout = layout_of(items)
    if layout is None:
        return None
    list_id = layout.list_id
    registers: list[Register] = []
    for obis, value in zip(layout.codes, items, strict=True):
        scaling = scalings.get(obis) or default_scaling(obis, list_id=list_id)
        register = register_from(obis, value, scaling)
        if register is not None:
            registers.append(register)
    return registers


__all__ = ["POSITIONAL_LAYOUTS", "PositionalLayout", "decode", "layout_of"]
