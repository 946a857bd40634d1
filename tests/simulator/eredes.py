"""A simulated E-Redes HAN meter: a Modbus RTU slave (DEF-C44-509) behind a pty or raw TCP.

The slave keeps real line time: a request counts as arrived after its wire time, the reply
starts after the meter's reaction time and is written paced at the line rate. It answers
function 0x04 with the objects of its profile (one address, one object of 1..12 bytes,
padded to an even byte count), 0x81 for registers the access profile refuses, 0x02 for
registers the meter does not have. In ``two_stop_bits`` mode it ignores a client whose
line is not set to 8N2 (a pty shows the client's CSTOPB), as the ZIV meters do.

```python
async with PtyHanMeter(three_phase_profile()) as meter:
    readout = await read_eredes(meter.port, HanSettings(request_pause=0.01))
```
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
import errno
import os
import termios
import time
from typing import Self

from custom_components.landis_gyr_optical.meter.eredes_han.modbus import (
    MAX_DATA,
    READ_INPUT_REGISTERS,
    REQUEST_LENGTH,
    ExceptionCode,
    Request,
    encode_exception,
    encode_reply,
)
from custom_components.landis_gyr_optical.meter.eredes_han.registers import (
    BY_ADDRESS,
    Phases,
    encode_block,
    encode_object,
)
from custom_components.landis_gyr_optical.meter.errors import ProtocolError

TICK = 0.005
"""Seconds between two writes of a paced reply."""
POLL_INTERVAL = 0.02
_READ_SIZE = 4096
_SPEEDS = {getattr(termios, f"B{rate}"): rate for rate in (1200, 2400, 4800, 9600, 19200, 38400)}

type ObjectValue = int | str | datetime | bytes


def _model(code: int, year: int) -> bytes:
    return code.to_bytes(4, "big") + year.to_bytes(2, "big")


_COMMON_VALUES: dict[int, ObjectValue] = {
    0x0001: datetime(2025, 3, 14, 10, 22, 5, tzinfo=UTC),
    0x0002: "0123456789",
    0x0004: "01.02",
    0x0005: "03.04",
    0x0006: "05.06",
    0x000B: 2,
    **{0x000C + rate: 6900 for rate in range(6)},
    0x0016: 1_234_567,
    0x0017: 89_012,
    0x0018: 11_000,
    0x0019: 12_000,
    0x001A: 13_000,
    0x001B: 14_000,
    0x0026: 400_100,
    0x0027: 300_200,
    0x0028: 534_267,
    0x0029: 0,
    0x002A: 0,
    0x002B: 0,
    0x002C: 1_234_567,
    0x002D: 40_000,
    0x002E: 20_000,
    0x002F: 29_012,
    0x0030: 0,
    0x0031: 0,
    0x0032: 0,
    0x0033: 89_012,
    0x006C: 2301,
    0x006D: 52,
    0x0079: 1180,
    0x007A: 0,
    0x007B: 987,
    0x007F: 500,
    0x00B4: 3,
    0x00B5: 1,
}

_THREE_PHASE_VALUES: dict[int, ObjectValue] = {
    0x001C: 400_000,
    0x001D: 500_000,
    0x001E: 334_567,
    0x001F: 30_000,
    0x0020: 29_000,
    0x0021: 30_012,
    0x006E: 2315,
    0x006F: 31,
    0x0070: 2298,
    0x0071: 12,
    0x0072: 95,
    0x0073: 1180,
    0x0074: 0,
    0x0075: 700,
    0x0076: 0,
    0x0077: 270,
    0x0078: 0,
    0x0079: 2150,
    0x007C: 991,
    0x007D: 975,
    0x007E: 962,
}


@dataclass(frozen=True, slots=True)
class HanProfile:
    """What the simulated meter holds and how it behaves on the line."""

    values: dict[int, ObjectValue]
    three_phase: bool
    slave: int = 1
    baud: int = 9600
    reaction_time: float = 0.02
    """Seconds from the end of a request to the first byte of the reply (``slow``: 1.5 s)."""
    denied: frozenset[int] = frozenset()
    """Addresses the access profile refuses (0x81)."""
    two_stop_bits: bool = False
    """Answer only a client set to 8N2 (ZIV, 2017 edition)."""

    def with_values(self, **changes: ObjectValue) -> HanProfile:
        """Return the profile with objects changed, keyed ``x0016=...``."""
        values = dict(self.values)
        for key, value in changes.items():
            values[int(key[1:], 16)] = value
        return replace(self, values=values)


def three_phase_profile(**options: object) -> HanProfile:
    """A Landis+Gyr three-phase meter (model code 6754306)."""
    values = {**_COMMON_VALUES, **_THREE_PHASE_VALUES, 0x0003: _model(6754306, 2019)}
    return replace(HanProfile(values=values, three_phase=True), **options)  # type: ignore[arg-type]


def single_phase_profile(**options: object) -> HanProfile:
    """A Landis+Gyr single-phase meter (model code 6750210): no 3φ registers (0x02)."""
    values = {**_COMMON_VALUES, 0x0003: _model(6750210, 2020)}
    return replace(HanProfile(values=values, three_phase=False), **options)  # type: ignore[arg-type]


PARTLY_REFUSED: frozenset[int] = frozenset(
    [*range(0x000C, 0x0012), *range(0x0018, 0x001C), *range(0x001C, 0x0022), *range(0x0073, 0x0079)]
)
"""A third of a three-phase poll (22 of 61 registers), refused in groups as access profiles do:
the demand-control thresholds, the reactive energies, the per-phase energies and powers."""


def partly_refused_profile(**options: object) -> HanProfile:
    """A three-phase meter whose access profile refuses ``PARTLY_REFUSED`` (0x81)."""
    return three_phase_profile(denied=PARTLY_REFUSED, **options)


def all_registers() -> frozenset[int]:
    """Every address of the map (to build a meter whose HAN access is not enabled)."""
    return frozenset(BY_ADDRESS)


def three_phase_only() -> frozenset[int]:
    """The addresses the SPEC marks three-phase only."""
    return frozenset(address for address, register in BY_ADDRESS.items() if register.phases is Phases.THREE)


def answer(profile: HanProfile, request: Request) -> bytes | None:
    """Return the meter's reply frame to a request (``None``: not addressed to it)."""
    if request.slave != profile.slave:
        return None
    if request.function != READ_INPUT_REGISTERS:
        return encode_exception(profile.slave, request.function, ExceptionCode.ILLEGAL_FUNCTION)
    addresses = range(request.address, request.address + request.quantity)
    if any(address not in profile.values or address not in BY_ADDRESS for address in addresses):
        return encode_exception(profile.slave, request.function, ExceptionCode.ILLEGAL_DATA_ADDRESS)
    if any(address in profile.denied for address in addresses):
        return encode_exception(profile.slave, request.function, ExceptionCode.ACCESS_DENIED)
    objects = [encode_object(BY_ADDRESS[address], profile.values[address]) for address in addresses]
    data = encode_block(objects)
    if len(data) > MAX_DATA:
        return encode_exception(profile.slave, request.function, ExceptionCode.ILLEGAL_DATA_VALUE)
    return encode_reply(profile.slave, request.function, data)


