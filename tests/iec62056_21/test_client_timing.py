"""Driver timing with a scripted link: deadlines hold however the bytes arrive."""

from __future__ import annotations

import asyncio
import time

import pytest

from custom_components.landis_gyr_optical.meter.clock import TRACE_LIMIT, SessionClock
from custom_components.landis_gyr_optical.meter.errors import NoAnswerError, ProtocolError
from custom_components.landis_gyr_optical.meter.iec62056_21.client import run_session
from custom_components.landis_gyr_optical.meter.iec62056_21.session import Protocol, SessionSettings
from custom_components.landis_gyr_optical.meter.line import LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from custom_components.landis_gyr_optical.meter.readout import Direction


class ScriptedLink(Link):
    """A link whose line delivers ``chunk`` every ``every`` seconds and swallows writes."""

    def __init__(self, chunk: bytes, every: float) -> None:
        """Deliver the same chunk over and over; an empty chunk is a silent line."""
        super().__init__("/dev/null", LineSettings(2400))
        self.chunk = chunk
        self.every = every
        self.reads = 0

    async def write(self, data: bytes) -> float:
        """Pretend the bytes left at once."""
        return time.monotonic()

    async def read(self, timeout: float) -> bytes:
        """Wait for the next chunk (or the timeout on a silent line)."""
        if not self.chunk:
            await asyncio.sleep(timeout)
            return b""
        await asyncio.sleep(min(self.every, timeout))
        self.reads += 1
        return self.chunk

    async def switch(self, line: LineSettings) -> None:
        """Follow the session's line."""
        self.line = line


async def test_endless_garbage_ends_a_push_listen_at_its_timeout() -> None:
    """Bytes that never form a push must not keep the listen alive past ``push_timeout``."""
    link = ScriptedLink(b"\x7f\x55\x2a" * 8, every=0.01)
    started = time.monotonic()
    with pytest.raises(ProtocolError, match="no push message began"):
        await run_session(link, SessionSettings(protocol=Protocol.MODE_D, push_timeout=0.3))
    elapsed = time.monotonic() - started
    assert 0.28 <= elapsed < 0.6, elapsed
    assert link.reads >= 10


async def test_silent_line_is_no_answer() -> None:
    """Nothing at all within the first-byte time: NoAnswerError naming what was awaited."""
    link = ScriptedLink(b"", every=0)
    with pytest.raises(NoAnswerError, match="push message"):
        await run_session(link, SessionSettings(protocol=Protocol.MODE_D, push_timeout=0.2))


def test_trace_is_bounded() -> None:
    """A flooding meter cannot grow the trace without end; the cut is noted once."""
    clock = SessionClock()
    for _ in range(10_000):
        clock.record(Direction.RECEIVED, b"\x7f" * 100, 300)
    clock.record(Direction.LINE, b"", 300, "attempt 1 failed")
    assert clock.traced_bytes <= TRACE_LIMIT
    assert sum(len(entry.data) for entry in clock.trace) == clock.traced_bytes
    assert [entry.note for entry in clock.trace].count("trace full: later bytes not kept") == 1
    assert clock.trace[-1].note == "attempt 1 failed", "notes are kept after the cut"
