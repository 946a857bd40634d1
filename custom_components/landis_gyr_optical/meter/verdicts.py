"""What a probe that found no working variant tells a person to do, as typed verdicts.

A verdict is a key and its placeholders. The core renders the English text (the command
line prints it); the config flow shows the same key as a translated error with the same
placeholders, so every language says the same thing with the same details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .dlms.association import describe_diagnostic
from .dlms.optical import PasswordRefusedError, PublicClientRefusedError
from .errors import MeterError, PortError

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


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verdict's key and placeholders; ``text`` is the English rendering."""

    key: VerdictKey
    placeholders: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Render the verdict in English (the command line's language)."""
        return ENGLISH[self.key].format_map({**dict.fromkeys(PLACEHOLDERS, ""), **self.placeholders})

    def __str__(self) -> str:
        """Return the English text."""
        return self.text


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
    access needed), then an identification without a readout, then garbled bytes, then
    only the echo, then nothing at all.
    """
    errors = [attempt.error for attempt in attempts if attempt.error is not None]
    port_error = next((err for err in errors if isinstance(err, PortError)), None)
    if port_error is not None:
        return Verdict(VerdictKey.PORT_FAILED, {"port": port, "error": str(port_error)})
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
        tried = "; ".join(attempt.name for attempt in attempts[first + 1 :]) or "nothing else"
        return Verdict(
            VerdictKey.IDENTIFICATION_NO_READOUT,
            {"port": port, "identification": identification, "tried": tried},
        )
    answered = [attempt for attempt in attempts if attempt.received]
    if any(not is_echo(attempt.sent, attempt.received) for attempt in answered):
        return Verdict(VerdictKey.GARBLED, {"port": port})
    if answered:
        return Verdict(VerdictKey.ONLY_ECHO, {"port": port})
    return Verdict(VerdictKey.NOTHING_BACK, {"port": port})


def _diagnostic(err: MeterError) -> str:
    diagnostic = getattr(err, "diagnostic", None)
    return describe_diagnostic(diagnostic or 0)


__all__ = [
    "ANSWERED_ERRORS",
    "CREDENTIAL_ERRORS",
    "ENGLISH",
    "PLACEHOLDERS",
    "Verdict",
    "VerdictKey",
    "failure_verdict",
    "identification_in",
    "is_echo",
    "is_eredes_identification",
]
