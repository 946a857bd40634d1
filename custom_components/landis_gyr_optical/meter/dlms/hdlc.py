"""HDLC framing of DLMS/COSEM (IEC 62056-46), sans-IO.

A ``FrameReader`` eats bytes and hands back verified ``Frame`` objects; ``ApduReader``
stacks segment reassembly, the LLC header and General Block Transfer on top of it and
hands back whole APDUs. Encoders for every frame the client and the simulated meter
send live beside the decoders.

Frame layout: ``7E | format(2) | destination | source | control | [HCS(2) info] | FCS(2) | 7E``.
The format field is type 0xA, a segmentation bit (0x08) and an 11-bit length that counts
everything between the flags. HCS and FCS are CRC-16/X-25, low byte first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..crc import crc16_x25, x25_bytes
from ..errors import ChecksumError, ProtocolError
from .axdr import decode_length, encode_length

FLAG = 0x7E
_FORMAT_TYPE = 0xA0
_SEGMENTED = 0x08
MAX_FRAME_LENGTH = 0x7FF
"""Largest length the 11-bit format field can express."""
_MIN_FRAME_LENGTH = 7
"""Format (2) + two 1-byte addresses + control + FCS (2)."""
MAX_APDU = 64 * 1024
"""Largest reassembled APDU accepted; bounds memory on a garbage stream."""

LLC_REQUEST = bytes([0xE6, 0xE6, 0x00])
"""LLC header of a client's information field (IEC 62056-46 8.4.3)."""
LLC_RESPONSE = bytes([0xE6, 0xE7, 0x00])
"""LLC header of a server's information field."""

SNRM = 0x93
UA = 0x73
DISC = 0x53
DM = 0x1F
UI = 0x13
FRMR = 0x97

_GENERAL_BLOCK_TRANSFER = 0xE0
_LAST_BLOCK = 0x80


class HdlcError(ProtocolError):
    """An HDLC frame is malformed (format field, address, length)."""


class FrameChecksumError(ChecksumError):
    """An HDLC frame's HCS or FCS does not verify."""


class BlockTransferError(ProtocolError):
    """General Block Transfer blocks arrived duplicated, out of order or without a start."""


class FrameKind(StrEnum):
    """What the control field says a frame is."""

    I = "I"  # noqa: E741 - the name the standard gives it
    RR = "RR"
    RNR = "RNR"
    SNRM = "SNRM"
    DISC = "DISC"
    UA = "UA"
    DM = "DM"
    FRMR = "FRMR"
    UI = "UI"
    UNKNOWN = "unknown"


_UNNUMBERED = {
    SNRM: FrameKind.SNRM,
    DISC: FrameKind.DISC,
    UA: FrameKind.UA,
    DM: FrameKind.DM,
    FRMR: FrameKind.FRMR,
    UI: FrameKind.UI,
}


@dataclass(frozen=True, slots=True)
class HdlcAddress:
    """An HDLC address: logical (upper) and optional physical (lower) part, 1, 2 or 4 bytes.

    Every address byte carries 7 bits; the last byte has its least significant bit set.
    """

    logical: int
    physical: int | None = None
    size: int = 1

    def __post_init__(self) -> None:
        """Check that the parts fit the size."""
        if self.size not in (1, 2, 4):
            raise ValueError(f"an HDLC address has 1, 2 or 4 bytes, not {self.size}")
        limit = 0x7F if self.size in (1, 2) else 0x3FFF
        if not 0 <= self.logical <= limit or (self.physical is not None and not 0 <= self.physical <= limit):
            raise ValueError(f"address part out of range for {self.size} bytes: {self}")
        if (self.size == 1) != (self.physical is None):
            raise ValueError("a 1-byte address has no physical part; a longer one needs it")

    @classmethod
    def server(cls, logical: int = 1, physical: int | None = None) -> HdlcAddress:
        """Return a server address, as short as its parts allow."""
        if physical is None:
            return cls(logical)
        size = 2 if logical <= 0x7F and physical <= 0x7F else 4
        return cls(logical, physical, size)

    def encode(self) -> bytes:
        """Return the address bytes."""
        if self.physical is None:
            return bytes([(self.logical << 1) | 1])
        if self.size == 2:
            return bytes([self.logical << 1, (self.physical << 1) | 1])
        return bytes(
            [
                (self.logical >> 7) << 1,
                (self.logical & 0x7F) << 1,
                (self.physical >> 7) << 1,
                ((self.physical & 0x7F) << 1) | 1,
            ]
        )

    @classmethod
    def decode(cls, data: bytes, offset: int) -> tuple[HdlcAddress, int]:
        """Decode the address starting at ``offset``; return it and the offset after it."""
        end = offset
        while end < len(data) and end - offset < 4 and not data[end] & 1:
            end += 1
        if end >= len(data) or not data[end] & 1:
            raise HdlcError(f"HDLC address at byte {offset} does not end within 4 bytes")
        parts = [byte >> 1 for byte in data[offset : end + 1]]
        if len(parts) == 1:
            return cls(parts[0]), end + 1
        if len(parts) == 2:
            return cls(parts[0], parts[1], 2), end + 1
        if len(parts) == 4:
            return cls((parts[0] << 7) | parts[1], (parts[2] << 7) | parts[3], 4), end + 1
        raise HdlcError(f"HDLC address of {len(parts)} bytes at byte {offset}")

    def __str__(self) -> str:
        """Return ``logical`` or ``logical/physical``."""
        return str(self.logical) if self.physical is None else f"{self.logical}/{self.physical}"


