"""The serial link on serialx: local tty, ``socket://``, ``rfc2217://``, ``esphome://``.

What differs between the serialx releases Home Assistant pins is in ``serialx_compat.py``.

All I/O is asynchronous; serialx runs the blocking termios calls in the executor, except a
rate switch on a local tty, which the link makes in the event loop (see ``Link.switch``). The link
knows what the line can do (switch rate or not) and how long bytes take to leave it; the
protocol decisions stay in the sans-IO session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
import errno
import logging
import os
import termios
import time
from typing import Final, Self

import serialx

from .errors import BridgeRefusedError, ConnectionLostError, PortError
from .line import Framing, LineSettings
from .parity import ParityCheck, ParityDecoder, with_even_parity
from .rfc2217 import transport_for
from .serialx_compat import reconfigure, redact_uri, tty_switch, write

_LOGGER = logging.getLogger(__name__)

_FIXED_RATE_SCHEMES: Final = ("socket://", "tcp://")
"""Raw TCP bridges forward bytes only; the rate of their serial side cannot be changed."""
_READ_SIZE: Final = 4096
_BRIDGE_REFUSALS: Final = (b"Device open failure", b"Port's device already in use")
"""What ser2net writes, as data, to a client it cannot connect to its device, before closing."""
_HUNG_UP: Final = frozenset({errno.ECONNRESET, errno.EPIPE})

_SERIALX_FRAMING: Final = {
    Framing.SEVEN_E_ONE: (7, serialx.Parity.EVEN, serialx.StopBits.ONE),
    Framing.SEVEN_E_TWO: (7, serialx.Parity.EVEN, serialx.StopBits.TWO),
    Framing.EIGHT_N_ONE: (8, serialx.Parity.NONE, serialx.StopBits.ONE),
    Framing.EIGHT_N_TWO: (8, serialx.Parity.NONE, serialx.StopBits.TWO),
    Framing.EIGHT_E_ONE: (8, serialx.Parity.EVEN, serialx.StopBits.ONE),
}


RECORDING_LIMIT: Final = 64 * 1024
"""Bytes a recording keeps per direction."""


@dataclass
class Recording:
    """The bytes every link opened in one context sent and received, as they were on the wire."""

    sent: bytearray = field(default_factory=bytearray)
    received: bytearray = field(default_factory=bytearray)

    def add(self, buffer: bytearray, data: bytes) -> None:
        """Append ``data`` to ``buffer`` up to the limit."""
        buffer += data[: max(RECORDING_LIMIT - len(buffer), 0)]


_RECORDING: ContextVar[Recording | None] = ContextVar("link_recording", default=None)


@contextmanager
def recording() -> Iterator[Recording]:
    """Record what every link sends and receives inside the block (in this task).

    The probe uses it to show the evidence of each attempt, whichever family's reader made it.
    """
    current = Recording()
    token = _RECORDING.set(current)
    try:
        yield current
    finally:
        _RECORDING.reset(token)


def can_switch_rate(port: str) -> bool:
    """Whether the rate of the port can be changed from here (not through raw TCP)."""
    return not port.lower().startswith(_FIXED_RATE_SCHEMES)


def is_network_port(port: str) -> bool:
    """Whether the port is reached over a network (a URL), not a local device."""
    return "://" in port


def describe_port(port: str) -> str:
    """Return the port for messages, with credentials in a URL hidden."""
    return redact_uri(port) if is_network_port(port) else port


class Link:
    """An open serial connection with the line settings the session asked for."""

    def __init__(self, port: str, line: LineSettings, *, software_parity: bool = False) -> None:
        """Remember where to connect; ``open`` connects.

        ``software_parity``: the port is a raw bridge whose serial side runs 8N1 on a 7E1
        line, so parity bits are added and checked here.
        """
        self.port = port
        self.line = line
        self.can_switch = can_switch_rate(port)
        self.software_parity = software_parity
        self._serial: serialx.AsyncSerial | None = None
        self._heard_from_port = False
        self._decoder = ParityDecoder(ParityCheck.NONE)

    @property
    def parity_check(self) -> ParityCheck:
        """Who checks the parity of the characters being received now."""
        return self._decoder.check

    async def open(self) -> None:
        """Open the port at the initial line settings, mapping every failure to ``PortError``."""
        try:
            self._serial = await self._open_at(self.line)
        except OSError as err:
            if err.errno != errno.EINVAL or is_network_port(self.port):
                raise self._port_error(err) from err
            # Some tty drivers (Linux ptys seen on 6.x kernels) refuse a tcsetattr that keeps
            # the rate and sets 7 data bits or parity. A different rate first always passes.
            _LOGGER.debug("%s refused %s; opening through a neutral rate", self.port, self.line)
            try:
                self._serial = await self._open_at(_neutral(self.line))
                await _reconfigure(self._serial, self.line)
            except (OSError, serialx.SerialException) as retry_err:
                await self.close()
                raise self._port_error(
                    retry_err, f" (the port rejected {self.line.baud} Bd {self.line.framing})"
                ) from retry_err
        except serialx.SerialException as err:
            raise self._port_error(err) from err
        self._heard_from_port = False
        await self._check_parity()

    async def _open_at(self, line: LineSettings) -> serialx.AsyncSerial:
        byte_size, parity, stopbits = _SERIALX_FRAMING[line.framing]
        serial = serialx.async_serial_for_url(
            self.port,
            baudrate=line.baud,
            byte_size=byte_size,
            parity=parity,
            stopbits=stopbits,
            exclusive=True,
            transport_cls=transport_for(self.port),
        )
        await serial.open()
        return serial

    async def write(self, data: bytes) -> float:
        """Send bytes; return the monotonic time at which the last one has left the line."""
        serial = self._require()
        started = time.monotonic()
        if self._decoder.check is ParityCheck.SOFTWARE:
            data = with_even_parity(data)
        try:
            await write(serial, data)
        except (OSError, serialx.SerialException) as err:
            raise self._lost(err, " while sending") from err
        if (current := _RECORDING.get()) is not None:
            current.add(current.sent, data)
        return started + len(data) * self.line.character_time()

    async def read(self, timeout: float) -> bytes:
        """Return the bytes that arrive within ``timeout`` seconds (``b""`` if none did)."""
        serial = self._require()
        try:
            async with asyncio.timeout(max(timeout, 0)):
                data = await serial.read(_READ_SIZE)
        except TimeoutError:
            return b""
        except (OSError, serialx.SerialException) as err:
            raise self._lost(err, " while receiving") from err
        if not data:
            raise ConnectionLostError(
                describe_port(self.port), "the other end closed it (port unplugged or bridge gone)"
            )
        if (current := _RECORDING.get()) is not None:
            current.add(current.received, data)
        if not self._heard_from_port:
            self._heard_from_port = True
            self._check_bridge_refusal(data)
        return self._decoder.decode(data)

    def _check_bridge_refusal(self, data: bytes) -> None:
        """Raise the bridge's own words when the first bytes are a ser2net refusal, not meter data."""
        if is_network_port(self.port) and data.lstrip().startswith(_BRIDGE_REFUSALS):
            text = data.strip().split(b"\r\n", 1)[0].decode("ascii", "replace")
            raise BridgeRefusedError(describe_port(self.port), text)

    async def switch(self, line: LineSettings) -> None:
        """Change rate and framing (a no-op on a fixed-rate bridge).

        On a local tty the change is one ``tcsetattr`` (no wait for the output to drain),
        made here at once rather than through the executor: the executor's queue is shared
        with other work and delays it by tens of ms on a busy host, while a 20 ms meter
        leaves the switch a 20 ms window. A bridge gets the change as a message.
        """
        if line == self.line:
            return
        self.line = line
        if self.can_switch:
            try:
                if is_network_port(self.port):
                    await _reconfigure(self._require(), line)
                else:
                    try:
                        _tty_switch(self._require(), line)()
                    except OSError as err:
                        if err.errno != errno.EINVAL:
                            raise
                        # The pty quirk of ``open``: a change of framing alone at the same rate.
                        _tty_switch(self._require(), _neutral(line))()
                        _tty_switch(self._require(), line)()
            except (OSError, serialx.SerialException) as err:
                raise self._lost(err, f" while switching to {line.baud} Bd {line.framing}") from err
        await self._check_parity()

    async def _check_parity(self) -> None:
        """Choose who checks character parity on the current line (a switch resets the UART's flags)."""
        check = ParityCheck.NONE
        if self.line.framing in (Framing.SEVEN_E_ONE, Framing.SEVEN_E_TWO):
            if self.software_parity:
                check = ParityCheck.SOFTWARE
            elif "://" not in self.port and await asyncio.get_running_loop().run_in_executor(
                None, _mark_parity_errors, self.port
            ):
                check = ParityCheck.MARKED
        self._decoder = ParityDecoder(check)

    async def close(self) -> None:
        """Close the port; safe to call twice and after a failure."""
        serial, self._serial = self._serial, None
        if serial is None:
            return
        try:
            await serial.close()
        except (OSError, serialx.SerialException) as err:  # the port may already be gone
            _LOGGER.debug("closing %s: %s", describe_port(self.port), err)

    async def __aenter__(self) -> Self:
        """Open on entering the context."""
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close on leaving the context."""
        await self.close()

    def _require(self) -> serialx.AsyncSerial:
        if self._serial is None:
            raise PortError(describe_port(self.port), "the port is not open")
        return self._serial

    def _port_error(self, err: BaseException, context: str = "") -> PortError:
        reason = _reason(err)
        if isinstance(err, OSError) and err.errno in _HUNG_UP and is_network_port(self.port):
            # ser2net with its device missing or taken closes a telnet client at once.
            reason += " (the bridge hung up at once: is its serial device there and free?)"
        elif isinstance(err, OSError) and err.errno == errno.ECONNREFUSED:
            reason += " (nothing listens there: is the bridge running, and is it this port?)"
        return PortError(describe_port(self.port), f"{reason}{context}")

    def _lost(self, err: BaseException, context: str) -> ConnectionLostError:
        return ConnectionLostError(describe_port(self.port), f"{_reason(err)}{context}")


def _neutral(line: LineSettings) -> LineSettings:
    """Return a line every tty accepts, at another rate than ``line``'s."""
    return LineSettings(19200 if line.baud == 9600 else 9600, Framing.EIGHT_N_ONE)


