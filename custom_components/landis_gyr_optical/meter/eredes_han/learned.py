"""What reads of one HAN meter learned about it, kept with its configuration between polls.

A meter's access profile (which registers E-Redes lets the HAN port give out), the registers
its model lacks and whether it is three-phase do not change from one poll to the next.
Learning them costs a request per register of every refused block, each followed by the
pause the meters need, so what one read learned is handed to the next reader (and stored
with the config entry) instead of being learned again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .registers import BY_ADDRESS


@dataclass(frozen=True, slots=True)
class HanMap:
    """Phases, refused (0x81) and absent (0x02) registers of one meter."""

    three_phase: bool | None = None
    """``None`` until a read has probed voltage L2."""
    denied: frozenset[int] = frozenset()
    absent: frozenset[int] = frozenset()

    @property
    def known(self) -> bool:
        """Whether a read has learned anything (at least the phases)."""
        return self.three_phase is not None

    def as_dict(self) -> dict[str, Any]:
        """Return the map as JSON-friendly data (addresses in ascending order)."""
        return {
            "three_phase": self.three_phase,
            "denied": sorted(self.denied),
            "absent": sorted(self.absent),
        }

    @classmethod
    def from_dict(cls, data: object) -> HanMap:
        """Read a stored map back; what is not a map of HAN registers raises ``TypeError``/``ValueError``."""
        if not isinstance(data, Mapping):
            raise TypeError(f"{data!r} is not a mapping")
        three_phase = data.get("three_phase")
        if three_phase is not None and not isinstance(three_phase, bool):
            raise TypeError(f"three_phase is {three_phase!r}, not a boolean")
        return cls(three_phase, _addresses(data.get("denied", ())), _addresses(data.get("absent", ())))


def _addresses(values: Iterable[Any]) -> frozenset[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{values!r} is not a list of register addresses")
    out: set[int] = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value not in BY_ADDRESS:
            raise ValueError(f"{value!r} is not an address of the HAN register map")
        out.add(value)
    return frozenset(out)
