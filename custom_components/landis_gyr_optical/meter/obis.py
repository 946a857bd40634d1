"""OBIS codes (IEC 62056-61) as one normalised value object.

Readouts write the same register in several ways: ``1-0:1.8.0*255``, ``1.8.0``, ``1.8``;
``C.1.0`` and ``C.1``; ``F.F`` and ``F.F.0``. Everything downstream (entity table, JSON,
diagnostics) keys on the normalised form, so the normalising happens here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import total_ordering
import re
from typing import Literal

from .errors import ProtocolError

HistorySeparator = Literal["*", "&"]

ELECTRICITY = 1
HEAT = 6
"""Value group A of heat (and cooling) meters."""
"""Value group A of electricity; short codes from electricity meters expand to ``1-0:``."""

# Value group C letters of IEC 62056-21 readouts; they stand for the abstract groups
# C=96 (C), F=97 (F), L=98 (L) and P=99 (P) and are kept as letters because that is
# how users and meter manuals name them.
_ABSTRACT_C = frozenset({"0", "C", "F", "L", "P", "96", "97", "98", "99"})
_CURRENT = 255
_MAX_GROUP = 255

_PATTERN = re.compile(
    r"""^
    (?:(?P<a>[0-9]{1,3})-(?P<b>[0-9]{1,3}):)?
    (?P<c>[0-9]{1,3}|[A-Z])
    (?:\.(?P<d>[0-9]{1,3}|[A-Z]))?
    (?:\.(?P<e>[0-9]{1,3}))?
    (?:(?P<sep>[*&])(?P<f>[0-9]{1,3}))?
    \Z""",
    re.VERBOSE,
)


def _group(token: str) -> str:
    """Return a group without leading zeros (``08`` and ``8`` are the same group)."""
    return str(int(token)) if token.isdigit() else token


def _group_key(group: str) -> tuple[int, int]:
    """Sort numeric groups by number, lettered groups after them."""
    return (0, int(group)) if group.isdigit() else (1, ord(group))


type _SortKey = tuple[int, int, tuple[int, int], tuple[int, int], tuple[int, int], int, str]


@total_ordering
@dataclass(frozen=True, slots=True)
class ObisCode:
    """A normalised OBIS code ``A-B:C.D.E`` with an optional billing-period suffix.

    ``f`` is ``None`` for the current value (``*255`` and a missing F mean the same);
    a billing-history entry keeps its period number and the separator the meter used,
    so ``1.8.0*12`` and ``1.8.0&12`` never collide with ``1.8.0`` or with each other.
    """

    a: int
    b: int
    c: str
    d: str
    e: str
    f: int | None = None
    separator: HistorySeparator = "*"

    @classmethod
    def parse(cls, text: str, *, medium: int = ELECTRICITY) -> ObisCode:
        """Parse a full, short or lettered code; ``medium`` fills A for short codes."""
        match = _PATTERN.match(text.strip())
        if match is None or any(
            token is not None and token.isdigit() and int(token) > _MAX_GROUP for token in match.groups()
        ):
            raise ProtocolError(f"not an OBIS code: {text!r}")
        c = _group(match["c"])
        d = _group(match["d"]) if match["d"] is not None else "0"
        e = _group(match["e"]) if match["e"] is not None else "0"
        if match["a"] is not None:
            a, b = int(match["a"]), int(match["b"])
        elif c in _ABSTRACT_C:
            a, b = 0, 0
        else:
            a, b = medium, 0
        f: int | None = None
        separator: HistorySeparator = "*"
        if match["f"] is not None:
            f = int(match["f"])
            separator = "&" if match["sep"] == "&" else "*"
            if f == _CURRENT and separator == "*":
                f = None
        return cls(a, b, c, d, e, f, separator)

    def _sort_key(self) -> _SortKey:
        # Numeric groups sort as numbers (2.8.0 before 10.8.0); the current value sorts
        # before its billing periods, and ``*F`` and ``&F`` of one period stay apart.
        return (
            self.a,
            self.b,
            _group_key(self.c),
            _group_key(self.d),
            _group_key(self.e),
            -1 if self.f is None else self.f,
            self.separator,
        )

    def __lt__(self, other: object) -> bool:
        """Order codes by value group, numbers numerically."""
        if not isinstance(other, ObisCode):
            return NotImplemented
        return self._sort_key() < other._sort_key()

    @property
    def is_history(self) -> bool:
        """Whether this is a stored billing-period value rather than the current one."""
        return self.f is not None

    @property
    def is_time_integral(self) -> bool:
        """Whether the register counts up over time: value group D 8 of a physical quantity.

        Energy totals (``1.8.0``, ``2.8.1``) are; abstract codes (``0.8.0``, ``C.8.1``
        operating hours) are not.
        """
        return self.d == "8" and self.c.isdigit() and 0 < int(self.c) < 96

    @property
    def current(self) -> ObisCode:
        """The code of the current value this history entry belongs to."""
        return ObisCode(self.a, self.b, self.c, self.d, self.e)

    @property
    def short(self) -> str:
        """``C.D.E``, the form meter manuals and the entity table use."""
        return f"{self.c}.{self.d}.{self.e}"

    def __str__(self) -> str:
        """Return the normalised text form, e.g. ``1-0:1.8.0`` or ``1-0:1.8.0&12``."""
        suffix = "" if self.f is None else f"{self.separator}{self.f}"
        return f"{self.a}-{self.b}:{self.short}{suffix}"
