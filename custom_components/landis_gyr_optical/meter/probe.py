"""Find out what a meter speaks: try the usual variants one by one and say what happened.

Each attempt opens the port afresh, runs one session (or listens), and records what was
sent, what came back and a verdict a person can act on. The first attempt that yields a
complete, verified readout ends the probe; its settings are what the user should use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
import time

from .clock import SessionClock
from .dlms.ciphering import DecryptionError
from .dlms.client import DLMS_BAUD, discover_dlms_optical, read_dlms_push
from .eredes_han.client import probe_eredes
from .errors import ChecksumError, MeterError, NoAnswerError, ParityError, PortError
from .iec62056_21.client import RETRY_PAUSE, effective_settings, run_session
from .iec62056_21.messages import MODE_D_BAUD, Identification
from .iec62056_21.session import Protocol, SessionSettings
from .line import Framing, LineSettings
from .link import Link, Recording, can_switch_rate, describe_port, recording
from .mbus.client import read_mbus
from .mbus.frames import BROADCAST_ANSWERING
from .readout import Direction, Readout, TraceEntry, printable
from .sml.client import read_sml_push
from .sml.frames import START as SML_START
from .variants import MeterConfig, Variant
from .verdicts import (
    CREDENTIAL_ERRORS,
    AttemptName,
    FindingKey,
    Verdict,
    bridge_verdict,
    failure_verdict,
)

DEFAULT_LISTEN_TIME = 12.0
"""Seconds to listen for a mode D or P1 push (they come every 1-10 s)."""
SNIFF_TIME = 3.0
"""Seconds to listen at 9600 Bd 8N1 for the first bytes of a DLMS/COSEM or SML push."""
HDLC_FRAME_TIMEOUT = 1.5
"""Seconds a meter that starts in HDLC gets to answer the SNRM."""
_MAX_RAW = 512


@dataclass(frozen=True, slots=True)
class ProbeAttempt:
    """One variant tried, with the evidence.

    ``label`` says what was tried and ``finding`` what came of it, as keys with placeholders
    (``name`` and ``verdict`` are their English).
    """

    label: Verdict
    settings: MeterConfig | None
    sent: bytes
    received: bytes
    finding: Verdict
    ok: bool
    error: MeterError | None = None
    duration: float = 0.0

    @property
    def name(self) -> str:
        """What was tried, in English."""
        return self.label.text

    @property
    def verdict(self) -> str:
        """What came of it, in English."""
        return self.finding.text

    def as_dict(self) -> dict[str, object]:
        """Return the attempt for JSON output."""
        return {
            "name": self.name,
            "sent": printable(self.sent),
            "received": printable(self.received[:_MAX_RAW]),
            "received_bytes": len(self.received),
            "verdict": self.verdict,
            "verdict_key": str(self.finding.key),
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
    settings: MeterConfig | None

    @property
    def summary(self) -> str:
        """One paragraph for the user, in any interface: what answered, or what to check."""
        return self.outcome.text

    @property
    def outcome(self) -> Verdict:
        """The summary as a key: what answered (``FOUND``), or the verdict of a probe without a readout."""
        if self.readout is not None and self.settings is not None:
            readout = self.readout
            return Verdict(
                FindingKey.FOUND,
                {
                    "manufacturer": readout.manufacturer or readout.identity.flag_id,
                    "identification": str(readout.identity),
                    "variant": self.settings.describe(),
                    "baud": str(readout.baud),
                    "registers": str(len(readout.registers)),
                },
            )
        return self.verdict

    @property
    def verdict(self) -> Verdict:
        """Why no attempt gave a readout, and what to do (see ``verdicts``)."""
        return failure_verdict(self.port, self.attempts)

    @property
    def ok(self) -> bool:
        """Whether a working variant was found."""
        return self.readout is not None

    @property
    def needs_credentials(self) -> ProbeAttempt | None:
        """The attempt that found a meter needing a key or refusing registers, if any."""
        return next(
            (a for a in self.attempts if a.error is not None and a.error.key in CREDENTIAL_ERRORS), None
        )


@dataclass(frozen=True, slots=True)
class _Variant:
    label: Verdict
    settings: SessionSettings


def variants(
    port: str, *, address: str = "", max_baud: int = 19200, listen_time: float = DEFAULT_LISTEN_TIME
) -> list[_Variant]:
    """Return the IEC 62056-21 variants to try on ``port``, most likely first."""
    base = SessionSettings(max_baud=max_baud)
    found: list[_Variant] = []
    if address:
        found.append(
            _Variant(
                Verdict(AttemptName.SIGN_ON_ADDRESS, {"address": address}), replace(base, address=address)
            )
        )
    found += [
        _Variant(Verdict(AttemptName.SIGN_ON), base),
        _Variant(Verdict(AttemptName.WAKE_UP), replace(base, wake_up=True)),
        _Variant(Verdict(AttemptName.SIGN_ON_7E2), replace(base, framing=Framing.SEVEN_E_TWO)),
        _Variant(
            Verdict(AttemptName.LISTEN_MODE_D, {"baud": str(MODE_D_BAUD)}),
            replace(base, protocol=Protocol.MODE_D, push_timeout=listen_time),
        ),
    ]
    if not can_switch_rate(port):
        # ser2net and most ESP bridges default to 8N1: the meter then sees our characters with
        # wrong parity bits and stays silent, unless the parity bits are added here.
        found.insert(
            2 if address else 1,
            _Variant(Verdict(AttemptName.SIGN_ON_SOFTWARE_PARITY), replace(base, software_parity=True)),
        )
    if can_switch_rate(port):
        found.append(
            _Variant(
                Verdict(AttemptName.LISTEN_P1),
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


ATTEMPTS_BEYOND_IEC = 6
"""Attempts ``probe`` makes besides ``variants()``: mode E, pushes at 9600 Bd, HDLC, HAN, M-Bus."""

type _Step = Callable[[], Awaitable[tuple[ProbeAttempt, Readout | None]]]


async def probe(
    port: str,
    *,
    address: str = "",
    max_baud: int = 19200,
    listen_time: float = DEFAULT_LISTEN_TIME,
    key: bytes | None = None,
    authentication_key: bytes | None = None,
    password: bytes | None = None,
    on_attempt: Callable[[ProbeAttempt], None] | None = None,
) -> ProbeReport:
    """Try each variant until one yields a verified readout; never raises a ``MeterError``.

    Order, most common meter first, cheap attempts before long listens: the IEC sign-on
    (mode E right after it when the identification announces HDLC), 3 s of listening at
    9600 Bd 8N1 for DLMS/COSEM or SML pushes, the remaining sign-ons, mode D, direct HDLC,
    E-Redes HAN (8N1, then 8N2), an M-Bus heat meter (optical wake-up, then REQ_UD2 to
    address 254), and DSMR P1 last.
    """
    iec = variants(port, address=address, max_baud=max_baud, listen_time=listen_time)
    sign_ons = [variant for variant in iec if variant.settings.protocol is Protocol.AUTO]
    listens = [variant for variant in iec if variant.settings.protocol is Protocol.MODE_D]
    first, later = sign_ons[: 2 if address else 1], sign_ons[2 if address else 1 :]
    steps: list[_Step] = [_bind(_try, port, variant) for variant in first]
    steps.append(lambda: _listen_binary(port, listen_time, key, authentication_key))
    steps += [_bind(_try, port, variant) for variant in later]
    steps.append(_bind(_try, port, listens[0]))
    steps.append(lambda: _try_dlms_optical(port, mode_e=False, password=password))
    steps.append(lambda: _try_han(port))
    steps.append(lambda: _try_mbus(port))
    steps += [_bind(_try, port, variant) for variant in listens[1:]]

    attempts: list[ProbeAttempt] = []
    mode_e_tried = False
    while steps:
        attempt, readout = await steps.pop(0)()
        attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)
        if readout is not None:
            return ProbeReport(describe_port(port), tuple(attempts), readout, attempt.settings)
        if isinstance(attempt.error, PortError) or (
            attempt.error is not None and attempt.error.key in CREDENTIAL_ERRORS
        ):
            # A port that fails, or a meter found that needs a key or refuses registers: stop.
            break
        if not mode_e_tried and _announces_mode_e(attempt.received):
            mode_e_tried = True
            steps.insert(
                0,
                lambda: _try_dlms_optical(
                    port, mode_e=True, address=address, max_baud=max_baud, password=password
                ),
            )
    return ProbeReport(describe_port(port), tuple(attempts), None, None)


def _bind(
    function: Callable[[str, _Variant], Awaitable[tuple[ProbeAttempt, Readout | None]]],
    port: str,
    variant: _Variant,
) -> _Step:
    return lambda: function(port, variant)


def _announces_mode_e(received: bytes) -> bool:
    r"""Whether an answer holds an identification with ``\2`` (the meter offers mode E)."""
    start = received.find(b"/")
    end = received.find(b"\r\n", start)
    if start < 0 or end < 0:
        return False
    try:
        return Identification.parse(received[start : end + 2]).hdlc_capable
    except (MeterError, ValueError):
        return False


async def _try(port: str, variant: _Variant) -> tuple[ProbeAttempt, Readout | None]:
    settings = effective_settings(port, variant.settings)
    config = MeterConfig.from_session(
        settings, Variant.MODE_D if settings.protocol is Protocol.MODE_D else None
    )
    clock = SessionClock()
    started = time.monotonic()
    link = Link(port, settings.initial_line, software_parity=settings.software_parity)
    with recording() as evidence:
        try:
            await link.open()
            readout = await _session(link, settings, clock)
        except MeterError as err:
            sent, received = _split(clock.trace)
            context = _Context(port, settings, evidence)
            return (
                ProbeAttempt(
                    variant.label,
                    config,
                    sent or bytes(evidence.sent),
                    received or bytes(evidence.received),
                    _verdict(err, received, context),
                    False,
                    err,
                    time.monotonic() - started,
                ),
                None,
            )
        finally:
            await link.close()
    if settings.protocol is Protocol.AUTO:
        config = replace(config, variant=Variant(readout.protocol))
    return _success(variant.label, config, readout, started)


async def _session(link: Link, settings: SessionSettings, clock: SessionClock) -> Readout:
    """One session; lost after a rate switch, once more with the switch right after the request.

    A meter that answers faster than its identification allows has started its data message
    before a switch in the middle of the announced reaction window.
    """
    try:
        return await run_session(link, settings, clock)
    except (ChecksumError, NoAnswerError):
        if not any(entry.note.startswith("switched to") for entry in clock.trace):
            raise
    await asyncio.sleep(RETRY_PAUSE)
    return await run_session(link, settings, clock, early_switch=True)


def _success(
    label: Verdict, config: MeterConfig, readout: Readout, started: float
) -> tuple[ProbeAttempt, Readout]:
    sent, received = _split(readout.trace)
    if not received:
        received = readout.raw
    identity = readout.identity
    iec = identity.iec_identification
    finding = Verdict(
        FindingKey.READOUT if iec is not None else FindingKey.READOUT_METER,
        {
            "identification": iec if iec is not None else identity.identification,
            "checksum": str(readout.checksum),
            "baud": str(readout.baud),
            "registers": str(len(readout.registers)),
        },
    )
    return ProbeAttempt(
        label, config, sent, received, finding, True, None, time.monotonic() - started
    ), readout


def _failure(
    label: Verdict,
    config: MeterConfig | None,
    err: MeterError,
    started: float,
    evidence: Recording,
    port: str,
) -> tuple[ProbeAttempt, None]:
    """Describe a failed attempt of a binary protocol (no IEC identification to look for)."""
    sent, received = bytes(evidence.sent), bytes(evidence.received)
    if isinstance(err, PortError) or err.key in CREDENTIAL_ERRORS or not received:
        finding = _verdict(err, received, _Context(port, None, evidence))
    else:
        finding = Verdict(FindingKey.NO_VERIFIED_READOUT, {"count": str(len(received)), "error": str(err)})
    return ProbeAttempt(label, config, sent, received, finding, False, err, time.monotonic() - started), None


def _split(trace: tuple[TraceEntry, ...] | list[TraceEntry]) -> tuple[bytes, bytes]:
    sent = b"".join(entry.data for entry in trace if entry.direction is Direction.SENT)
    received = b"".join(entry.data for entry in trace if entry.direction is Direction.RECEIVED)
    return sent, received


@dataclass(frozen=True, slots=True)
class _Context:
    """What a verdict may look at besides the error: the port, the attempt's settings, the wire."""

    port: str
    settings: SessionSettings | None
    evidence: Recording

    @property
    def raw_bridge(self) -> bool:
        return not can_switch_rate(self.port)

    @property
    def parity_added(self) -> bool:
        return self.settings is not None and self.settings.software_parity


