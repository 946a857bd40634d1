"""The master's side of an M-Bus read (EN 13757-2), without I/O.

A read resets the link (SND_NKE, confirmed by ``E5``), then asks for class 2 data
(REQ_UD2) and gets an RSP_UD long frame. A meter whose last record is the DIF ``1F`` has
more records: the next REQ_UD2 toggles the frame count bit, which tells the meter the
previous telegram arrived (a repeated request keeps the bit, and the meter repeats its
telegram). The first REQ_UD2 after the reset carries FCB 1, as the reset cleared the
meter's expectation.

Battery heat meters read through an optical head sleep until a run of ``0x55`` at the
line's rate in 8N1 (504 characters, 2.1 s at 2400 Bd, before every telegram), then listen
at 8E1: ``WAKE_UP_CHARACTER`` and ``WAKE_UP_LENGTH``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from .frames import (
    ACK,
    BROADCAST_ANSWERING,
    PRIMARY_ADDRESSES,
    BadFrame,
    LongFrameReader,
    MbusError,
    req_ud2,
    snd_nke,
)
from .records import Telegram, decode_body

WAKE_UP_CHARACTER: Final = 0x55
WAKE_UP_LENGTH: Final = 504
"""Characters of the optical wake-up run (2.1 s at 2400 Bd 8N1)."""
BAUDS: Final = (300, 2400, 9600)
"""The M-Bus rates."""
DEFAULT_BAUD: Final = 2400
"""The rate heat meters use on their optical and wired ports."""
MAX_TELEGRAMS: Final = 8
"""Telegrams one read follows before it stops asking (a meter that never says it is done)."""


class MbusAddressError(MbusError):
    """An RSP_UD from another meter than the one asked, or a telegram series that changes meter."""


def check_address(address: int) -> int:
    """Return ``address`` if a meter can be asked with it (0-250, or 254 for any meter)."""
    if address != BROADCAST_ANSWERING and address not in PRIMARY_ADDRESSES:
        raise MbusError(f"M-Bus primary address {address} is not 0-250 or {BROADCAST_ANSWERING}")
    return address


class ReadSession:
    """One read of one meter: the requests to send and the telegrams that answer them."""

    def __init__(self, address: int = BROADCAST_ANSWERING, *, max_telegrams: int = MAX_TELEGRAMS) -> None:
        """Prepare the read of the meter at ``address`` (254: whichever meter the line has)."""
        self.address = check_address(address)
        self.max_telegrams = max_telegrams
        self.telegrams: list[Telegram] = []
        self.frames: list[bytes] = []
        self._fcb = True
        self._reader = LongFrameReader()

    def reset_request(self) -> bytes:
        """Return the SND_NKE that starts the read."""
        return snd_nke(self.address)

    @staticmethod
    def acknowledged(data: bytes) -> bool:
        """Whether the meter's bytes hold its ``E5`` confirmation."""
        return ACK in data

    def data_request(self) -> bytes:
        """Return the REQ_UD2 for the next telegram (the same one again after a failure)."""
        self._reader = LongFrameReader()
        return req_ud2(self.address, fcb=self._fcb)

    def feed(self, data: bytes) -> Telegram | BadFrame | None:
        """Add the meter's bytes; return the decoded RSP_UD or a frame that failed its check sum."""
        for item in self._reader.feed(data):
            if isinstance(item, BadFrame):
                return item
            telegram = decode_body(item)
            if self.address != BROADCAST_ANSWERING and item[1] != self.address:
                raise MbusAddressError(f"M-Bus answer from address {item[1]}, asked {self.address}")
            self.frames.append(bytes(item))
            return telegram
        return None

    def accept(self, telegram: Telegram) -> bool:
        """Keep a telegram; return whether another one is to be asked for."""
        if self.telegrams and telegram.header.identification != self.telegrams[0].header.identification:
            raise MbusAddressError(
                f"M-Bus telegram of meter {telegram.header.identification} in the series of "
                f"{self.telegrams[0].header.identification}"
            )
        self.telegrams.append(telegram)
        self._fcb = not self._fcb
        return telegram.more_records and len(self.telegrams) < self.max_telegrams

    def result(self) -> Telegram:
        """Return the telegrams as one: the first one's header, every record in order."""
        if not self.telegrams:
            raise MbusError("no M-Bus telegram was read")
        first = self.telegrams[0]
        records = tuple(record for telegram in self.telegrams for record in telegram.records)
        return replace(
            first,
            records=records,
            manufacturer_data=self.telegrams[-1].manufacturer_data,
            more_records=self.telegrams[-1].more_records,
        )


@dataclass(frozen=True, slots=True)
class MbusSettings:
    """How one meter is read: address, rate, wake-up, and the waits."""

    address: int = BROADCAST_ANSWERING
    baud: int = DEFAULT_BAUD
    wake_up: bool = True
    ack_timeout: float = 0.5
    """Seconds to wait for the ``E5`` after SND_NKE."""
    ack_required: bool = False
    """Whether a missing ``E5`` ends the read (the probe: a silent line is given up early);
    otherwise it is noted and the data are asked for anyway."""
    response_timeout: float = 1.5
    """Seconds to the first byte of an RSP_UD; the frame's own wire time is added."""
    retries: int = 2
    """Requests repeated (same FCB) after a silent or corrupted answer."""
    wake_up_pause: float = 0.1
    """Seconds between the wake-up run and the request at 8E1."""
    max_telegrams: int = MAX_TELEGRAMS


__all__ = [
    "BAUDS",
    "DEFAULT_BAUD",
    "MAX_TELEGRAMS",
    "WAKE_UP_CHARACTER",
    "WAKE_UP_LENGTH",
    "MbusAddressError",
    "MbusSettings",
    "ReadSession",
    "check_address",
]
