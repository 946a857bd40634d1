"""Endless input ends in a typed error, in bounded time and memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import tracemalloc

import pytest

from custom_components.landis_gyr_optical.meter.errors import MeterError, ProtocolError, ReadoutTooLongError
from custom_components.landis_gyr_optical.meter.iec62056_21.client import read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import STX, Identification
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    DEFAULT_MAX_READOUT,
    Protocol,
    Receive,
    Session,
    SessionSettings,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link

MEMORY_BOUND = 4 * DEFAULT_MAX_READOUT + 256 * 1024
"""What a read may allocate on an endless stream: the readout limit a few times over, plus slack."""
IDENTIFICATION = Identification.parse(b"/LGZ5ZMF100AC.M27").encode()


def _to_data_phase(session: Session) -> None:
    while not isinstance(session.next_command(), Receive):
        pass
    session.receive_data(IDENTIFICATION)
    while not isinstance(session.next_command(), Receive):
        pass


@pytest.mark.parametrize(
    ("prefix", "chunk", "error"),
    [
        (b"", bytes(range(0x80, 0x100)), ProtocolError),  # garbage, never a frame start
        (bytes([STX]), b"1.8.0(000219.252*kWh)\r\n" * 10, ReadoutTooLongError),  # a data block without ETX
    ],
    ids=["garbage", "endless-block"],
)
def test_endless_stream_ends_in_a_typed_error(prefix: bytes, chunk: bytes, error: type[MeterError]) -> None:
    """The session stops at its limit whatever keeps arriving; memory stays near that limit."""
    session = Session(SessionSettings())
    _to_data_phase(session)
    tracemalloc.start()
    fed = 0
    with pytest.raises(error):  # noqa: PT012 - the stream is fed until the session gives up
        session.receive_data(prefix)
        while fed < 100 * DEFAULT_MAX_READOUT:
            session.receive_data(chunk)
            fed += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert fed <= DEFAULT_MAX_READOUT + len(chunk)
    assert peak < MEMORY_BOUND


def test_endless_push_without_identification_ends() -> None:
    """Mode D: a stream that never starts a telegram is cut at the readout limit."""
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    session.next_command()
    fed = 0
    with pytest.raises(MeterError):  # noqa: PT012 - fed until the session gives up
        while fed < 100 * DEFAULT_MAX_READOUT:
            session.receive_data(b"x" * 1000)
            fed += 1000
    assert fed <= DEFAULT_MAX_READOUT + 1000


async def _flood(master: int, payload: bytes, stop: asyncio.Event) -> None:
    """Answer the sign-on with an identification, then send ``payload`` forever."""
    while not stop.is_set():
        try:
            data = os.read(master, 4096)
        except BlockingIOError:
            await asyncio.sleep(0.005)
            continue
        except OSError:
            await asyncio.sleep(0.005)
            continue
        if b"/?" in data:
            break
    os.write(master, IDENTIFICATION)
    await asyncio.sleep(0.05)
    while not stop.is_set():
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(master, payload)
        await asyncio.sleep(0.002)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (bytes(range(0x80, 0x100)) * 4, ProtocolError),
        (bytes([STX]) + b"1.8.0(1*kWh)\r\n" * 60, ReadoutTooLongError),
    ],
    ids=["garbage", "endless-block"],
)
async def test_endless_stream_on_a_pty(payload: bytes, error: type[MeterError]) -> None:
    """Through the real client and link: a typed error within the timeout, bounded memory."""
    master, slave = os.openpty()
    port = os.ttyname(slave)
    os.close(slave)
    os.set_blocking(master, False)
    # Open and close the port once first: the imports and caches serialx fills on its first
    # open are not the read's memory and would otherwise count on whichever test runs first.
    async with Link(port, LineSettings(300)):
        pass
    stop = asyncio.Event()
    flood = asyncio.create_task(_flood(master, payload, stop))
    # Log records kept by the test harness's capture are not the read's memory either, nor the
    # creation tracebacks asyncio's debug mode keeps for every handle (newer test harnesses turn it on).
    logging.disable(logging.INFO)
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(False)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(error):
            await asyncio.wait_for(
                read_meter(port, SessionSettings(max_baud=300, framing=Framing.SEVEN_E_ONE), retries=0), 30
            )
    finally:
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        loop.set_debug(debug)
        logging.disable(logging.NOTSET)
        stop.set()
        await flood
        os.close(master)
    assert elapsed < 10
    assert peak < MEMORY_BOUND
