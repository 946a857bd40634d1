"""Push layouts: how the body of a DLMS/COSEM push maps to registers.

Meters and grid operators arrange their push lists differently. Each layout family is a
module here with one ``decode`` (``None`` when the body is not of its kind) and, where
the family needs it, a table of rows; ``LAYOUTS`` tries them in order. Adding a meter's
list is adding a row to its family's table, or a family module to ``LAYOUTS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from ...cosem import Scaling
from ...obis import ObisCode
from ...registers import Register
from ..axdr import Data, DataType
from ..registers import DlmsError, with_serial
from . import obis_pairs, self_describing
from .scaling import default_scaling

type Scalings = Mapping[ObisCode, Scaling]
type LayoutDecoder = Callable[[tuple[Data, ...], Scalings], list[Register] | None]

LAYOUTS: Final[tuple[tuple[str, LayoutDecoder], ...]] = (
    ("self-describing object list (L+G E450, E360, E570)", self_describing.decode),
    ("OBIS code, value and scaler in sequence (Kamstrup, HAN pushes)", obis_pairs.decode),
)
"""Layout families, most specific first: a family that recognises the body decodes it."""


def push_registers(body: Data, scalings: Scalings | None = None) -> list[Register]:
    """Map the body of a push to registers with the first layout family that knows it."""
    items = body.items if body.type is DataType.STRUCTURE else ()
    for _name, decode in LAYOUTS:
        registers = decode(items, scalings or {})
        if registers is not None:
            return with_serial(registers)
    raise DlmsError("push body has no layout this client understands")


__all__ = ["LAYOUTS", "default_scaling", "push_registers"]
