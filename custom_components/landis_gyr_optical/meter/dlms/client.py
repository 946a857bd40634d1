"""Async DLMS/COSEM readers on a ``Link``: listen to pushes, or pull as the public client.

The protocol work is sans-IO (``hdlc``, ``association``, ``get``, ``short_names``,
``optical``); this module only moves bytes and keeps time. Pulling is read-only by
construction: the client proposes GET (or Read) and block transfer with them in its
association and only ever sends GET (or Read) requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field, replace
import time

from ..clock import SessionClock
from ..errors import MeterError, NoAnswerError, ProtocolError, UnsupportedModeError
from ..iec62056_21.messages import (
    INITIAL_BAUD,
    INTER_CHARACTER_TIMEOUT,
    Identification,
    option_select,
    sign_on,
)
from ..line import Framing, LineSettings
from ..link import Link
from ..obis import ObisCode
from ..readout import Direction, Readout
from ..registers import Register
from .association import (
    MANAGEMENT_CLIENT,
    MANAGEMENT_LOGICAL_DEVICE,
    PUBLIC_CLIENT,
    AssociationError,
    AssociationResponse,
    Referencing,
    describe_diagnostic,
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
from .optical import (
    REFERENCINGS,
    SERVER_ADDRESSES,
    Association,
    OpticalResult,
    PasswordRefusedError,
    PublicClientRefusedError,
    Tried,
    no_connection,
    refusal,
)
from .registers import AccessError, DlmsError, scaling_from_data
from .short_names import (
    OBJECT_LIST,
    ReadResponse,
    encode_read_next,
    encode_read_request,
    object_list,
    variable_name,
)

DLMS_BAUD = 9600
"""Rate of pushes and of meters that start in HDLC."""
FRAME_TIMEOUT = 2.0
"""Seconds the client waits for the meter's answer to one frame."""
MODE_E_SWITCH_PAUSE = 0.3
"""Silence after the switch to 8N1 before the SNRM (the meter changes its rate too)."""
_IDENTIFICATION_TIMEOUT = 2.0
_MAX_IDENTIFICATION = 48

LinkFactory = Callable[[str, LineSettings], Link]


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
    with clock.traced():
        return await _read_push(link, clock, key=key, authentication_key=authentication_key, timeout=timeout)


async def _read_push(
    link: Link, clock: SessionClock, *, key: bytes | None, authentication_key: bytes | None, timeout: float
) -> Readout:
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
    referencing: Referencing = Referencing.LOGICAL_NAMES
    reads: tuple[RegisterRead, ...] = STANDARD_READS
    frame_timeout: float = FRAME_TIMEOUT

    @property
    def association(self) -> Association:
        """The association these settings ask for."""
        return Association(self.server, self.client.logical, self.referencing, self.password)

    def with_association(self, association: Association) -> PullSettings:
        """Return the settings with another server, client, referencing and password."""
        return replace(
            self,
            server=association.server,
            client=HdlcAddress(association.client),
            referencing=association.referencing,
            password=association.password,
        )


async def read_dlms_mode_e(
    port: str,
    *,
    address: str = "",
    max_baud: int = 19200,
    settings: PullSettings | None = None,
    clock: SessionClock | None = None,
    link_factory: LinkFactory = Link,
) -> Readout:
    """Sign on in IEC 62056-21 mode E, switch to HDLC at the negotiated rate and read.

    ``clock`` (a fresh one by default) keeps the trace, also of a read that fails.
    """
    settings = settings or PullSettings()
    clock = clock or SessionClock()
    link = link_factory(port, LineSettings(INITIAL_BAUD, Framing.SEVEN_E_ONE))
    await link.open()
    try:
        with clock.traced():
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
    port: str,
    *,
    baud: int = DLMS_BAUD,
    settings: PullSettings | None = None,
    clock: SessionClock | None = None,
    link_factory: LinkFactory = Link,
) -> Readout:
    """Read a meter that speaks HDLC on its optical port from the start (no IEC sign-on)."""
    settings = settings or PullSettings()
    clock = clock or SessionClock()
    with clock.traced():
        async with link_factory(port, LineSettings(baud, Framing.EIGHT_N_ONE)) as link:
            registers, raw = await _pull(link, settings, clock)
    return _hdlc_readout(registers, raw, baud, clock)


