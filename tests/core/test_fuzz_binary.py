"""Fuzzing of the binary readers: garbage in, only MeterError subclasses out."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.landis_gyr_optical.meter.dlms import axdr
from custom_components.landis_gyr_optical.meter.dlms.association import AssociationResponse
from custom_components.landis_gyr_optical.meter.dlms.ciphering import Ciphered
from custom_components.landis_gyr_optical.meter.dlms.get import GetResponse
from custom_components.landis_gyr_optical.meter.dlms.hdlc import (
    UI,
    ApduReader,
    Frame,
    HdlcAddress,
    split_blocks,
)
from custom_components.landis_gyr_optical.meter.dlms.notification import DataNotification, decode_push
from custom_components.landis_gyr_optical.meter.errors import MeterError
from custom_components.landis_gyr_optical.meter.mbus.frames import LongFrameReader, long_frame_body
from custom_components.landis_gyr_optical.meter.mbus.records import decode_body
from custom_components.landis_gyr_optical.meter.mbus.registers import heat_registers
from custom_components.landis_gyr_optical.meter.sml.frames import SmlFrame, SmlStreamReader, encode_frame
from custom_components.landis_gyr_optical.meter.sml.messages import decode_file, decode_node
from tests.simulator.dlms import push_apdu
from tests.simulator.sml import lgz_messages
from tests.vectors import own_vector

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = bytes(range(16))

PUSH = b"".join(
    Frame(HdlcAddress(16), HdlcAddress(1), UI, block.encode()).encode()
    for block in split_blocks(push_apdu(), 60)
)
SML = encode_frame(lgz_messages())
MBUS_HEAT = long_frame_body(
    bytes.fromhex(own_vector("mbus_heat_lug_ultraheat_t230_libmbus.hex").decode("ascii").strip())
)


def mutate(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in flips:
        out[position % len(out)] = value
    return bytes(out)


flips = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6)


def _apdu_reader(data: bytes) -> None:
    reader = ApduReader()
    for event in reader.feed(data):
        if isinstance(event, bytes):
            with contextlib.suppress(MeterError):
                decode_push(event, key=KEY)


@FUZZ
@given(st.binary(max_size=600))
def test_hdlc_reader_random(data: bytes) -> None:
    _apdu_reader(data)


@FUZZ
@given(flips, st.integers(1, 64))
def test_hdlc_reader_mutated_push(changes: list[tuple[int, int]], chunk: int) -> None:
    data = mutate(PUSH, changes)
    reader = ApduReader()
    for index in range(0, len(data), chunk):
        for event in reader.feed(data[index : index + chunk]):
            if isinstance(event, bytes):
                with contextlib.suppress(MeterError):
                    decode_push(event)


@FUZZ
@given(st.binary(max_size=300))
def test_frame_decode(data: bytes) -> None:
    with contextlib.suppress(MeterError):
        Frame.decode(data)


@FUZZ
@given(st.binary(max_size=300))
def test_axdr_random(data: bytes) -> None:
    with contextlib.suppress(MeterError):
        axdr.decode_all(data)


@FUZZ
@given(flips)
def test_axdr_and_dlms_mutated(changes: list[tuple[int, int]]) -> None:
    apdu = mutate(push_apdu(), changes)
    for decoder in (
        DataNotification.decode,
        decode_push,
        GetResponse.decode,
        AssociationResponse.decode,
        Ciphered.decode,
    ):
        with contextlib.suppress(MeterError):
            decoder(apdu)


@FUZZ
@given(st.sampled_from([0x0F, 0xC4, 0x61, 0xDB, 0x60]), st.binary(max_size=200))
def test_dlms_apdus_random(tag: int, rest: bytes) -> None:
    apdu = bytes([tag]) + rest
    for decoder in (decode_push, GetResponse.decode, AssociationResponse.decode):
        with contextlib.suppress(MeterError):
            decoder(apdu)
    with contextlib.suppress(MeterError):
        decode_push(apdu, key=KEY)


@FUZZ
@given(st.binary(max_size=600))
def test_sml_random(data: bytes) -> None:
    for event in SmlStreamReader().feed(data):
        if isinstance(event, SmlFrame):
            with contextlib.suppress(MeterError):
                decode_file(event.payload, event.crc)
    with contextlib.suppress(MeterError):
        decode_file(data)
    with contextlib.suppress(MeterError):
        decode_node(data)


@FUZZ
@given(flips, st.integers(1, 64))
def test_sml_mutated(changes: list[tuple[int, int]], chunk: int) -> None:
    data = mutate(SML, changes)
    reader = SmlStreamReader()
    for index in range(0, len(data), chunk):
        for event in reader.feed(data[index : index + chunk]):
            if isinstance(event, SmlFrame):
                with contextlib.suppress(MeterError):
                    decode_file(event.payload, event.crc)
    payload = mutate(lgz_messages(), changes)
    with contextlib.suppress(MeterError):
        decode_file(payload)


def _mbus_heat(body: bytes) -> None:
    with contextlib.suppress(MeterError):
        heat_registers(decode_body(body))


@FUZZ
@given(st.binary(max_size=300))
def test_mbus_random(data: bytes) -> None:
    for body in LongFrameReader().feed(data):
        if isinstance(body, bytes):
            _mbus_heat(body)
    _mbus_heat(b"\x08\x01\x72" + data)


@FUZZ
@given(flips)
def test_mbus_heat_mutated(changes: list[tuple[int, int]]) -> None:
    _mbus_heat(mutate(MBUS_HEAT, changes))
