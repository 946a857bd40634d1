"""Modbus RTU framing for a client (master), sans-IO: requests out, replies in.

Why a framer of our own rather than pymodbus:
- pymodbus 3.x opens serial ports through pyserial; it cannot run over serialx, so it would
  lose the ``esphome://`` serial proxies and the single link layer every other meter
  variant of this integration uses (and pyserial is not allowed in the event loop here).
- The E-Redes HAN port (DEF-C44-509) is not standard Modbus: one address is one object of
  1 to 12 bytes, the quantity counts objects, and the reply's byte count alone says how much
  data follows. A reader that takes the byte count at its word is all that is needed.
- The master side of RTU for one function is small: a request builder, CRC-16/MODBUS and a
  reply reader. Written sans-IO like the IEC 62056-21 session, every edge case (echo,
  noise before the frame, exception replies, odd byte counts) is a plain byte-string test.

``ReplyReader`` eats bytes and hands back a ``Reply``, an ``ExceptionReply`` or
``NEED_DATA``; the driver (``eredes_client``) owns timing and the port. The server-side
encoders live here too, so the simulator answers in exactly the framing the reader parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from ..crc import crc16_modbus
from ..errors import ChecksumError, ProtocolError

READ_INPUT_REGISTERS: Final = 0x04
EXCEPTION_FLAG: Final = 0x80
MAX_QUANTITY: Final = 0x7D
"""Largest quantity of a read request (Modbus application protocol, function 0x04)."""
MAX_DATA: Final = 251
"""Most data bytes a reply can carry: an RTU frame holds at most 256 bytes."""
MAX_JUNK: Final = 64
"""Bytes tolerated before a reply starts (line noise, a late answer to an earlier request)."""
REQUEST_LENGTH: Final = 8
EXCEPTION_LENGTH: Final = 5


def with_crc(frame: bytes) -> bytes:
    """Append the CRC, low byte first."""
    return frame + crc16_modbus(frame).to_bytes(2, "little")


class ExceptionCode(IntEnum):
    """Exception codes of a Modbus reply; 0x81 is the E-Redes HAN access-profile refusal."""

    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04
    ACKNOWLEDGE = 0x05
    SERVER_DEVICE_BUSY = 0x06
    ACCESS_DENIED = 0x81
    """DEF-C44-509 §5.2: the register exists but the HAN access profile does not allow it."""


def describe_exception(code: int) -> str:
    """Return a code's name for messages (``0x81 access denied``)."""
    try:
        name = ExceptionCode(code).name.lower().replace("_", " ")
    except ValueError:
        name = "unknown exception"
    return f"0x{code:02X} {name}"


def read_request(slave: int, address: int, quantity: int, function: int = READ_INPUT_REGISTERS) -> bytes:
    """Return the RTU frame of a read request (``slave fn addr quantity CRC``)."""
    if not 1 <= slave <= 247:
        raise ValueError(f"slave address {slave} is outside 1..247")
    if not 0 <= address <= 0xFFFF:
        raise ValueError(f"register address {address} is outside 0..0xFFFF")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"quantity {quantity} is outside 1..{MAX_QUANTITY}")
    return with_crc(bytes([slave, function]) + address.to_bytes(2, "big") + quantity.to_bytes(2, "big"))


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed read request (the server side of the simulator uses it)."""

    slave: int
    function: int
    address: int
    quantity: int

    @classmethod
    def parse(cls, frame: bytes) -> Request:
        """Parse an 8-byte read request, CRC included."""
        if len(frame) != REQUEST_LENGTH:
            raise ProtocolError(f"a read request has {REQUEST_LENGTH} bytes, not {len(frame)}")
        if crc16_modbus(frame) != 0:
            raise ChecksumError(f"CRC error in request {frame.hex(' ')}")
        return cls(frame[0], frame[1], int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big"))


def encode_reply(slave: int, function: int, data: bytes) -> bytes:
    """Return a normal reply frame: ``slave fn count data CRC``."""
    if not 1 <= len(data) <= MAX_DATA:
        raise ValueError(f"a reply carries 1..{MAX_DATA} data bytes, not {len(data)}")
    return with_crc(bytes([slave, function, len(data)]) + data)


def encode_exception(slave: int, function: int, code: int) -> bytes:
    """Return an exception reply frame: ``slave fn|0x80 code CRC``."""
    return with_crc(bytes([slave, function | EXCEPTION_FLAG, code]))


@dataclass(frozen=True, slots=True)
class Reply:
    """A normal reply: its data bytes, exactly as many as the byte count said."""

    slave: int
    function: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ExceptionReply:
    """An exception reply: the server refused the request with ``code``."""

    slave: int
    function: int
    code: int

    @property
    def description(self) -> str:
        """The code with its name, e.g. ``0x81 access denied``."""
        return describe_exception(self.code)


class _NeedData:
    """The reply is not complete yet."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()

