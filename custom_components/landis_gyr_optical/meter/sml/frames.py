"""SML transport (BSI TR-03109-1): finding, unescaping and checking SML files in a stream.

``1B1B1B1B 01010101 | messages | 0-3 padding | 1B1B1B1B 1A <pad> <crc>``

A literal ``1B1B1B1B`` inside is doubled. The frame CRC is CRC-16/X-25 low byte first;
some Holley meters send CRC-16/Kermit high byte first instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..crc import crc16_kermit, crc16_x25
from ..errors import ChecksumError, ProtocolError

ESCAPE = b"\x1b" * 4
START = ESCAPE + b"\x01\x01\x01\x01"
END_MARK = 0x1A
MAX_FRAME = 16 * 1024
"""Largest SML file accepted; bounds memory on a stream without an end sequence."""


class SmlError(ProtocolError):
    """Bytes do not form a valid SML file or message."""


class SmlChecksumError(ChecksumError):
    """An SML file's or message's CRC does not verify."""


class CrcVariant(StrEnum):
    """Which CRC the frame carried."""

    X25 = "x25"
    KERMIT = "kermit"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SmlFrame:
    """One verified SML file: its messages' bytes and which CRC it used."""

    payload: bytes
    crc: CrcVariant
    raw: bytes


class SmlStreamReader:
    """Split a byte stream into verified SML files (``feed`` → frames and rejects)."""

    def __init__(self) -> None:
        """Start looking for an escape sequence."""
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[SmlFrame | ProtocolError]:
        """Add bytes; return the frames (and errors for broken ones) they complete."""
        self._buffer += data
        out: list[SmlFrame | ProtocolError] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                # Keep a tail that may be the beginning of a start sequence.
                del self._buffer[: max(0, len(self._buffer) - (len(START) - 1))]
                return out
            del self._buffer[:start]
            result = _scan(bytes(self._buffer))
            if result is None:
                if len(self._buffer) > MAX_FRAME:
                    out.append(SmlError(f"SML file longer than {MAX_FRAME} bytes without an end"))
                    del self._buffer[: len(START)]
                    continue
                return out
            consumed, event = result
            out.append(event)
            del self._buffer[:consumed]


def _scan(buffer: bytes) -> tuple[int, SmlFrame | ProtocolError] | None:
    """Unescape one frame at the start of ``buffer``: (bytes consumed, frame or error), or None."""
    payload = bytearray()
    position = len(START)
    while position + 4 <= len(buffer):
        group = buffer[position : position + 4]
        if group != ESCAPE:
            payload += group
            position += 4
            continue
        if position + 8 > len(buffer):
            return None
        following = buffer[position + 4 : position + 8]
        if following == ESCAPE:
            payload += ESCAPE
            position += 8
        elif following == b"\x01\x01\x01\x01":
            # A new start: the previous file was cut short.
            return position, SmlError("SML file interrupted by a new start sequence")
        elif following[0] == END_MARK:
            end = position + 8
            return end, _verify(buffer[:end], payload, following)
        else:
            return position + 4, SmlError(f"unknown SML escape sequence {following.hex()}")
    return None


def _verify(raw: bytes, payload: bytearray, trailer: bytes) -> SmlFrame | ProtocolError:
    padding = trailer[1]
    # The standard says 0-3; DZG meters send 4 with a payload that ends on a zero word.
    if padding > 7 or padding > len(payload) or any(payload[len(payload) - padding :]):
        return SmlError(f"SML padding of {padding} bytes")
    checked = raw[:-2]
    if crc16_x25(checked) == int.from_bytes(trailer[2:4], "little"):
        variant = CrcVariant.X25
    elif crc16_kermit(checked) == int.from_bytes(trailer[2:4], "big"):
        variant = CrcVariant.KERMIT
    else:
        return SmlChecksumError(f"SML file CRC {trailer[2:4].hex()} matches neither X-25 nor Kermit")
    return SmlFrame(bytes(payload[: len(payload) - padding]), variant, raw)


def encode_frame(payload: bytes, *, crc: CrcVariant = CrcVariant.X25) -> bytes:
    """Frame messages as an SML file (escaping, padding, CRC); the meter side."""
    padding = (-len(payload)) % 4
    body = payload + b"\x00" * padding
    escaped = bytearray()
    for index in range(0, len(body), 4):
        group = body[index : index + 4]
        escaped += group + ESCAPE if group == ESCAPE else group
    head = START + bytes(escaped) + ESCAPE + bytes([END_MARK, padding])
    if crc is CrcVariant.KERMIT:
        return head + crc16_kermit(head).to_bytes(2, "big")
    return head + crc16_x25(head).to_bytes(2, "little")
