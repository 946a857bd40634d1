"""Character parity of 7E1 lines, checked by the UART or in software.

The block check character is a column XOR: two flipped bits in the same bit column cancel
and the readout still verifies. Even parity catches every single flipped bit of a
character, so a character with a parity error must stop the readout instead of being
decoded. Two ways to learn about such characters:

- ``MARKED``: a local UART with input parity checking and parity marking (termios
  ``INPCK | PARMRK``) delivers a bad character as ``FF 00 c`` and a real ``FF`` as ``FF FF``.
- ``SOFTWARE``: a raw TCP bridge whose serial side runs 8N1 passes the parity bit as bit 7;
  the client adds it when sending and checks and strips it when receiving.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import ParityError

_MARK = 0xFF


class ParityCheck(StrEnum):
    """Who checks the parity of received characters."""

    NONE = "none"
    MARKED = "marked"
    SOFTWARE = "software"


def _odd(byte: int) -> bool:
    return byte.bit_count() % 2 == 1


def with_even_parity(data: bytes) -> bytes:
    """Set bit 7 of each 7-bit character so that the character has even parity."""
    return bytes(byte | 0x80 if _odd(byte & 0x7F) else byte & 0x7F for byte in data)


class ParityDecoder:
    """Turns received bytes into checked 7-bit characters; raises ``ParityError`` on a bad one."""

    def __init__(self, check: ParityCheck) -> None:
        """Decode for ``check``; a marker split across two reads is kept until completed."""
        self.check = check
        self._pending = b""
        self.position = 0

    def decode(self, data: bytes) -> bytes:
        """Return the characters of ``data``, checked as ``check`` says."""
        if self.check is ParityCheck.NONE:
            self.position += len(data)
            return data
        if self.check is ParityCheck.SOFTWARE:
            for offset, byte in enumerate(data):
                if _odd(byte):
                    self._fail(byte & 0x7F, self.position + offset)
            self.position += len(data)
            return bytes(byte & 0x7F for byte in data)
        return self._unmark(data)

    def _unmark(self, data: bytes) -> bytes:
        buffer = self._pending + data
        out = bytearray()
        index = 0
        while index < len(buffer):
            byte = buffer[index]
            if byte != _MARK:
                out.append(byte)
                index += 1
                continue
            if index + 1 >= len(buffer):
                break
            if buffer[index + 1] == _MARK:
                out.append(_MARK)
                index += 2
                continue
            if index + 2 >= len(buffer):
                break
            self._fail(buffer[index + 2], self.position + len(out))
        self._pending = bytes(buffer[index:])
        self.position += len(out)
        return bytes(out)

    def _fail(self, character: int, position: int) -> None:
        raise ParityError(
            f"parity error in received character {position} (0x{character:02X}): the line is noisy "
            "or the head is misaligned; the readout is discarded"
        )
