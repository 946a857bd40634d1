"""Checksums of the text protocols: IEC 62056-21 BCC and the DSMR P1 CRC."""

from __future__ import annotations

from functools import reduce


def bcc(data: bytes) -> int:
    """Return the block check character: XOR of every byte (IEC 62056-21 6.3.13).

    It is a column parity: two flipped bits in the same bit column cancel, so a matching
    BCC does not prove a clean readout (see the spike guard of the HA layer).
    """
    return reduce(lambda acc, byte: acc ^ byte, data, 0)


def _arc_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_ARC = _arc_table()


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (poly 0x8005 reflected, init 0): the CRC after ``!`` of a P1 telegram."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _ARC[(crc ^ byte) & 0xFF]
    return crc
