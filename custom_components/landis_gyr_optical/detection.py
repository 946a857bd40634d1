"""The config flow's test read: read once or detect, within a time limit, and what the entry stores."""

from __future__ import annotations

from dataclasses import dataclass, replace
import math

from homeassistant.config_entries import ConfigEntry, ConfigEntryState

from .const import (
    CONF_PROTOCOL,
    ESTIMATED_HAN_POLL,
    EXPECTED_READOUT_CHARACTERS,
    MIN_SCAN_INTERVAL,
)
from .meter.dlms.ciphering import DecryptionError
from .meter.eredes_han.client import (
    BAUDS as HAN_BAUDS,
    FRAMINGS as HAN_FRAMINGS,
    HanFound,
    probe_eredes,
    read_time_limit,
)
from .meter.errors import MeterError, PortError
from .meter.iec62056_21.client import read_meter
from .meter.iec62056_21.messages import INITIAL_BAUD
from .meter.iec62056_21.session import (
    WAKE_UP_CHARACTERS,
    WAKE_UP_PAUSE,
    Protocol,
    SessionSettings,
    first_byte_allowance,
)
from .meter.line import Framing, LineSettings
from .meter.probe import ATTEMPTS_BEYOND_IEC, DEFAULT_LISTEN_TIME, ProbeAttempt, ProbeReport, probe, variants
from .meter.readout import Readout
from .meter.variants import DLMS_PULL_VARIANTS, MeterConfig, MeterReader, Variant
from .meter.verdicts import ANSWERED_ERRORS, Verdict, VerdictKey, failure_verdict

READ_RETRIES = 2
DETECT_LISTEN_TIME = DEFAULT_LISTEN_TIME
"""Seconds detection listens for a mode D or P1 push."""
NON_IEC_READ_LIMIT = 120.0
"""Ceiling of a test read of a DLMS or SML meter (a push may take 30 s to come)."""
KEY_REQUIRED = "key_required"
"""Form error: detection found an encrypted push and no key was given yet."""
STEP_OF_ERROR = {
    DecryptionError.key: "dlms_push",
    KEY_REQUIRED: "dlms_push",
    "association_rejected": "dlms_pull",
}
"""Errors the user fixes on a variant's own step (keys, password) rather than the protocol step."""


@dataclass(frozen=True, slots=True)
class FoundMeter:
    """What the test read produced: the readout and the configuration that got it.

    ``report`` is the probe's, when the protocol was detected.
    """

    readout: Readout
    config: MeterConfig
    report: ProbeReport | None = None


def meter_unique_id(readout: Readout) -> str:
    """Return the meter's serial number, or its FLAG id and identification when it reports none."""
    if readout.serial:
        return readout.serial
    identity = readout.identity
    return f"{identity.flag_id}-{identity.description}"


def read_timeout(settings: SessionSettings, *, attempts: int) -> float:
    """Return a ceiling for one test read: the slowest case, a long readout at 300 Bd, every retry.

    The session's own timeouts end a silent read much earlier; this only stops a meter
    that keeps talking without ever finishing.
    """
    line = LineSettings(settings.fixed_baud or INITIAL_BAUD, Framing.SEVEN_E_TWO)
    wake_up = WAKE_UP_CHARACTERS * line.character_time() + WAKE_UP_PAUSE if settings.wake_up else 0.0
    # Each answer may start as late as the session allows (a slow meter, a bridge's round trip).
    one = wake_up + 3 * first_byte_allowance(line) + EXPECTED_READOUT_CHARACTERS * line.character_time()
    if settings.protocol is Protocol.MODE_D:
        one += settings.push_timeout
    return attempts * one


def estimated_line_time(max_baud: int) -> float:
    """Seconds a readout occupies the line: sign-on at 300 Bd, then a long readout at ``max_baud``.

    Both answers (identification, data message) may start as late as the session waits for
    them, which is what a slow meter or one behind a network bridge takes.
    """
    initial, data = LineSettings(INITIAL_BAUD), LineSettings(max_baud)
    sign_on = 40 * initial.character_time() + first_byte_allowance(initial)
    return sign_on + first_byte_allowance(data) + EXPECTED_READOUT_CHARACTERS * data.character_time()


def minimum_interval(entry: ConfigEntry, max_baud: int) -> int:
    """Return the fastest poll interval for an entry: never faster than one readout's line time."""
    duration: float | None = None
    if entry.state is ConfigEntryState.LOADED and entry.runtime_data.data is not None:
        duration = entry.runtime_data.data.duration
    if duration is None:
        han = entry.data.get(CONF_PROTOCOL) == Variant.EREDES_HAN
        duration = ESTIMATED_HAN_POLL if han else estimated_line_time(max_baud)
    return max(MIN_SCAN_INTERVAL, math.ceil(duration))