@dataclass(frozen=True, slots=True)
class ClientFraming:
    """What the client's end of the line is set to (``None``: the port cannot tell)."""

    baud: int
    two_stop_bits: bool | None


@dataclass(slots=True)
class _Counters:
    requests: list[Request] = field(default_factory=list)
    ignored: list[bytes] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)


class SimulatedHanMeter:
    """The slave: request framing, answers, line pacing. Subclasses provide the port."""

    port: str

    def __init__(self, profile: HanProfile) -> None:
        """Prepare the meter; the port starts in ``start`` (or ``async with``)."""
        self.profile = profile
        self.counters = _Counters()
        self.errors: list[BaseException] = []
        self.connections = 0
        self._rx = bytearray()
        self._tx_free_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def requests(self) -> list[Request]:
        """Every well-formed request received (answered or not)."""
        return self.counters.requests

    async def start(self) -> None:
        """Open the port."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop and close the port."""
        await self._stop()

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close on leaving the context."""
        await self.close()

    def _client(self) -> ClientFraming | None:
        raise NotImplementedError

    def _write_raw(self, data: bytes) -> None:
        raise NotImplementedError

    def _on_receive(self, data: bytes) -> None:
        arrived = time.monotonic()
        self._rx += data
        while len(self._rx) >= REQUEST_LENGTH:
            frame = bytes(self._rx[:REQUEST_LENGTH])
            try:
                request = Request.parse(frame)
            except ProtocolError:
                # Not a frame start: a real slave resynchronises on the next silence.
                del self._rx[0]
                continue
            del self._rx[:REQUEST_LENGTH]
            self._on_request(request, frame, arrived)

    def _on_request(self, request: Request, frame: bytes, arrived: float) -> None:
        client = self._client()
        self.counters.request_times.append(arrived)
        if client is None or client.baud != self.profile.baud:
            self.counters.ignored.append(frame)
            return
        if self.profile.two_stop_bits and client.two_stop_bits is False:
            self.counters.ignored.append(frame)
            return
        self.counters.requests.append(request)
        reply = answer(self.profile, request)
        if reply is None:
            return
        character = (11 if client.two_stop_bits else 10) / self.profile.baud
        start = arrived + REQUEST_LENGTH * character + self.profile.reaction_time
        self._spawn(self._transmit(reply, start, character))

    async def _transmit(self, data: bytes, start: float, character: float) -> None:
        start = max(start, self._tx_free_at)
        self._tx_free_at = start + len(data) * character
        sent = 0
        while sent < len(data):
            now = time.monotonic()
            if now < start:
                await asyncio.sleep(start - now)
                continue
            due = min(len(data), int((now - start) / character) + 1)
            if due > sent:
                try:
                    self._write_raw(data[sent:due])
                except OSError:
                    return
                sent = due
            if sent < len(data):
                await asyncio.sleep(TICK)
        self.counters.replies.append(data)

    def _spawn(self, coro: object) -> None:
        assert asyncio.iscoroutine(coro)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]

    async def _stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


class PtyHanMeter(SimulatedHanMeter):
    """The meter on the master side of a pseudo terminal; clients open ``port``.

    After each client the pty is reset to 9600 8N1 (Linux ptys refuse some reopenings
    otherwise) and the meter waits for the next one.
    """

    def __init__(self, profile: HanProfile) -> None:
        """Prepare; ``start`` creates the pty."""
        super().__init__(profile)
        self.port = ""
        self._master: int | None = None
        self._attached = False
        self._poll_handle: asyncio.TimerHandle | None = None

    async def wait_until_detached(self, timeout: float = 2.0) -> None:
        """Wait until the meter has seen the client close the pty (it notices on its next read)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._attached:
            if loop.time() > deadline:
                raise TimeoutError(f"the meter did not see the close within {timeout} s")
            await asyncio.sleep(0.01)

    async def start(self) -> None:
        """Create the pty and wait for a client."""
        master, slave = os.openpty()
        self.port = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self._reset_pty()
        self._poll()

    async def close(self) -> None:
        """Stop serving and remove the pty."""
        await self._stop()
        if self._poll_handle is not None:
            self._poll_handle.cancel()
        master, self._master = self._master, None
        if master is not None:
            if self._attached:
                asyncio.get_running_loop().remove_reader(master)
            os.close(master)

    def _poll(self) -> None:
        self._poll_handle = None
        if self._master is None:
            return
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            data = b""
        except OSError as err:
            if err.errno != errno.EIO:
                raise
            self._poll_handle = asyncio.get_running_loop().call_later(POLL_INTERVAL, self._poll)
            return
        self._attached = True
        self.connections += 1
        asyncio.get_running_loop().add_reader(self._master, self._readable)
        if data:
            self._on_receive(data)

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            asyncio.get_running_loop().remove_reader(self._master)
            self._attached = False
            self._rx.clear()
            self._reset_pty()
            self._poll_handle = asyncio.get_running_loop().call_later(POLL_INTERVAL, self._poll)
            return
        if data:
            self._on_receive(data)

    def _reset_pty(self) -> None:
        assert self._master is not None
        attributes = termios.tcgetattr(self._master)
        attributes[2] = (attributes[2] & ~(termios.CSIZE | termios.PARENB | termios.CSTOPB)) | termios.CS8
        attributes[4] = attributes[5] = termios.B9600
        termios.tcsetattr(self._master, termios.TCSANOW, attributes)

    def _client(self) -> ClientFraming | None:
        if self._master is None or not self._attached:
            return None
        try:
            attributes = termios.tcgetattr(self._master)
        except termios.error:
            return None
        baud = _SPEEDS.get(attributes[4])
        if baud is None:
            return None
        return ClientFraming(baud, bool(attributes[2] & termios.CSTOPB))

    def _write_raw(self, data: bytes) -> None:
        if self._master is None:
            raise OSError(errno.EBADF, "the pty is closed")
        os.write(self._master, data)


class TcpHanMeter(SimulatedHanMeter):
    """The meter behind a raw TCP serial bridge (ser2net raw): ``socket://127.0.0.1:N``.

    The bridge's serial side is fixed at the profile's rate and framing, so the client's
    settings do not matter: a ``two_stop_bits`` meter behind a bridge set to 8N2 answers.
    """

    def __init__(self, profile: HanProfile, *, port: int = 0) -> None:
        """Prepare; ``port=0`` picks a free TCP port."""
        super().__init__(profile)
        self.port = ""
        self._tcp_port = port
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        """Listen for the client."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._tcp_port)
        self.port = f"socket://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        """Stop listening and drop the client."""
        await self._stop()
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            writer.close()
            return
        self._writer = writer
        self.connections += 1
        try:
            while data := await reader.read(_READ_SIZE):
                self._on_receive(data)
        except ConnectionError:
            pass
        finally:
            self._writer = None
            self._rx.clear()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _client(self) -> ClientFraming | None:
        if self._writer is None or self._writer.is_closing():
            return None
        return ClientFraming(self.profile.baud, None)

    def _write_raw(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            raise OSError(errno.EPIPE, "the TCP client is gone")
        self._writer.write(data)
