"""What a simulated meter is: its identification, its readout, its timing and its faults.

Built-in profiles live in ``profiles/*.txt``. A profile file is a readout as a meter
prints it, with optional ``key: value`` settings before the identification line::

    # comment
    protocol: mode_c
    reaction_time: 0.2
    /LGZ4ZMF100AC.M27
    F.F(00)
    1.8.0(000219.252*kWh)

Every line after the identification belongs to the data block and is sent with CR LF
(blank lines too, a P1 telegram has one); trailing blank lines are dropped. The ``!``
end of the data block is added by the encoder, not written in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    CRLF,
    REACTION_TIME,
    Identification,
    Mode,
)
from custom_components.landis_gyr_optical.meter.line import Framing

from .recording import Recording

PROFILES_DIR = Path(__file__).parent / "profiles"
QUICK_REACTION_TIME = 0.2
"""Reaction time of ``quick_profile`` meters: the shortest the standard allows a meter whose
identification has an upper-case third letter (the built-in profiles), so a client that
switches its rate in the middle of the announced reaction window finds the meter in time."""

PushChecksum = Literal["bcc", "crc16", "none"]


@dataclass(frozen=True, slots=True)
class Faults:
    """Misbehaviour of the meter or its optical head; all off by default."""

    bad_bcc: bool = False
    """The block check character of the data message (or a push's CRC) is wrong."""
    truncate_after: int | None = None
    """Send only this many bytes of the data message, then stay silent."""
    noise: float = 0.0
    """Probability per transmitted byte that one of its seven data bits flips."""
    seed: int = 0
    """Seed of the noise, so a noisy run repeats exactly."""
    silent: bool = False
    """Ignore every request."""
    echo: bool = False
    """The optical head echoes every byte the client sends (half-duplex heads do)."""
    refuse_address: bool = False
    """Ignore sign-on requests that carry a device address."""
    wrong_baud: int | None = None
    """Send the data message at this rate instead of the agreed one."""
    slow: float = 0.0
    """Seconds added to the reaction time."""
    flip_bits: tuple[tuple[int, int], ...] = ()
    """``(offset, bit)`` pairs flipped in the data message (or push) before it is sent."""
    sessions: int | None = None
    """Apply the faults to the first N sessions only (``None``: to all); the echo is not counted."""


@dataclass(frozen=True, slots=True)
class MeterProfile:
    """One simulated meter."""

    identification: Identification
    data_block: bytes
    protocol: Mode | None = None
    """How the meter behaves; ``None`` follows the baud character of its identification."""
    reaction_time: float = REACTION_TIME
    address: str | None = None
    """Device address answered in ``/?ADDRESS!`` (leading zeros do not matter)."""
    faults: Faults = field(default_factory=Faults)
    framing: Framing = Framing.SEVEN_E_ONE
    address_required: bool = False
    """Ignore ``/?!`` without an address (meters sharing one bus)."""
    wake_up_required: bool = False
    """Battery meter: answer only after a wake-up of at least 40 NUL characters."""
    push_interval: float = 1.0
    """Mode D: seconds of silence before the first push and between two pushes."""
    push_checksum: PushChecksum = "bcc"
    """Mode D framing: ``bcc`` (STX … ETX BCC), ``crc16`` (P1: ``!`` + CRC16) or ``none``."""
    name: str = "custom"
    programming_mode: bool = False
    """Answer ``ACK 0 Z 1`` with the ``P0`` prompt (without: ignore it, as a readout-only meter)."""
    recording: Recording | None = None
    """The load profile ``P.01`` read in programming mode (``None``: answer ``(ERROR)``)."""
    password: str | None = None
    """Password the meter wants with ``P1`` before a read (``None``: reads need none)."""
    partial_block_size: int = 512
    """Largest partial block of an ``R6`` answer."""

    @property
    def mode(self) -> Mode:
        """The protocol mode the meter speaks."""
        return self.protocol or self.identification.mode


def profile_names() -> list[str]:
    """Names of the built-in profiles."""
    return sorted(path.stem for path in PROFILES_DIR.glob("*.txt"))


def load_profile(name: str) -> MeterProfile:
    """Load a built-in profile by name (the file name without ``.txt``)."""
    path = PROFILES_DIR / f"{name}.txt"
    if not path.is_file():
        raise ValueError(f"unknown meter profile {name!r}; built in: {', '.join(profile_names())}")
    return parse_profile(path.read_bytes(), name=name)


def quick_profile(name: str, *, lines: int | None = None, **changes: Any) -> MeterProfile:
    """A built-in profile for fast tests: a short reaction time, optionally fewer data lines.

    ``lines`` keeps the first N lines of the data block (less wire time at 300 Bd);
    ``changes`` replace any other field (``faults=``, ``address=``, ``reaction_time=`` ...).
    """
    profile = load_profile(name)
    if lines is not None:
        kept = profile.data_block.split(CRLF)[:lines]
        profile = replace(profile, data_block=b"".join(line + CRLF for line in kept))
    return replace(profile, **{"reaction_time": QUICK_REACTION_TIME, **changes})


def parse_profile(text: bytes, *, name: str = "custom") -> MeterProfile:
    """Parse a profile file (see the module docstring for the format)."""
    lines = text.replace(b"\r\n", b"\n").split(b"\n")
    settings: dict[str, str] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(b"/"):
            identification = Identification.parse(stripped)
            data = lines[index + 1 :]
            break
        if not stripped or stripped.startswith(b"#"):
            continue
        key, colon, value = stripped.decode("ascii").partition(":")
        if not colon:
            raise ValueError(f"profile {name}: expected 'key: value' before the identification, got {line!r}")
        settings[key.strip()] = value.strip()
    else:
        raise ValueError(f"profile {name}: no identification line")
    while data and not data[-1].strip():
        data.pop()
    block = b"".join(line.rstrip(b"\r") + CRLF for line in data)
    profile = MeterProfile(identification=identification, data_block=block, name=name)
    for key, value in settings.items():
        profile = _apply_setting(profile, key, value)
    return profile


def _apply_setting(profile: MeterProfile, key: str, value: str) -> MeterProfile:
    match key:
        case "protocol":
            return replace(profile, protocol=Mode(value))
        case "reaction_time":
            return replace(profile, reaction_time=float(value))
        case "push_interval":
            return replace(profile, push_interval=float(value))
        case "address":
            return replace(profile, address=value)
        case "framing":
            return replace(profile, framing=Framing(value))
        case "address_required":
            return replace(profile, address_required=parse_bool(value))
        case "wake_up_required":
            return replace(profile, wake_up_required=parse_bool(value))
        case "programming_mode":
            return replace(profile, programming_mode=parse_bool(value))
        case "recording":
            return replace(profile, programming_mode=True, recording=parse_recording(value))
        case "push_checksum":
            for checksum in get_args(PushChecksum):
                if value == checksum:
                    return replace(profile, push_checksum=checksum)
            raise ValueError(f"profile {profile.name}: push_checksum must be one of {get_args(PushChecksum)}")
    raise ValueError(f"profile {profile.name}: unknown setting {key!r}")


def parse_recording(value: str) -> Recording:
    """Read ``recording: DAYS [outage FROM-TO]``: a 15-minute profile reaching DAYS back from now.

    ``outage 5-3`` is a power failure from 5 to 3 hours ago. The meter's clock is the
    machine's local time, so the profile keeps growing while the meter runs.
    """
    words = value.split()
    now = datetime.now()
    aligned = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start = aligned - timedelta(days=float(words[0])) + timedelta(minutes=15)
    outages: tuple[tuple[datetime, datetime], ...] = ()
    if len(words) == 3 and words[1] == "outage":
        first, _, last = words[2].partition("-")
        outages = ((now - timedelta(hours=float(first)), now - timedelta(hours=float(last))),)
    elif len(words) != 1:
        raise ValueError(f"recording: expected 'DAYS [outage FROM-TO]', got {value!r}")
    return Recording(start=start, outages=outages)


def parse_bool(value: str) -> bool:
    """Read a yes/no setting."""
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def parse_fault(assignment: str, faults: Faults) -> Faults:
    """Apply one ``name=value`` fault setting (command line syntax) to ``faults``."""
    key, equals, value = assignment.partition("=")
    known = {item.name: item for item in fields(Faults)}
    if key not in known:
        raise ValueError(f"unknown fault {key!r}; known: {', '.join(known)}")
    current = getattr(faults, key)
    parsed: Any
    if isinstance(current, bool):
        parsed = parse_bool(value) if equals else True
    elif isinstance(current, tuple):
        pairs = [item.split(":") for item in value.split(",") if item]
        parsed = tuple((int(offset), int(bit)) for offset, bit in pairs)
    elif key in {"noise", "slow"}:
        parsed = float(value)
    elif value.lower() in {"", "none"}:
        parsed = None
    else:
        parsed = int(value)
    return replace(faults, **{key: parsed})