type ReplyEvent = Reply | ExceptionReply | _NeedData


class ReplyReader:
    """Reassembles the reply to one request from the bytes as they arrive.

    - The frame length comes from the byte count (normal reply) or is fixed (exception).
    - An echo of the request (half-duplex adapters that hear themselves) is dropped.
    - Bytes before a plausible frame start (slave address, then the function code or its
      exception form) are skipped, up to ``MAX_JUNK`` of them.
    - Bytes after the frame are kept in ``trailing``; they belong to nothing we asked for.
    """

    def __init__(self, request: bytes) -> None:
        """Prepare for the reply to ``request`` (the frame that was sent)."""
        self.request = request
        self.slave = request[0]
        self.function = request[1]
        self.received = bytearray()
        """Every byte fed in, for traces and error messages."""
        self.trailing = b""
        self._buffer = bytearray()
        self._skipped = 0
        self._result: Reply | ExceptionReply | None = None

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the line."""
        self.received += data
        if self._result is not None:
            self.trailing += data
        else:
            self._buffer += data

    def next_event(self) -> ReplyEvent:
        """Return the reply once complete, else ``NEED_DATA``; raise on a broken frame."""
        if self._result is not None:
            return self._result
        while True:
            self._skip_junk()
            if self._is_echo_prefix():
                if len(self._buffer) >= REQUEST_LENGTH:
                    del self._buffer[:REQUEST_LENGTH]
                    continue
                # A short reply can start like the request; take it only once it is whole.
                if not self._whole_frame_buffered():
                    return NEED_DATA
            frame = self._frame()
            if isinstance(frame, _NeedData):
                return frame
            self._result = frame
            return frame

    def _skip_junk(self) -> None:
        buffer = self._buffer
        while buffer and not (
            buffer[0] == self.slave
            and (len(buffer) < 2 or buffer[1] in (self.function, self.function | EXCEPTION_FLAG))
        ):
            del buffer[0]
            self._skipped += 1
            if self._skipped > MAX_JUNK:
                raise ProtocolError(
                    f"no reply from slave {self.slave} in the bytes received: {bytes(self.received[:48]).hex(' ')}"
                )

    def _is_echo_prefix(self) -> bool:
        length = min(len(self._buffer), REQUEST_LENGTH)
        return length > 2 and self._buffer[:length] == self.request[:length]

    def _whole_frame_buffered(self) -> bool:
        if not 1 <= self._buffer[2] <= MAX_DATA:
            return False
        length = self._frame_length()
        return len(self._buffer) >= length and crc16_modbus(bytes(self._buffer[:length])) == 0

    def _frame_length(self) -> int:
        if self._buffer[1] & EXCEPTION_FLAG:
            return EXCEPTION_LENGTH
        return 3 + self._buffer[2] + 2

    def _frame(self) -> Reply | ExceptionReply | _NeedData:
        buffer = self._buffer
        if len(buffer) < 3:
            return NEED_DATA
        if not buffer[1] & EXCEPTION_FLAG and not 1 <= buffer[2] <= MAX_DATA:
            raise ProtocolError(f"reply byte count {buffer[2]} is outside 1..{MAX_DATA}")
        length = self._frame_length()
        if len(buffer) < length:
            return NEED_DATA
        frame = bytes(buffer[:length])
        self.trailing = bytes(buffer[length:])
        del buffer[:]
        if crc16_modbus(frame) != 0:
            raise ChecksumError(f"CRC error in reply {frame.hex(' ')}")
        if frame[1] & EXCEPTION_FLAG:
            return ExceptionReply(frame[0], frame[1] & ~EXCEPTION_FLAG, frame[2])
        return Reply(frame[0], frame[1], frame[3:-2])
