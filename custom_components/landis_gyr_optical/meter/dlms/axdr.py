"""A-XDR encoding of COSEM data (IEC 62056-6-2 / the DLMS "Data" CHOICE), sans-IO.

Every value starts with a type tag; arrays and structures carry an element count,
strings a length, both in the A-XDR variable-length form (one byte below 0x80, else
``0x8N`` followed by N length bytes). The decoder bounds nesting and counts so a garbage
stream fails with ``AxdrError`` instead of recursing or allocating without end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
import struct

from ..errors import ProtocolError

MAX_DEPTH = 16
"""Deepest nesting of arrays and structures accepted (push layouts use 3)."""


class AxdrError(ProtocolError):
    """Bytes do not form valid A-XDR data."""


class DataType(IntEnum):
    """Tags of the COSEM ``Data`` CHOICE."""

    NULL = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27


# Fixed-size integer types: (size in bytes, signed).
_INTEGERS: dict[DataType, tuple[int, bool]] = {
    DataType.DOUBLE_LONG: (4, True),
    DataType.DOUBLE_LONG_UNSIGNED: (4, False),
    DataType.BCD: (1, True),
    DataType.INTEGER: (1, True),
    DataType.LONG: (2, True),
    DataType.UNSIGNED: (1, False),
    DataType.LONG_UNSIGNED: (2, False),
    DataType.LONG64: (8, True),
    DataType.LONG64_UNSIGNED: (8, False),
    DataType.ENUM: (1, False),
}
_FIXED_OCTETS = {DataType.DATE_TIME: 12, DataType.DATE: 5, DataType.TIME: 4}

type Scalar = int | float | bool | bytes | str | None
type DataValue = Scalar | tuple[Data, ...]


@dataclass(frozen=True, slots=True)
class Data:
    """One decoded value with its type; arrays and structures hold a tuple of ``Data``."""

    type: DataType
    value: DataValue = None

    @property
    def items(self) -> tuple[Data, ...]:
        """The elements of an array or structure (empty for anything else)."""
        return self.value if isinstance(self.value, tuple) else ()

    @property
    def is_integer(self) -> bool:
        """Whether the value is one of the integer types (enum and BCD included)."""
        return self.type in _INTEGERS

    def encode(self) -> bytes:
        """Return the tagged A-XDR bytes."""
        return encode(self)


def decode_length(data: bytes, offset: int) -> tuple[int, int]:
    """Decode an A-XDR length at ``offset``; return it and the offset after it."""
    if offset >= len(data):
        raise AxdrError("data ends where a length was due")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0 or size > 4 or offset + 1 + size > len(data):
        raise AxdrError(f"bad A-XDR length prefix {first:02X} at byte {offset}")
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


def encode_length(length: int) -> bytes:
    """Encode an A-XDR length."""
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def decode(data: bytes, offset: int = 0) -> tuple[Data, int]:
    """Decode one tagged value at ``offset``; return it and the offset after it."""
    return _decode(data, offset, 0)


def decode_all(data: bytes) -> Data:
    """Decode exactly one value that fills ``data``."""
    value, offset = decode(data)
    if offset != len(data):
        raise AxdrError(f"{len(data) - offset} bytes after the A-XDR value")
    return value


def _decode(data: bytes, offset: int, depth: int) -> tuple[Data, int]:
    if offset >= len(data):
        raise AxdrError("data ends where a value was due")
    try:
        kind = DataType(data[offset])
    except ValueError:
        raise AxdrError(f"unknown A-XDR type tag {data[offset]:02X} at byte {offset}") from None
    offset += 1
    if kind is DataType.NULL:
        return Data(kind), offset
    if kind in (DataType.ARRAY, DataType.STRUCTURE):
        if depth >= MAX_DEPTH:
            raise AxdrError(f"A-XDR nesting deeper than {MAX_DEPTH}")
        count, offset = decode_length(data, offset)
        if count > len(data) - offset:
            raise AxdrError(f"{count} elements announced, only {len(data) - offset} bytes left")
        items: list[Data] = []
        for _ in range(count):
            item, offset = _decode(data, offset, depth + 1)
            items.append(item)
        return Data(kind, tuple(items)), offset
    if kind in _INTEGERS:
        size, signed = _INTEGERS[kind]
        raw = _take(data, offset, size, kind)
        return Data(kind, int.from_bytes(raw, "big", signed=signed)), offset + size
    if kind is DataType.BOOLEAN:
        return Data(kind, _take(data, offset, 1, kind)[0] != 0), offset + 1
    if kind in (DataType.FLOAT32, DataType.FLOAT64):
        size = 4 if kind is DataType.FLOAT32 else 8
        raw = _take(data, offset, size, kind)
        number: float = struct.unpack(">f" if size == 4 else ">d", raw)[0]
        return Data(kind, number), offset + size
    if kind in _FIXED_OCTETS:
        size = _FIXED_OCTETS[kind]
        return Data(kind, _take(data, offset, size, kind)), offset + size
    if kind is DataType.BIT_STRING:
        bits, offset = decode_length(data, offset)
        size = (bits + 7) // 8
        return Data(kind, _take(data, offset, size, kind)), offset + size
    length, offset = decode_length(data, offset)
    raw = _take(data, offset, length, kind)
    if kind is DataType.OCTET_STRING:
        return Data(kind, raw), offset + length
    try:
        text = raw.decode("utf-8" if kind is DataType.UTF8_STRING else "ascii")
    except UnicodeDecodeError:
        raise AxdrError(f"{kind.name.lower()} at byte {offset} is not text") from None
    return Data(kind, text), offset + length


def _take(data: bytes, offset: int, size: int, kind: DataType) -> bytes:
    if offset + size > len(data):
        raise AxdrError(f"{kind.name.lower()} needs {size} bytes at {offset}, the data ends at {len(data)}")
    return bytes(data[offset : offset + size])


def encode(value: Data) -> bytes:
    """Encode one tagged value."""
    kind = value.type
    head = bytes([kind])
    if kind is DataType.NULL:
        return head
    if kind in (DataType.ARRAY, DataType.STRUCTURE):
        return head + encode_length(len(value.items)) + b"".join(encode(item) for item in value.items)
    if kind in _INTEGERS:
        size, signed = _INTEGERS[kind]
        assert isinstance(value.value, int)
        return head + value.value.to_bytes(size, "big", signed=signed)
    if kind is DataType.BOOLEAN:
        return head + (b"\xff" if value.value else b"\x00")
    if kind in (DataType.FLOAT32, DataType.FLOAT64):
        assert isinstance(value.value, float)
        return head + struct.pack(">f" if kind is DataType.FLOAT32 else ">d", value.value)
    if isinstance(value.value, str):
        raw = value.value.encode("utf-8" if kind is DataType.UTF8_STRING else "ascii")
    else:
        assert isinstance(value.value, bytes)
        raw = value.value
    if kind in _FIXED_OCTETS:
        return head + raw
    if kind is DataType.BIT_STRING:
        return head + encode_length(len(raw) * 8) + raw
    return head + encode_length(len(raw)) + raw


# --- helpers for the common shapes -----------------------------------------------------------


def structure(*items: Data) -> Data:
    """Return a structure of the given elements."""
    return Data(DataType.STRUCTURE, items)


def array(*items: Data) -> Data:
    """Return an array of the given elements."""
    return Data(DataType.ARRAY, items)


def octet_string(raw: bytes) -> Data:
    """Return an octet string."""
    return Data(DataType.OCTET_STRING, raw)


def integer(kind: DataType, number: int) -> Data:
    """Return an integer of one of the integer types."""
    if kind not in _INTEGERS:
        raise ValueError(f"{kind.name} is not an integer type")
    return Data(kind, number)
