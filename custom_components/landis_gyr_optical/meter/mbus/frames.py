"""M-Bus long frames (EN 13757-2): ``68 L L 68 C A CI <data> CS 16``.

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


def build_long_frame(body: bytes) -> bytes:
    """Wrap a body (C, A, CI, data) in a long frame (the meter side: simulator and tests)."""
    return bytes([START, len(body), len(body), START]) + body + bytes([sum(body) & 0xFF, STOP])


__all__ = [
    "BadFrame",
    "LongFrameReader",
    "MbusChecksumError",
    "MbusError",
    "build_long_frame",
    "long_frame_body",
]