type _Rule = Callable[[MeterError, bytes, _Context], Verdict | None]


def _port_verdict(err: MeterError, received: bytes, context: _Context) -> Verdict | None:
    if isinstance(err, PortError):
        if (bridge := bridge_verdict(context.port, err)) is not None:
            return Verdict(FindingKey.BRIDGE_REFUSED, {"error": bridge.placeholders["error"]})
        return Verdict(FindingKey.PORT_ERROR, {"error": err.reason})
    return None


def _credentials_verdict(err: MeterError, received: bytes, context: _Context) -> Verdict | None:
    return Verdict(FindingKey.CREDENTIALS, {"error": str(err)}) if err.key in CREDENTIAL_ERRORS else None


def _parity_stripped_verdict(err: MeterError, received: bytes, context: _Context) -> Verdict | None:
    """Parity bits added here, but the bridge's own UART runs 7E1 and strips them: not noise."""
    raw = bytes(context.evidence.received)
    if context.parity_added and isinstance(err, ParityError) and raw and all(byte < 0x80 for byte in raw):
        return Verdict(FindingKey.PARITY_STRIPPED)
    return None


def _silent_verdict(err: MeterError, received: bytes, context: _Context) -> Verdict | None:
    if received or context.evidence.received:
        return None
    if context.raw_bridge and context.settings is not None and not context.parity_added:
        return Verdict(FindingKey.SILENT_8N1_BRIDGE)
    return Verdict(FindingKey.SILENT)