def _optical_readout(
    identification: Identification | None,
    registers: list[Register],
    raw: bytes,
    baud: int,
    clock: SessionClock,
) -> Readout:
    if identification is None:
        return _hdlc_readout(registers, raw, baud, clock)
    return clock.readout(identification.identity, registers, protocol="dlms_mode_e", baud=baud, raw=raw)


def _hdlc_readout(registers: list[Register], raw: bytes, baud: int, clock: SessionClock) -> Readout:
    name = next((r.text for r in registers if str(r.obis) == "0-0:42.0.0"), None)
    return clock.readout(identity_for(name), registers, protocol="dlms_hdlc", baud=baud, raw=raw)


@contextlib.asynccontextmanager
async def _session(
    port: str, clock: SessionClock, *, mode_e: bool, address: str, max_baud: int
) -> AsyncIterator[tuple[Link, Identification | None, int]]:
    """Open the port and bring the meter to HDLC: a mode E sign-on, or 9600 Bd 8N1 at once."""
    initial = (
        LineSettings(INITIAL_BAUD, Framing.SEVEN_E_ONE)
        if mode_e
        else LineSettings(DLMS_BAUD, Framing.EIGHT_N_ONE)
    )
    link = Link(port, initial)
    await link.open()
    try:
        identification, baud = (
            await open_mode_e(link, clock, address=address, max_baud=max_baud)
            if mode_e
            else (None, DLMS_BAUD)
        )
        yield link, identification, baud
    finally:
        await link.close()


async def discover_dlms_optical(
    port: str,
    *,
    mode_e: bool,
    address: str = "",
    max_baud: int = 19200,
    password: bytes | None = None,
    frame_timeout: float = FRAME_TIMEOUT,
    clock: SessionClock | None = None,
) -> OpticalResult:
    """Find how a DLMS optical port lets the client in, and read it (see ``optical``).

    One session (a mode E sign-on, or 9600 Bd 8N1 from the start) tries the server addresses
    until one answers the SNRM, then the public client with logical names, then short names;
    a refusal of its credentials ends the search (the port is locked). A password, if given,
    is then tried once with the management client in a second session. Raises
    ``PublicClientRefusedError``, ``PasswordRefusedError``, ``NoAnswerError`` when no server
    address answers, or what the session itself raised; ``clock`` keeps the whole trace.
    """
    clock = clock or SessionClock()
    tried: list[Tried] = []
    server: HdlcAddress | None = None
    refused: AssociationError | None = None
    last = REFERENCINGS[0]
    async with _session(port, clock, mode_e=mode_e, address=address, max_baud=max_baud) as (
        link,
        identification,
        baud,
    ):
        for candidate in SERVER_ADDRESSES:
            channel = HdlcChannel(link, PullSettings(server=candidate, frame_timeout=frame_timeout), clock)
            try:
                await _connect(channel)
            except NoAnswerError:
                tried.append(Tried(channel.settings.association, no_connection(candidate)))
                continue
            server = candidate
            for referencing in REFERENCINGS:
                channel.settings = replace(channel.settings, referencing=referencing)
                try:
                    registers, raw = await _associate_and_read(channel)
                except AssociationError as err:
                    tried.append(Tried(channel.settings.association, refusal(err)))
                    refused, last = err, referencing
                    if err.authentication:
                        break  # locked: the other referencing asks with the same (no) credentials
                    continue
                tried.append(Tried(channel.settings.association, "accepted"))
                return OpticalResult(
                    _optical_readout(identification, registers, raw, baud, clock),
                    channel.settings.association,
                    tuple(tried),
                )
            await _disconnect(channel)
            break
    if server is None or refused is None:
        addresses = ", ".join(str(candidate) for candidate in SERVER_ADDRESSES)
        raise NoAnswerError(f"the meter answered no HDLC SNRM at server addresses {addresses} on {port}")
    if password is None:
        raise PublicClientRefusedError(
            tried, refused, None if identification is None else str(identification)
        )
    association = Association(server, MANAGEMENT_CLIENT, last, password)
    async with _session(port, clock, mode_e=mode_e, address=address, max_baud=max_baud) as (link, _, baud):
        settings = PullSettings(frame_timeout=frame_timeout).with_association(association)
        channel = HdlcChannel(link, settings, clock)
        await _connect(channel)
        try:
            registers, raw = await _associate_and_read(channel)
        except AssociationError as err:
            tried.append(Tried(association, refusal(err)))
            await _disconnect(channel)
            raise PasswordRefusedError(tried, err) from err
    tried.append(Tried(association, "accepted"))
    return OpticalResult(
        _optical_readout(identification, registers, raw, baud, clock), association, tuple(tried)
    )


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
    await _connect(channel)
    await _associate(channel)
    try:
        result = await job(channel)
        clock.mark("read")
    finally:
        await _disconnect(channel)
    return result, bytes(channel.raw)


