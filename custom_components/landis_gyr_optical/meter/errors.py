"""Typed errors of the meter protocol core.

Each error maps one-to-one onto a config-flow error key, a CLI exit code and a repair
issue, so it carries the key and a message a user can act on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .readout import TraceEntry


class MeterError(Exception):
    """Base class of everything the protocol core raises on purpose."""

    key = "unknown"
    exit_code = 1
    trace: tuple[TraceEntry, ...] = ()
    """What went over the line in the read that failed (set by the reader that raises it)."""


class PortError(MeterError):
    """The serial port or network endpoint could not be opened or was lost."""

    key = "cannot_open_port"
    exit_code = 5

    def __init__(self, port: str, reason: str) -> None:
        """Name the port and the operating system's reason."""
        super().__init__(f"cannot open {port}: {reason}")
        self.port = port
        self.reason = reason


class ConnectionLostError(PortError):
    """The port was open and went away during the read (head unplugged, bridge gone or restarted)."""

    key = "connection_lost"

    def __init__(self, port: str, reason: str) -> None:
        """Name the port and what the operating system or the bridge said."""
        super().__init__(port, reason)
        self.args = (f"the connection to {port} was lost during the read: {reason}",)


class BridgeRefusedError(PortError):
    """A network bridge took the connection but could not open its own serial device.

    ser2net writes its reason (``Device open failure ...``) as data before it hangs up;
    ``words`` keeps that line.
    """

    key = "bridge_refused"

    def __init__(self, port: str, words: str) -> None:
        """Name the port and what the bridge said."""
        super().__init__(port, f"the bridge says {words!r}")
        self.words = words


class NoAnswerError(MeterError):
    """The meter stayed silent, or stopped sending before the message was complete."""

    key = "no_answer"
    exit_code = 3


class ProtocolError(MeterError):
    """Bytes arrived but do not form the message the protocol expects."""

    key = "unsupported_response"
    exit_code = 4


class ChecksumError(ProtocolError):
    """A message arrived whole but its block check character (or CRC) is wrong."""

    key = "checksum_error"


class ParityError(ChecksumError):
    """The UART (or the software check of an 8-bit stream) flagged a character."""


class ReadoutTooLongError(ProtocolError):
    """More bytes than any sane readout arrived without an end: the stream is garbage."""


class UnsupportedModeError(ProtocolError):
    """The meter answered in a mode or at a rate this client was not allowed to use."""

    key = "unsupported_mode"


class ProfileUnavailableError(ProtocolError):
    """The meter refused programming mode or the load profile, or keeps no load profile."""

    key = "profile_unavailable"
