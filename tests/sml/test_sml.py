"""SML transport, TL encoding, messages and register mapping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.crc import crc16_x25
from custom_components.landis_gyr_optical.meter.errors import ChecksumError, ProtocolError
from custom_components.landis_gyr_optical.meter.sml.frames import (
    START,
    CrcVariant,
    SmlError,
    SmlFrame,
    SmlStreamReader,
    encode_frame,
)
from custom_components.landis_gyr_optical.meter.sml.messages import (
    GET_LIST_RESPONSE,
    decode_file,
    decode_messages,
    decode_node,
    encode_message,
    encode_node,
    identity_for,
    server_id_text,
)
from tests.simulator.sml import SERVER_ID, entry, lgz_messages


def frames(events: list[SmlFrame | ProtocolError]) -> list[SmlFrame]:
    return [event for event in events if isinstance(event, SmlFrame)]


@pytest.mark.parametrize("crc", [CrcVariant.X25, CrcVariant.KERMIT])
def test_frame_round_trip(crc: CrcVariant) -> None:
    payload = lgz_messages()
    [frame] = frames(SmlStreamReader().feed(encode_frame(payload, crc=crc)))
    assert frame.crc is crc
    assert frame.payload.rstrip(b"\x00") == payload.rstrip(b"\x00")


def test_escape_sequence_inside_payload() -> None:
    payload = b"\x1b\x1b\x1b\x1b" + b"abcd"
    encoded = encode_frame(payload)
    assert encoded.count(b"\x1b" * 8) == 1
    [frame] = frames(SmlStreamReader().feed(encoded))
    assert frame.payload == payload


def test_stream_byte_by_byte_with_noise() -> None:
    stream = b"\x00\x1b\x1b" + encode_frame(lgz_messages(1)) + b"garbage" + encode_frame(lgz_messages(2))
    reader = SmlStreamReader()
    found: list[SmlFrame] = []
    for index in range(len(stream)):
        found += frames(reader.feed(stream[index : index + 1]))
    assert len(found) == 2


def test_bad_crc_is_rejected_and_the_next_frame_read() -> None:
    broken = bytearray(encode_frame(lgz_messages()))
    broken[20] ^= 0x01
    events = SmlStreamReader().feed(bytes(broken) + encode_frame(lgz_messages()))
    assert isinstance(events[0], ChecksumError)
    assert isinstance(events[1], SmlFrame)


def test_interrupted_frame_and_unknown_escape() -> None:
    cut = START + b"abcd" + START + b"efgh" + b"\x1b" * 4 + b"\x1a\x00"
    events = SmlStreamReader().feed(cut + b"\x00\x00")
    assert isinstance(events[0], SmlError)
    events = SmlStreamReader().feed(START + b"abcd" + b"\x1b" * 4 + b"\x02\x02\x02\x02")
    assert isinstance(events[0], SmlError)


def test_bad_padding() -> None:
    head = START + b"abcd" + b"\x1b" * 4 + b"\x1a\x09"
    events = SmlStreamReader().feed(head + crc16_x25(head).to_bytes(2, "little"))
    assert isinstance(events[0], SmlError)


def test_overlong_frame_is_dropped() -> None:
    reader = SmlStreamReader()
    events = reader.feed(START + b"abcd" * 5000)
    assert any(isinstance(event, SmlError) for event in events)


@pytest.mark.parametrize(
    "node",
    [None, b"", b"x" * 20, 0, 5, 300, -1, -200, 2**40, True, False, (1, (b"a", None), ()), tuple(range(20))],
)
def test_tl_round_trip(node: object) -> None:
    encoded = encode_node(node)  # type: ignore[arg-type]
    decoded, end = decode_node(encoded)
    assert end == len(encoded)
    assert decoded == (None if node == b"" else node)


@pytest.mark.parametrize("bad", ["", "72", "0A01", "8F", "8171", "4301FF", "5A" + "00" * 9, "30", "F2"])
def test_tl_rejects(bad: str) -> None:
    with pytest.raises(SmlError):
        decode_node(bytes.fromhex(bad))


def test_tl_depth_bound() -> None:
    with pytest.raises(SmlError):
        decode_node(b"\x71" * 20 + b"\x01")


def test_message_crc_verified_without_envelope() -> None:
    payload = bytearray(lgz_messages())
    assert len(decode_messages(bytes(payload))) == 3
    payload[10] ^= 0x01
    with pytest.raises(ChecksumError):
        decode_file(bytes(payload))
    # Inside a verified frame only the frame CRC counts.
    assert decode_file(bytes(payload), CrcVariant.X25).serial == "1LGZ0054541129"


def test_messages_reject_malformed() -> None:
    with pytest.raises(SmlError):
        decode_messages(encode_node((1, 2)))
    with pytest.raises(SmlError):
        decode_messages(encode_node((b"", 0, 0, (1, 2), None, b"x")))
    with pytest.raises(SmlError):
        decode_messages(encode_node((b"", 0, 0, 7, None)) + b"\x00")


def test_readings_of_the_simulated_meter() -> None:
    reading = decode_file(lgz_messages(51719237, 251))
    values = {str(r.obis): r.value for r in reading.registers}
    assert values["1-0:1.8.0"] == Decimal("5171.9237")
    assert values["1-0:16.7.0"] == Decimal(251)
    assert values["0-0:96.1.0"] == "1LGZ0054541129"
    assert reading.manufacturer == "LGZ"
    identity = identity_for(reading)
    assert (identity.flag_id, identity.model, identity.identification) == (
        "LGZ",
        "1LGZ0054541129",
        "1LGZ0054541129",
    )
    assert identity.iec_identification is None


def test_readings_need_a_get_list() -> None:
    with pytest.raises(SmlError):
        decode_file(encode_message(b"\x01", 0x0101, (None, None, b"1", SERVER_ID, None, None)))
    with pytest.raises(SmlError):
        decode_file(encode_message(b"\x01", GET_LIST_RESPONSE, (None, SERVER_ID, None, None, 5, None, None)))
    with pytest.raises(SmlError):
        decode_file(
            encode_message(b"\x01", GET_LIST_RESPONSE, (None, SERVER_ID, None, None, ((1, 2),), None, None))
        )
    with pytest.raises(SmlError):
        decode_file(
            encode_message(
                b"\x01", GET_LIST_RESPONSE, (None, None, None, None, (entry("0100", 1),), None, None)
            )
        )


def test_entry_kinds_and_identification_fallbacks() -> None:
    values = (
        entry("0100010800FF", 10, unit=30, scaler=3),
        entry("0100000009FF", b"\x01\x02"),
        entry("0100600500FF", True),
        entry("0100600501FF", (1, 2)),
    )
    reading = decode_file(
        encode_message(b"\x01", GET_LIST_RESPONSE, (None, None, None, None, values, None, None))
    )
    got = {str(r.obis): r.value for r in reading.registers}
    assert got["1-0:1.8.0"] == Decimal(10)
    assert got["1-0:96.5.0"] == "true"
    assert "1-0:96.5.1" not in got
    assert reading.server_id == b"\x01\x02"
    assert got["0-0:96.1.0"] == "0102"
    assert identity_for(reading).flag_id == "???"
    assert identity_for(reading).manufacturer is None


def test_scaler_out_of_range() -> None:
    values = (entry("0100010800FF", 10, unit=30, scaler=-1000),)
    with pytest.raises(SmlError):
        decode_file(encode_message(b"\x01", GET_LIST_RESPONSE, (None, None, None, None, values, None, None)))


def test_server_id_text() -> None:
    assert server_id_text(bytes.fromhex("0A014C475A0003403B49")) == "1LGZ0054541129"
    assert server_id_text(b"02280816") == "02280816"
    assert server_id_text(b"\x05\x08\xe7") == "0508E7"
