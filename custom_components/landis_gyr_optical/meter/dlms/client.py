"""Async DLMS/COSEM readers on a ``Link``: listen to pushes, or pull as the public client.

The protocol work is sans-IO (``hdlc``, ``dlms``); this module only moves bytes and keeps
time. Pulling is read-only by construction: the client proposes GET (and block transfer
with GET) in its association and only ever sends GET requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import time

from ..clock import SessionClock
from ..errors import NoAnswerError, ProtocolError, UnsupportedModeError
from ..iec62056_21.messages import (
    INITIAL_BAUD,
    INTER_CHARACTER_TIMEOUT,
    Identification,
    option_select,
    sign_on,
)
from ..line import Framing, LineSettings
from ..link import Link
from ..readout import Direction, Readout
from ..registers import Register
from .association import (
    MANAGEMENT_LOGICAL_DEVICE,
    PUBLIC_CLIENT,
    AssociationError,
    AssociationResponse,
    encode_aarq,
)
from .axdr import Data
from .get import (
    STANDARD_READS,
    AttributeReference,
    GetResponse,
    PullResult,
    RegisterRead,
    datablock_to_data,
    encode_get_next,
    encode_get_request,
)
from .hdlc import (
    DISC,
    LLC_REQUEST,
    SNRM,
    ApduReader,
    BlockTransferError,
    Frame,
    FrameKind,
    FrameReader,
    HdlcAddress,
    Rejected,
    control_i,
    control_rr,
    strip_llc,
)
from .mbus import MbusApduReader
from .notification import Push, decode_push, identity_for
from .registers import AccessError, DlmsError, scaling_from_data

DLMS_BAUD = 9600
"""Rate of pushes and of meters that start in HDLC."""
FRAME_TIMEOUT = 2.0
"""Seconds the client waits for the meter's answer to one frame."""
MODE_E_SWITCH_PAUSE = 0.3
"""Silence after the switch to 8N1 before the SNRM (the meter changes its rate too)."""
_IDENTIFICATION_TIMEOUT = 2.0
_MAX_IDENTIFICATION = 48


async def read_dlms_push(
    link: Link,
    *,
    key: bytes | None = None,
    authentication_key: bytes | None = None,
    timeout: float = 30.0,
) -> Readout:
    """Listen on an open 8N1 link until one whole push decodes; return it as a readout.

    Frames with a bad check sequence and broken block transfers are skipped (the next
    push replaces them); if nothing valid arrives, the last such error is raised,
    or ``NoAnswerError`` when the line stayed silent.
    """
    clock = SessionClock()
    reader = ApduReader()
    # Austrian customer interfaces carry the same APDUs in wired M-Bus frames instead of HDLC.
    mbus = MbusApduReader()
    deadline = time.monotonic() + timeout
    raw = bytearray()
    last_error: ProtocolError | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        data = await link.read(remaining)
        if not data:
            continue
        clock.mark("push started")
        clock.record(Direction.RECEIVED, data, link.line.baud)
        raw += data
        events = reader.feed(data)
        found = mbus.feed(data)
        if found:
            # An M-Bus line: what the HDLC reader made of its bytes is no error.
            events = [*(event for event in events if not isinstance(event, Rejected)), *found]
        for event in events:
            if isinstance(event, Rejected):
                last_error = event.error
                clock.record(Direction.RECEIVED, b"", link.line.baud, f"rejected: {event.error}")
                continue
            try:
                push = decode_push(event, key=key, authentication_key=authentication_key)
            except ProtocolError as err:
                if err.key == "unknown_push_layout":
                    # Every push of this meter has the same layout: waiting for more only
                    # turns a reason the user can send in into a timeout.
                    clock.record(Direction.RECEIVED, b"", link.line.baud, f"rejected: {err}")
                if err.key in ("invalid_key", "unknown_push_layout"):
                    raise
                last_error = err
                continue
            clock.mark("done")
            return _push_readout(push, link.line.baud, bytes(raw), clock)
    if last_error is not None:
        raise last_error
    if reader.incomplete_transfer is not None:
        # A push whose block transfer never ended is no readout: its values are cut off.
        raise BlockTransferError(
            f"no complete DLMS push within {timeout:.0f} s: {reader.incomplete_transfer}"
        )
    raise NoAnswerError(f"no DLMS push within {timeout:.0f} s on {link.port}")


def _push_readout(push: Push, baud: int, raw: bytes, clock: SessionClock) -> Readout:
    identity = identity_for(push.logical_device_name, system_title=push.system_title)
    return clock.readout(identity, push.registers, protocol="dlms_push", baud=baud, raw=raw)


