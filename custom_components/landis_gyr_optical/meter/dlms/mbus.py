"""DLMS/COSEM over wired M-Bus: long frames (EN 13757-2) and the DLMS transport segments.

Austrian customer interfaces (Netz NÖ's Sagemcom T210-D, TINETZ's Kaifa) push each APDU
in M-Bus long frames ``68 L L 68 C A CI STSAP DTSAP <segment> CS 16``. The CI field of
the DLMS transport (IEC 62056-7-3) numbers the segments in its low nibble and marks the
last one with bit 4; the segments joined are the APDU (mostly general-glo-ciphering).
"""

from __future__ import annotations

from typing import Final

from ..errors import ChecksumError, ProtocolError
from .hdlc import Rejected

START: Final = 0x68
STOP: Final = 0x16
_HEADER: Final = 4
"""``68 L L 68``."""
_TRANSPORT_HEADER: Final = 5
"""C, A, CI, STSAP, DTSAP: the bytes of a long frame before its segment."""
_FINAL: Final = 0x10
_SEQUENCE: Final = 0x0F


class MbusError(ProtocolError):
    """Bytes on an M-Bus line that are not the frames or segments the push needs."""


class MbusChecksumError(ChecksumError):
    """An M-Bus long frame whose check sum is wrong."""


class MbusApduReader:
    """Bytes in, whole APDUs out: long frames verified, DLMS segments joined in order."""

    def __init__(self) -> None:
        """Start with empty buffers."""
        self._buffer = bytearray()
        self._segments: list[bytes] = []

    def feed(self, data: bytes) -> list[bytes | Rejected]:
        """Add bytes; return the APDUs (and rejects) they complete."""
        self._buffer += data
        out: list[bytes | Rejected] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self._buffer.clear()
                return out
            del self._buffer[:start]
            if len(self._buffer) < _HEADER:
                return out
            length = self._buffer[1]
            if self._buffer[2] != length or self._buffer[3] != START or length < _TRANSPORT_HEADER:
                del self._buffer[0]
                continue
            total = _HEADER + length + 2
            if len(self._buffer) < total:
                return out
            frame = bytes(self._buffer[:total])
            if frame[-1] != STOP:
                del self._buffer[0]
                continue
            del self._buffer[:total]
            body = frame[_HEADER : _HEADER + length]
            if sum(body) & 0xFF != frame[-2]:
                self._segments.clear()
                out.append(Rejected(MbusChecksumError("M-Bus long frame with a wrong check sum"), frame))
                continue
            event = self._segment(body)
            if event is not None:
                out.append(event)

    def _segment(self, body: bytes) -> bytes | Rejected | None:
        ci = body[2]
        if ci > _FINAL | _SEQUENCE:
            return Rejected(MbusError(f"M-Bus CI field 0x{ci:02X} is no DLMS transport segment"), body)
        if ci & _SEQUENCE != len(self._segments):
            self._segments.clear()
            return Rejected(MbusError(f"M-Bus segment {ci & _SEQUENCE} out of order"), body)
        # Sixteen segments of at most 250 bytes: the transport itself bounds the APDU.
        self._segments.append(body[_TRANSPORT_HEADER:])
        if not ci & _FINAL:
            return None
        apdu = b"".join(self._segments)
        self._segments.clear()
        return apdu


def long_frame(segment: bytes, ci: int, *, control: int = 0x53, address: int = 0xFF) -> bytes:
    """Wrap one segment in a long frame (the meter side: the simulator and tests)."""
    body = bytes([control, address, ci, 0x01, 0x67]) + segment
    return bytes([START, len(body), len(body), START]) + body + bytes([sum(body) & 0xFF, STOP])


__all__ = ["MbusApduReader", "MbusChecksumError", "MbusError", "long_frame"]
