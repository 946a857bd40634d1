"""The block check character of IEC 62056-21 text messages."""

from __future__ import annotations

from functools import reduce

from .crc import crc16_arc

__all__ = ["bcc", "crc16_arc"]


def bcc(data: bytes) -> int:
    """Return the block check character: XOR of every byte (IEC 62056-21 6.3.13).

    It is a column parity: two flipped bits in the same bit column cancel, so a matching
    BCC does not prove a clean readout (see the spike guard of the HA layer).
    """
    return reduce(lambda acc, byte: acc ^ byte, data, 0)
