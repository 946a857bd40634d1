"""The async driver: runs a sans-IO ``Session`` over a ``Link`` and keeps the clock.

Timing rules it enforces (IEC 62056-21 6.3/6.4):
- the client answers no earlier than the meter's reaction time after the meter's last byte;
- a rate switch happens only after the option select has physically left the line
  (its wire time, not ``tcdrain``, which USB adapters report too early) and before the
  meter's reaction time has run out, or the first bytes of the data message are lost;
  it is placed in the middle of that window, so that a late start of our bytes (USB
  buffering, a loaded host) and a late switch (a busy event loop, a bridge) both have room;
  on a local tty the link makes the switch without an executor round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
import logging
import time
from typing import Protocol as Interface

from ..clock import SessionClock
from ..errors import ChecksumError, MeterError, NoAnswerError, PortError
from ..line import LineSettings
from ..link import Link
from ..readout import Direction, Readout
from .messages import BREAK, INITIAL_BAUD, INTER_CHARACTER_TIMEOUT, Mode
from .session import (
    Finished,
    Protocol,
    Receive,
    Session,
    SessionSettings,
    SwitchLine,
    Transmit,
    Wait,
    step_down,
)

_LOGGER = logging.getLogger(__name__)

SWITCH_POINT = 0.5
"""Where in the meter's reaction window after our request the rate switch happens (0: at its
computed end, 1: when the meter starts answering): 100 ms in for a 200 ms meter, 10 ms for a
20 ms one."""
EARLY_SWITCH = 0.005
"""Seconds after the request's computed end for the switch of every other retry: a meter that
answers faster than its identification allows (under 200 ms with an upper-case letter) is then
caught."""
RETRY_PAUSE = INTER_CHARACTER_TIMEOUT
"""Silence after a failed attempt: the meter drops a session after 1.5 s without input."""

LinkFactory = Callable[[str, LineSettings], Link]


class ReceivingSession(Interface):
    """What ``_receive`` needs of a sans-IO session (the readout and the programming session)."""

    @property
    def needs_data(self) -> bool:
        """Whether the session still waits for bytes."""

    @property
    def message_started(self) -> bool:
        """Whether the awaited message has begun."""

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes."""

    def timeout(self) -> MeterError:
        """Return the error for a receive that ran out of time."""


async def run_session(
    link: Link, settings: SessionSettings, clock: SessionClock | None = None, *, early_switch: bool = False
) -> Readout:
    """Run one session on an open link; raise the session's typed error on failure.

    ``early_switch`` switches the rate right after the option select (``EARLY_SWITCH``)
    instead of in the middle of the meter's reaction window.
    """
    clock = clock or SessionClock()
    session = Session(settings)
    if link.line != session.line:
        await link.switch(session.line)
    while True:
        command = session.next_command()
        if isinstance(command, Finished):
            clock.mark("done")
            readout = command.readout
            return replace(readout, trace=tuple(clock.trace), timings=dict(clock.marks))
        if isinstance(command, Transmit):
            await _sleep_until(clock.tx_end)
            clock.record(Direction.SENT, command.data, link.line.baud)
            clock.tx_end = await link.write(command.data)
            clock.idle_at = max(clock.idle_at, clock.tx_end)
        elif isinstance(command, Wait):
            await _sleep_until(clock.idle_at + command.seconds)
        elif isinstance(command, SwitchLine):
            await _switch(link, command, clock, early_switch)
        elif isinstance(command, Receive):
            await _receive(link, session, command, clock)
            clock.mode = session.mode


async def _switch(link: Link, command: SwitchLine, clock: SessionClock, early: bool = False) -> None:
    if clock.idle_at <= clock.tx_end:
        # We spoke last: the meter's reaction time runs from our request's end. When the
        # meter spoke last (mode B) its bytes are all in and the switch can happen at once.
        delay = EARLY_SWITCH if early else command.deadline * SWITCH_POINT
        await _sleep_until(clock.tx_end + delay)
    await link.switch(command.line)
    # Where the switch fell in the meter's reaction window (on a local tty the link returns
    # right after the change): what a failed read's trace must show, whatever the host's load.
    into = time.monotonic() - max(clock.tx_end, clock.idle_at)
    late = into - command.deadline
    note = (
        f"switched to {command.line.baud} Bd {command.line.framing} by {into * 1000:.1f} ms into the "
        f"meter's {command.deadline * 1000:.0f} ms reaction time"
    )
    if late > 0:
        note += f", {late * 1000:.0f} ms after it"
        _LOGGER.debug("rate switch late by %.1f ms on %s", late * 1000, link.port)
    clock.record(Direction.LINE, b"", command.line.baud, note)


