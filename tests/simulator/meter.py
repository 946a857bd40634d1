"""A simulated IEC 62056-21 meter behind an emulated serial line.

The meter keeps real line time: it writes its bytes paced at its current rate (10 bits
per character, 11 for 7E2) on a monotonic schedule, considers the client's bytes arrived
only after their wire time, and answers after its reaction time. Before every chunk it
looks at the rate the client listens at; when the two differ the client "hears garbage",
exactly what a client that forgot to switch (or switched too late) gets from a real
meter. A request sent at the wrong rate is garbage to the meter and is ignored.

``SimulatedMeter`` is the meter; ``PtyMeter`` and ``TcpMeter`` (in ``ports``) put it
behind a pseudo terminal or a raw TCP bridge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass, replace
from enum import StrEnum
import logging
import random
from typing import Any, Self

from custom_components.landis_gyr_optical.meter.crc import crc16_arc
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    ACK,
    BAUD_MODE_B,
    BAUD_MODE_C,
    BREAK,
    CRLF,
    ETX,
    INITIAL_BAUD,
    MODE_D_BAUD,
    NAK,
    SOH,
    STX,
    Mode,
    bcc,
    encode_data_message,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings

from .profile import Faults, MeterProfile
from .recording import blocks, frame, parse_range
from .transport import Delays, Transport

_LOGGER = logging.getLogger(__name__)

TICK = 0.005
"""Seconds between two writes of a paced transmission (all bytes due are written at once)."""
IDLE_TIMEOUT = 1.5
"""A meter waiting for the option select drops the session after this much silence."""
WAKE_UP_MINIMUM = 40
"""NUL characters a battery meter needs to wake up."""
WAKE_UP_VALIDITY = 5.0
"""Seconds a wake-up keeps a battery meter listening for a sign-on."""
LINE_POLL = 0.002
"""How often the client's line settings are sampled when a transport delays their changes."""
_MAX_RX = 256


class MeterState(StrEnum):
    """Where the meter is in a session."""

    IDLE = "idle"
    ANSWERING = "answering"
    AWAIT_OPTION = "await_option"
    PROGRAMMING = "programming"


@dataclass(frozen=True, slots=True)
class ClientLine:
    """What the other end of the line listens at.

    ``framing`` is ``None`` when the port cannot tell: Linux ptys accept only 8N1 and
    report it whatever the client asked for, so there only the rate is compared.
    """

    baud: int
    framing: Framing | None = None


@dataclass(frozen=True, slots=True)
class MeterEvent:
    """One thing the meter did or noticed (for assertions and debugging)."""

    at: float
    kind: str
    detail: str = ""
    baud: int | None = None


def garbage(data: bytes) -> bytes:
    """Return what a receiver at the wrong rate makes of ``data``: same length, never ASCII.

    Deterministic (byte by byte, so it does not depend on how the bytes were chunked),
    and with the high bit set so that no framing character (``/``, STX, ETX, CR LF) can
    appear by chance.
    """
    return bytes(0x80 | ((byte * 37 + 11) & 0x7F) for byte in data)


def _character_format(framing: Framing) -> str:
    """Return data bits and parity; the number of stop bits does not matter to a receiver."""
    return "8N" if framing is Framing.EIGHT_N_ONE else "7E"


def push_message(profile: MeterProfile, *, bad_checksum: bool = False) -> bytes:
    """Return a mode D push of the profile: identification and data, framed as configured."""
    identification = profile.identification.encode()
    block = profile.data_block
    if profile.push_checksum == "bcc":
        return identification + data_message(profile, bad_bcc=bad_checksum)
    if profile.push_checksum == "crc16":
        head = identification + block + b"!"
        crc = crc16_arc(head) ^ (0x0101 if bad_checksum else 0)
        return head + f"{crc:04X}".encode("ascii") + CRLF
    return identification + block + b"!" + CRLF


def data_message(profile: MeterProfile, *, bad_bcc: bool = False) -> bytes:
    """Return the data message of the profile (``STX block ! CR LF ETX BCC``)."""
    message = encode_data_message(profile.data_block)
    if bad_bcc:
        message = message[:-1] + bytes([message[-1] ^ 0x01])
    return message


def frame_command(command: bytes, data: bytes) -> bytes:
    """Return ``SOH command STX data ETX BCC`` (the meter's P0 prompt has this shape too)."""
    body = command + bytes([STX]) + data + bytes([ETX])
    return bytes([SOH]) + body + bytes([bcc(body)])