def han_time_limit(config: MeterConfig) -> float:
    """Ceiling of a HAN test read: every line setting tried, then a read that learns the map.

    It follows the number of requests such a read can need, so a meter whose access profile
    refuses part of the map (a request per refused register) cannot make it expire.
    """
    return read_time_limit(config.han_settings(), framings=len(HAN_FRAMINGS), bauds=len(HAN_BAUDS))


def time_limit(port: str, config: MeterConfig, *, detect: bool) -> float:
    """Return the ceiling of one test read (or of the whole detection)."""
    if detect:
        attempts = len(variants(port)) + ATTEMPTS_BEYOND_IEC
        return (
            read_timeout(config.session_settings(), attempts=attempts)
            + NON_IEC_READ_LIMIT
            + han_time_limit(replace(config, variant=Variant.EREDES_HAN))
        )
    if config.variant.iec:
        return read_timeout(config.session_settings(), attempts=READ_RETRIES + 1)
    if config.variant is Variant.EREDES_HAN:
        return han_time_limit(config)
    return NON_IEC_READ_LIMIT


class KeyRequiredError(DecryptionError):
    """Detection found a meter pushing encrypted data; its key is needed."""

    key = KEY_REQUIRED


class DetectionFailedError(Exception):
    """Detection found no working variant; the verdict says why and what to do."""

    def __init__(self, verdict: Verdict, attempts: tuple[ProbeAttempt, ...] = ()) -> None:
        """Keep the verdict (its English text is the message) and what was tried."""
        super().__init__(verdict.text)
        self.verdict = verdict
        self.attempts = attempts


def error_of(report: ProbeReport) -> MeterError | DetectionFailedError:
    """Return what a failed probe tells the user: the error of a step to fix, or the verdict.

    A port error, and a meter that needs a key or refuses its registers, stay the errors the
    variant steps handle (the key step, the HAN access issue); every other outcome is the
    probe's verdict (nothing back, only the echo, an identification without a readout, a
    port locked by the grid operator, garbled bytes).
    """
    errors = [attempt.error for attempt in report.attempts if attempt.error is not None]
    for error in errors:
        if isinstance(error, PortError):
            return error
    verdict = failure_verdict(report.port, report.attempts)
    needs = next((error for error in errors if error.key in ANSWERED_ERRORS), None)
    if verdict.key is VerdictKey.NEEDS_CREDENTIALS and needs is not None:
        if isinstance(needs, DecryptionError):
            return KeyRequiredError(str(needs))
        return needs
    return DetectionFailedError(verdict, report.attempts)


def han_config(config: MeterConfig, found: HanFound) -> MeterConfig:
    """Return the HAN configuration with the line that answered and what the read learned."""
    return replace(
        config, framing=found.settings.framing, fixed_baud=found.settings.baud, han_map=found.learned
    )


def variant_step(protocol: str) -> str | None:
    """Return the step that asks what a variant needs besides the protocol, if any."""
    if protocol == Variant.DLMS_PUSH:
        return "dlms_push"
    if protocol == Variant.MODE_D:
        return "p1_keys"
    if protocol in DLMS_PULL_VARIANTS:
        return "dlms_pull"
    if protocol == Variant.EREDES_HAN:
        return "han"
    if protocol == Variant.MBUS:
        return "mbus"
    return None


async def read_for_flow(port: str, config: MeterConfig, detecting: bool) -> FoundMeter:
    """Read once with the chosen configuration, or probe when the protocol is to be detected."""
    if detecting:
        report = await probe(
            port, address=config.address, max_baud=config.max_baud, listen_time=DETECT_LISTEN_TIME
        )
        if report.readout is None or report.settings is None:
            raise error_of(report)
        found = report.settings
        if found.variant.iec:
            found = replace(found, max_baud=config.max_baud, address=found.address or config.address)
        return FoundMeter(report.readout, found, report)
    if config.variant is Variant.EREDES_HAN:
        han = await probe_eredes(port, config.han_settings(), known=config.han_map)
        return FoundMeter(han.readout, han_config(config, han))
    if not config.variant.iec:
        config = replace(config, framing=Framing.EIGHT_N_ONE)
    readout = await MeterReader(port, config, read_iec=read_meter, retries=READ_RETRIES).read_once()
    return FoundMeter(readout, config)
