"""What a probe found, and what a probe that found no working variant tells a person to do.

A verdict is a key and its placeholders. The core renders the English text (the command
line prints it); the config flow shows the same key translated with the same placeholders,
so every language says the same thing with the same details. Three sets of keys:
``VerdictKey`` (why a probe found nothing; a config-flow error each), ``AttemptName`` (what
one attempt tried) and ``FindingKey`` (what one attempt found, and a probe that succeeded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .dlms.association import describe_diagnostic
from .dlms.optical import PasswordRefusedError, PublicClientRefusedError
from .errors import BridgeRefusedError, MeterError, PortError
from .link import can_switch_rate

if TYPE_CHECKING:
    from .probe import ProbeAttempt

CREDENTIAL_ERRORS: Final = frozenset({"invalid_key", "association_rejected", "register_not_enabled"})
"""Error keys that mean the meter was found but refuses (or needs) something from the user."""
ANSWERED_ERRORS: Final = CREDENTIAL_ERRORS | {"unknown_push_layout"}
"""Error keys that say precisely what a meter that answered needs (the error's own text)."""


class VerdictKey(StrEnum):
    """Why no variant produced a readout; each one names what to do."""

    PORT_FAILED = "port_failed"
    NOTHING_BACK = "nothing_back"
    ONLY_ECHO = "only_echo"
    IDENTIFICATION_NO_READOUT = "identification_no_readout"
    PORT_LOCKED = "port_locked"
    PORT_LOCKED_EREDES = "port_locked_eredes"
    PASSWORD_REFUSED = "password_refused"  # noqa: S105  # a verdict key, not a secret
    NEEDS_CREDENTIALS = "needs_credentials"
    GARBLED = "garbled"
    RAW_BRIDGE = "raw_bridge_settings"
    BRIDGE_REFUSED = "bridge_refused"


class AttemptName(StrEnum):
    """What one probe attempt tries."""

    SIGN_ON = "sign_on"
    SIGN_ON_ADDRESS = "sign_on_address"
    WAKE_UP = "wake_up"
    SIGN_ON_7E2 = "sign_on_7e2"
    SIGN_ON_SOFTWARE_PARITY = "sign_on_software_parity"
    LISTEN_MODE_D = "listen_mode_d"
    LISTEN_P1 = "listen_p1"
    LISTEN_PUSH = "listen_push"
    MODE_E = "mode_e"
    HDLC = "hdlc"
    HAN = "han"
    MBUS = "mbus"
    NOTHING_ELSE = "nothing_else"
    """Not an attempt: what ``tried`` says when nothing followed the identification."""


class FindingKey(StrEnum):
    """What one attempt found (and ``FOUND``: the summary of a probe that got a readout)."""

    FOUND = "found"
    READOUT = "readout"
    READOUT_METER = "readout_meter"
    PORT_ERROR = "port_error"
    BRIDGE_REFUSED = "bridge_refused"
    CREDENTIALS = "credentials"
    PARITY_STRIPPED = "parity_stripped"
    SILENT = "silent"
    SILENT_8N1_BRIDGE = "silent_8n1_bridge"
    GARBLED = "garbled"
    GARBLED_BRIDGE = "garbled_bridge"
    NO_READOUT = "no_readout"
    NO_VERIFIED_READOUT = "no_verified_readout"
    UNKNOWN_DATA = "unknown_data"


PLACEHOLDERS: Final = ("port", "error", "identification", "diagnostic", "tried", "variant")
"""Every placeholder a verdict may use (the config flow supplies all of them)."""

_HAN_ROUTE = (
    " This is an E-Redes meter: it gives its data out on its HAN port instead. Ask E-Redes "
    "(Balcão Digital) to enable the HAN port, connect it with an RS-485 adapter (the RJ12 "
    "socket under the meter's cover, not the optical head) and choose \"E-Redes HAN port "
    '(Portugal, Modbus RTU)" here.'
)
_LOCKED = (
    "The meter /{identification} answers on its optical port with {variant}, but refuses the "
    "public client ({diagnostic}): this optical port is locked by the grid operator; it gives no data "
    "without the operator's credentials."
)
ENGLISH: Final[dict[VerdictKey, str]] = {
    VerdictKey.PORT_FAILED: "The port could not be used: {error}.",
    VerdictKey.NOTHING_BACK: (
        "Nothing came back on {port}, not even the echo of what was sent: check the head (its "
        "power and wiring, that it sits squarely on the optical port, cable side as its manual "
        "shows) and that {port} is the head's port and no other program holds it."
    ),
    VerdictKey.ONLY_ECHO: (
        "Only the echo of what was sent came back on {port}: the head works, but the meter stays "
        "silent. It may be asleep (battery meters need the wake-up option), answer only after "
        "its display button is pressed, or have its optical port locked."
    ),
    VerdictKey.IDENTIFICATION_NO_READOUT: (
        "The meter identified itself as /{identification} but gave no readout. Tried next: "
        "{tried}. It may offer its data only to a client it knows (an operator's port)."
    ),
    VerdictKey.PORT_LOCKED: _LOCKED,
    VerdictKey.PORT_LOCKED_EREDES: _LOCKED + _HAN_ROUTE,
    VerdictKey.PASSWORD_REFUSED: (
        "The meter refused the password ({diagnostic}). It was sent once only: the optical port "
        "may lock out for a minute or more after a wrong password. Check the password and wait "
        "a few minutes before the next try."
    ),
    VerdictKey.NEEDS_CREDENTIALS: "A meter answered, but: {error}.",
    VerdictKey.GARBLED: (
        "Bytes came back but no attempt produced a complete, verified readout: a garbled answer "
        "means a rate or framing mismatch, an answer that stops early a badly aligned head or a "
        "noisy line. The command-line probe shows each attempt."
    ),
    VerdictKey.RAW_BRIDGE: (
        "Nothing usable came back through the network bridge {port}: over socket:// the bridge's "
        "own serial settings fix the rate and framing, and nothing sent from here changes them. Set "
        "the bridge's serial side (often left at 9600 Bd 8N1) to 300 Bd 7E1 (the meter's sign-on rate; the read then stays at "
        '300 Bd), or to 300 Bd 8N1 with "Bridge at 8N1 (software parity)" turned on here. A bridge '
        "reached through rfc2217:// (such as ser2net's telnet(rfc2217) accepter) lets the rate and "
        "framing be switched from here. If the bridge is set so, check the head on its serial side."
    ),
    VerdictKey.BRIDGE_REFUSED: (
        "The network bridge {port} took the connection but could not open its own serial device "
        "(it says {error}): check the device path in the bridge's configuration, that the head is "
        "plugged into the bridge and that no other client holds it."
    ),
}

ATTEMPT_PLACEHOLDERS: Final = (
    "address",
    "baud",
    "checksum",
    "count",
    "error",
    "identification",
    "manufacturer",
    "registers",
    "variant",
)
"""Every placeholder an attempt's name or finding may use."""

ATTEMPT_ENGLISH: Final[dict[AttemptName | FindingKey, str]] = {
    AttemptName.SIGN_ON: "sign-on at 300 Bd 7E1 (modes A, B, C)",
    AttemptName.SIGN_ON_ADDRESS: 'sign-on with address "{address}" at 300 Bd 7E1',
    AttemptName.WAKE_UP: "battery wake-up, then sign-on at 300 Bd 7E1",
    AttemptName.SIGN_ON_7E2: "sign-on at 300 Bd 7E2 (heat meters)",
    AttemptName.SIGN_ON_SOFTWARE_PARITY: "sign-on at 300 Bd through a bridge at 8N1 (parity bits added here)",
    AttemptName.LISTEN_MODE_D: "listen for mode D pushes at {baud} Bd 7E1",
    AttemptName.LISTEN_P1: "listen for DSMR P1 pushes at 115200 Bd 8N1",
    AttemptName.LISTEN_PUSH: "listen for pushes at {baud} Bd 8N1 (DLMS/COSEM, SML)",
    AttemptName.MODE_E: "sign-on for mode E, then DLMS/COSEM over HDLC",
    AttemptName.HDLC: "DLMS/COSEM over HDLC at {baud} Bd 8N1 (SNRM)",
    AttemptName.HAN: "E-Redes HAN (Modbus RTU) at 9600 Bd 8N1 and 8N2, then at 19200 Bd",
    AttemptName.MBUS: "M-Bus heat meter: REQ_UD2 to address 254 at 2400 Bd 8E1, after the optical wake-up",
    AttemptName.NOTHING_ELSE: "nothing else",
    FindingKey.FOUND: (
        "The meter ({manufacturer}, {identification}) answered to {variant}: readout at {baud} Bd "
        "with {registers} data sets."
    ),
    FindingKey.READOUT: (
        "identification /{identification}; verified readout ({checksum}) at {baud} Bd with "
        "{registers} data sets"
    ),
    FindingKey.READOUT_METER: (
        "meter {identification}; verified readout ({checksum}) at {baud} Bd with {registers} data sets"
    ),
    FindingKey.PORT_ERROR: "port error: {error}",
    FindingKey.BRIDGE_REFUSED: "the bridge could not open its serial device; it says {error}",
    FindingKey.CREDENTIALS: "a meter answered, but: {error}",
    FindingKey.PARITY_STRIPPED: (
        "the answer carries no parity bits (bit 7 always clear): the bridge's serial side "
        "already runs 7E1, so read without adding parity bits here"
    ),
    FindingKey.SILENT: "silent: nothing came back",
    FindingKey.SILENT_8N1_BRIDGE: (
        "silent: nothing came back (a bridge whose serial side runs 8N1 sends characters "
        "without parity bits, which a 7E1 meter ignores: the attempt with parity bits added "
        "here tests that)"
    ),
    FindingKey.GARBLED: "{count} bytes came back but no identification (rate or framing mismatch?): {error}",
    FindingKey.GARBLED_BRIDGE: (
        "{count} bytes came back but no identification: the bridge's serial side is not at this "
        "attempt's rate and framing ({error})"
    ),
    FindingKey.NO_READOUT: "answered, but the readout failed: {error}",
    FindingKey.NO_VERIFIED_READOUT: "{count} bytes came back but no verified readout: {error}",
    FindingKey.UNKNOWN_DATA: "{count} bytes of unknown data",
}

EREDES_FLAGS: Final = frozenset({"ZIV", "KFM", "SAG"})
"""FLAG ids of the other makers E-Redes installs (ZIV, Kaifa, Sagemcom)."""


def is_eredes_identification(identification: str) -> bool:
    r"""Whether an IEC identification (``LGZ5\2ZCXe110...``) is one of E-Redes' meters.

    Landis+Gyr builds the ZCX family for E-Redes; ZIV, Kaifa and Sagemcom meters there
    carry their own FLAG id.
    """
    flag = identification[:3].upper()
    return (flag in ("LGZ", "LGF") and "ZCX" in identification.upper()) or flag in EREDES_FLAGS


type Key = VerdictKey | AttemptName | FindingKey


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verdict's key and placeholders; ``text`` is the English rendering.

    ``tried`` names, as keys, what the probe tried after an identification (the ``tried``
    placeholder is their English), so an interface can say them in its own language.
    """

    key: Key
    placeholders: Mapping[str, str] = field(default_factory=dict)
    tried: tuple[Verdict, ...] = ()

    @property
    def text(self) -> str:
        """Render the verdict in English (the command line's language)."""
        if isinstance(self.key, VerdictKey):
            return ENGLISH[self.key].format_map({**dict.fromkeys(PLACEHOLDERS, ""), **self.placeholders})
        return ATTEMPT_ENGLISH[self.key].format_map(
            {**dict.fromkeys(ATTEMPT_PLACEHOLDERS, ""), **self.placeholders}
        )

    def __str__(self) -> str:
        """Return the English text."""
        return self.text

    def as_dict(self) -> dict[str, object]:
        """Return the key and placeholders for JSON (what an entry stores of its probe)."""
        out: dict[str, object] = {"key": str(self.key), "placeholders": dict(self.placeholders)}
        if self.tried:
            out["tried"] = [name.as_dict() for name in self.tried]
        return out


def bridge_verdict(port: str, err: MeterError) -> Verdict | None:
    """Return the verdict of a network bridge that refused in its own words, if ``err`` is that."""
    if isinstance(err, BridgeRefusedError):
        return Verdict(VerdictKey.BRIDGE_REFUSED, {"port": port, "error": err.words})
    return None


def identification_in(received: bytes) -> str | None:
    r"""Return the first IEC identification line (``/XXXZ...\r\n``) in what came back, without ``/``."""
    start = received.find(b"/")
    while start >= 0:
        end = received.find(b"\r\n", start)
        line = received[start + 1 : end] if end > start else b""
        if (
            4 <= len(line) <= 40
            and line[:3].isalpha()
            and line.isascii()
            and all(32 <= c < 127 for c in line)
        ):
            return line.decode("ascii")
        start = received.find(b"/", start + 1)
    return None


def is_echo(sent: bytes, received: bytes) -> bool:
    """Whether what came back is only (part of) what was sent: a half-duplex head's echo."""
    return bool(received) and bool(sent) and (received in sent or sent.startswith(received))


def failure_verdict(port: str, attempts: Sequence[ProbeAttempt]) -> Verdict:
    """Return the most telling verdict of a probe in which no attempt gave a readout.

    A port that failed, then a refusal (locked port, wrong password, a key or register
    access needed), then an identification without a readout, then (through a raw network
    bridge, whose own serial settings decide the rate and framing) garbage or silence
    everywhere, then garbled bytes, then only the echo, then nothing at all.
    """
    errors = [attempt.error for attempt in attempts if attempt.error is not None]
    port_error = next((err for err in errors if isinstance(err, PortError)), None)
    if port_error is not None:
        return bridge_verdict(port, port_error) or Verdict(
            VerdictKey.PORT_FAILED, {"port": port, "error": str(port_error)}
        )
    identification = next(
        (found for attempt in attempts if (found := identification_in(attempt.received)) is not None), None
    )
    locked = next((err for err in errors if isinstance(err, PublicClientRefusedError)), None)
    if locked is not None:
        name = locked.identification or identification or ""
        key = VerdictKey.PORT_LOCKED_EREDES if is_eredes_identification(name) else VerdictKey.PORT_LOCKED
        variant = "DLMS/COSEM, IEC 62056-21 mode E, HDLC" if locked.identification else "DLMS/COSEM, HDLC"
        if locked.tried:
            # Technical names only: the placeholder reads the same in every language.
            variant += f", server {locked.tried[-1].association.server}"
        details = {"identification": name, "diagnostic": _diagnostic(locked), "variant": variant}
        return Verdict(key, {"port": port, **details})
    refused = next((err for err in errors if isinstance(err, PasswordRefusedError)), None)
    if refused is not None:
        return Verdict(VerdictKey.PASSWORD_REFUSED, {"port": port, "diagnostic": _diagnostic(refused)})
    needs = next((err for err in errors if err.key in ANSWERED_ERRORS), None)
    if needs is not None:
        return Verdict(VerdictKey.NEEDS_CREDENTIALS, {"port": port, "error": str(needs)})
    if identification is not None:
        first = next(index for index, a in enumerate(attempts) if identification_in(a.received) is not None)
        tried = tuple(attempt.label for attempt in attempts[first + 1 :]) or (
            Verdict(AttemptName.NOTHING_ELSE),
        )
        return Verdict(
            VerdictKey.IDENTIFICATION_NO_READOUT,
            {"port": port, "identification": identification, "tried": "; ".join(map(str, tried))},
            tried,
        )
    answered = [attempt for attempt in attempts if attempt.received]
    garbled = any(not is_echo(attempt.sent, attempt.received) for attempt in answered)
    if not can_switch_rate(port) and (garbled or not answered):
        # Through raw TCP the bridge's serial settings decide what the meter sees, whatever we try.
        return Verdict(VerdictKey.RAW_BRIDGE, {"port": port})
    if garbled:
        return Verdict(VerdictKey.GARBLED, {"port": port})
    if answered:
        return Verdict(VerdictKey.ONLY_ECHO, {"port": port})
    return Verdict(VerdictKey.NOTHING_BACK, {"port": port})


def _diagnostic(err: MeterError) -> str:
    diagnostic = getattr(err, "diagnostic", None)
    return describe_diagnostic(diagnostic or 0)


__all__ = [
    "ANSWERED_ERRORS",
    "ATTEMPT_ENGLISH",
    "ATTEMPT_PLACEHOLDERS",
    "CREDENTIAL_ERRORS",
    "ENGLISH",
    "PLACEHOLDERS",
    "AttemptName",
    "FindingKey",
    "Verdict",
    "VerdictKey",
    "bridge_verdict",
    "failure_verdict",
    "identification_in",
    "is_echo",
    "is_eredes_identification",
]
