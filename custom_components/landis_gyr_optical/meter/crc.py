"""CRC-16 variants of the binary protocols (HDLC frames, SML transport).

Both are the CCITT polynomial 0x1021 processed LSB first (reflected, 0x8408):
CRC-16/X-25 (init 0xFFFF, final XOR 0xFFFF) guards HDLC headers and frames
(IEC 62056-46 / ISO 13239) and the SML transport; CRC-16/Kermit (init 0, no final
XOR) is what some Holley SML meters send instead.
"""

from __future__ import annotations


def _table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CCITT_REFLECTED = _table()


def _reflected(data: bytes, crc: int) -> int:
    for byte in data:
        crc = (crc >> 8) ^ _CCITT_REFLECTED[(crc ^ byte) & 0xFF]
    return crc


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25; on the wire it goes low byte first."""
    return _reflected(data, 0xFFFF) ^ 0xFFFF


def crc16_kermit(data: bytes) -> int:
    """CRC-16/Kermit (same polynomial, init 0, no final XOR)."""
    return _reflected(data, 0)


def x25_bytes(data: bytes) -> bytes:
    """Return the CRC-16/X-25 of ``data`` as transmitted (low byte first)."""
    return crc16_x25(data).to_bytes(2, "little")