def _garbled_verdict(err: MeterError, received: bytes, context: _Context) -> Verdict | None:
    if b"/" in received:
        return None
    key = FindingKey.GARBLED_BRIDGE if context.raw_bridge else FindingKey.GARBLED
    return Verdict(key, {"count": str(len(received)), "error": str(err)})


VERDICT_RULES: tuple[_Rule, ...] = (
    _port_verdict,
    _credentials_verdict,
    _parity_stripped_verdict,
    _silent_verdict,
    _garbled_verdict,
)
"""The verdicts of a failed attempt, most specific first; the first that applies is given."""


def _verdict(err: MeterError, received: bytes, context: _Context) -> Verdict:
    for rule in VERDICT_RULES:
        if (verdict := rule(err, received, context)) is not None:
            return verdict
    return Verdict(FindingKey.NO_READOUT, {"error": str(err)})


async def _try_dlms_optical(
    port: str, *, mode_e: bool, address: str = "", max_baud: int = 19200, password: bytes | None = None
) -> tuple[ProbeAttempt, Readout | None]:
    """Mode E (or direct HDLC) with the server addresses, clients and referencings L+G ports accept.

    The attempt keeps every byte sent and received, also when the meter refuses.
    """
    variant = Variant.DLMS_MODE_E if mode_e else Variant.DLMS_HDLC
    name = Verdict(AttemptName.MODE_E) if mode_e else Verdict(AttemptName.HDLC, {"baud": str(DLMS_BAUD)})
    clock = SessionClock()
    started = time.monotonic()
    try:
        found = await discover_dlms_optical(
            port,
            mode_e=mode_e,
            address=address,
            max_baud=max_baud,
            password=password,
            frame_timeout=HDLC_FRAME_TIMEOUT,
            clock=clock,
        )
    except MeterError as err:
        sent, received = _split(clock.trace)
        config = MeterConfig(variant, address=address, max_baud=max_baud)
        evidence = Recording(bytearray(sent), bytearray(received))
        verdict = _verdict(err, received, _Context(port, None, evidence))
        return ProbeAttempt(
            name, config, sent, received, verdict, False, err, time.monotonic() - started
        ), None
    config = MeterConfig.for_association(variant, found.association, address=address, max_baud=max_baud)
    return _success(name, config, found.readout, started)


