"""HDLC framing: addresses, frames, CRCs, segments and General Block Transfer."""

from __future__ import annotations

import pytest

from custom_components.landis_gyr_optical.meter.crc import crc16_kermit, crc16_x25, x25_bytes
from custom_components.landis_gyr_optical.meter.dlms.hdlc import (
    DISC,
    SNRM,
    UA,
    UI,
    ApduReader,
    Block,
    BlockAssembler,
    BlockTransferError,
    Frame,
    FrameChecksumError,
    FrameKind,
    FrameReader,
    HdlcAddress,
    HdlcError,
    Rejected,
    SegmentAssembler,
    control_i,
    control_rr,
    split_blocks,
    strip_llc,
)


def test_crc_check_values() -> None:
    assert crc16_x25(b"123456789") == 0x906E
    assert crc16_kermit(b"123456789") == 0x2189
    assert x25_bytes(bytes.fromhex("033f")) == bytes.fromhex("5bec")


@pytest.mark.parametrize(
    ("address", "encoded"),
    [
        (HdlcAddress(16), b"\x21"),
        (HdlcAddress(1), b"\x03"),
        (HdlcAddress(1, 17, 2), b"\x02\x23"),
        (HdlcAddress(0x3FFF, 0x1234, 4), bytes([0xFE, 0xFE, 0x48, 0x69])),
    ],
)
def test_address_round_trip(address: HdlcAddress, encoded: bytes) -> None:
    assert address.encode() == encoded
    assert HdlcAddress.decode(encoded, 0) == (address, len(encoded))


def test_address_server_picks_size() -> None:
    assert HdlcAddress.server(1) == HdlcAddress(1)
    assert HdlcAddress.server(1, 17).size == 2
    assert HdlcAddress.server(1, 300).size == 4
    assert str(HdlcAddress(1, 17, 2)) == "1/17"


@pytest.mark.parametrize(
    "bad",
    [
        {"logical": 1, "physical": None, "size": 3},
        {"logical": 200, "physical": None, "size": 1},
        {"logical": 1, "physical": None, "size": 2},
    ],
)
def test_address_rejects_impossible(bad: dict[str, int | None]) -> None:
    with pytest.raises(ValueError):
        HdlcAddress(**bad)  # type: ignore[arg-type]


def test_address_of_three_bytes_is_an_error() -> None:
    with pytest.raises(HdlcError):
        HdlcAddress.decode(b"\x02\x02\x03", 0)
    with pytest.raises(HdlcError):
        HdlcAddress.decode(b"\x02\x02\x02\x02\x02", 0)


def test_snrm_matches_the_forum_capture() -> None:
    frame = Frame(HdlcAddress(1), HdlcAddress(16), SNRM)
    assert frame.encode() == bytes.fromhex("7EA0070321930F017E")
    assert Frame.decode(frame.encode()[1:-1]).kind is FrameKind.SNRM


def test_disc_matches_the_forum_capture() -> None:
    assert Frame(HdlcAddress(1), HdlcAddress(16), DISC).encode() == bytes.fromhex("7EA00703215303C77E")


def test_control_fields() -> None:
    frame = Frame(HdlcAddress(16), HdlcAddress(1), control_i(3, 4), b"x")
    assert frame.kind is FrameKind.I
    assert (frame.send_sequence, frame.receive_sequence) == (3, 4)
    assert Frame(HdlcAddress(1), HdlcAddress(16), control_rr(5)).kind is FrameKind.RR
    assert Frame(HdlcAddress(1), HdlcAddress(16), 0x15).kind is FrameKind.RNR
    assert Frame(HdlcAddress(1), HdlcAddress(16), UI).kind is FrameKind.UI
    assert Frame(HdlcAddress(1), HdlcAddress(16), 0x0F & 0xEF).kind is FrameKind.DM
    assert Frame(HdlcAddress(1), HdlcAddress(16), 0xFF).kind is FrameKind.UNKNOWN


def test_frame_round_trip_with_info_and_segmentation() -> None:
    frame = Frame(HdlcAddress(16), HdlcAddress(1, 17, 2), control_i(0, 1), b"\xe6\xe7\x00abc", segmented=True)
    assert Frame.decode(frame.encode()[1:-1]) == frame


def test_frame_too_long_to_encode() -> None:
    with pytest.raises(ValueError):
        Frame(HdlcAddress(1), HdlcAddress(16), UI, bytes(2100)).encode()


def _body(frame: Frame) -> bytearray:
    return bytearray(frame.encode()[1:-1])


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda b: b.__setitem__(-3, b[-3] ^ 1), FrameChecksumError),
        (lambda b: b.__setitem__(6, b[6] ^ 1), FrameChecksumError),
        (lambda b: b.__setitem__(0, 0xB0 | (b[0] & 0x0F)), HdlcError),
        (lambda b: b.__setitem__(1, b[1] + 1), HdlcError),
    ],
)
def test_frame_decode_rejects(mutate, error) -> None:  # type: ignore[no-untyped-def]
    body = _body(Frame(HdlcAddress(16), HdlcAddress(1), UI, b"payload"))
    mutate(body)
    with pytest.raises(error):
        Frame.decode(bytes(body))