@dataclass(frozen=True, slots=True)
class Frame:
    """One verified HDLC frame."""

    destination: HdlcAddress
    source: HdlcAddress
    control: int
    info: bytes = b""
    segmented: bool = False

    @property
    def kind(self) -> FrameKind:
        """The frame type from the control field (the poll/final bit ignored)."""
        if not self.control & 0x01:
            return FrameKind.I
        if self.control & 0x03 == 0x01:
            return FrameKind.RR if self.control & 0x0F == 0x01 else FrameKind.RNR
        return _UNNUMBERED.get(self.control | 0x10, FrameKind.UNKNOWN)

    @property
    def send_sequence(self) -> int:
        """N(S) of an I frame."""
        return (self.control >> 1) & 0x07

    @property
    def receive_sequence(self) -> int:
        """N(R) of an I or RR frame."""
        return (self.control >> 5) & 0x07

    def encode(self) -> bytes:
        """Return the frame with flags, HCS (when there is an information field) and FCS."""
        header_length = 2 + len(self.destination.encode()) + len(self.source.encode()) + 1
        length = header_length + (2 + len(self.info) if self.info else 0) + 2
        if length > MAX_FRAME_LENGTH:
            raise ValueError(f"HDLC frame of {length} bytes exceeds the 11-bit length field")
        first = _FORMAT_TYPE | (_SEGMENTED if self.segmented else 0) | (length >> 8)
        header = bytes([first, length & 0xFF]) + self.destination.encode() + self.source.encode()
        header += bytes([self.control])
        body = header + (x25_bytes(header) + self.info if self.info else b"")
        return bytes([FLAG]) + body + x25_bytes(body) + bytes([FLAG])

    @classmethod
    def decode(cls, body: bytes) -> Frame:
        """Decode the bytes between the flags, verifying HCS and FCS."""
        if len(body) < _MIN_FRAME_LENGTH:
            raise HdlcError(f"HDLC frame of {len(body)} bytes is too short")
        if body[0] & 0xF0 != _FORMAT_TYPE:
            raise HdlcError(f"HDLC format type {body[0] >> 4:X} is not A")
        length = ((body[0] & 0x07) << 8) | body[1]
        if length != len(body):
            raise HdlcError(f"HDLC length field says {length} bytes, the frame has {len(body)}")
        if crc16_x25(body[:-2]) != int.from_bytes(body[-2:], "little"):
            raise FrameChecksumError(f"HDLC frame check sequence wrong in {body.hex()}")
        destination, offset = HdlcAddress.decode(body, 2)
        source, offset = HdlcAddress.decode(body, offset)
        if offset >= len(body) - 2:
            raise HdlcError("HDLC frame ends before its control field")
        control = body[offset]
        offset += 1
        info = b""
        if len(body) > offset + 2:
            if len(body) < offset + 4:
                raise HdlcError("HDLC frame ends inside its header check sequence")
            if crc16_x25(body[:offset]) != int.from_bytes(body[offset : offset + 2], "little"):
                raise FrameChecksumError(f"HDLC header check sequence wrong in {body[: offset + 2].hex()}")
            info = bytes(body[offset + 2 : -2])
        return cls(destination, source, control, info, bool(body[0] & _SEGMENTED))