async def _try_han(port: str) -> tuple[ProbeAttempt, Readout | None]:
    name = Verdict(AttemptName.HAN)
    started = time.monotonic()
    with recording() as evidence:
        try:
            found = await probe_eredes(
                port, replace(MeterConfig(Variant.EREDES_HAN).han_settings(), retries=0)
            )
        except MeterError as err:
            config = MeterConfig(Variant.EREDES_HAN, framing=Framing.EIGHT_N_ONE)
            return _failure(name, config, err, started, evidence, port)
    settings = found.settings
    config = MeterConfig(
        Variant.EREDES_HAN,
        framing=settings.framing,
        fixed_baud=settings.baud,
        slave=settings.slave,
        han_map=found.learned,
    )
    return _success(name, config, found.readout, started)


async def _try_mbus(port: str) -> tuple[ProbeAttempt, Readout | None]:
    config = MeterConfig(Variant.MBUS, slave=BROADCAST_ANSWERING, wake_up=True)
    name = Verdict(AttemptName.MBUS)
    started = time.monotonic()
    with recording() as evidence:
        try:
            readout = await read_mbus(port, replace(config.mbus_settings(), retries=0, ack_required=True))
        except MeterError as err:
            return _failure(name, config, err, started, evidence, port)
    return _success(name, config, readout, started)