@dataclass(frozen=True, slots=True)
class PullSettings:
    """Addresses and credentials of the pull client."""

    server: HdlcAddress = field(default_factory=lambda: HdlcAddress(MANAGEMENT_LOGICAL_DEVICE))
    client: HdlcAddress = field(default_factory=lambda: HdlcAddress(PUBLIC_CLIENT))
    password: bytes | None = None
    """Low-level security password; ``None`` for the lowest security level."""
    reads: tuple[RegisterRead, ...] = STANDARD_READS
    frame_timeout: float = FRAME_TIMEOUT


async def read_dlms_mode_e(
    port: str,
    *,
    address: str = "",
    max_baud: int = 19200,
    settings: PullSettings | None = None,
) -> Readout:
    """Sign on in IEC 62056-21 mode E, switch to HDLC at the negotiated rate and read."""
    settings = settings or PullSettings()
    clock = SessionClock()
    link = Link(port, LineSettings(INITIAL_BAUD, Framing.SEVEN_E_ONE))
    await link.open()
    try:
        identification, baud = await open_mode_e(link, clock, address=address, max_baud=max_baud)
        registers, raw = await _pull(link, settings, clock)
    finally:
        await link.close()
    return clock.readout(identification.identity, registers, protocol="dlms_mode_e", baud=baud, raw=raw)


async def open_mode_e(
    link: Link, clock: SessionClock, *, address: str = "", max_baud: int = 19200
) -> tuple[Identification, int]:
    """Sign on in mode E on an open link and switch it to HDLC; return the identification and rate."""
    request = sign_on(address)
    clock.record(Direction.SENT, request, INITIAL_BAUD)
    idle = await link.write(request)
    identification = await _read_identification(link, clock)
    if not identification.hdlc_capable:
        raise UnsupportedModeError(f"the meter does not offer mode E (HDLC): /{identification}")
    baud = min(identification.offered_baud, max_baud)
    await _sleep_until(max(idle, time.monotonic()) + identification.reaction_time)
    select = option_select(baud, protocol="2", mode="2")
    clock.record(Direction.SENT, select, INITIAL_BAUD)
    sent = await link.write(select)
    await _sleep_until(sent + 0.005)
    await link.switch(LineSettings(baud, Framing.EIGHT_N_ONE))
    clock.record(Direction.LINE, b"", baud, f"switched to {baud} Bd 8N1")
    await asyncio.sleep(MODE_E_SWITCH_PAUSE)
    return identification, baud


async def read_dlms_hdlc(
    port: str, *, baud: int = DLMS_BAUD, settings: PullSettings | None = None
) -> Readout:
    """Read a meter that speaks HDLC on its optical port from the start (no IEC sign-on)."""
    settings = settings or PullSettings()
    clock = SessionClock()
    async with Link(port, LineSettings(baud, Framing.EIGHT_N_ONE)) as link:
        registers, raw = await _pull(link, settings, clock)
    name = next((r.text for r in registers if str(r.obis) == "0-0:42.0.0"), None)
    return clock.readout(identity_for(name), registers, protocol="dlms_hdlc", baud=baud, raw=raw)


async def _read_identification(link: Link, clock: SessionClock) -> Identification:
    buffer = bytearray()
    deadline = time.monotonic() + _IDENTIFICATION_TIMEOUT
    while b"\r\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NoAnswerError(f"no identification from the meter on {link.port}")
        data = await link.read(min(remaining, INTER_CHARACTER_TIMEOUT))
        buffer += data
        if len(buffer) > 4 * _MAX_IDENTIFICATION:
            raise ProtocolError(f"no identification line in {bytes(buffer[:48])!r}")
    start = buffer.find(b"/")
    if start < 0:
        raise ProtocolError(f"no identification line in {bytes(buffer[:48])!r}")
    line = (
        bytes(buffer[start : buffer.index(b"\r\n", start) + 2])
        if b"\r\n" in buffer[start:]
        else bytes(buffer)
    )
    clock.record(Direction.RECEIVED, line, link.line.baud, "identification")
    return Identification.parse(line)


