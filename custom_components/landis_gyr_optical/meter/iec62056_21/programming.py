"""Read-only IEC 62056-21 programming mode: the load profile read, as a sans-IO session.

The exchange (IEC 62056-21 6.4.3, mode C with the programming option)::

    client  /?[address]!                      meter  /LGZ4ZMF100AC.M27
    client  ACK 0 Z 1                         meter  SOH P0 STX (serial) ETX BCC
    [client SOH P1 STX (password) ETX BCC     meter  ACK]
    client  SOH R5 STX P.01(from;to) ETX BCC  meter  STX P.01(...)... ETX BCC
    client  SOH B 0 ETX BCC

The meter's ``P0`` prompt is answered only when a password was given: many L+G meters let
the profile be read without one. ``R6`` asks for the answer in partial blocks, each ending
in EOT and acknowledged with ACK before the meter sends the next. A block with a wrong
BCC is asked for again with NAK. No write command (``W``) exists in this module: the
session can only read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum, auto

from ..errors import (
    ChecksumError,
    MeterError,
    NoAnswerError,
    ProfileUnavailableError,
    ProtocolError,
    ReadoutTooLongError,
)
from ..line import LineSettings
from ..load_profile import LoadProfile, Season
from .messages import (
    ACK,
    BAUD_MODE_C,
    BREAK,
    CRLF,
    ETX,
    INITIAL_BAUD,
    INTER_CHARACTER_TIMEOUT,
    NAK,
    SOH,
    STX,
    Identification,
    Mode,
    bcc,
    option_select,
    sign_on,
)
from .profile import parse_profile, profile_request
from .session import MAX_IDENTIFICATION, TIMING_SLACK, Receive, SessionSettings, SwitchLine, Transmit, Wait

EOT = 0x04
PROGRAMMING_MODE = "1"
"""Mode character of the option select that asks for programming mode."""
PROFILE_REACTION_TIME = 5.0
"""Seconds allowed before the first byte of a profile answer: the meter searches its
memory first (longer than the 1.5 s of the standard; chosen, not measured)."""
DEFAULT_MAX_PROFILE = 1024 * 1024
"""Largest profile answer accepted: 60 days of 15-minute intervals with six channels fit."""
MAX_REPEATS = 3
"""Times a block with a wrong BCC is asked for again before the read fails."""


class ReadCommand(StrEnum):
    """How the profile is asked for."""

    R5 = "R5"
    """Formatted read: the whole answer in one message."""
    R6 = "R6"
    """Formatted read with partial blocks (EOT, then ACK for the next)."""


@dataclass(frozen=True, slots=True)
class ProfileRequest:
    """What to read: a range in the meter's clock (either end open) and how."""

    start: datetime | None = None
    end: datetime | None = None
    season: Season | None = None
    """Season digit written in the request; ``None`` writes the 10-digit form."""
    command: ReadCommand = ReadCommand.R5
    password: str | None = None
    """Answered to the meter's P0 prompt with P1; ``None`` answers nothing."""
    max_profile: int = DEFAULT_MAX_PROFILE


@dataclass(frozen=True, slots=True)
class ProfileFinished:
    """The session is over; here is the profile (already cut to the requested range)."""

    profile: LoadProfile
    baud: int


ProgrammingCommand = Transmit | Wait | SwitchLine | Receive | ProfileFinished


def command_message(command: str, data: str = "") -> bytes:
    """Return ``SOH C D STX data ETX BCC`` (``SOH B 0 ETX BCC`` when there is no data)."""
    body = command.encode("ascii") + ((bytes([STX]) + data.encode("ascii")) if data else b"") + bytes([ETX])
    return bytes([SOH]) + body + bytes([bcc(body)])


class _Phase(StrEnum):
    IDENTIFICATION = auto()
    PROMPT = auto()
    PASSWORD = auto()
    PROFILE = auto()
    DONE = auto()