class SimulatedMeter:
    """The meter: request parsing, answers, line pacing, faults and counters.

    Subclasses connect it to a port: they call ``_on_connect``, ``_on_receive`` and
    ``_on_disconnect`` and implement ``_client_line`` and ``_write_raw``.
    """

    port: str

    def __init__(self, profile: MeterProfile, *, transport: Transport | None = None) -> None:
        """Prepare the meter; the port starts in ``start`` (or ``async with``).

        ``transport`` puts latency and jitter between the client and the meter's line.
        """
        self.profile = profile
        self.transport = transport or Transport()
        self._delays = Delays(self.transport)
        self._line_changes: list[tuple[float, ClientLine | None]] = []
        self._line_poll: asyncio.TimerHandle | None = None
        self.faults = profile.faults
        self.sessions = 0
        """Sign-on requests answered (mode D: pushes started)."""
        self.closes = 0
        """Times the client closed the port (or the TCP connection)."""
        self.readouts_sent = 0
        """Data messages (or pushes) sent completely, good checksum or not."""
        self.requests: list[bytes] = []
        """Every sign-on and option select received, in order (ignored ones too)."""
        self.commands: list[bytes] = []
        """Every programming-mode command message received (``SOH`` ... BCC), in order."""
        self._pending_blocks: list[bytes] = []
        self._authorised = False
        self.data_bauds: list[int] = []
        """The rate of every data message (or push) the meter started to send."""
        self.events: list[MeterEvent] = []
        self.errors: list[BaseException] = []
        """Unexpected exceptions inside the meter (a test should find this empty)."""
        self.line = self._initial_line()
        self.state = MeterState.IDLE
        self._rx = bytearray()
        self._rx_free_at = 0.0
        self._tx_free_at = 0.0
        self._last_activity = 0.0
        self._connected = False
        self._task: asyncio.Task[None] | None = None
        self._push_task: asyncio.Task[None] | None = None
        self._handles: set[asyncio.TimerHandle] = set()
        self._silence: asyncio.TimerHandle | None = None
        self._rng = random.Random(self.faults.seed)
        self._faulty_sessions = 0
        self._session_faults = Faults()
        self._nul_run = 0
        self._woken_at = float("-inf")

    # --- public interface ----------------------------------------------------------------

    @property
    def last_request(self) -> bytes | None:
        """The last sign-on or option select received."""
        return self.requests[-1] if self.requests else None

    @property
    def last_data_baud(self) -> int | None:
        """The rate the last data message (or push) was sent at."""
        return self.data_bauds[-1] if self.data_bauds else None

    def set_profile(self, profile: MeterProfile) -> None:
        """Become another meter (its faults included); a running session is dropped."""
        self.profile = profile
        self.set_faults(profile.faults)
        self._reset("profile changed")
        if self._connected:
            self._start_push()

    def set_faults(self, faults: Faults) -> None:
        """Change the faults; a ``sessions`` limit counts from now."""
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._faulty_sessions = 0

    async def wait_until(self, condition: Callable[[], object], timeout: float = 2.0) -> None:
        """Wait until ``condition()`` is true (e.g. ``lambda: meter.closes == 1``).

        The meter notices a client closing the pty within its poll interval, so tests
        that count closes wait for it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError(f"the meter did not get there within {timeout} s")
            await asyncio.sleep(0.01)

    async def start(self) -> None:
        """Open the port."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop everything and close the port."""
        await self._stop_activity()

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close on leaving the context."""
        await self.close()

    # --- port interface (implemented by the port classes) --------------------------------

    def _client_line(self) -> ClientLine | None:
        """Return the line the other end listens at; ``None`` when nobody is there."""
        raise NotImplementedError

    def _write_raw(self, data: bytes) -> None:
        """Put bytes on the line now (raises ``OSError`` when the line is gone)."""
        raise NotImplementedError

    def _on_connect(self) -> None:
        self._connected = True
        self._event("connect")
        self._watch_client_line()
        self._forget_arrivals()
        self._reset("client connected")
        self._start_push()

    def _on_disconnect(self) -> None:
        self._stop_watching_client_line()
        self._connected = False
        self.closes += 1
        self._event("close")
        self._cancel_push()
        self._forget_arrivals()
        self._reset("client closed the port")

    def _on_receive(self, data: bytes) -> None:
        if self.transport.direct:
            self._at_uart(data)
            return
        loop = asyncio.get_running_loop()
        self._call_at(self._delays.to_meter(loop.time()), self._at_uart, data)

    def _at_uart(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.faults.echo:
            self._write(data)
        client = self._line_at_meter()
        if client is None:
            return
        heard = self._hears(client, self.line)
        start = max(now, self._rx_free_at)
        end = start + len(data) * self.line.framing.bits_per_character / client.baud
        self._rx_free_at = end
        if not heard:
            self._event("garbage received", f"client at {client.baud} Bd", self.line.baud)
        self._call_at(end, self._received, data if heard else None, end, self.line)

    # --- the client's line as the meter's UART sees it ------------------------------------

    def _line_at_meter(self) -> ClientLine | None:
        """The client's line settings as they apply at the meter's end now."""
        if not self.transport.delays_line or not self._line_changes:
            return self._client_line()
        now = asyncio.get_running_loop().time()
        current = self._line_changes[0][1]
        for effective, line in self._line_changes:
            if effective > now:
                break
            current = line
        return current

    def _watch_client_line(self) -> None:
        self._delays = Delays(self.transport)
        if not self.transport.delays_line:
            return
        self._line_changes = [(float("-inf"), self._client_line())]
        self._line_poll = asyncio.get_running_loop().call_later(LINE_POLL, self._sample_client_line)

    def _sample_client_line(self) -> None:
        loop = asyncio.get_running_loop()
        line = self._client_line()
        if line != self._line_changes[-1][1]:
            self._line_changes.append((self._delays.switch_to_meter(loop.time()), line))
            del self._line_changes[:-8]
        self._line_poll = loop.call_later(LINE_POLL, self._sample_client_line)

    def _stop_watching_client_line(self) -> None:
        if self._line_poll is not None:
            self._line_poll.cancel()
            self._line_poll = None

    # --- receiving -----------------------------------------------------------------------

    def _received(self, data: bytes | None, end: float, line: LineSettings) -> None:
        client = self._line_at_meter()
        if data is not None and (client is None or not self._hears(client, line)):
            # The client changed its rate before its bytes had left the line: their tail is garbage.
            self._event("garbage received", "client switched before its request had left the line", line.baud)
            data = None
        self._arrived(data, end)

    def _arrived(self, data: bytes | None, end: float) -> None:
        self._last_activity = max(self._last_activity, end)
        if data is None:
            self._rx.clear()
        else:
            self._wake_up(data, end)
            self._rx += data.replace(b"\x00", b"")
            self._parse(end)
        self._arm_silence()

    def _wake_up(self, data: bytes, end: float) -> None:
        for byte in data:
            self._nul_run = self._nul_run + 1 if byte == 0 else 0
            if self._nul_run >= WAKE_UP_MINIMUM:
                self._woken_at = end

    def _parse(self, end: float) -> None:
        stop = self._rx.find(BREAK)
        if stop >= 0:
            del self._rx[: stop + len(BREAK)]
            self._event("break")
            self._reset("break")
        while True:
            if self.profile.mode is Mode.D or self.state is MeterState.ANSWERING:
                self._rx.clear()
                return
            if self.state is MeterState.PROGRAMMING:
                self._parse_programming(end)
                return
            if self.state is MeterState.IDLE:
                request = self._take_sign_on()
                if request is None:
                    return
                self._on_sign_on(request, end)
            else:
                message = self._take_option_select()
                if message is None:
                    return
                self._on_option_select(message, end)

    def _take_sign_on(self) -> bytes | None:
        start = self._rx.find(b"/?")
        if start < 0:
            keep = self._rx[-1:] == b"/"
            del self._rx[: len(self._rx) - 1 if keep else len(self._rx)]
            return None
        stop = self._rx.find(b"!" + CRLF, start)
        if stop < 0:
            if len(self._rx) - start > _MAX_RX:
                self._rx.clear()
            return None
        request = bytes(self._rx[start : stop + 3])
        del self._rx[: stop + 3]
        return request

    def _take_option_select(self) -> bytes | None:
        start = self._rx.find(bytes([ACK]))
        if start < 0:
            self._rx.clear()
            return None
        if len(self._rx) - start < 6:
            return None
        message = bytes(self._rx[start : start + 6])
        del self._rx[: start + 6]
        return message

    # --- answering -----------------------------------------------------------------------

    def _on_sign_on(self, request: bytes, end: float) -> None:
        self.requests.append(request)
        self._event("sign-on", request.decode("ascii", "replace").strip())
        address = request[2:-3].decode("ascii", "replace")
        profile = self.profile
        if not self._address_matches(address):
            self._event("ignored", f"address {address!r} is not mine")
            return
        if profile.wake_up_required and end - self._woken_at > WAKE_UP_VALIDITY:
            self._event("ignored", "asleep (no wake-up)")
            return
        faults = self._begin_session()
        if faults.silent:
            self._event("ignored", "silent fault")
            return
        self.sessions += 1
        self.state = MeterState.ANSWERING
        self._start(self._answer_sign_on(end, faults))

    def _address_matches(self, address: str) -> bool:
        if address:
            if self.faults.refuse_address or self.profile.address is None:
                return False
            return address.lstrip("0") == self.profile.address.lstrip("0")
        return not self.profile.address_required

    def _begin_session(self) -> Faults:
        faults = self.faults
        if faults.sessions is not None:
            if self._faulty_sessions >= faults.sessions:
                faults = Faults(echo=faults.echo)
            self._faulty_sessions += 1
        self._session_faults = faults
        return faults

    async def _answer_sign_on(self, end: float, faults: Faults) -> None:
        profile = self.profile
        await self._sleep_until(end + profile.reaction_time + faults.slow)
        if not await self._transmit(profile.identification.encode(), self.line, faults, "identification"):
            return
        mode = profile.mode
        if mode is Mode.C:
            self.state = MeterState.AWAIT_OPTION
            self._last_activity = max(self._last_activity, self._tx_free_at)
            self._arm_silence()
            return
        if mode is Mode.B:
            await self._sleep_until(self._tx_free_at + profile.reaction_time + faults.slow)
            baud = BAUD_MODE_B.get(profile.identification.baud_char, profile.identification.offered_baud)
            await self._send_data(LineSettings(baud, profile.framing), faults)
        else:
            await self._send_data(self.line, faults)
        self._end_session()

    def _on_option_select(self, message: bytes, end: float) -> None:
        self.requests.append(message)
        protocol, rate, mode = (chr(byte) for byte in message[1:4])
        self._event("option select", f"protocol {protocol} rate {rate} mode {mode}")
        offered = self.profile.identification.offered_baud
        if message[4:] == CRLF and protocol == "0" and mode == "1" and self.profile.programming_mode:
            if rate in BAUD_MODE_C and BAUD_MODE_C[rate] <= offered:
                self.state = MeterState.ANSWERING
                self._cancel_silence()
                self._start(self._enter_programming(BAUD_MODE_C[rate], end))
            return
        if message[4:] != CRLF or protocol != "0" or mode != "0":
            self._event("ignored", "only the data readout (protocol 0, mode 0) is supported")
            return
        if rate not in BAUD_MODE_C or BAUD_MODE_C[rate] > offered:
            self._event("ignored", f"rate character {rate!r} not offered")
            return
        self.state = MeterState.ANSWERING
        self._cancel_silence()
        self._start(self._answer_option_select(BAUD_MODE_C[rate], end, self._session_faults))

    async def _answer_option_select(self, baud: int, end: float, faults: Faults) -> None:
        await self._sleep_until(end + self.profile.reaction_time + faults.slow)
        await self._send_data(LineSettings(baud, self.profile.framing), faults)
        self._end_session()

    # --- programming mode (read-only: the load profile) -----------------------------------

    async def _enter_programming(self, baud: int, end: float) -> None:
        await self._sleep_until(end + self.profile.reaction_time)
        line = LineSettings(baud, self.profile.framing)
        self._switch(line)
        serial = (self.profile.address or "12345678").encode("ascii")
        prompt = frame_command(b"P0", b"(" + serial + b")")
        self._authorised = self.profile.password is None
        self._pending_blocks = []
        if await self._transmit(prompt, line, self._session_faults, "P0 prompt"):
            self.state = MeterState.PROGRAMMING

    def _parse_programming(self, end: float) -> None:
        while self._rx:
            if self._rx[0] in (ACK, NAK):
                answer = self._rx[0]
                del self._rx[:1]
                self._on_block_answer(answer, end)
                continue
            start = self._rx.find(bytes([SOH]))
            if start < 0:
                self._rx.clear()
                return
            stop = self._rx.find(bytes([ETX]), start)
            if stop < 0 or stop + 1 >= len(self._rx):
                return
            message = bytes(self._rx[start : stop + 2])
            del self._rx[: stop + 2]
            self._on_command(message, end)

    def _on_command(self, message: bytes, end: float) -> None:
        self.commands.append(message)
        command = message[1:3]
        data = message[4:-2] if len(message) > 5 and message[3] == STX else b""
        self._event("command", message[1:-2].decode("ascii", "replace"))
        if command == b"P1":
            ok = data == f"({self.profile.password})".encode("ascii")
            self._authorised = self._authorised or ok
            self._reply([bytes([ACK if ok else NAK])], end)
        elif command in (b"R5", b"R6") and data.startswith(b"P.01") and self._authorised:
            recording = self.profile.recording
            if recording is None:
                self._reply([frame(b"(ERROR)")], end)
                return
            start, stop = parse_range(data)
            text = recording.render(start, stop)
            answer = blocks(text, self.profile.partial_block_size) if command == b"R6" else [frame(text)]
            self._reply(answer, end)
        else:
            # Writes, executes, unknown reads and reads before the password: refused.
            self._reply([bytes([NAK])], end)

    def _on_block_answer(self, answer: int, end: float) -> None:
        if not self._pending_blocks:
            return
        if answer == ACK:
            self._pending_blocks.pop(0)
        if self._pending_blocks:
            self._reply(self._pending_blocks, end)

    def _reply(self, messages: list[bytes], end: float) -> None:
        self._pending_blocks = list(messages)
        self._start(self._send_reply(messages[0], end, last=len(messages) == 1))

    async def _send_reply(self, message: bytes, end: float, *, last: bool) -> None:
        await self._sleep_until(end + self.profile.reaction_time)
        faults = self._session_faults
        if faults.bad_bcc and message[:1] == bytes([STX]):
            message = message[:-1] + bytes([message[-1] ^ 0x01])
            self._session_faults = replace(faults, bad_bcc=False)
        if await self._transmit(message, self.line, faults, "answer") and last:
            self._pending_blocks = []

    async def _send_data(self, line: LineSettings, faults: Faults) -> None:
        if faults.wrong_baud is not None:
            line = replace(line, baud=faults.wrong_baud)
        self._switch(line)
        message = data_message(self.profile, bad_bcc=faults.bad_bcc)
        await self._send_message(message, line, faults, "data message")

    async def _send_message(self, message: bytes, line: LineSettings, faults: Faults, what: str) -> None:
        if faults.flip_bits:
            flipped = bytearray(message)
            for offset, bit in faults.flip_bits:
                flipped[offset] ^= 1 << bit
            message = bytes(flipped)
        complete = faults.truncate_after is None or faults.truncate_after >= len(message)
        if faults.truncate_after is not None:
            message = message[: faults.truncate_after]
        self.data_bauds.append(line.baud)
        if await self._transmit(message, line, faults, what) and complete:
            self.readouts_sent += 1

    def _switch(self, line: LineSettings) -> None:
        if line != self.line:
            self.line = line
            self._event("switch", f"{line.baud} Bd {line.framing}", line.baud)

    def _end_session(self) -> None:
        self.state = MeterState.IDLE
        self.line = self._initial_line()
        self._rx.clear()
        self._event("session end")

    # --- mode D --------------------------------------------------------------------------

    def _start_push(self) -> None:
        self._cancel_push()
        if self._connected and self.profile.mode is Mode.D:
            self._push_task = asyncio.get_running_loop().create_task(self._push_loop())
            self._push_task.add_done_callback(self._task_done)

    def _cancel_push(self) -> None:
        if self._push_task is not None and self._push_task is not asyncio.current_task():
            self._push_task.cancel()
        self._push_task = None

    async def _push_loop(self) -> None:
        while True:
            await asyncio.sleep(self.profile.push_interval)
            faults = self._begin_session()
            if faults.silent:
                self._event("ignored", "silent fault: push skipped")
                continue
            self.sessions += 1
            line = self._initial_line()
            if faults.wrong_baud is not None:
                line = replace(line, baud=faults.wrong_baud)
            message = push_message(self.profile, bad_checksum=faults.bad_bcc)
            await self._send_message(message, line, faults, "push")

    # --- the line ------------------------------------------------------------------------

    async def _transmit(self, data: bytes, line: LineSettings, faults: Faults, what: str) -> bool:
        """Send ``data`` paced at ``line``; ``False`` if the line went away meanwhile."""
        loop = asyncio.get_running_loop()
        character = line.character_time()
        start = max(loop.time(), self._tx_free_at)
        self._event("send", f"{what}, {len(data)} bytes", line.baud)
        sent = 0
        garbled = False
        while sent < len(data):
            now = loop.time()
            due = min(len(data), int((now - start) / character + 1e-9))
            if due > sent:
                chunk = data[sent:due]
                client = self._line_at_meter()
                if client is None:
                    self._event("send aborted", "nobody listening")
                    return False
                if faults.noise:
                    chunk = self._for_client(chunk, self._add_noise(chunk, faults.noise), line)
                else:
                    chunk = self._for_client(chunk, chunk, line)
                if not self._hears(client, line):
                    chunk = garbage(chunk)
                    if not garbled:
                        self._event("client hears garbage", f"client at {client.baud} Bd", line.baud)
                        garbled = True
                if not self._write(chunk):
                    return False
                sent = due
                self._last_activity = now
            if sent < len(data):
                next_due = start + (sent + 1) * character
                await asyncio.sleep(max(TICK, next_due - loop.time()))
        self._tx_free_at = start + len(data) * character
        self._last_activity = max(self._last_activity, self._tx_free_at)
        return True

    def _write(self, data: bytes) -> bool:
        if not self.transport.direct:
            if self._client_line() is None:
                self._event("write failed", "nobody listening")
                return False
            loop = asyncio.get_running_loop()
            self._call_at(self._delays.to_client(loop.time()), self._deliver, data)
            return True
        return self._deliver(data)

    def _deliver(self, data: bytes) -> bool:
        try:
            self._write_raw(data)
        except OSError as err:
            self._event("write failed", str(err))
            return False
        return True

    def _for_client(self, sent: bytes, arrived: bytes, line: LineSettings) -> bytes:
        """What the client's receiver delivers of ``sent``, which the line turned into ``arrived``.

        A plain receiver delivers the bytes as they arrived; ports that check parity
        (see the subclasses) flag or expose the characters the line corrupted.
        """
        del sent, line
        return arrived

    def _add_noise(self, chunk: bytes, probability: float) -> bytes:
        out = bytearray(chunk)
        for index in range(len(out)):
            if self._rng.random() < probability:
                out[index] ^= 1 << self._rng.randrange(7)
        return bytes(out)

    @staticmethod
    def _hears(client: ClientLine, line: LineSettings) -> bool:
        if client.baud != line.baud:
            return False
        return client.framing is None or _character_format(client.framing) == _character_format(line.framing)

    def _initial_line(self) -> LineSettings:
        baud = MODE_D_BAUD if self.profile.mode is Mode.D else INITIAL_BAUD
        return LineSettings(baud, self.profile.framing)

    # --- housekeeping --------------------------------------------------------------------

    def _reset(self, why: str) -> None:
        """Back to the initial state: idle at the initial rate, nothing pending."""
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None
        self._cancel_silence()
        self.state = MeterState.IDLE
        self.line = self._initial_line()
        self._rx.clear()
        self._nul_run = 0
        self._event("reset", why)

    def _forget_arrivals(self) -> None:
        """Drop bytes still on their way (the client who sent them is gone)."""
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        self._rx_free_at = 0.0

    def _arm_silence(self) -> None:
        self._cancel_silence()
        if self.state is MeterState.AWAIT_OPTION:
            loop = asyncio.get_running_loop()
            self._silence = loop.call_at(self._last_activity + IDLE_TIMEOUT, self._silence_expired)

    def _cancel_silence(self) -> None:
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None

    def _silence_expired(self) -> None:
        self._silence = None
        if self.state is not MeterState.AWAIT_OPTION:
            return
        if asyncio.get_running_loop().time() - self._last_activity < IDLE_TIMEOUT - 0.001:
            self._arm_silence()
            return
        self._reset(f"{IDLE_TIMEOUT} s of silence")

    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(coro)
        self._task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task is self._task:
            self._task = None
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOGGER.error("simulated meter failed: %r", error)
            self.errors.append(error)

    def _call_at(self, when: float, callback: Callable[..., None], *args: object) -> None:
        def run() -> None:
            self._handles.discard(handle)
            callback(*args)

        handle = asyncio.get_running_loop().call_at(when, run)
        self._handles.add(handle)

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _stop_activity(self) -> None:
        self._stop_watching_client_line()
        tasks = [task for task in (self._task, self._push_task) if task is not None]
        self._cancel_push()
        self._forget_arrivals()
        self._reset("stopped")
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _event(self, kind: str, detail: str = "", baud: int | None = None) -> None:
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = 0.0
        self.events.append(MeterEvent(now, kind, detail, baud))
        _LOGGER.debug("meter %s: %s %s", getattr(self, "port", "?"), kind, detail)
