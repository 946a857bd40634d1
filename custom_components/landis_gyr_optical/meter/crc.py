"""The CRC-16 variants of every protocol here, from one reflected-table implementation.

Two polynomials, each processed LSB first (reflected):
- CCITT 0x1021 (reflected 0x8408): CRC-16/X-25 (init 0xFFFF, final XOR 0xFFFF) guards HDLC
  headers and frames (IEC 62056-46 / ISO 13239) and the SML transport; CRC-16/Kermit (init 0,
  no final XOR) is what some Holley SML meters send instead.
- IBM 0x8005 (reflected 0xA001): CRC-16/ARC (init 0) after the ``!`` of a DSMR P1 telegram,
  CRC-16/MODBUS (init 0xFFFF) at the end of a Modbus RTU frame.
"""

from __future__ import annotations

from functools import cache


@cache
def _table(polynomial: int) -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _reflected(data: bytes, crc: int, polynomial: int) -> int:
    table = _table(polynomial)
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


_CCITT = 0x8408
_IBM = 0xA001


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25; on the wire it goes low byte first."""
    return _reflected(data, 0xFFFF, _CCITT) ^ 0xFFFF


def crc16_kermit(data: bytes) -> int:
    """CRC-16/Kermit (same polynomial, init 0, no final XOR)."""
    return _reflected(data, 0, _CCITT)


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC: the four hex digits after ``!`` of a P1 telegram."""
    return _reflected(data, 0, _IBM)


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS; sent low byte first, so a frame with its CRC checks to 0."""
    return _reflected(data, 0xFFFF, _IBM)


def x25_bytes(data: bytes) -> bytes:
    """Return the CRC-16/X-25 of ``data`` as transmitted (low byte first)."""
    return crc16_x25(data).to_bytes(2, "little")