def control_i(send_sequence: int, receive_sequence: int, *, final: bool = True) -> int:
    """Control field of an I frame."""
    return ((receive_sequence & 7) << 5) | (0x10 if final else 0) | ((send_sequence & 7) << 1)


def control_rr(receive_sequence: int) -> int:
    """Control field of a receive-ready frame (with the poll/final bit)."""
    return ((receive_sequence & 7) << 5) | 0x11


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes that were not a valid frame (or blocks that were not a valid transfer)."""

    error: ProtocolError
    data: bytes = b""


class FrameReader:
    """Split a byte stream into verified frames; garbage and bad frames become ``Rejected``."""

    def __init__(self, max_buffer: int = 2 * (MAX_FRAME_LENGTH + 2)) -> None:
        """Start with an empty buffer."""
        self._buffer = bytearray()
        self._max_buffer = max_buffer

    def feed(self, data: bytes) -> list[Frame | Rejected]:
        """Add bytes; return the frames (and rejects) they complete, in order."""
        self._buffer += data
        events: list[Frame | Rejected] = []
        while True:
            start = self._buffer.find(FLAG)
            if start < 0:
                if self._buffer:
                    events.append(Rejected(HdlcError("bytes outside an HDLC frame"), bytes(self._buffer)))
                self._buffer.clear()
                return events
            if start > 0:
                events.append(Rejected(HdlcError("bytes outside an HDLC frame"), bytes(self._buffer[:start])))
                del self._buffer[:start]
            # Frames may share one flag, and a line may idle with a run of flags.
            while len(self._buffer) > 1 and self._buffer[1] == FLAG:
                del self._buffer[0]
            if len(self._buffer) < 3:
                return events
            if self._buffer[1] & 0xF0 != _FORMAT_TYPE:
                del self._buffer[0]
                continue
            length = ((self._buffer[1] & 0x07) << 8) | self._buffer[2]
            if length < _MIN_FRAME_LENGTH:
                del self._buffer[0]
                continue
            if len(self._buffer) < length + 2:
                if len(self._buffer) > self._max_buffer:
                    del self._buffer[0]
                    continue
                return events
            if self._buffer[length + 1] != FLAG:
                # Not a frame after all (or one with bytes lost): look for the next flag.
                events.append(
                    Rejected(HdlcError("HDLC frame without its closing flag"), bytes(self._buffer[:1]))
                )
                del self._buffer[0]
                continue
            body = bytes(self._buffer[1 : length + 1])
            try:
                events.append(Frame.decode(body))
            except ProtocolError as err:
                events.append(Rejected(err, body))
            # Keep the closing flag: it may open the next frame.
            del self._buffer[: length + 1]


def strip_llc(info: bytes) -> bytes:
    """Remove the LLC header (``E6 E6 00`` / ``E6 E7 00``) if the information field has one."""
    if info[:3] in (LLC_REQUEST, LLC_RESPONSE):
        return info[3:]
    return info


class SegmentAssembler:
    """Join the information fields of segmented frames (format bit 0x08) into one."""

    def __init__(self) -> None:
        """Start with nothing pending."""
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, frame: Frame) -> bytes | None:
        """Add a frame; return the whole information field once its last segment is in."""
        if not frame.info:
            return None
        self._parts.append(frame.info)
        self._size += len(frame.info)
        if self._size > MAX_APDU:
            self.reset()
            raise HdlcError(f"segmented HDLC information field longer than {MAX_APDU} bytes")
        if frame.segmented:
            return None
        whole = b"".join(self._parts)
        self.reset()
        return whole

    def reset(self) -> None:
        """Drop a partial information field."""
        self._parts = []
        self._size = 0


@dataclass(frozen=True, slots=True)
class Block:
    """One General Block Transfer block (IEC 62056-5-3 9.3.11)."""

    number: int
    acknowledged: int
    last: bool
    data: bytes
    streaming: bool = True
    window: int = 0

    def encode(self) -> bytes:
        """Return the block as an APDU."""
        control = (_LAST_BLOCK if self.last else 0) | (0x40 if self.streaming else 0) | (self.window & 0x3F)
        return (
            bytes([_GENERAL_BLOCK_TRANSFER, control])
            + self.number.to_bytes(2, "big")
            + self.acknowledged.to_bytes(2, "big")
            + encode_length(len(self.data))
            + self.data
        )

    @classmethod
    def decode(cls, apdu: bytes) -> Block:
        """Decode a ``general-block-transfer`` APDU."""
        if len(apdu) < 7 or apdu[0] != _GENERAL_BLOCK_TRANSFER:
            raise BlockTransferError(f"not a general-block-transfer APDU: {apdu[:8].hex()}")
        length, offset = decode_length(apdu, 6)
        if offset + length != len(apdu):
            raise BlockTransferError(
                f"general-block-transfer block says {length} bytes of data, carries {len(apdu) - offset}"
            )
        return cls(
            number=int.from_bytes(apdu[2:4], "big"),
            acknowledged=int.from_bytes(apdu[4:6], "big"),
            last=bool(apdu[1] & _LAST_BLOCK),
            data=bytes(apdu[offset:]),
            streaming=bool(apdu[1] & 0x40),
            window=apdu[1] & 0x3F,
        )


def is_block_transfer(apdu: bytes) -> bool:
    """Whether an APDU is a general-block-transfer block."""
    return bool(apdu) and apdu[0] == _GENERAL_BLOCK_TRANSFER


def split_blocks(apdu: bytes, block_size: int) -> list[Block]:
    """Cut an APDU into numbered blocks of ``block_size`` bytes (the meter side of GBT)."""
    if block_size < 1:
        raise ValueError("block size must be positive")
    chunks = [apdu[index : index + block_size] for index in range(0, len(apdu), block_size)] or [b""]
    return [
        Block(number=index + 1, acknowledged=0, last=index == len(chunks) - 1, data=chunk)
        for index, chunk in enumerate(chunks)
    ]


class BlockAssembler:
    """Reassemble General Block Transfer blocks into the APDU they carry.

    Blocks must come numbered 1, 2, 3 ... without gaps or repeats: a duplicated or
    out-of-order block rejects the whole transfer (a half-decoded push would publish
    wrong values), and nothing is emitted until the next block 1.
    """

    def __init__(self) -> None:
        """Start waiting for block 1."""
        self._parts: list[bytes] = []
        self._next = 1
        self._size = 0

    def add(self, block: Block) -> bytes | None:
        """Add a block; return the APDU when the last block is in, raise on a bad sequence."""
        if block.number == 1:
            self.reset()
        elif block.number != self._next:
            expected = self._next
            self.reset()
            self._next = 0  # nothing fits until a new transfer starts with block 1
            raise BlockTransferError(
                f"general-block-transfer block {block.number} where block {expected or 1} (a new transfer) was due"
            )
        self._parts.append(block.data)
        self._size += len(block.data)
        if self._size > MAX_APDU:
            self.reset()
            self._next = 0
            raise BlockTransferError(f"general-block-transfer longer than {MAX_APDU} bytes")
        self._next = block.number + 1
        if not block.last:
            return None
        whole = b"".join(self._parts)
        self.reset()
        return whole

    @property
    def incomplete(self) -> str | None:
        """What a transfer that started but has not ended holds, ``None`` when none is open."""
        if not self._parts:
            return None
        blocks = self._next - 1
        return f"general-block-transfer stopped after block {blocks} ({self._size} bytes), its last block never came"

    def reset(self) -> None:
        """Drop a partial transfer and wait for block 1."""
        self._parts = []
        self._size = 0
        self._next = 1


class ApduReader:
    """Bytes in, whole APDUs out: frames, segments, LLC header and block transfer, in that order."""

    def __init__(self) -> None:
        """Start with empty buffers."""
        self.frames = FrameReader()
        self._segments = SegmentAssembler()
        self._blocks = BlockAssembler()
        self.frame_count = 0

    @property
    def incomplete_transfer(self) -> str | None:
        """Why bytes fed so far gave no APDU yet, when a block transfer is left open."""
        return self._blocks.incomplete

    def feed(self, data: bytes) -> list[bytes | Rejected]:
        """Add bytes; return the APDUs (and rejects) they complete."""
        out: list[bytes | Rejected] = []
        for event in self.frames.feed(data):
            if isinstance(event, Rejected):
                # A lost frame breaks the transfer it belonged to.
                self._segments.reset()
                self._blocks.reset()
                out.append(event)
                continue
            self.frame_count += 1
            try:
                info = self._segments.add(event)
                if info is None:
                    continue
                apdu = strip_llc(info)
                if is_block_transfer(apdu):
                    whole = self._blocks.add(Block.decode(apdu))
                    if whole is None:
                        continue
                    apdu = whole
            except ProtocolError as err:
                out.append(Rejected(err, event.info))
                continue
            out.append(apdu)
        return out
