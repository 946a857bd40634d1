"""A simulated M-Bus heat meter (EN 13757-2) behind a pty or a raw TCP bridge.

It answers with captured RSP_UD long frames (the libmbus captures in ``tests/vectors``) and
keeps real line time: a request counts as arrived after its wire time at 8E1, the answer
starts after the reaction time and is written paced at 11 bits a character. A battery
meter (``asleep=True``) ignores requests until it has heard a run of ``0x55`` lasting
``wake_run`` seconds at 8N1 (a pty shows the client's parity), and stays awake for
``awake_time`` after it (the run is told by its characters: a pty does not show the
client's parity). SND_NKE is confirmed with ``E5``; REQ_UD2 gets the next telegram
when the frame count bit toggled, the same one again when it did not.

```python
async with PtyMbusMeter(MbusProfile((capture,))) as meter:
    readout = await read_mbus(meter.port)
```
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
import time

from custom_components.landis_gyr_optical.meter.mbus.frames import (
    ACK,
    BROADCAST_ANSWERING,
    FCB,
    REQ_UD2,
    SHORT_START,
    SND_NKE,
    MbusError,
    parse_short_frame,
)
from custom_components.landis_gyr_optical.meter.mbus.session import WAKE_UP_CHARACTER
from tests.vectors import own_vector

from .eredes import ClientFraming, PtyHanMeter, TcpHanMeter

_SHORT = 5


def capture(name: str) -> bytes:
    """A wired M-Bus capture in ``tests/vectors``: the long frame the meter sends."""
    return bytes.fromhex(own_vector(name).decode("ascii").strip())


T230 = capture("mbus_heat_lug_ultraheat_t230_libmbus.hex")
"""The L+G Ultraheat T230 of libmbus's tests (primary address 0)."""
MULTICAL = capture("mbus_heat_kamstrup_multical601_libmbus.hex")
"""The Kamstrup Multical 601 of libmbus's tests (primary address 17)."""


@dataclass(frozen=True, slots=True)
class MbusProfile:
    """What the simulated meter answers and how it behaves on the line."""

    telegrams: tuple[bytes, ...]
    """Whole long frames, in the order the meter gives them (the last one says no more follow)."""
    address: int = 0
    baud: int = 2400
    reaction_time: float = 0.05
    asleep: bool = True
    wake_run: float = 2.0
    awake_time: float = 4.0
    corrupt: int = 0
    """How many answers are sent with a wrong check sum first."""
    answers_reset: bool = True


@dataclass(slots=True)
class MbusLog:
    """What the meter heard: the short frames it answered, the ones it slept through."""

    requests: list[bytes] = field(default_factory=list)
    ignored: list[bytes] = field(default_factory=list)
    wake_ups: int = 0


class _MbusSlave:
    """The M-Bus side; the port comes from the HAN simulator's pty or TCP plumbing."""

    profile: MbusProfile

    def _setup(self) -> None:
        self.log = MbusLog()
        self._run_chars = 0
        self._awake_until = 0.0
        self._index = 0
        self._last_fcb: int | None = None
        self._corrupt_left = self.profile.corrupt

    # Provided by the HAN simulator's classes this one is mixed into.
    _rx: bytearray
    _client: Callable[[], ClientFraming | None]
    _spawn: Callable[[object], None]
    _transmit: Callable[[bytes, float, float], Coroutine[object, object, None]]

    def _on_receive(self, data: bytes) -> None:
        arrived = time.monotonic()
        client = self._client()
        if client is None or client.baud != self.profile.baud:
            return
        if not data.strip(bytes([WAKE_UP_CHARACTER])):
            # A Linux pty keeps no parity setting (it forces CS8, no PARENB) and a bridge is
            # fixed at one framing: the run is told from a request by what it carries.
            self._hear_wake_up(data, arrived)
            return
        self._run_chars = 0
        self._rx += data
        while len(self._rx) >= _SHORT:
            start = self._rx.find(SHORT_START)
            if start < 0:
                self._rx.clear()
                return
            del self._rx[:start]
            if len(self._rx) < _SHORT:
                return
            frame = bytes(self._rx[:_SHORT])
            try:
                control, address = parse_short_frame(frame)
            except MbusError:
                del self._rx[0]
                continue
            del self._rx[:_SHORT]
            self._on_request(control, address, frame, arrived)

    def _hear_wake_up(self, data: bytes, arrived: float) -> None:
        self._run_chars += len(data)
        if self._run_chars * 10 / self.profile.baud >= self.profile.wake_run:
            if self._awake_until < arrived:
                self.log.wake_ups += 1
            self._awake_until = arrived + self.profile.awake_time

    def _on_request(self, control: int, address: int, frame: bytes, arrived: float) -> None:
        profile = self.profile
        character = 11 / profile.baud
        if address not in (profile.address, BROADCAST_ANSWERING) or (
            profile.asleep and arrived > self._awake_until
        ):
            self.log.ignored.append(frame)
            return
        self.log.requests.append(frame)
        if control == SND_NKE:
            self._index = 0
            self._last_fcb = None
            if profile.answers_reset:
                self._reply(bytes([ACK]), arrived, character)
            return
        if control & ~FCB != REQ_UD2:
            self.log.ignored.append(frame)
            return
        fcb = control & FCB
        if self._last_fcb is not None and fcb != self._last_fcb:
            self._index = min(self._index + 1, len(profile.telegrams) - 1)
        self._last_fcb = fcb
        answer = profile.telegrams[self._index]
        if self._corrupt_left:
            self._corrupt_left -= 1
            answer = answer[:-2] + bytes([(answer[-2] + 1) & 0xFF]) + answer[-1:]
        self._reply(answer, arrived, character)

    def _reply(self, data: bytes, arrived: float, character: float) -> None:
        start = arrived + _SHORT * character + self.profile.reaction_time
        self._spawn(self._transmit(data, start, character))


class PtyMbusMeter(_MbusSlave, PtyHanMeter):
    """The meter behind a pseudo terminal: the client's rate is read from it."""

    def __init__(self, profile: MbusProfile) -> None:
        """Prepare; ``start`` creates the pty."""
        PtyHanMeter.__init__(self, profile)  # type: ignore[arg-type]
        self.profile = profile
        self._setup()


class TcpMbusMeter(_MbusSlave, TcpHanMeter):
    """The meter behind a raw TCP bridge whose serial side is fixed at 8E1."""

    def __init__(self, profile: MbusProfile, *, port: int = 0) -> None:
        """Prepare; ``port=0`` picks a free TCP port."""
        TcpHanMeter.__init__(self, profile, port=port)  # type: ignore[arg-type]
        self.profile = profile
        self._setup()


__all__ = ["MULTICAL", "T230", "MbusLog", "MbusProfile", "PtyMbusMeter", "TcpMbusMeter", "capture"]
