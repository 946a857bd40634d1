"""Every parser, fed arbitrary bytes: only the project's typed errors escape.

Identification, data sets, the IEC session, HDLC frames, A-XDR, SML and Modbus RTU replies.
``FUZZ_EXAMPLES`` raises the number of examples per parser (the soak runs 20000).
"""

from __future__ import annotations

import contextlib
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.landis_gyr_optical.meter.dlms import axdr
from custom_components.landis_gyr_optical.meter.dlms.hdlc import Frame, FrameReader
from custom_components.landis_gyr_optical.meter.eredes_han.modbus import ReplyReader, read_request
from custom_components.landis_gyr_optical.meter.errors import MeterError
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import Identification
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Protocol,
    Receive,
    Session,
    SessionSettings,
)
from custom_components.landis_gyr_optical.meter.sml.frames import SmlStreamReader
from custom_components.landis_gyr_optical.meter.sml.messages import decode_messages

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.binary(max_size=80))
def test_identification(data: bytes) -> None:
    with contextlib.suppress(MeterError):
        Identification.parse(data)


@FUZZ
@given(st.binary(max_size=400))
def test_data_sets(data: bytes) -> None:
    with contextlib.suppress(MeterError):
        parse_data_block(data)


@FUZZ
@given(st.sampled_from([Protocol.AUTO, Protocol.MODE_D]), st.lists(st.binary(max_size=200), max_size=6))
def test_iec_session(protocol: Protocol, chunks: list[bytes]) -> None:
    session = Session(SessionSettings(protocol=protocol))
    try:
        while not isinstance(session.next_command(), Receive):
            pass
        for chunk in chunks:
            session.receive_data(chunk)
            while not session.needs_data:
                command = session.next_command()
                if not isinstance(command, Receive) and command.__class__.__name__ == "Finished":
                    return
    except MeterError:
        pass


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=5))
def test_hdlc(chunks: list[bytes]) -> None:
    reader = FrameReader()
    for chunk in chunks:
        with contextlib.suppress(MeterError):
            reader.feed(chunk)
    with contextlib.suppress(MeterError):
        Frame.decode(b"".join(chunks))


@FUZZ
@given(st.binary(max_size=300))
def test_axdr(data: bytes) -> None:
    with contextlib.suppress(MeterError):
        axdr.decode(data)


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=4))
def test_sml(chunks: list[bytes]) -> None:
    reader = SmlStreamReader()
    for chunk in chunks:
        reader.feed(chunk)
        with contextlib.suppress(MeterError):
            decode_messages(chunk, verify=False)


@FUZZ
@given(st.integers(1, 247), st.lists(st.binary(max_size=64), max_size=4))
def test_modbus_rtu(slave: int, chunks: list[bytes]) -> None:
    reader = ReplyReader(read_request(slave, 0x0001, 4))
    for chunk in chunks:
        reader.receive_data(chunk)
        with contextlib.suppress(MeterError):
            reader.next_event()
