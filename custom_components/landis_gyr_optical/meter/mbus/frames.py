"""M-Bus frames (EN 13757-2): long and short frames, and the single character ``E5``.

Long frames are ``68 L L 68 C A CI <data> CS 16``, short frames ``10 C A CS 16``.

The link layer every M-Bus reading shares: the DLMS pushes of Austrian customer interfaces
(``dlms/mbus.py``) and the RSP_UD answers of heat meters (``mbus/records.py``). A reader eats
bytes and returns the verified frame bodies (C, A, CI and data); a wrong check sum is
returned as a typed error with the frame, so a caller can drop what it was assembling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import ChecksumError, ProtocolError

START: Final = 0x68
STOP: Final = 0x16
HEADER: Final = 4
"""``68 L L 68``."""
MIN_BODY: Final = 3
"""C, A and CI: the shortest body a long frame carries."""
SHORT_START: Final = 0x10
ACK: Final = 0xE5
"""The single character a meter confirms a SND_NKE with."""
SND_NKE: Final = 0x40
"""C field of the link reset (the meter's FCB expectation starts anew)."""
REQ_UD2: Final = 0x5B
"""C field of the request for class 2 data with FCV set and FCB clear; FCB is bit 5 (0x20)."""
FCB: Final = 0x20
BROADCAST_ANSWERING: Final = 0xFE
"""The primary address every meter answers to: a point-to-point line (an optical head)."""
PRIMARY_ADDRESSES: Final = range(251)
"""Primary addresses a meter may be set to (0 is the factory default of many)."""


class MbusError(ProtocolError):
    """Bytes on an M-Bus line that are not the frames or records a reading needs."""


class MbusChecksumError(ChecksumError):
    """An M-Bus long frame whose check sum is wrong."""


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A long frame that arrived whole but failed its check sum."""

    error: MbusChecksumError
    frame: bytes


def _checked(frame: bytes) -> bytes | BadFrame:
    body = frame[HEADER:-2]
    if sum(body) & 0xFF != frame[-2]:
        return BadFrame(MbusChecksumError("M-Bus long frame with a wrong check sum"), frame)
    return body


class LongFrameReader:
    """Bytes in, verified long-frame bodies out; bytes that start no frame are skipped."""

    def __init__(self, *, min_body: int = MIN_BODY) -> None:
        """Start with an empty buffer; ``min_body`` is the shortest body the caller accepts."""
        self._buffer = bytearray()
        self._min_body = min_body

    def feed(self, data: bytes) -> list[bytes | BadFrame]:
        """Add bytes; return the bodies (and bad frames) they complete."""
        self._buffer += data
        out: list[bytes | BadFrame] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self._buffer.clear()
                return out
            del self._buffer[:start]
            if len(self._buffer) < HEADER:
                return out
            length = self._buffer[1]
            if self._buffer[2] != length or self._buffer[3] != START or length < self._min_body:
                del self._buffer[0]
                continue
            total = HEADER + length + 2
            if len(self._buffer) < total:
                return out
            frame = bytes(self._buffer[:total])
            if frame[-1] != STOP:
                del self._buffer[0]
                continue
            del self._buffer[:total]
            out.append(_checked(frame))


def long_frame_body(frame: bytes) -> bytes:
    """Verify one whole long frame and return its body (C, A, CI, data)."""
    if len(frame) < HEADER + MIN_BODY + 2 or frame[0] != START or frame[3] != START:
        raise MbusError(f"not an M-Bus long frame: {frame[:8].hex()}")
    length = frame[1]
    if frame[2] != length or len(frame) != HEADER + length + 2 or length < MIN_BODY:
        raise MbusError(f"M-Bus long frame says {length} bytes, carries {len(frame) - HEADER - 2}")
    if frame[-1] != STOP:
        raise MbusError("M-Bus long frame without its stop byte")
    checked = _checked(frame)
    if isinstance(checked, BadFrame):
        raise checked.error
    return checked


def short_frame(control: int, address: int) -> bytes:
    """Return the short frame ``10 C A CS 16`` (the master's requests)."""
    if not 0 <= address <= 0xFF:
        raise MbusError(f"M-Bus address {address} is not a byte")
    return bytes([SHORT_START, control, address, (control + address) & 0xFF, STOP])


def snd_nke(address: int) -> bytes:
    """Return the link reset for ``address``."""
    return short_frame(SND_NKE, address)


def req_ud2(address: int, *, fcb: bool) -> bytes:
    """Return the request for class 2 data with its frame count bit."""
    return short_frame(REQ_UD2 | (FCB if fcb else 0), address)


def parse_short_frame(frame: bytes) -> tuple[int, int]:
    """Verify a short frame and return its C and A fields (the meter side: simulator and tests)."""
    if len(frame) != 5 or frame[0] != SHORT_START or frame[4] != STOP:
        raise MbusError(f"not an M-Bus short frame: {frame.hex()}")
    if (frame[1] + frame[2]) & 0xFF != frame[3]:
        raise MbusChecksumError("M-Bus short frame with a wrong check sum")
    return frame[1], frame[2]


def build_long_frame(body: bytes) -> bytes:
    """Wrap a body (C, A, CI, data) in a long frame (the meter side: simulator and tests)."""
    return bytes([START, len(body), len(body), START]) + body + bytes([sum(body) & 0xFF, STOP])


__all__ = [
    "ACK",
    "BROADCAST_ANSWERING",
    "FCB",
    "PRIMARY_ADDRESSES",
    "REQ_UD2",
    "SND_NKE",
    "BadFrame",
    "LongFrameReader",
    "MbusChecksumError",
    "MbusError",
    "build_long_frame",
    "long_frame_body",
    "parse_short_frame",
    "req_ud2",
    "short_frame",
    "snd_nke",
]
