"""Async SML reader on a ``Link``: listen for the next verified SML file (9600 8N1)."""

from __future__ import annotations

import time

from ..clock import SessionClock
from ..errors import NoAnswerError, ProtocolError
from ..link import Link
from ..readout import Direction, Readout
from .frames import SmlStreamReader
from .messages import decode_file, identity_for

SML_BAUD = 9600
"""Rate of the optical SML push of German meters (E220/E320, eHZ)."""


async def read_sml_push(link: Link, *, timeout: float = 10.0) -> Readout:
    """Listen on an open 8N1 link until one SML file verifies and decodes.

    A broken file is skipped (meters push every one to four seconds); if nothing valid
    arrives in time, the last error is raised, or ``NoAnswerError`` for a silent line.
    """
    clock = SessionClock()
    with clock.traced():
        return await _read_push(link, clock, timeout)


async def _read_push(link: Link, clock: SessionClock, timeout: float) -> Readout:
    reader = SmlStreamReader()
    deadline = time.monotonic() + timeout
    last_error: ProtocolError | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        data = await link.read(remaining)
        if not data:
            continue
        clock.mark("push started")
        clock.record(Direction.RECEIVED, data, link.line.baud)
        for event in reader.feed(data):
            if isinstance(event, ProtocolError):
                last_error = event
                clock.record(Direction.RECEIVED, b"", link.line.baud, f"rejected: {event}")
                continue
            try:
                reading = decode_file(event.payload, event.crc)
            except ProtocolError as err:
                last_error = err
                continue
            clock.mark("done")
            return clock.readout(
                identity_for(reading), reading.registers, protocol="sml", baud=link.line.baud, raw=event.raw
            )
    if last_error is not None:
        raise last_error
    raise NoAnswerError(f"no SML file within {timeout:.0f} s on {link.port}")