class HdlcChannel:
    """One HDLC connection: sequence numbers, request/answer with the meter."""

    def __init__(self, link: Link, settings: PullSettings, clock: SessionClock) -> None:
        """Prepare the channel on an open link; ``SNRM`` connects."""
        self.link = link
        self.settings = settings
        self.clock = clock
        self.reader = FrameReader()
        self.raw = bytearray()
        self._pending: list[Frame] = []
        self._send_sequence = 0
        self._receive_sequence = 0

    def frame(self, control: int, info: bytes = b"") -> Frame:
        """Return a frame from the client to the server."""
        return Frame(self.settings.server, self.settings.client, control, info)

    async def exchange(self, frame: Frame) -> Frame:
        """Send a frame and return the meter's answer."""
        data = frame.encode()
        self.clock.record(Direction.SENT, data, self.link.line.baud, frame.kind.value)
        await self.link.write(data)
        return await self.receive()

    async def receive(self) -> Frame:
        """Return the next frame addressed to the client."""
        deadline = time.monotonic() + self.settings.frame_timeout
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoAnswerError(f"no HDLC answer from the meter on {self.link.port}")
            data = await self.link.read(remaining)
            if not data:
                continue
            self.raw += data
            self.clock.record(Direction.RECEIVED, data, self.link.line.baud)
            for event in self.reader.feed(data):
                if isinstance(event, Rejected):
                    if event.error.key == "checksum_error":
                        raise event.error
                    continue
                if event.destination.logical == self.settings.client.logical:
                    self._pending.append(event)
        return self._pending.pop(0)

    async def request(self, apdu: bytes) -> bytes:
        """Send an APDU in an I frame; return the meter's APDU (segments joined)."""
        control = control_i(self._send_sequence, self._receive_sequence)
        self._send_sequence = (self._send_sequence + 1) & 7
        answer = await self.exchange(self.frame(control, LLC_REQUEST + apdu))
        parts: list[bytes] = []
        while True:
            if answer.kind is not FrameKind.I:
                raise DlmsError(f"the meter answered with {answer.kind.value} instead of data")
            self._receive_sequence = (answer.send_sequence + 1) & 7
            parts.append(answer.info)
            if not answer.segmented:
                return strip_llc(b"".join(parts))
            answer = await self.exchange(self.frame(control_rr(self._receive_sequence)))


async def associated[T](
    link: Link, settings: PullSettings, clock: SessionClock, job: Callable[[HdlcChannel], Awaitable[T]]
) -> tuple[T, bytes]:
    """Connect (SNRM), associate (AARQ), run ``job`` on the channel, always disconnect (DISC)."""
    channel = HdlcChannel(link, settings, clock)
    answer = await channel.exchange(channel.frame(SNRM))
    if answer.kind is not FrameKind.UA:
        raise DlmsError(f"the meter answered SNRM with {answer.kind.value}")
    clock.mark("connected")
    try:
        response = AssociationResponse.decode(await channel.request(encode_aarq(password=settings.password)))
        if not response.accepted:
            raise AssociationError(
                f"the meter refused the association (diagnostic {response.diagnostic}); "
                "a password or another client address may be needed"
            )
        result = await job(channel)
        clock.mark("read")
    finally:
        with contextlib.suppress(NoAnswerError):
            await channel.exchange(channel.frame(DISC))
    return result, bytes(channel.raw)


async def _pull(link: Link, settings: PullSettings, clock: SessionClock) -> tuple[list[Register], bytes]:
    async def read_all(channel: HdlcChannel) -> PullResult:
        result = PullResult()
        for read in settings.reads:
            try:
                value = await get(channel, AttributeReference(read.class_id, read.obis, 2))
                scaling = (
                    scaling_from_data(await get(channel, AttributeReference(read.class_id, read.obis, 3)))
                    if read.scaled
                    else None
                )
            except AccessError:
                result.missing.append(read.obis)
                continue
            result.add(read, value, scaling)
        return result

    result, raw = await associated(link, settings, clock, read_all)
    registers = result.finish()
    if not registers:
        raise DlmsError("the meter answered none of the standard registers")
    return registers, raw


async def get(channel: HdlcChannel, reference: AttributeReference, request: bytes | None = None) -> Data:
    """GET one attribute (``request``: a GET.request of it with selective access); join GET blocks."""
    response = GetResponse.decode(await channel.request(request or encode_get_request(reference)))
    if response.block_number is None:
        if response.data is None:
            raise AccessError(reference.obis, response.result)
        return response.data
    blocks: list[bytes] = []
    while True:
        if response.result or response.block_number is None:
            raise AccessError(reference.obis, response.result)
        blocks.append(response.raw_block)
        if response.last_block:
            return datablock_to_data(b"".join(blocks))
        response = GetResponse.decode(await channel.request(encode_get_next(response.block_number)))


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