def test_frame_decode_too_short() -> None:
    with pytest.raises(HdlcError):
        Frame.decode(b"\xa0\x05\x03\x21\x93")


def test_reader_splits_shared_flags_and_partial_input() -> None:
    one = Frame(HdlcAddress(1), HdlcAddress(16), SNRM).encode()
    two = Frame(HdlcAddress(16), HdlcAddress(1), UA).encode()
    stream = one + two[1:]  # frames sharing one flag
    reader = FrameReader()
    events = []
    for index in range(len(stream)):
        events += reader.feed(stream[index : index + 1])
    assert [event.kind for event in events if isinstance(event, Frame)] == [FrameKind.SNRM, FrameKind.UA]


def test_reader_rejects_garbage_and_bad_frames_then_resyncs() -> None:
    good = Frame(HdlcAddress(1), HdlcAddress(16), SNRM).encode()
    bad = bytearray(good)
    bad[-2] ^= 0x40
    events = FrameReader().feed(b"noise" + bytes(bad) + b"\x7e\x7e" + good + b"tail")
    frames = [event for event in events if isinstance(event, Frame)]
    rejects = [event for event in events if isinstance(event, Rejected)]
    assert len(frames) == 1
    assert any(isinstance(r.error, FrameChecksumError) for r in rejects)
    assert rejects[0].data == b"noise"


def test_reader_skips_a_flag_without_a_frame() -> None:
    good = Frame(HdlcAddress(1), HdlcAddress(16), SNRM).encode()
    events = FrameReader().feed(b"\x7e\xa0\x09\x01\x02" + good)
    assert [e.kind for e in events if isinstance(e, Frame)] == [FrameKind.SNRM]


def test_reader_bad_format_and_short_length_resync() -> None:
    good = Frame(HdlcAddress(1), HdlcAddress(16), SNRM).encode()
    events = FrameReader().feed(b"\x7e\x11\x22" + b"\x7e\xa0\x02" + good)
    assert [e.kind for e in events if isinstance(e, Frame)] == [FrameKind.SNRM]


def test_segments_join() -> None:
    assembler = SegmentAssembler()
    first = Frame(HdlcAddress(16), HdlcAddress(1), control_i(0, 1), b"abc", segmented=True)
    last = Frame(HdlcAddress(16), HdlcAddress(1), control_i(1, 1), b"def")
    assert assembler.add(first) is None
    assert assembler.add(Frame(HdlcAddress(16), HdlcAddress(1), control_rr(1))) is None
    assert assembler.add(last) == b"abcdef"


def test_strip_llc() -> None:
    assert strip_llc(b"\xe6\xe7\x00\x0f") == b"\x0f"
    assert strip_llc(b"\xe6\xe6\x00\xc0") == b"\xc0"
    assert strip_llc(b"\xe0\x40") == b"\xe0\x40"


def test_block_round_trip_and_long_length() -> None:
    block = Block(number=2, acknowledged=0, last=True, data=bytes(300))
    assert Block.decode(block.encode()) == block
    with pytest.raises(BlockTransferError):
        Block.decode(block.encode() + b"x")
    with pytest.raises(BlockTransferError):
        Block.decode(b"\x0f\x00")


def test_block_assembler_in_order() -> None:
    blocks = split_blocks(bytes(range(250)), 100)
    assembler = BlockAssembler()
    assert [assembler.add(block) for block in blocks] == [None, None, bytes(range(250))]


@pytest.mark.parametrize("order", [[1, 2, 2, 3], [1, 3, 2], [2, 3], [1, 2, 4, 3]])
def test_block_assembler_rejects_bad_order(order: list[int]) -> None:
    blocks = {block.number: block for block in split_blocks(bytes(range(40)), 10)}
    assembler = BlockAssembler()
    results = []
    errors = 0
    for number in order:
        try:
            results.append(assembler.add(blocks[number]))
        except BlockTransferError:
            errors += 1
    assert errors >= 1
    assert not any(results)


def test_block_assembler_recovers_with_a_new_block_one() -> None:
    blocks = split_blocks(b"0123456789", 5)
    assembler = BlockAssembler()
    with pytest.raises(BlockTransferError):
        assembler.add(blocks[1])
    assert assembler.add(blocks[0]) is None
    assert assembler.add(blocks[1]) == b"0123456789"


def test_split_blocks_of_empty_apdu_and_bad_size() -> None:
    assert split_blocks(b"", 10)[0].last
    with pytest.raises(ValueError):
        split_blocks(b"x", 0)


def test_apdu_reader_rejects_a_transfer_broken_by_a_bad_frame() -> None:
    blocks = split_blocks(b"\x0f" + bytes(30), 10)
    frames = [Frame(HdlcAddress(16), HdlcAddress(1), UI, b.encode()).encode() for b in blocks]
    broken = bytearray(frames[1])
    broken[10] ^= 0xFF
    reader = ApduReader()
    events = reader.feed(frames[0] + bytes(broken) + frames[2] + frames[3])
    assert not any(isinstance(event, bytes) for event in events)
    assert len([e for e in events if isinstance(e, Rejected)]) >= 2
    events = reader.feed(b"".join(frames))
    assert events == [b"\x0f" + bytes(30)]