def _push_kind(data: bytes) -> Variant | None:
    if SML_START in data:
        return Variant.SML
    # Listening may start inside a frame, whose closing flag comes first: try every flag.
    flag = data.find(b"\x7e")
    while 0 <= flag < len(data) - 1:
        if data[flag + 1] & 0xF8 == 0xA0:
            return Variant.DLMS_PUSH
        flag = data.find(b"\x7e", flag + 1)
    return None


async def _listen_binary(
    port: str, listen_time: float, key: bytes | None, authentication_key: bytes | None
) -> tuple[ProbeAttempt, Readout | None]:
    """Listen at 9600 Bd 8N1 where DLMS/COSEM and SML meters push, recording what came."""
    with recording() as evidence:
        return await _listen(port, listen_time, key, authentication_key, evidence)


async def _listen(
    port: str, listen_time: float, key: bytes | None, authentication_key: bytes | None, evidence: Recording
) -> tuple[ProbeAttempt, Readout | None]:
    """Listen at 9600 Bd 8N1 where DLMS/COSEM and SML meters push; decode one push if one comes.

    A silent line is given up after ``SNIFF_TIME``; once the bytes look like a push, the
    matching reader waits for the next whole one (up to ``listen_time``).
    """
    name = Verdict(AttemptName.LISTEN_PUSH, {"baud": str(DLMS_BAUD)})
    started = time.monotonic()
    received = bytearray()
    kind: Variant | None = None
    readout: Readout | None = None
    config: MeterConfig | None = None
    link = Link(port, LineSettings(DLMS_BAUD, Framing.EIGHT_N_ONE))
    try:
        await link.open()
        deadline = started + min(SNIFF_TIME, listen_time)
        while kind is None and len(received) < _MAX_RAW and (remaining := deadline - time.monotonic()) > 0:
            received += await link.read(remaining)
            kind = _push_kind(bytes(received))
        if kind is not None:
            config = MeterConfig(
                kind, key=key, authentication_key=authentication_key, push_timeout=listen_time
            )
            if kind is Variant.SML:
                readout = await read_sml_push(link, timeout=listen_time)
            else:
                readout = await read_dlms_push(
                    link, key=key, authentication_key=authentication_key, timeout=listen_time
                )
    except DecryptionError:
        detail = "the key does not decrypt them" if key else "its encryption key is needed"
        error = DecryptionError(f"the meter pushes encrypted DLMS/COSEM data: {detail}")
        return _failure(name, config, error, started, evidence, port)
    except MeterError as err:
        return _failure(name, config, err, started, evidence, port)
    finally:
        await link.close()
    if readout is not None and config is not None:
        return _success(name, config, readout, started)
    data = bytes(evidence.received)
    verdict = (
        Verdict(FindingKey.SILENT)
        if not data
        else Verdict(FindingKey.UNKNOWN_DATA, {"count": str(len(data))})
    )
    silence: MeterError | None = NoAnswerError(f"no push at {DLMS_BAUD} Bd 8N1") if not data else None
    return ProbeAttempt(name, None, b"", data, verdict, False, silence, time.monotonic() - started), None


__all__ = [
    "ATTEMPTS_BEYOND_IEC",
    "CREDENTIAL_ERRORS",
    "DEFAULT_LISTEN_TIME",
    "ProbeAttempt",
    "ProbeReport",
    "probe",
    "variants",
]