async def _connect(channel: HdlcChannel) -> None:
    answer = await channel.exchange(channel.frame(SNRM))
    if answer.kind is not FrameKind.UA:
        raise DlmsError(
            f"the meter answered SNRM to server {channel.settings.server} with {answer.kind.value}"
        )
    channel.clock.mark("connected")


async def _disconnect(channel: HdlcChannel) -> None:
    with contextlib.suppress(NoAnswerError):
        await channel.exchange(channel.frame(DISC))


async def _associate(channel: HdlcChannel, *, keep_on_refusal: bool = False) -> None:
    """Send the AARQ of the channel's settings; a refusal raises ``AssociationError``.

    Anything but an accepted association disconnects, except a refusal with
    ``keep_on_refusal``: the HDLC connection then stays up for another AARQ.
    """
    settings = channel.settings
    try:
        response = AssociationResponse.decode(
            await channel.request(encode_aarq(password=settings.password, referencing=settings.referencing))
        )
    except MeterError:
        await _disconnect(channel)
        raise
    if not response.accepted:
        if not keep_on_refusal:
            await _disconnect(channel)
        raise AssociationError(
            f"the meter refused the association of client {settings.client.logical} "
            f"({describe_diagnostic(response.diagnostic)})",
            diagnostic=response.diagnostic,
            client=settings.client.logical,
        )


async def _read_standard(channel: HdlcChannel) -> PullResult:
    result = PullResult()
    if channel.settings.referencing is Referencing.SHORT_NAMES:
        await _read_short_names(channel, channel.settings, result)
    else:
        await _read_logical_names(channel, channel.settings, result)
    return result


def _finish(result: PullResult) -> list[Register]:
    registers = result.finish()
    if not registers:
        raise DlmsError("the meter answered none of the standard registers")
    return registers


async def _pull(link: Link, settings: PullSettings, clock: SessionClock) -> tuple[list[Register], bytes]:
    """Connect, associate, read the standard registers (logical or short names), disconnect."""
    result, raw = await associated(link, settings, clock, _read_standard)
    return _finish(result), raw


async def _associate_and_read(channel: HdlcChannel) -> tuple[list[Register], bytes]:
    """Associate on a connected channel and read the standard registers, then disconnect.

    A refused association leaves the HDLC connection up, so another AARQ may follow on it.
    """
    await _associate(channel, keep_on_refusal=True)
    try:
        result = await _read_standard(channel)
        channel.clock.mark("read")
    finally:
        await _disconnect(channel)
    return _finish(result), bytes(channel.raw)


async def _read_logical_names(channel: HdlcChannel, settings: PullSettings, result: PullResult) -> None:
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


async def _read_short_names(channel: HdlcChannel, settings: PullSettings, result: PullResult) -> None:
    """Learn the base names from the association's object list, then Read each standard object."""
    names = object_list(await _read(channel, OBJECT_LIST, None))
    for read in settings.reads:
        entry = names.get(read.obis)
        if entry is None or entry.class_id != read.class_id:
            result.missing.append(read.obis)
            continue
        try:
            value = await _read(channel, variable_name(entry.base_name, 2), read.obis)
            scaling = (
                scaling_from_data(await _read(channel, variable_name(entry.base_name, 3), read.obis))
                if read.scaled
                else None
            )
        except AccessError:
            result.missing.append(read.obis)
            continue
        result.add(read, value, scaling)


async def _read(channel: HdlcChannel, name: int, obis: ObisCode | None) -> Data:
    """Read one variable, block by block when the meter answers in blocks."""
    response = ReadResponse.decode(await channel.request(encode_read_request(name)))
    blocks: list[bytes] = []
    while True:
        if response.block_number is None:
            if response.data is None:
                raise AccessError(obis or ObisCode.parse("0-0:40.0.0"), response.result)
            if blocks:
                raise DlmsError("a Read answered in blocks ended without a last block")
            return response.data
        blocks.append(response.raw_block)
        if response.last_block:
            return datablock_to_data(b"".join(blocks))
        response = ReadResponse.decode(await channel.request(encode_read_next(response.block_number)))


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
