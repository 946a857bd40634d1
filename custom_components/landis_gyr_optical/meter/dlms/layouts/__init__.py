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
from . import obis_pairs, positional, self_describing, structure_array
from .scaling import default_scaling

type Scalings = Mapping[ObisCode, Scaling]
type LayoutDecoder = Callable[[tuple[Data, ...], Scalings], list[Register] | None]

LAYOUTS: Final[tuple[tuple[str, LayoutDecoder], ...]] = (
    ("self-describing object list (L+G E450, E360, E570)", self_describing.decode),
    ("OBIS code, value and scaler in sequence (Kamstrup, Kaifa, HAN pushes)", obis_pairs.decode),
    ("array of {OBIS code, value, scaler_unit} structures (Aidon)", structure_array.decode),
    ("positional lists without OBIS codes (Kaifa, Norwegian HAN lists)", positional.decode),
)
"""Layout families, most specific first: a family that recognises the body decodes it."""


class UnknownPushLayoutError(DlmsError):
    """A push decoded, but its body has no layout this client knows: it can be sent in."""

    key = "unknown_push_layout"

    def __init__(self, body: Data) -> None:
        """Keep the decoded body; the message shows it (bounded) for the trace and the log."""
        self.structure = describe(body)
        super().__init__(f"push body has no layout this client understands: {self.structure}")


_MAX_DESCRIPTION = 4000
"""Characters of a decoded body shown in an error (a push is at most a few hundred values)."""


def describe(data: Data) -> str:
    """Return a push body as compact text: ``structure[octet-string 0100010800ff, ...]``."""
    text = _describe(data)
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 3] + "..."


def _describe(data: Data) -> str:
    name = data.type.name.lower().replace("_", "-")
    if data.type in (DataType.STRUCTURE, DataType.ARRAY):
        return f"{name}[{', '.join(_describe(item) for item in data.items)}]"
    value = data.value.hex() if isinstance(data.value, bytes) else data.value
    return name if value is None else f"{name} {value}"


def push_registers(body: Data, scalings: Scalings | None = None) -> list[Register]:
    """Map the body of a push to registers with the first layout family that knows it."""
    items = body.items if body.type in (DataType.STRUCTURE, DataType.ARRAY) else ()
    for _name, decode in LAYOUTS:
        registers = decode(items, scalings or {})
        if registers is not None:
            return with_serial(registers)
    raise UnknownPushLayoutError(body)


__all__ = ["LAYOUTS", "UnknownPushLayoutError", "default_scaling", "describe", "push_registers"]
