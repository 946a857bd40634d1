"""Find out what a meter speaks: try the usual variants one by one and say what happened.

Each attempt opens the port afresh, runs one session (or listens), and records what was
sent, what came back and a verdict a person can act on. The first attempt that yields a
complete, verified readout ends the probe; its settings are what the user should use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
import time

from .client import SessionClock, effective_settings, run_session
from .errors import MeterError, NoAnswerError, PortError
from .link import Link, can_switch_rate, describe_port
from .messages import MODE_D_BAUD
from .readout import Direction, Readout, TraceEntry, printable
from .session import Framing, LineSettings, Protocol, SessionSettings

DEFAULT_LISTEN_TIME = 12.0
"""Seconds to listen for a push: P1 and SML meters send every 1-10 s."""
_MAX_RAW = 512


@dataclass(frozen=True, slots=True)
class ProbeAttempt:
    """One variant tried, with the evidence."""

    name: str
    settings: SessionSettings | None
    sent: bytes
    received: bytes
    verdict: str
    ok: bool
    error: MeterError | None = None
    duration: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """Return the attempt for JSON output."""
        return {
            "name": self.name,
            "sent": printable(self.sent),
            "received": printable(self.received[:_MAX_RAW]),
            "received_bytes": len(self.received),
            "verdict": self.verdict,
            "ok": self.ok,
            "error": None if self.error is None else self.error.key,
            "duration": round(self.duration, 3),
        }


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """Everything the probe tried, and what worked."""

    port: str
    attempts: tuple[ProbeAttempt, ...]
    readout: Readout | None
    settings: SessionSettings | None

    @property
    def summary(self) -> str:
        """One paragraph for the user: what to configure, or what to check."""
        if self.readout is not None and self.settings is not None:
            readout = self.readout
            how = (
                "listening for its pushes"
                if self.settings.protocol is Protocol.MODE_D
                else "sign-on at 300 Bd"
            )
            return (
                f"The meter ({readout.manufacturer or readout.identification.flag_id}, "
                f"{readout.identification}) speaks {readout.protocol.replace('_', ' ')}: {how} "
                f"{self.settings.framing}, readout at {readout.baud} Bd with "
                f"{len(readout.registers)} data sets. Use --protocol {readout.protocol}"
                + (f" --address {self.settings.address}" if self.settings.address else "")
                + (" --wake-up" if self.settings.wake_up else "")
                + "."
            )
        if any(isinstance(attempt.error, PortError) for attempt in self.attempts):
            failed = next(a for a in self.attempts if isinstance(a.error, PortError))
            return f"The port could not be used: {failed.error}."
        if any(attempt.received for attempt in self.attempts):
            return (
                "Bytes came back but no attempt produced a complete, verified readout. "
                "See each attempt's verdict: a garbled answer means a rate or framing mismatch, "
                "an answer that stops early means a badly aligned head or a noisy line."
            )
        return (
            "The port stayed silent in every attempt. Check that the head sits squarely on the "
            "meter's optical port (cable side as the head's manual shows), that the port path is "
            "the head's and no other program holds it, and the head's wiring and power. Some "
            "meters only answer after their display button is pressed."
        )

    @property
    def ok(self) -> bool:
        """Whether a working variant was found."""
        return self.readout is not None


@dataclass(frozen=True, slots=True)
class _Variant:
    name: str
    settings: SessionSettings


def variants(
    port: str, *, address: str = "", max_baud: int = 19200, listen_time: float = DEFAULT_LISTEN_TIME
) -> list[_Variant]:
    """Return the variants to try on ``port``, most likely first."""
    base = SessionSettings(max_baud=max_baud)
    found: list[_Variant] = []
    if address:
        found.append(
            _Variant(f"sign-on with address {address!r} at 300 Bd 7E1", replace(base, address=address))
        )
    found += [
        _Variant("sign-on at 300 Bd 7E1 (modes A, B, C)", base),
        _Variant("battery wake-up, then sign-on at 300 Bd 7E1", replace(base, wake_up=True)),
        _Variant("sign-on at 300 Bd 7E2 (heat meters)", replace(base, framing=Framing.SEVEN_E_TWO)),
        _Variant(
            f"listen for mode D pushes at {MODE_D_BAUD} Bd 7E1",
            replace(base, protocol=Protocol.MODE_D, push_timeout=listen_time),
        ),
    ]
    if can_switch_rate(port):
        found.append(
            _Variant(
                "listen for DSMR P1 pushes at 115200 Bd 8N1",
                replace(
                    base,
                    protocol=Protocol.MODE_D,
                    framing=Framing.EIGHT_N_ONE,
                    fixed_baud=115200,
                    push_timeout=listen_time,
                ),
            )
        )
    return found


async def probe(
    port: str,
    *,
    address: str = "",
    max_baud: int = 19200,
    listen_time: float = DEFAULT_LISTEN_TIME,
    on_attempt: Callable[[ProbeAttempt], None] | None = None,
) -> ProbeReport:
    """Try each variant until one yields a verified readout; never raises a ``MeterError``."""
    attempts: list[ProbeAttempt] = []
    for variant in variants(port, address=address, max_baud=max_baud, listen_time=listen_time):
        attempt, readout = await _try(port, variant)
        attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)
        if readout is not None:
            return ProbeReport(describe_port(port), tuple(attempts), readout, attempt.settings)
        if isinstance(attempt.error, PortError):
            break
    if can_switch_rate(port):
        attempt = await _listen_binary(port, listen_time)
        attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)
    return ProbeReport(describe_port(port), tuple(attempts), None, None)


async def _try(port: str, variant: _Variant) -> tuple[ProbeAttempt, Readout | None]:
    settings = effective_settings(port, variant.settings)
    clock = SessionClock()
    started = time.monotonic()
    link = Link(port, settings.initial_line)
    try:
        await link.open()
        readout = await run_session(link, settings, clock)
    except MeterError as err:
        sent, received = _split(clock.trace)
        return (
            ProbeAttempt(
                variant.name,
                settings,
                sent,
                received,
                _verdict(err, received),
                False,
                err,
                time.monotonic() - started,
            ),
            None,
        )
    finally:
        await link.close()
    sent, received = _split(readout.trace)
    verdict = (
        f"identification /{readout.identification}; verified readout ({readout.checksum}) at "
        f"{readout.baud} Bd with {len(readout.registers)} data sets"
    )
    return ProbeAttempt(
        variant.name, settings, sent, received, verdict, True, None, time.monotonic() - started
    ), readout


def _split(trace: tuple[TraceEntry, ...] | list[TraceEntry]) -> tuple[bytes, bytes]:
    sent = b"".join(entry.data for entry in trace if entry.direction is Direction.SENT)
    received = b"".join(entry.data for entry in trace if entry.direction is Direction.RECEIVED)
    return sent, received


def _verdict(err: MeterError, received: bytes) -> str:
    if isinstance(err, PortError):
        return f"port error: {err.reason}"
    if not received:
        return "silent: nothing came back"
    if b"/" not in received:
        return f"{len(received)} bytes came back but no identification (rate or framing mismatch?): {err}"
    return f"answered, but the readout failed: {err}"


async def _listen_binary(port: str, listen_time: float) -> ProbeAttempt:
    """Listen at 9600 Bd 8N1, where SML and DLMS/HDLC meters push, and describe what came."""
    name = "listen for binary pushes at 9600 Bd 8N1 (SML, DLMS/HDLC)"
    started = time.monotonic()
    received = bytearray()
    link = Link(port, LineSettings(9600, Framing.EIGHT_N_ONE))
    try:
        await link.open()
        deadline = started + listen_time
        while len(received) < _MAX_RAW and (remaining := deadline - time.monotonic()) > 0:
            received += await link.read(remaining)
    except MeterError as err:
        return ProbeAttempt(
            name,
            None,
            b"",
            bytes(received),
            _verdict(err, bytes(received)),
            False,
            err,
            time.monotonic() - started,
        )
    finally:
        await link.close()
    data = bytes(received)
    if not data:
        verdict = "silent: nothing came back"
    elif data.find(b"\x1b\x1b\x1b\x1b\x01\x01\x01\x01") >= 0:
        verdict = "SML push frames seen (German eHZ/mME meters): not supported by this version"
    elif data[:1] == b"\x7e" or b"\x7e\xa0" in data:
        verdict = "HDLC frames seen (DLMS/COSEM push): not supported by this version"
    else:
        verdict = f"{len(data)} bytes of unknown data"
    error = None if data else NoAnswerError("no push at 9600 Bd 8N1")
    return ProbeAttempt(name, None, b"", data, verdict, False, error, time.monotonic() - started)


__all__ = ["DEFAULT_LISTEN_TIME", "ProbeAttempt", "ProbeReport", "probe", "variants"]
