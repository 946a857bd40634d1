"""Who a meter says it is, in one shape for every protocol.

Each protocol family fills in what its meters tell: an IEC 62056-21 meter its
identification line (FLAG id, rate, model), a DLMS/COSEM meter its logical device name and
system title, an SML meter its server ID, an E-Redes HAN meter its model code and firmware.
Nothing here is made up to look like another protocol's answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .manufacturers import manufacturer_name

UNKNOWN_FLAG_ID = "???"
"""FLAG id of a meter that names no manufacturer."""


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """The meter's identity as its protocol reports it."""

    flag_id: str
    """Three-letter manufacturer id (FLAG association), ``???`` when the meter names none."""
    model: str
    """What the meter calls itself: the IEC identification text after the rate character,
    the DLMS logical device name, the SML server ID, or the HAN model."""
    firmware: str | None = None
    iec_identification: str | None = None
    r"""The IEC 62056-21 identification line as printed (``LGZ5\2ZMD4104407.B31``), if any."""
    system_title: bytes | None = None
    """The DLMS/COSEM system title of a ciphered push (8 bytes, manufacturer id first)."""
    han_model_code: int | None = None
    """The E-Redes HAN model code (register 0x0003)."""

    @property
    def manufacturer(self) -> str | None:
        """The manufacturer's name from the FLAG table, ``None`` if the id is unknown."""
        return manufacturer_name(self.flag_id)

    @property
    def description(self) -> str:
        """The model, followed by the firmware where the protocol reports one with the model."""
        return self.model if self.firmware is None else f"{self.model} {self.firmware}"

    @property
    def identification(self) -> str:
        """One line naming the meter: the IEC identification line, else ``description``."""
        return self.description if self.iec_identification is None else self.iec_identification

    def __str__(self) -> str:
        """Return ``identification``."""
        return self.identification


def flag_id_from(text: str) -> str:
    """Return the FLAG id a name starts with (``LGZ1030653520967`` → ``LGZ``), else ``???``."""
    if len(text) >= 3 and text[:3].isascii() and text[:3].isalpha():
        return text[:3]
    return UNKNOWN_FLAG_ID


def printable_text(text: str, limit: int = 32, *, replacement: str = "") -> str:
    """Return ``text`` with non-printable characters replaced (default: dropped), at most ``limit`` long."""
    return "".join(char if " " <= char <= "~" else replacement for char in text)[:limit]


__all__ = ["UNKNOWN_FLAG_ID", "MeterIdentity", "flag_id_from", "printable_text"]
