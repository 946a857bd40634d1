"""The IEC 62056-21 client session as a sans-IO state machine.

The session never touches a port or a clock. It tells its driver what to do next as a
``Command`` (transmit these bytes, wait this long after the line went idle, switch the
line, receive until I have a message) and eats the bytes the driver hands it. Every
decision (which rate to ask for, when the switch may happen, how long silence may last)
is made here and can be tested with plain byte strings.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum, auto
import re

from ..crc import crc16_arc
from ..dlms.axdr import decode_length
from ..dlms.ciphering import GENERAL_GLO_CIPHERING, Ciphered, DecryptionError
from ..errors import (
    ChecksumError,
    MeterError,
    NoAnswerError,
    ProtocolError,
    ReadoutTooLongError,
    UnsupportedModeError,
)
from ..line import Framing, LineSettings
from ..readout import Checksum, Readout
from ..registers import Register
from .datasets import infer_medium, parse_data_block
from .messages import (
    BAUD_MODE_C,
    CRLF,
    ETX,
    INITIAL_BAUD,
    INTER_CHARACTER_TIMEOUT,
    MODE_D_BAUD,
    STX,
    Identification,
    Mode,
    bcc,
    option_select,
    sign_on,
)

WAKE_UP_CHARACTERS = 66
"""NUL characters of the battery wake-up: 66 at 300 Bd fill the line for 2.2 s."""
WAKE_UP_PAUSE = 1.6
"""Silence after the wake-up before the sign-on (the meter's receiver settles)."""
MAX_IDENTIFICATION = 48
"""Longest identification line accepted (``/XXXZ\\W`` + 16 characters + slack)."""
MAX_JUNK = 256
"""Bytes tolerated before a message starts (echo remains, line noise, a late push)."""
TIMING_SLACK = 0.1
"""Allowance for USB adapter latency and scheduling on top of a computed line time."""
SLOW_REACTION_TIME = 2.8
"""Longest wait for an answer to start: a meter slower than the standard's 1.5 s (they exist),
or a standard meter behind a network bridge with up to 0.65 s of latency each way. Waiting
longer costs time only on a line where nobody answers."""
DEFAULT_MAX_READOUT = 32 * 1024
"""Largest data block accepted; bounds memory and, with the rate, the total time."""
_SHOWN_BYTES = 48
"""Last received bytes quoted in a timeout message."""
_DATA_SET = re.compile(rb"[0-9A-Za-z][0-9A-Za-z.:*&-]*\([^()\r\n]*\)")
"""A complete data set: seen before any STX, it means the readout has no framing."""
_CRC = re.compile(rb"[0-9A-Fa-f]{4}\Z")
_CONTROL = re.compile(rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
"""Characters that never belong in a data block (CR and LF do)."""


class Protocol(StrEnum):
    """How to talk to the meter: follow its identification, or listen for pushes."""

    AUTO = "auto"
    MODE_A = "mode_a"
    MODE_B = "mode_b"
    MODE_C = "mode_c"
    MODE_D = "mode_d"


_FORCED_MODES = {Protocol.MODE_A: Mode.A, Protocol.MODE_B: Mode.B, Protocol.MODE_C: Mode.C}


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """What the user (or the probe) chose; the meter's identification decides the rest."""

    protocol: Protocol = Protocol.AUTO
    address: str = ""
    max_baud: int = 19200
    wake_up: bool = False
    framing: Framing = Framing.SEVEN_E_ONE
    fixed_baud: int | None = None
    """The remote end cannot change its rate (raw ``socket://``): stay at this rate."""
    software_parity: bool = False
    """The remote end is a raw bridge at 8N1 on a 7E1 line: add and check parity bits here."""
    max_readout: int = DEFAULT_MAX_READOUT
    push_timeout: float = 30.0
    """How long to listen for a mode D push before declaring the meter silent."""
    key: bytes | None = field(default=None, repr=False)
    """Mode D: the telegrams come in general-glo-ciphering (Luxembourg Smarty) with this key."""
    authentication_key: bytes | None = field(default=None, repr=False)

    @property
    def initial_line(self) -> LineSettings:
        """The line the session starts on."""
        if self.fixed_baud is not None:
            return LineSettings(self.fixed_baud, self.framing)
        baud = MODE_D_BAUD if self.protocol is Protocol.MODE_D else INITIAL_BAUD
        return LineSettings(baud, self.framing)


def first_byte_allowance(line: LineSettings) -> float:
    """Time allowed for an answer's first byte, counted from the computed end of the request.

    The slow reaction time (which also covers a transport's round trip: the request
    reaches the meter late, the answer comes back late), then the first character's
    wire time, and a USB adapter's latency on top.
    """
    return SLOW_REACTION_TIME + line.character_time() + TIMING_SLACK


# --- commands the session gives its driver -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transmit:
    """Write these bytes; they occupy the line for their wire time."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Wait:
    """Stay silent until ``seconds`` after the line was last busy (either direction)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class SwitchLine:
    """Change rate/framing once the last transmission has physically left the line.

    ``deadline`` is the time after that moment by which the switch must be done, because
    the meter starts answering at the new rate after its reaction time.
    """

    line: LineSettings
    deadline: float


@dataclass(frozen=True, slots=True)
class Receive:
    """Hand over received bytes until the session has its message.

    ``first_byte_timeout`` counts from the moment the line went idle, ``total_timeout``
    from the same moment to the end of the message; between two characters at most
    ``inter_character_timeout`` may pass.
    """

    what: str
    first_byte_timeout: float
    inter_character_timeout: float
    total_timeout: float


@dataclass(frozen=True, slots=True)
class Finished:
    """The session is over; here is the readout."""

    readout: Readout


Command = Transmit | Wait | SwitchLine | Receive | Finished


class _Phase(StrEnum):
    IDENTIFICATION = auto()
    DATA = auto()
    PUSH = auto()
    DONE = auto()


class Session:
    """One IEC 62056-21 read: sign-on (or listen), identification, option select, data."""

    def __init__(self, settings: SessionSettings) -> None:
        """Prepare a session; nothing happens until the driver asks for commands."""
        self.settings = settings
        self.line = settings.initial_line
        self.identification: Identification | None = None
        self.mode: Mode | None = None
        self._commands: deque[Command] = deque()
        self._buffer = bytearray()
        self._echo = b""
        self._received = 0
        self._last_bytes = b""
        self._junk = 0
        self._push_header = b""
        self._plain = False
        self._waiting: Receive | None = None
        self._start_commands()

    # --- driver interface -------------------------------------------------------------------

    def next_command(self) -> Command:
        """Return what the driver must do next."""
        if not self._commands:
            raise RuntimeError("the session is waiting for data; feed it with receive_data()")
        command = self._commands.popleft()
        if isinstance(command, Transmit):
            self._echo = command.data
        elif isinstance(command, SwitchLine):
            self.line = command.line
            self._buffer.clear()
            self._echo = b""
        elif isinstance(command, Receive):
            self._waiting = command
            self._received = len(self._buffer)
        return command

    @property
    def needs_data(self) -> bool:
        """Whether the last ``Receive`` is still waiting for bytes."""
        return not self._commands and self._phase is not _Phase.DONE

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes; raises a ``MeterError`` as soon as they cannot be right."""
        if self._phase is _Phase.DONE:
            return
        self._buffer += data
        self._received += len(data) - self._skip_echo()
        self._last_bytes = (self._last_bytes + data)[-_SHOWN_BYTES:]
        self._parse()

    @property
    def message_started(self) -> bool:
        """Whether the awaited message has begun (junk, noise and echo do not count).

        The driver's first-byte deadline is met by the start of the message, not by any
        byte: a line full of garbage at the wrong rate must not keep a listen alive.
        """
        if self._phase is _Phase.IDENTIFICATION:
            return b"/" in self._buffer
        if self._phase is _Phase.DATA:
            return bytes([STX]) in self._buffer
        if self._phase is _Phase.PUSH:
            return self.identification is not None
        return True

    def timeout(self) -> MeterError:
        """Return the error for a ``Receive`` that ran out of time, saying what was missing."""
        what = self._waiting.what if self._waiting else "answer"
        if self._received == 0:
            return NoAnswerError(f"no answer from the meter while waiting for the {what}")
        if not self.message_started:
            return ProtocolError(
                f"{self._received} bytes arrived but no {what} began (wrong rate or framing, or not "
                f"an IEC 62056-21 meter; last bytes {self._last_bytes!r})"
            )
        return NoAnswerError(
            f"the {what} stopped after {self._received} bytes without its end "
            f"(last bytes {self._last_bytes!r})"
        )

    # --- building the conversation ---------------------------------------------------------

    def _start_commands(self) -> None:
        settings = self.settings
        if settings.protocol is Protocol.MODE_D:
            self._phase = _Phase.PUSH
            self._receive("push message", settings.push_timeout, self._max_total(settings.max_readout))
            return
        self._phase = _Phase.IDENTIFICATION
        if settings.wake_up:
            self._commands.append(Transmit(bytes(WAKE_UP_CHARACTERS)))
            self._commands.append(Wait(WAKE_UP_PAUSE))
        self._commands.append(Transmit(sign_on(settings.address)))
        self._receive("identification", self._first_byte(), self._max_total(MAX_IDENTIFICATION))

    def _receive(self, what: str, first_byte: float, total: float) -> None:
        self._commands.append(
            Receive(
                what=what,
                first_byte_timeout=first_byte,
                inter_character_timeout=INTER_CHARACTER_TIMEOUT,
                total_timeout=total,
            )
        )

    def _first_byte(self, line: LineSettings | None = None) -> float:
        return first_byte_allowance(line or self.line)

    def _max_total(self, characters: int, line: LineSettings | None = None) -> float:
        """Time limit of a message: its first-byte allowance plus its longest wire time, doubled."""
        return self._first_byte(line) + 2 * characters * (line or self.line).character_time()

    def _after_identification(self, identification: Identification) -> None:
        settings = self.settings
        # A protocol chosen by the user overrides the identification: some meters announce
        # a mode C rate but answer like mode A, and a mode B heat meter can be read in mode C.
        mode = _FORCED_MODES.get(settings.protocol, identification.mode)
        self.identification = identification
        self.mode = mode
        if mode is Mode.A:
            self._expect_data(self.line)
            return
        if mode is Mode.B:
            baud = identification.offered_baud
            if settings.fixed_baud is not None or baud > settings.max_baud:
                raise UnsupportedModeError(
                    f"the meter speaks mode B and switches to {baud} Bd by itself, which this "
                    f"port cannot follow (limit {settings.fixed_baud or settings.max_baud} Bd)"
                )
            line = LineSettings(baud, self.line.framing)
            if line != self.line:
                self._switch(line, identification.reaction_time)
            self._expect_data(line)
            return
        baud = self._negotiated_baud(identification)
        self._commands.append(Wait(identification.reaction_time))
        self._commands.append(Transmit(option_select(baud)))
        line = LineSettings(baud, self.line.framing)
        if line != self.line:
            self._switch(line, identification.reaction_time)
        self._expect_data(line)

    def _negotiated_baud(self, identification: Identification) -> int:
        if self.settings.fixed_baud is not None:
            return self.settings.fixed_baud
        offered = identification.offered_baud
        allowed = [rate for rate in BAUD_MODE_C.values() if rate <= min(offered, self.settings.max_baud)]
        return max(allowed, default=INITIAL_BAUD)

    def _switch(self, line: LineSettings, reaction_time: float) -> None:
        self._commands.append(SwitchLine(line, deadline=reaction_time))

    def _expect_data(self, line: LineSettings) -> None:
        self._phase = _Phase.DATA
        self._junk = 0
        self._receive(
            "data message", self._first_byte(line), self._max_total(self.settings.max_readout, line)
        )

    # --- parsing ---------------------------------------------------------------------------

    def _parse(self) -> None:
        if self._phase is _Phase.IDENTIFICATION:
            self._parse_identification()
        elif self._phase is _Phase.DATA:
            self._parse_data_message()
        elif self._phase is _Phase.PUSH:
            if self.settings.key is not None and not self._deciphered():
                return
            self._parse_push()

    def _skip_echo(self) -> int:
        """Drop a half-duplex head's echo of what we sent, byte for byte as it arrives.

        Returns how many echoed bytes were dropped.
        """
        if not self._echo or not self._buffer:
            return 0
        common = 0
        limit = min(len(self._echo), len(self._buffer))
        while common < limit and self._echo[common] == self._buffer[common]:
            common += 1
        if common == len(self._echo):
            del self._buffer[:common]
            self._echo = b""
            return common
        if common < limit:
            self._echo = b""
        return 0

    def _parse_identification(self) -> None:
        if self._echo:
            return
        while True:
            start = self._buffer.find(b"/")
            if start < 0:
                self._limit_junk(len(self._buffer), "identification")
                return
            self._limit_junk(start, "identification")
            end = self._buffer.find(CRLF, start)
            if end < 0:
                if len(self._buffer) - start > MAX_IDENTIFICATION:
                    raise ProtocolError(
                        f"identification line too long: {bytes(self._buffer[start : start + 64])!r}"
                    )
                return
            line = bytes(self._buffer[start:end])
            if not line.startswith(b"/?"):
                break
            # Our own request, echoed behind line noise or a wake-up, so the byte-exact
            # echo match above missed it; the noise before it still counts as junk.
            self._junk += start
            self._received -= end + 2 - start
            del self._buffer[: end + 2]
        del self._buffer[: end + 2]
        self._after_identification(Identification.parse(line))
        if self._buffer:
            self._parse()

    def _limit_junk(self, junk: int, what: str, limit: int = MAX_JUNK) -> None:
        if self._junk + junk > limit:
            raise ProtocolError(
                f"{self._junk + junk} bytes arrived without a {what} (wrong rate or not an IEC 62056-21 "
                f"meter; last bytes {self._last_bytes!r})"
            )

    def _parse_data_message(self) -> None:
        if self._echo:
            return
        start = self._buffer.find(bytes([STX]))
        if start < 0:
            if b"!" + CRLF in self._buffer or _DATA_SET.search(self._buffer):
                raise ChecksumError(
                    "the readout came without STX/ETX framing, so its checksum cannot be verified"
                )
            self._limit_junk(len(self._buffer), "data message")
            return
        self._limit_junk(start, "data message")
        end = self._buffer.find(bytes([ETX]), start)
        if end < 0 or end + 1 >= len(self._buffer):
            if len(self._buffer) - start > self.settings.max_readout:
                raise ReadoutTooLongError(
                    f"more than {self.settings.max_readout} bytes without the end of the data message"
                )
            return
        body = bytes(self._buffer[start + 1 : end + 1])
        received = self._buffer[end + 1]
        # The parity bit is the UART's business; on a 7-bit line the BCC has 7 bits.
        expected = bcc(body) & 0x7F
        if received & 0x7F != expected:
            raise ChecksumError(
                f"bad block check character: received 0x{received:02X}, calculated 0x{expected:02X}"
            )
        block = body[:-1]
        if not block.endswith(b"!" + CRLF):
            raise ProtocolError(f"data message does not end with '!' CR LF: ...{block[-16:]!r}")
        # A push keeps everything from its ``/``; a mode A-C answer starts at STX.
        raw = self._push_header + bytes(self._buffer[0 if self._push_header else start : end + 2])
        self._finish(block[:-3], raw, "bcc")

    def _parse_push(self) -> None:
        """Mode D: ``/ident CR LF`` then a data block ending ``!`` [CRC], or an STX frame."""
        if self.identification is None and not self._find_push_identification():
            return
        buffer = self._buffer
        first = next((index for index, byte in enumerate(buffer) if byte not in CRLF), None)
        if first is not None and buffer[first] == STX:
            self._phase = _Phase.DATA
            self._parse_data_message()
            return
        stop = buffer.find(b"!")
        tail = bytes(buffer[stop + 1 : stop + 5]) if stop >= 0 else b""
        if stop >= 0 and _CRC.match(tail):
            crc = crc16_arc(self._push_header + bytes(buffer[: stop + 1]))
            if int(tail, 16) != crc:
                raise ChecksumError(f"bad CRC after '!': received {tail.decode()}, calculated {crc:04X}")
            checksum: Checksum = "crc16"
        elif stop >= 0 and (tail[:1] == b"\n" or (tail[:1] == b"\r" and len(tail) > 1)):
            # No CRC (DSMR 2.2/3, D0 pushes); the line may end in CR LF, LF or CR alone.
            tail = b""
            checksum = "none"
        elif stop >= 0 and buffer.find(CRLF, stop) >= 0:
            raise ChecksumError(f"bad CRC after '!': {bytes(buffer[stop : stop + 8])!r}")
        else:
            if len(buffer) > self.settings.max_readout:
                raise ReadoutTooLongError(
                    f"more than {self.settings.max_readout} bytes without the end of the push"
                )
            return
        raw = self._push_header + bytes(buffer[: stop + 1 + len(tail)])
        self._finish(bytes(buffer[:stop]), raw, checksum)

    def _deciphered(self) -> bool:
        """Replace a complete general-glo-ciphering frame in the buffer by its telegram.

        Smarty P1 ports send each telegram as ``DB 08 <system title> <length> 30 <counter>
        <ciphertext> <tag>`` without HDLC. Returns whether the buffer holds plain text now.
        """
        if self._plain:
            return True
        buffer = self._buffer
        start = buffer.find(bytes([GENERAL_GLO_CIPHERING, 8]))
        if start < 0:
            self._limit_junk(max(len(buffer) - 1, 0), "ciphered push", self.settings.max_readout)
            return False
        self._limit_junk(start, "ciphered push", self.settings.max_readout)
        self._junk += start
        del buffer[:start]
        try:
            length, offset = decode_length(bytes(buffer[:14]), 10)
        except ProtocolError:
            if len(buffer) < 14:
                return False
            raise
        if length > self.settings.max_readout:
            raise ReadoutTooLongError(f"a ciphered push of {length} bytes")
        if len(buffer) < offset + length:
            return False
        frame = bytes(buffer[: offset + length])
        del buffer[: offset + length]
        assert self.settings.key is not None
        telegram = Ciphered.decode(frame).decrypt(self.settings.key, self.settings.authentication_key)
        if not telegram.startswith(b"/"):
            raise DecryptionError("the deciphered push is no P1 telegram: the key is wrong")
        self._plain = True
        self._buffer = bytearray(telegram) + buffer
        return True

    def _find_push_identification(self) -> bool:
        """Skip to the identification line of a push; a meter is heard from mid-telegram on.

        Everything before it (the rest of the telegram the listening started in) is
        dropped at once, so the buffer stays small; the total is still limited.
        """
        limit = self.settings.max_readout
        while True:
            start = self._buffer.find(b"/")
            if start < 0:
                self._limit_junk(len(self._buffer), "push message", limit)
                self._junk += len(self._buffer)
                self._buffer.clear()
                return False
            self._limit_junk(start, "push message", limit)
            self._junk += start
            del self._buffer[:start]
            # Some pushes end their lines in LF alone; the CRC covers the header as sent.
            end = self._buffer.find(b"\n")
            line = bytes(self._buffer[: end if end >= 0 else MAX_IDENTIFICATION + 1]).rstrip(b"\r")
            if end < 0 and len(line) <= MAX_IDENTIFICATION:
                return False
            try:
                identification = Identification.parse(line)
            except ProtocolError:
                # A ``/`` inside the previous telegram, not the start of a new one.
                self._junk += 1
                del self._buffer[:1]
                continue
            self.identification, self.mode = identification, Mode.D
            self._push_header = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            self._junk = 0
            return True

    def _finish(self, block: bytes, raw: bytes, checksum: Checksum) -> None:
        identification = self.identification
        assert identification is not None and self.mode is not None
        _check_characters(block)
        registers = parse_data_block(block, medium=infer_medium(block, identification.medium))
        check_numbers(registers)
        readout = Readout(
            identity=identification.identity,
            registers=tuple(registers),
            protocol=str(self.mode),
            baud=self.line.baud,
            checksum=checksum,
            raw=raw,
        )
        self._phase = _Phase.DONE
        self._buffer.clear()
        self._commands.append(Finished(readout))


def _check_characters(block: bytes) -> None:
    """Reject a block with a control character: a data block is printable ASCII and CR LF.

    The BCC misses two flipped bits in the same column; a control character inside the
    block is the most common trace such line noise leaves (real captures show it too).
    """
    match = _CONTROL.search(block)
    if match is not None:
        raise ChecksumError(
            f"the readout passed its check but carries control character 0x{match.group()[0]:02X} "
            f"at offset {match.start()}: line noise; the readout is discarded"
        )


def check_numbers(registers: list[Register]) -> None:
    """Reject a value that must be a number and is not (a corrupted digit, ``*`` or unit).

    A value printed with a unit is a number, and so is every time integral (OBIS value
    group D ``8``: the energy totals), with or without its unit.
    """
    for register in registers:
        if (
            register.obis.is_time_integral
            and register.value is not None
            and not isinstance(register.value, Decimal)
        ):
            raise ChecksumError(
                f"{register.obis} carries {register.value!r}, which is not a number: the readout is "
                "corrupted and is discarded"
            )
        for value in register.values:
            if value.unit is not None and value.value is not None and not isinstance(value.value, Decimal):
                raise ChecksumError(
                    f"{register.obis} carries {value.value!r} with unit {value.unit}, which is not a "
                    "number: the readout is corrupted and is discarded"
                )


def step_down(settings: SessionSettings, failed_baud: int) -> SessionSettings | None:
    """Return settings for a retry after a failure at ``failed_baud``: one mode C rate lower.

    Returns ``None`` when there is nothing lower to try (the failure happened at 300 Bd,
    on a fixed-rate line, or in a push mode where the meter chooses the rate).
    """
    if settings.fixed_baud is not None or settings.protocol is Protocol.MODE_D:
        return None
    lower = [rate for rate in BAUD_MODE_C.values() if rate < min(failed_baud, settings.max_baud)]
    if not lower:
        return None
    return replace(settings, max_baud=max(lower))


__all__ = [
    "Command",
    "Finished",
    "Framing",
    "LineSettings",
    "Protocol",
    "Receive",
    "Session",
    "SessionSettings",
    "SwitchLine",
    "Transmit",
    "Wait",
    "check_numbers",
    "first_byte_allowance",
    "step_down",
]
