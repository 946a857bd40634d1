"""Short-name referencing: Read requests and responses, and the object list (IEC 62056-5-3 7.4).

A short-name server gives every object a base name (a 16-bit variable name); attribute n of
the object is the variable ``base + 8 * (n - 1)``. The client learns the base names from the
object list of the current association (class 12, base name 0xFA00, the list is attribute 2),
then reads values with ReadRequest / ReadResponse. Older Landis+Gyr ZMD and ZCX meters use
this referencing on their optical port; the public client may read with it as with GET.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from ..cosem import obis_from_bytes, obis_to_bytes
from ..obis import ObisCode
from .axdr import AxdrError, Data, DataType, decode_all, decode_length, encode_length
from .registers import DlmsError

READ_REQUEST = 0x05
READ_RESPONSE = 0x0C
ASSOCIATION_SN = 0xFA00
"""Base name of the current short-name association object (class 12)."""
ATTRIBUTE_STEP = 8
"""Variable names between two attributes of one object."""


def variable_name(base_name: int, attribute: int) -> int:
    """Return the variable name of an attribute (attribute 1 is the logical name, at the base)."""
    if not 1 <= attribute <= 32:
        raise ValueError(f"attribute {attribute} outside 1..32")
    return (base_name + ATTRIBUTE_STEP * (attribute - 1)) & 0xFFFF


OBJECT_LIST = variable_name(ASSOCIATION_SN, 2)
"""0xFA08: the object list of the current association."""


class _Access(IntEnum):
    VARIABLE_NAME = 2
    BLOCK_NUMBER = 5


class _Result(IntEnum):
    DATA = 0
    DATA_ACCESS_ERROR = 1
    DATA_BLOCK_RESULT = 2


def encode_read_request(name: int) -> bytes:
    """ReadRequest of one variable."""
    return bytes([READ_REQUEST, 0x01, _Access.VARIABLE_NAME]) + name.to_bytes(2, "big")


def encode_read_next(block_number: int) -> bytes:
    """ReadRequest for the block after ``block_number`` of a block-wise answer."""
    return bytes([READ_REQUEST, 0x01, _Access.BLOCK_NUMBER]) + block_number.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One decoded ReadRequest (the meter side): a variable, or the next block."""

    name: int | None = None
    block_number: int | None = None

    @classmethod
    def decode(cls, apdu: bytes) -> ReadRequest:
        """Decode a ReadRequest of one variable or one block number."""
        if len(apdu) != 5 or apdu[0] != READ_REQUEST or apdu[1] != 0x01:
            raise DlmsError(f"unsupported Read request {apdu[:8].hex()}")
        number = int.from_bytes(apdu[3:5], "big")
        if apdu[2] == _Access.VARIABLE_NAME:
            return cls(name=number)
        if apdu[2] == _Access.BLOCK_NUMBER:
            return cls(block_number=number)
        raise DlmsError(f"unsupported variable access {apdu[2]}")


@dataclass(frozen=True, slots=True)
class ReadResponse:
    """The answer to a ReadRequest: data, a data-access-result, or one block of a long answer."""

    data: Data | None = None
    result: int = 0
    block_number: int | None = None
    last_block: bool = True
    raw_block: bytes = b""

    @classmethod
    def decode(cls, apdu: bytes) -> ReadResponse:
        """Decode a ReadResponse of one variable."""
        if len(apdu) < 3 or apdu[0] != READ_RESPONSE:
            raise DlmsError(f"not a Read response: {apdu[:8].hex()}")
        if apdu[1] != 0x01:
            raise DlmsError(f"Read response with {apdu[1]} results to one request")
        choice, body = apdu[2], bytes(apdu[3:])
        try:
            if choice == _Result.DATA:
                return cls(data=decode_all(body))
            if choice == _Result.DATA_ACCESS_ERROR and len(body) == 1:
                return cls(result=body[0])
            if choice == _Result.DATA_BLOCK_RESULT and len(body) >= 4:
                length, offset = decode_length(body, 3)
                if offset + length == len(body):
                    number = int.from_bytes(body[1:3], "big")
                    return cls(block_number=number, last_block=body[0] != 0, raw_block=body[offset:])
        except AxdrError as err:
            raise DlmsError(f"Read response does not decode: {err}") from err
        raise DlmsError(f"malformed Read response {apdu[:12].hex()}")

    def encode(self) -> bytes:
        """Return the APDU (the meter side)."""
        head = bytes([READ_RESPONSE, 0x01])
        if self.block_number is not None:
            return (
                head
                + bytes([_Result.DATA_BLOCK_RESULT, 1 if self.last_block else 0])
                + self.block_number.to_bytes(2, "big")
                + encode_length(len(self.raw_block))
                + self.raw_block
            )
        if self.data is None:
            return head + bytes([_Result.DATA_ACCESS_ERROR, self.result])
        return head + bytes([_Result.DATA]) + self.data.encode()


@dataclass(frozen=True, slots=True)
class ObjectListEntry:
    """One object of a short-name object list."""

    base_name: int
    class_id: int
    version: int
    obis: ObisCode


def object_list(data: Data) -> dict[ObisCode, ObjectListEntry]:
    """Map logical names to the entries of an object list (array of {base, class, version, name})."""
    if data.type is not DataType.ARRAY:
        raise DlmsError(f"the object list is a {data.type.name}, not an array")
    out: dict[ObisCode, ObjectListEntry] = {}
    for item in data.items:
        fields = item.items
        if (
            item.type is not DataType.STRUCTURE
            or len(fields) < 4
            or not all(isinstance(field.value, int) for field in fields[:3])
            or not isinstance(fields[3].value, bytes)
            or len(fields[3].value) != 6
        ):
            raise DlmsError(f"malformed object list entry {item}")
        base, class_id, version = (int(field.value) for field in fields[:3])  # type: ignore[arg-type]
        obis = obis_from_bytes(fields[3].value)
        out[obis] = ObjectListEntry(base & 0xFFFF, class_id, version, obis)
    return out


def encode_object_list(entries: Sequence[ObjectListEntry]) -> Data:
    """Return the object list value (the meter side)."""
    return Data(
        DataType.ARRAY,
        tuple(
            Data(
                DataType.STRUCTURE,
                (
                    Data(
                        DataType.LONG,
                        entry.base_name - 0x10000 if entry.base_name > 0x7FFF else entry.base_name,
                    ),
                    Data(DataType.LONG_UNSIGNED, entry.class_id),
                    Data(DataType.UNSIGNED, entry.version),
                    Data(DataType.OCTET_STRING, obis_to_bytes(entry.obis)),
                ),
            )
            for entry in entries
        ),
    )


def split_value(data: bytes, size: int) -> list[bytes]:
    """Cut an encoded value into blocks of ``size`` bytes (the meter side of block transfer)."""
    return [data[index : index + size] for index in range(0, len(data), size)] or [b""]


__all__ = [
    "ASSOCIATION_SN",
    "OBJECT_LIST",
    "ObjectListEntry",
    "ReadRequest",
    "ReadResponse",
    "encode_object_list",
    "encode_read_next",
    "encode_read_request",
    "object_list",
    "split_value",
    "variable_name",
]