async def _receive(link: Link, session: ReceivingSession, command: Receive, clock: SessionClock) -> None:
    started = max(clock.idle_at, time.monotonic())
    deadline = started + command.total_timeout
    next_byte_by = started + command.first_byte_timeout
    first = True
    while session.needs_data:
        now = time.monotonic()
        wait = min(next_byte_by, deadline) - now
        if wait <= 0:
            raise session.timeout()
        data = await link.read(wait)
        if not data:
            continue
        now = time.monotonic()
        if first:
            clock.mark(f"{command.what} started")
            first = False
        clock.record(Direction.RECEIVED, data, link.line.baud)
        clock.idle_at = now
        session.receive_data(data)
        if session.message_started:
            next_byte_by = now + command.inter_character_timeout
    clock.mark(f"{command.what} complete")


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def effective_settings(port: str, settings: SessionSettings) -> SessionSettings:
    """Pin the rate on ports that cannot switch it (raw TCP bridges)."""
    if settings.fixed_baud is None and not Link(port, settings.initial_line).can_switch:
        baud = settings.initial_line.baud
        return replace(settings, fixed_baud=baud)
    return settings


async def read_meter(
    port: str,
    settings: SessionSettings | None = None,
    *,
    retries: int = 2,
    link_factory: LinkFactory = Link,
) -> Readout:
    """Read the meter once: open the port, run the session, retry lower, always close.

    A checksum error or a silence in the data message is retried at the next lower rate
    (slower is more robust on a badly aligned head); a silent meter is retried as is; a
    port that cannot be opened is not retried. The port is closed whatever happens.
    """
    settings = effective_settings(port, settings or SessionSettings())
    clock = SessionClock()
    link = link_factory(port, settings.initial_line)
    link.software_parity = settings.software_parity
    await link.open()
    try:
        with clock.traced():
            return await _attempts(link, settings, clock, retries)
    finally:
        await link.close()


async def _attempts(link: Link, settings: SessionSettings, clock: SessionClock, retries: int) -> Readout:
    """Run the session, retrying as ``read_meter`` says; raise the last attempt's error."""
    port = link.port
    attempt_settings: SessionSettings | None = settings
    last_error: MeterError | None = None
    for attempt in range(retries + 1):
        assert attempt_settings is not None
        try:
            # Every other retry switches early, for meters faster than they announce.
            return await run_session(link, attempt_settings, clock, early_switch=attempt % 2 == 1)
        except PortError:
            raise
        except MeterError as err:
            last_error = err
            clock.record(Direction.LINE, b"", link.line.baud, f"attempt {attempt + 1} failed: {err}")
            _LOGGER.debug("attempt %d on %s failed: %s", attempt + 1, port, err)
            if attempt == retries:
                break
            attempt_settings = _next_attempt(attempt_settings, err, link.line.baud, clock.mode)
            if attempt_settings is None:
                break
            await _recover(link, clock)
    assert last_error is not None
    raise last_error


def _next_attempt(
    settings: SessionSettings, err: MeterError, failed_baud: int, mode: str | None = None
) -> SessionSettings | None:
    # A mode B meter switches to its own rate: a lower limit would only refuse it.
    if isinstance(err, (ChecksumError, NoAnswerError)) and failed_baud > INITIAL_BAUD and mode != Mode.B:
        return step_down(settings, failed_baud) or settings
    if isinstance(err, (ChecksumError, NoAnswerError)) or settings.protocol is not Protocol.MODE_D:
        return settings
    return None


async def _recover(link: Link, clock: SessionClock) -> None:
    """Return the meter to its initial state: break at the current rate, then silence."""
    if link.line.baud != INITIAL_BAUD:
        clock.tx_end = await link.write(BREAK)
        clock.record(Direction.SENT, BREAK, link.line.baud, "break")
    await _sleep_until(max(clock.tx_end, time.monotonic()) + RETRY_PAUSE)
    clock.idle_at = time.monotonic()