class ProgrammingSession:
    """One read-only programming-mode session that reads the load profile."""

    def __init__(self, settings: SessionSettings, request: ProfileRequest) -> None:
        """Prepare the session; nothing happens until the driver asks for commands."""
        if settings.protocol.value not in ("auto", "mode_c"):
            raise ProfileUnavailableError(
                f"the load profile is read in mode C programming mode, not in {settings.protocol.value}"
            )
        self.settings = settings
        self.request = request
        self.line = settings.initial_line
        self.identification: Identification | None = None
        self._commands: deque[ProgrammingCommand] = deque()
        self._buffer = bytearray()
        self._echo = b""
        self._received = 0
        self._data = bytearray()
        self._repeats = 0
        self._waiting: Receive | None = None
        self._phase = _Phase.IDENTIFICATION
        self._commands.append(Transmit(sign_on(settings.address)))
        self._receive("identification", MAX_IDENTIFICATION)

    # --- driver interface -------------------------------------------------------------------

    def next_command(self) -> ProgrammingCommand:
        """Return what the driver must do next."""
        if not self._commands:
            raise RuntimeError("the session is waiting for data; feed it with receive_data()")
        command = self._commands.popleft()
        if isinstance(command, Transmit):
            self._echo = command.data
        elif isinstance(command, SwitchLine):
            self.line = command.line
            self._buffer.clear()
        elif isinstance(command, Receive):
            self._waiting = command
            self._received = 0
        return command

    @property
    def needs_data(self) -> bool:
        """Whether the last ``Receive`` is still waiting for bytes."""
        return not self._commands and self._phase is not _Phase.DONE

    @property
    def message_started(self) -> bool:
        """Whether the awaited message has begun (an echo does not count)."""
        return bool(self._buffer) and not self._echo

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes; raises a ``MeterError`` as soon as they cannot be right."""
        if self._phase is _Phase.DONE:
            return
        self._buffer += data
        self._skip_echo()
        self._received += len(data)
        if not self._echo:
            self._parse()

    def timeout(self) -> MeterError:
        """Return the error for a ``Receive`` that ran out of time."""
        what = self._waiting.what if self._waiting else "answer"
        if self._phase is _Phase.PROMPT:
            return ProfileUnavailableError(
                "the meter did not enter programming mode (no P0 prompt after the option select): "
                "it offers no programming mode on this port or locks it"
            )
        if self._phase is _Phase.PASSWORD:
            return ProfileUnavailableError("the meter did not acknowledge the password")
        if self._received == 0:
            return NoAnswerError(f"no answer from the meter while waiting for the {what}")
        return NoAnswerError(f"the {what} stopped after {self._received} bytes without its end")

    # --- the conversation --------------------------------------------------------------------

    def _receive(self, what: str, characters: int, first_byte: float | None = None) -> None:
        character = self.line.character_time()
        reaction = 1.5 if first_byte is None else first_byte
        self._commands.append(
            Receive(
                what=what,
                first_byte_timeout=reaction + character + TIMING_SLACK,
                inter_character_timeout=INTER_CHARACTER_TIMEOUT,
                total_timeout=reaction + 2 * characters * character,
            )
        )

    def _send(self, data: bytes, reaction_time: float) -> None:
        self._commands.append(Wait(reaction_time))
        self._commands.append(Transmit(data))

    @property
    def _reaction_time(self) -> float:
        assert self.identification is not None
        return self.identification.reaction_time

    def _after_identification(self, identification: Identification) -> None:
        self.identification = identification
        if identification.mode is not Mode.C:
            raise ProfileUnavailableError(
                f"the meter announces {identification.mode.value} ({identification}); the load profile "
                "needs mode C programming mode"
            )
        if self.settings.fixed_baud is not None:
            baud = self.settings.fixed_baud
        else:
            limit = min(identification.offered_baud, self.settings.max_baud)
            baud = max((rate for rate in BAUD_MODE_C.values() if rate <= limit), default=INITIAL_BAUD)
        self._send(option_select(baud, mode=PROGRAMMING_MODE), self._reaction_time)
        line = LineSettings(baud, self.line.framing)
        if line != self.line:
            self._commands.append(SwitchLine(line, deadline=self._reaction_time))
            self.line = line
        self._phase = _Phase.PROMPT
        self._receive("programming mode prompt", 64)

    def _after_prompt(self) -> None:
        password = self.request.password
        if password is not None:
            self._phase = _Phase.PASSWORD
            self._send(command_message("P1", f"({password})"), self._reaction_time)
            self._receive("password acknowledgement", 1)
            return
        self._ask_profile()

    def _ask_profile(self) -> None:
        request = self.request
        self._phase = _Phase.PROFILE
        data = profile_request(request.start, request.end, request.season)
        self._send(command_message(request.command.value, data), self._reaction_time)
        self._receive("load profile", request.max_profile, PROFILE_REACTION_TIME)

    # --- parsing ----------------------------------------------------------------------------

    def _skip_echo(self) -> None:
        if not self._echo:
            return
        common = 0
        limit = min(len(self._echo), len(self._buffer))
        while common < limit and self._echo[common] == self._buffer[common]:
            common += 1
        if common == len(self._echo):
            del self._buffer[:common]
            self._received -= common
            self._echo = b""
        elif common < limit:
            self._echo = b""

    def _parse(self) -> None:
        if self._phase is _Phase.IDENTIFICATION:
            self._parse_identification()
        elif self._phase is _Phase.PROMPT:
            self._parse_prompt()
        elif self._phase is _Phase.PASSWORD:
            self._parse_password_answer()
        elif self._phase is _Phase.PROFILE:
            self._parse_profile_block()

    def _parse_identification(self) -> None:
        start = self._buffer.find(b"/")
        end = self._buffer.find(CRLF, max(start, 0))
        if start < 0 or end < 0:
            if len(self._buffer) > 4 * MAX_IDENTIFICATION:
                raise ProtocolError(f"no identification in {bytes(self._buffer[:64])!r}")
            return
        line = bytes(self._buffer[start:end])
        del self._buffer[: end + 2]
        self._after_identification(Identification.parse(line))

    def _message(self, first: int, ends: bytes) -> tuple[bytes, int] | None:
        """Return a complete ``first ... end BCC`` message and its end byte, checked."""
        start = self._buffer.find(bytes([first]))
        if start < 0:
            return None
        end = next((i for i in range(start + 1, len(self._buffer)) if self._buffer[i] in ends), -1)
        if end < 0 or end + 1 >= len(self._buffer):
            return None
        body = bytes(self._buffer[start + 1 : end + 1])
        received = self._buffer[end + 1]
        del self._buffer[: end + 2]
        if received & 0x7F != bcc(body) & 0x7F:
            raise ChecksumError(
                f"bad block check character: received 0x{received:02X}, calculated 0x{bcc(body) & 0x7F:02X}"
            )
        return body[:-1], body[-1]

    def _parse_prompt(self) -> None:
        first = next((byte for byte in self._buffer if byte in (SOH, STX, NAK)), None)
        if first == STX:
            raise ProfileUnavailableError(
                "the meter answered the programming-mode request with a data readout: it offers no "
                "programming mode on this port"
            )
        if first == NAK:
            raise ProfileUnavailableError("the meter refused programming mode (NAK)")
        message = self._message(SOH, bytes([ETX]))
        if message is None:
            return
        body, _ = message
        if body.startswith(b"B0"):
            raise ProfileUnavailableError("the meter ended the session instead of entering programming mode")
        if not body.startswith(b"P0"):
            raise ProtocolError(f"expected the meter's P0 prompt, got {body!r}")
        self._after_prompt()

    def _parse_password_answer(self) -> None:
        if not self._buffer:
            return
        if self._buffer[0] == ACK:
            del self._buffer[:1]
            self._ask_profile()
            return
        raise ProfileUnavailableError("the meter refused the password (no ACK)")

    def _parse_profile_block(self) -> None:
        if self._buffer[:1] == bytes([NAK]):
            raise ProfileUnavailableError(
                f"the meter refused the {self.request.command.value} read of the load profile (NAK)"
            )
        if self._buffer[:1] == bytes([SOH]) and self._buffer.startswith(bytes([SOH]) + b"B0"):
            raise ProfileUnavailableError("the meter ended the session instead of sending the load profile")
        try:
            message = self._message(STX, bytes([ETX, EOT]))
        except ChecksumError:
            self._repeats += 1
            if self._repeats > MAX_REPEATS:
                raise
            self._buffer.clear()
            self._send(bytes([NAK]), self._reaction_time)
            self._receive("load profile", self.request.max_profile, PROFILE_REACTION_TIME)
            return
        if message is None:
            if len(self._data) + len(self._buffer) > self.request.max_profile:
                raise ReadoutTooLongError(f"the load profile is longer than {self.request.max_profile} bytes")
            return
        block, end = message
        self._repeats = 0
        self._data += block
        if end == EOT:
            self._send(bytes([ACK]), self._reaction_time)
            self._receive("load profile", self.request.max_profile, PROFILE_REACTION_TIME)
            return
        self._finish()

    def _finish(self) -> None:
        assert self.identification is not None
        try:
            text = bytes(self._data).decode("ascii")
        except UnicodeDecodeError as err:
            raise ChecksumError("the load profile carries non-ASCII bytes: line noise") from err
        # An empty answer is a profile without intervals in the range, not a refusal.
        profile = parse_profile(text, medium=self.identification.medium)
        profile = profile.between(self.request.start, self.request.end)
        self._phase = _Phase.DONE
        self._commands.append(Transmit(BREAK))
        self._commands.append(
            ProfileFinished(
                LoadProfile(
                    profile.intervals, self.identification.identity, bytes(self._data), self.line.baud
                ),
                self.line.baud,
            )
        )


__all__ = [
    "EOT",
    "ProfileFinished",
    "ProfileRequest",
    "ProgrammingSession",
    "ReadCommand",
    "command_message",
]
