"""Rate and framing of a serial line, and the time characters occupy it.

Every protocol family speaks through the same ``Link`` and describes the line it needs
with these types: IEC 62056-21 starts at 300 Bd 7E1, DLMS/COSEM and SML run at 8N1,
E-Redes HAN at 8N1 or 8N2, wired and optical M-Bus at 8E1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Framing(StrEnum):
    """Character framing on the line."""

    SEVEN_E_ONE = "7E1"
    SEVEN_E_TWO = "7E2"
    EIGHT_N_ONE = "8N1"
    EIGHT_N_TWO = "8N2"
    EIGHT_E_ONE = "8E1"

    @property
    def bits_per_character(self) -> int:
        """Start bit + data bits + parity + stop bits."""
        return 11 if self in {Framing.SEVEN_E_TWO, Framing.EIGHT_N_TWO, Framing.EIGHT_E_ONE} else 10


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Rate and framing of the line."""

    baud: int
    framing: Framing = Framing.SEVEN_E_ONE

    def character_time(self) -> float:
        """Seconds one character occupies the line."""
        return self.framing.bits_per_character / self.baud


def wire_time(length: int, baud: int, bits_per_character: int = 10) -> float:
    """Seconds ``length`` characters occupy the line (start + data + parity + stop bits)."""
    return length * bits_per_character / baud


__all__ = ["Framing", "LineSettings", "wire_time"]