def _reason(err: BaseException) -> str:
    reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__
    if isinstance(err, OSError) and err.errno is not None:
        reason = f"[Errno {err.errno}] {reason}"
    return reason


def _mark_parity_errors(path: str) -> bool:
    """Turn on the UART's input parity check with error marking; False where the tty refuses.

    serialx leaves ``c_iflag`` empty (no parity check: a corrupted character is decoded as
    if it were right). Termios flags belong to the device, so a second descriptor can set
    them for the one serialx holds.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as err:
        _LOGGER.debug("parity check on %s not available: %s", path, err)
        return False
    wanted = termios.INPCK | termios.PARMRK
    try:
        attributes = termios.tcgetattr(descriptor)
        attributes[0] = (attributes[0] | wanted) & ~(termios.IGNPAR | termios.ISTRIP)
        try:
            termios.tcsetattr(descriptor, termios.TCSANOW, attributes)
        except termios.error as err:
            # Linux ptys apply the change and still report EINVAL: believe the read-back.
            _LOGGER.debug("setting the parity check on %s reported %s", path, err)
        enabled = termios.tcgetattr(descriptor)[0] & wanted == wanted
    except (OSError, termios.error) as err:
        _LOGGER.debug("parity check on %s not available: %s", path, err)
        return False
    finally:
        os.close(descriptor)
    if not enabled:
        _LOGGER.debug("%s does not keep its parity check: the BCC and the spike guard remain", path)
    return bool(enabled)


async def _reconfigure(serial: serialx.AsyncSerial, line: LineSettings) -> None:
    byte_size, parity, stopbits = _SERIALX_FRAMING[line.framing]
    await reconfigure(serial, baudrate=line.baud, byte_size=byte_size, parity=parity, stopbits=stopbits)


def _tty_switch(serial: serialx.AsyncSerial, line: LineSettings) -> Callable[[], None]:
    byte_size, parity, stopbits = _SERIALX_FRAMING[line.framing]
    return tty_switch(serial, baudrate=line.baud, byte_size=byte_size, parity=parity, stopbits=stopbits)
