"""SML messages (BSI TR-03109-1, FNN): TL-encoded lists, and the readings they carry.

German meters (L+G E220/E320, EMH, eBZ, DZG, Holley, Iskra) push SML files at 9600 8N1.
The ``GetList.Res`` entries carry OBIS code, unit, scaler and value; the frames around
them are ``frames.py``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cosem import NO_UNIT, Scaling, normalise_channels, obis_from_bytes, scaled_value, text_value
from ..crc import crc16_kermit, crc16_x25
from ..identity import UNKNOWN_FLAG_ID, MeterIdentity
from ..obis import ObisCode
from ..registers import Register, Value
from .frames import CrcVariant, SmlChecksumError, SmlError

MAX_DEPTH = 12

OPEN_RESPONSE = 0x0101
CLOSE_RESPONSE = 0x0201
GET_LIST_RESPONSE = 0x0701

MANUFACTURER_CODES = (ObisCode.parse("129-129:199.130.3"), ObisCode.parse("1-0:96.50.1*1"))
SERVER_ID_CODES = (ObisCode.parse("1-0:0.0.9"), ObisCode.parse("1-0:96.1.0"))
SERIAL_NUMBER = ObisCode.parse("0-0:96.1.0")

type SmlNode = bytes | int | bool | tuple[SmlNode, ...] | None


# --- TL encoding -------------------------------------------------------------------------------------

_OCTETS, _BOOLEAN, _SIGNED, _UNSIGNED, _LIST = 0, 4, 5, 6, 7


def decode_node(data: bytes, offset: int = 0, depth: int = 0) -> tuple[SmlNode, int]:
    """Decode one TL-encoded element; ``None`` is an absent optional (``01``)."""
    if offset >= len(data):
        raise SmlError("SML data ends where an element was due")
    first = data[offset]
    kind = (first >> 4) & 0x07
    length = first & 0x0F
    tl_size = 1
    while data[offset + tl_size - 1] & 0x80:
        if offset + tl_size >= len(data) or tl_size >= 4:
            raise SmlError(f"SML type-length field at byte {offset} does not end")
        following = data[offset + tl_size]
        if (following >> 4) & 0x07 != 0:
            raise SmlError(f"bad SML type-length continuation at byte {offset + tl_size}")
        length = (length << 4) | (following & 0x0F)
        tl_size += 1
    if kind == _LIST:
        if depth >= MAX_DEPTH:
            raise SmlError(f"SML lists nested deeper than {MAX_DEPTH}")
        if length > len(data) - offset - tl_size:
            raise SmlError(f"SML list of {length} elements exceeds the data")
        position = offset + tl_size
        items: list[SmlNode] = []
        for _ in range(length):
            item, position = decode_node(data, position, depth + 1)
            items.append(item)
        return tuple(items), position
    if first == 0x00:
        return b"", offset + 1  # end of message
    if length < tl_size or offset + length > len(data):
        raise SmlError(f"SML element at byte {offset} of {length} bytes does not fit")
    raw = bytes(data[offset + tl_size : offset + length])
    end = offset + length
    if kind == _OCTETS:
        return (None if length == 1 and tl_size == 1 else raw), end
    if kind == _BOOLEAN:
        if len(raw) != 1:
            raise SmlError(f"SML boolean of {len(raw)} bytes")
        return raw[0] != 0, end
    if kind in (_SIGNED, _UNSIGNED):
        if not 1 <= len(raw) <= 8:
            raise SmlError(f"SML integer of {len(raw)} bytes")
        return int.from_bytes(raw, "big", signed=kind == _SIGNED), end
    raise SmlError(f"unknown SML type {kind} at byte {offset}")


def encode_node(node: SmlNode) -> bytes:
    """TL-encode an element (integers as signed when negative, else unsigned)."""
    if node is None:
        return b"\x01"
    if isinstance(node, tuple):
        return _tl(_LIST, len(node), False) + b"".join(encode_node(item) for item in node)
    if isinstance(node, bool):
        return bytes([0x42, 0xFF if node else 0x00])
    if isinstance(node, int):
        signed = node < 0
        size = max(1, (node.bit_length() + (8 if signed else 7)) // 8)
        return bytes([(_SIGNED if signed else _UNSIGNED) << 4 | (size + 1)]) + node.to_bytes(
            size, "big", signed=signed
        )
    return _tl(_OCTETS, len(node), True) + node


def encode_integer(value: int, size: int, *, signed: bool) -> bytes:
    """TL-encode an integer with a fixed size (as meters send scalers and counters)."""
    return bytes([(_SIGNED if signed else _UNSIGNED) << 4 | (size + 1)]) + value.to_bytes(
        size, "big", signed=signed
    )


def _tl(kind: int, length: int, counts_itself: bool) -> bytes:
    if length + (1 if counts_itself else 0) < 16:
        return bytes([kind << 4 | (length + (1 if counts_itself else 0))])
    total = length + (2 if counts_itself else 0)
    return bytes([0x80 | kind << 4 | (total >> 4), total & 0x0F])


# --- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmlMessage:
    """One SML message: its body tag and decoded body."""

    transaction_id: bytes
    tag: int
    body: tuple[SmlNode, ...]


def decode_messages(payload: bytes, *, verify: bool = True) -> list[SmlMessage]:
    """Decode every message of a file's payload, checking each message's CRC."""
    messages: list[SmlMessage] = []
    offset = 0
    while offset < len(payload):
        if payload[offset] == 0x00:
            offset += 1  # padding or stray end-of-message markers
            continue
        start = offset
        node, offset = decode_node(payload, offset)
        if not isinstance(node, tuple) or len(node) != 6:
            raise SmlError(f"SML message at byte {start} is not a list of 6")
        transaction_id, _group, _abort, body, crc, end = node
        if end != b"":
            raise SmlError(f"SML message at byte {start} lacks its end marker")
        if verify and isinstance(crc, int) and not isinstance(crc, bool):
            crc_size = 3 if payload[offset - 4] == 0x63 else 2
            _check_message_crc(payload[start : offset - 1 - crc_size], crc)
        if not isinstance(body, tuple) or len(body) != 2 or not isinstance(body[0], int):
            raise SmlError(f"SML message body at byte {start} is not a tagged choice")
        content = body[1] if isinstance(body[1], tuple) else ()
        messages.append(
            SmlMessage(transaction_id if isinstance(transaction_id, bytes) else b"", body[0], content)
        )
    return messages


def _check_message_crc(covered: bytes, crc: int) -> None:
    x25 = crc16_x25(covered)
    if crc in (int.from_bytes(x25.to_bytes(2, "little"), "big"), x25, crc16_kermit(covered)):
        return
    raise SmlChecksumError(f"SML message CRC {crc:04X} does not verify")


def encode_message(transaction_id: bytes, tag: int, body: tuple[SmlNode, ...]) -> bytes:
    """Encode one message with its CRC (X-25, low byte first) and end marker."""
    head = (
        b"\x76"
        + encode_node(transaction_id)
        + b"\x62\x00\x62\x00"
        + b"\x72"
        + encode_integer(tag, 2, signed=False)
    )
    head += encode_node(body)
    crc = int.from_bytes(crc16_x25(head).to_bytes(2, "little"), "big")
    return head + encode_integer(crc, 2, signed=False) + b"\x00"


# --- registers ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmlReading:
    """The registers of one SML file and who sent them."""

    registers: tuple[Register, ...]
    server_id: bytes | None
    manufacturer: str | None
    crc: CrcVariant = CrcVariant.NONE
    messages: tuple[SmlMessage, ...] = field(default=())

    @property
    def serial(self) -> str | None:
        """The meter number of the server ID (DIN 43863-5: medium, flag, block, number)."""
        return server_id_text(self.server_id) if self.server_id else None


def server_id_text(server_id: bytes) -> str:
    """Render a server ID: ``1LGZ0054541129`` for the 10-byte DIN 43863-5 form, else hex."""
    if server_id.isascii() and server_id.decode("ascii").isprintable():
        return server_id.decode("ascii")
    flag = server_id[2:5]
    if len(server_id) == 10 and server_id[0] == 0x0A and flag.isalpha() and flag.isascii():
        number = int.from_bytes(server_id[6:10], "big")
        return f"{server_id[1]:X}{flag.decode('ascii')}{server_id[5]:02d}{number:08d}"
    return server_id.hex().upper()


def reading_from_messages(messages: list[SmlMessage], crc: CrcVariant = CrcVariant.NONE) -> SmlReading:
    """Collect the registers of every GetList response."""
    registers: list[Register] = []
    server_id: bytes | None = None
    for message in messages:
        if message.tag == OPEN_RESPONSE and len(message.body) >= 4 and isinstance(message.body[3], bytes):
            server_id = server_id or message.body[3]
        if message.tag != GET_LIST_RESPONSE or len(message.body) < 5:
            continue
        if isinstance(message.body[1], bytes):
            server_id = message.body[1]
        entries = message.body[4]
        if not isinstance(entries, tuple):
            raise SmlError("SML GetList response without a value list")
        registers.extend(register for entry in entries if (register := _entry_register(entry)) is not None)
    if not registers:
        raise SmlError("SML file without readings (no GetList response)")
    registers = normalise_channels(registers)
    manufacturer = next(
        (r.value for r in registers if r.obis in MANUFACTURER_CODES and isinstance(r.value, str)), None
    )
    if server_id is None:
        server_id = next(
            (bytes.fromhex(r.raw) for r in registers if r.obis in SERVER_ID_CODES and _is_hex(r.raw)), None
        )
    if server_id is not None and SERIAL_NUMBER not in {r.obis for r in registers}:
        value = Value(server_id_text(server_id))
        registers.append(Register(SERIAL_NUMBER, value.encode(), (value,)))
    return SmlReading(tuple(registers), server_id, manufacturer, crc, tuple(messages))


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(char in "0123456789ABCDEF" for char in text)


def _entry_register(entry: SmlNode) -> Register | None:
    if not isinstance(entry, tuple) or len(entry) != 7:
        raise SmlError("SML list entry is not a list of 7")
    name, _status, _time, unit, scaler, value, _signature = entry
    if not isinstance(name, bytes) or len(name) != 6:
        raise SmlError(f"SML list entry name {name!r} is not an OBIS code")
    obis = obis_from_bytes(name)
    if isinstance(value, bool):
        result = Value(str(value).lower())
    elif isinstance(value, int):
        scaling = Scaling(
            scaler if isinstance(scaler, int) and not isinstance(scaler, bool) else 0,
            unit if isinstance(unit, int) and not isinstance(unit, bool) else NO_UNIT,
        )
        if not -128 <= scaling.scaler <= 127:
            raise SmlError(f"SML scaler {scaling.scaler} out of range")
        result = scaled_value(value, scaling)
    elif isinstance(value, bytes):
        result = text_value(value)
    else:
        return None
    return Register(obis, result.encode(), (result,))


def decode_file(payload: bytes, crc: CrcVariant = CrcVariant.NONE) -> SmlReading:
    """Decode the messages of one file (or of a bare message sequence) into registers."""
    # Within a verified file the frame CRC covers every message; some meters (eBZ) send
    # wrong message CRCs there. Bare message sequences have only the message CRCs.
    return reading_from_messages(decode_messages(payload, verify=crc is CrcVariant.NONE), crc)


def identity_for(reading: SmlReading) -> MeterIdentity:
    """Return the identity an SML meter gives: its manufacturer code and server ID."""
    flag = reading.manufacturer or ""
    if len(flag) != 3 and reading.server_id and len(reading.server_id) >= 5:
        flag = reading.server_id[2:5].decode("ascii", "replace")
    if len(flag) != 3 or not flag.isalpha():
        flag = UNKNOWN_FLAG_ID
    return MeterIdentity(flag_id=flag, model=(reading.serial or "SML")[:32])
