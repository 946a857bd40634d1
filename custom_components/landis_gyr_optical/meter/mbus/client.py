"""Async M-Bus reader on a ``Link``: wake the meter, reset the link, ask for its telegrams."""

from __future__ import annotations

import asyncio
import time

from ..clock import SessionClock
from ..errors import MeterError, NoAnswerError
from ..line import Framing, LineSettings, wire_time
from ..link import Link
from ..readout import Direction, Readout
from .frames import BadFrame, MbusChecksumError
from .records import Telegram
from .registers import heat_registers, identity_of
from .session import WAKE_UP_CHARACTER, WAKE_UP_LENGTH, MbusSettings, ReadSession

_LONGEST_FRAME = 4 + 255 + 2


async def read_mbus(port: str, settings: MbusSettings | None = None) -> Readout:
    """Read a heat meter on wired or optical M-Bus once and return its registers."""
    settings = settings or MbusSettings()
    clock = SessionClock()
    session = ReadSession(settings.address, max_telegrams=settings.max_telegrams)
    line = LineSettings(settings.baud, Framing.EIGHT_E_ONE)
    try:
        async with Link(port, line) as link:
            await _send(link, clock, settings, session.reset_request(), "SND_NKE")
            if not await _acknowledged(link, clock, settings):
                if settings.ack_required:
                    raise NoAnswerError(
                        f"no M-Bus answer to SND_NKE on {link.port} at {settings.baud} Bd 8E1"
                    )
                clock.record(
                    Direction.LINE, b"", settings.baud, "no E5 after SND_NKE: asking for data anyway"
                )
            while True:
                telegram = await _telegram(link, clock, settings, session)
                if not session.accept(telegram):
                    break
    except MeterError as err:
        err.trace = tuple(clock.trace)
        raise
    clock.mark("done")
    merged = session.result()
    return clock.readout(
        identity_of(merged),
        heat_registers(merged),
        protocol="mbus",
        baud=settings.baud,
        raw=b"".join(session.frames),
        checksum="sum",
    )


async def _send(link: Link, clock: SessionClock, settings: MbusSettings, frame: bytes, what: str) -> None:
    """Wake the meter if it sleeps, then send ``frame`` at 8E1 and wait until it has left the line."""
    if settings.wake_up:
        await link.switch(LineSettings(settings.baud, Framing.EIGHT_N_ONE))
        ends = await link.write(bytes([WAKE_UP_CHARACTER]) * WAKE_UP_LENGTH)
        clock.record(
            Direction.SENT, b"", settings.baud, f"wake-up: {WAKE_UP_LENGTH} x 0x55 at {settings.baud} Bd 8N1"
        )
        await _until(ends)
        await link.switch(LineSettings(settings.baud, Framing.EIGHT_E_ONE))
        await asyncio.sleep(settings.wake_up_pause)
    ends = await link.write(frame)
    clock.record(Direction.SENT, frame, settings.baud, what)
    await _until(ends)


async def _until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def _acknowledged(link: Link, clock: SessionClock, settings: MbusSettings) -> bool:
    deadline = time.monotonic() + settings.ack_timeout
    while (remaining := deadline - time.monotonic()) > 0:
        data = await link.read(remaining)
        if data:
            clock.record(Direction.RECEIVED, data, settings.baud)
            if ReadSession.acknowledged(data):
                return True
    return False


async def _telegram(
    link: Link, clock: SessionClock, settings: MbusSettings, session: ReadSession
) -> Telegram:
    """Ask for the next telegram, repeating the request after silence or a bad check sum."""
    bad: BadFrame | None = None
    for _ in range(settings.retries + 1):
        await _send(link, clock, settings, session.data_request(), "REQ_UD2")
        deadline = (
            time.monotonic()
            + settings.response_timeout
            + wire_time(_LONGEST_FRAME, settings.baud, Framing.EIGHT_E_ONE.bits_per_character)
        )
        while (remaining := deadline - time.monotonic()) > 0:
            data = await link.read(remaining)
            if not data:
                continue
            clock.mark("telegram started")
            clock.record(Direction.RECEIVED, data, settings.baud)
            answer = session.feed(data)
            if isinstance(answer, BadFrame):
                bad = answer
                clock.record(Direction.RECEIVED, b"", settings.baud, f"rejected: {answer.error}")
                break
            if answer is not None:
                return answer
    if bad is not None:
        raise MbusChecksumError(
            f"no M-Bus answer from {link.port} passed its check sum in {settings.retries + 1} requests"
        )
    raise NoAnswerError(f"no M-Bus answer to REQ_UD2 on {link.port} at {settings.baud} Bd 8E1")


__all__ = ["read_mbus"]
