"""DLMS/COSEM over wired M-Bus: long frames (EN 13757-2) and the DLMS transport segments.

Austrian customer interfaces (Netz NÖ's Sagemcom T210-D, TINETZ's Kaifa) push each APDU
in M-Bus long frames ``68 L L 68 C A CI STSAP DTSAP <segment> CS 16``. The CI field of
the DLMS transport (IEC 62056-7-3) numbers the segments in its low nibble and marks the
last one with bit 4; the segments joined are the APDU (mostly general-glo-ciphering).
"""

from __future__ import annotations

from typing import Final

from ..mbus.frames import BadFrame, LongFrameReader, MbusChecksumError, MbusError, build_long_frame
from .hdlc import Rejected

_TRANSPORT_HEADER: Final = 5
"""C, A, CI, STSAP, DTSAP: the bytes of a long frame before its segment."""
_FINAL: Final = 0x10
_SEQUENCE: Final = 0x0F


class MbusApduReader:
    """Bytes in, whole APDUs out: long frames verified, DLMS segments joined in order."""

    def __init__(self) -> None:
        """Start with empty buffers."""
        self._frames = LongFrameReader(min_body=_TRANSPORT_HEADER)
        self._segments: list[bytes] = []

    def feed(self, data: bytes) -> list[bytes | Rejected]:
        """Add bytes; return the APDUs (and rejects) they complete."""
        out: list[bytes | Rejected] = []
        for body in self._frames.feed(data):
            if isinstance(body, BadFrame):
                self._segments.clear()
                out.append(Rejected(body.error, body.frame))
                continue
            event = self._segment(body)
            if event is not None:
                out.append(event)
        return out

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
    return build_long_frame(bytes([control, address, ci, 0x01, 0x67]) + segment)


__all__ = ["MbusApduReader", "MbusChecksumError", "MbusError", "long_frame"]
