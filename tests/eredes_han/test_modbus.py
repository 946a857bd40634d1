"""Modbus RTU framing: requests, CRC-16/MODBUS, the reply reader (byte count defines the data)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.landis_gyr_optical.meter.crc import crc16_modbus
from custom_components.landis_gyr_optical.meter.eredes_han.modbus import (
    MAX_JUNK,
    NEED_DATA,
    ExceptionCode,
    ExceptionReply,
    Reply,
    ReplyReader,
    Request,
    describe_exception,
    encode_exception,
    encode_reply,
    read_request,
    with_crc,
)
from custom_components.landis_gyr_optical.meter.errors import ChecksumError, MeterError, ProtocolError

REQUEST = read_request(1, 0x0026, 1)


def test_crc_check_value_of_the_catalogue() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37
    assert crc16_modbus(with_crc(b"\x01\x04\x00\x01")) == 0


def test_read_request_layout() -> None:
    assert read_request(1, 0x0001, 1) == bytes.fromhex("01 04 00 01 00 01 60 0A")
    assert Request.parse(read_request(1, 0x006C, 20)) == Request(1, 4, 0x006C, 20)


@pytest.mark.parametrize(
    ("slave", "address", "quantity"),
    [(0, 1, 1), (248, 1, 1), (1, -1, 1), (1, 0x10000, 1), (1, 1, 0), (1, 1, 0x7E)],
)
def test_read_request_rejects_out_of_range(slave: int, address: int, quantity: int) -> None:
    with pytest.raises(ValueError):
        read_request(slave, address, quantity)


def test_request_parse_rejects_bad_frames() -> None:
    with pytest.raises(ProtocolError, match="8 bytes"):
        Request.parse(REQUEST[:-1])
    with pytest.raises(ChecksumError):
        Request.parse(REQUEST[:-1] + bytes([REQUEST[-1] ^ 1]))


def test_four_byte_object_for_quantity_one() -> None:
    # 0x0026 with quantity 1 answers 4 bytes: the word count of the request says nothing.
    reader = ReplyReader(REQUEST)
    reader.receive_data(encode_reply(1, 4, (1_234_567).to_bytes(4, "big")))
    event = reader.next_event()
    assert event == Reply(1, 4, (1_234_567).to_bytes(4, "big"))
    assert reader.next_event() is event


def test_odd_byte_count_is_taken_as_sent() -> None:
    reader = ReplyReader(read_request(1, 0x0001, 6))
    data = bytes(range(43))
    reader.receive_data(encode_reply(1, 4, data))
    event = reader.next_event()
    assert isinstance(event, Reply)
    assert event.data == data


def test_reply_byte_by_byte_needs_data_until_whole() -> None:
    frame = encode_reply(1, 4, b"\x00\x02")
    reader = ReplyReader(REQUEST)
    for byte in frame[:-1]:
        reader.receive_data(bytes([byte]))
        assert reader.next_event() is NEED_DATA
    reader.receive_data(frame[-1:])
    assert reader.next_event() == Reply(1, 4, b"\x00\x02")
    assert repr(NEED_DATA) == "NEED_DATA"


@pytest.mark.parametrize(
    ("code", "name"),
    [(0x81, "0x81 access denied"), (0x02, "0x02 illegal data address"), (0x42, "0x42 unknown exception")],
)
def test_exception_reply(code: int, name: str) -> None:
    reader = ReplyReader(REQUEST)
    reader.receive_data(encode_exception(1, 4, code))
    event = reader.next_event()
    assert event == ExceptionReply(1, 4, code)
    assert isinstance(event, ExceptionReply)
    assert event.description == name
    assert describe_exception(ExceptionCode.ACCESS_DENIED) == "0x81 access denied"


def test_crc_error_raises() -> None:
    frame = bytearray(encode_reply(1, 4, b"\x00\x00\x30\x39"))
    frame[4] ^= 0x10
    reader = ReplyReader(REQUEST)
    reader.receive_data(bytes(frame))
    with pytest.raises(ChecksumError, match="CRC error"):
        reader.next_event()


def test_echo_of_the_request_is_dropped() -> None:
    reader = ReplyReader(REQUEST)
    reader.receive_data(REQUEST[:5])
    assert reader.next_event() is NEED_DATA
    reader.receive_data(REQUEST[5:] + encode_reply(1, 4, b"\x00\x00\x00\x07"))
    assert reader.next_event() == Reply(1, 4, b"\x00\x00\x00\x07")


def test_short_reply_that_starts_like_the_request() -> None:
    # Request 01 04 02 00 ...: a two-byte reply 01 04 02 00 01 shares its first four bytes.
    request = read_request(1, 0x0200, 1)
    reply = encode_reply(1, 4, b"\x00\x01")
    assert reply[:4] == request[:4]
    reader = ReplyReader(request)
    reader.receive_data(reply[:4])
    assert reader.next_event() is NEED_DATA
    reader.receive_data(reply[4:])
    assert reader.next_event() == Reply(1, 4, b"\x00\x01")


def test_junk_before_the_frame_is_skipped_and_trailing_kept() -> None:
    reader = ReplyReader(REQUEST)
    reader.receive_data(b"\xff\x00\x01\x03" + encode_reply(1, 4, b"\x00\x05") + b"\x99")
    assert reader.next_event() == Reply(1, 4, b"\x00\x05")
    assert reader.trailing == b"\x99"
    reader.receive_data(b"\x98")
    assert reader.trailing == b"\x99\x98"


def test_endless_junk_raises() -> None:
    reader = ReplyReader(REQUEST)
    reader.receive_data(b"\x55" * (MAX_JUNK + 1))
    with pytest.raises(ProtocolError, match="no reply from slave 1"):
        reader.next_event()


@pytest.mark.parametrize("count", [0, 252, 255])
def test_impossible_byte_count_raises(count: int) -> None:
    # Address 0x0100: the bytes 01 04 00 cannot be the start of an echo of this request.
    reader = ReplyReader(read_request(1, 0x0100, 1))
    reader.receive_data(bytes([1, 4, count]))
    with pytest.raises(ProtocolError, match="byte count"):
        reader.next_event()


def test_encode_reply_bounds() -> None:
    with pytest.raises(ValueError):
        encode_reply(1, 4, b"")
    with pytest.raises(ValueError):
        encode_reply(1, 4, bytes(252))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=12))
def test_fuzz_only_meter_errors_escape(chunks: list[bytes]) -> None:
    reader = ReplyReader(REQUEST)
    try:
        for chunk in chunks:
            reader.receive_data(chunk)
            event = reader.next_event()
            if event is not NEED_DATA:
                assert isinstance(event, (Reply, ExceptionReply))
                assert event.slave == 1
                assert event.function == 4
    except MeterError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=1, max_size=251),
    st.binary(max_size=20).filter(lambda junk: 1 not in junk),
    st.integers(1, 9),
)
def test_fuzz_any_reply_after_junk_in_any_chunking(data: bytes, junk: bytes, step: int) -> None:
    stream = junk + encode_reply(1, 4, data)
    reader = ReplyReader(REQUEST)
    event: object = NEED_DATA
    for start in range(0, len(stream), step):
        reader.receive_data(stream[start : start + step])
        event = reader.next_event()
    assert event == Reply(1, 4, data)
