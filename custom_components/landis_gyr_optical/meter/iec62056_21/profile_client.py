"""The async driver of the programming-mode profile read (beside ``client.py``'s readout).

It performs the commands of a ``ProgrammingSession`` on a ``Link`` with the same timing
rules as the readout, and always leaves programming mode: whatever went wrong after the
option select, the meter gets its break (``B0``) before the port is closed, so it does not
sit in programming mode until its own time-out.
"""

from __future__ import annotations

from ..clock import SessionClock
from ..errors import MeterError, PortError
from ..link import Link
from ..load_profile import LoadProfile
from ..readout import Direction
from .client import LinkFactory, _receive, _sleep_until, _switch, effective_settings
from .messages import BREAK
from .programming import ProfileFinished, ProfileRequest, ProgrammingSession
from .session import Receive, SessionSettings, SwitchLine, Transmit, Wait

BREAK_GUARD = 0.05
"""Seconds after the break's computed wire time before the port may close (USB latency)."""


async def run_profile_session(
    link: Link, settings: SessionSettings, request: ProfileRequest, clock: SessionClock | None = None
) -> LoadProfile:
    """Run one profile read on an open link; raise the session's typed error on failure."""
    clock = clock or SessionClock()
    session = ProgrammingSession(settings, request)
    if link.line != session.line:
        await link.switch(session.line)
    signed_on = False
    try:
        while True:
            command = session.next_command()
            if isinstance(command, ProfileFinished):
                # The break must reach the meter before the port closes and drops it.
                await _sleep_until(clock.tx_end + BREAK_GUARD)
                clock.mark("done")
                return command.profile
            if isinstance(command, Transmit):
                await _sleep_until(clock.tx_end)
                clock.record(Direction.SENT, command.data, link.line.baud)
                clock.tx_end = await link.write(command.data)
                clock.idle_at = max(clock.idle_at, clock.tx_end)
                signed_on = signed_on or session.identification is not None
                if command.data == BREAK:
                    signed_on = False
            elif isinstance(command, Wait):
                await _sleep_until(clock.idle_at + command.seconds)
            elif isinstance(command, SwitchLine):
                await _switch(link, command, clock)
            elif isinstance(command, Receive):
                await _receive(link, session, command, clock)
    except PortError:
        raise
    except MeterError:
        if signed_on:
            await _sleep_until(max(clock.tx_end, clock.idle_at) + 0.2)
            clock.tx_end = await link.write(BREAK)
            clock.record(Direction.SENT, BREAK, link.line.baud, "break after a failed profile read")
            await _sleep_until(clock.tx_end + BREAK_GUARD)
        raise


async def read_profile(
    port: str,
    settings: SessionSettings | None = None,
    request: ProfileRequest | None = None,
    *,
    link_factory: LinkFactory = Link,
) -> LoadProfile:
    """Open the port, read the load profile in programming mode, always close the port."""
    settings = effective_settings(port, settings or SessionSettings())
    link = link_factory(port, settings.initial_line)
    link.software_parity = settings.software_parity
    await link.open()
    try:
        return await run_profile_session(link, settings, request or ProfileRequest())
    finally:
        await link.close()


__all__ = ["read_profile", "run_profile_session"]
