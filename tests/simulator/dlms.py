"""Simulated DLMS/COSEM meters: an HDLC push meter and a mode E / direct HDLC pull server.

Both sit on the pty machinery of ``PtyMeter`` (line time, rate checks, client detection)
and speak with the encoders of the protocol core, so the simulator and the client
can only agree on what the encoders produce.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from custom_components.landis_gyr_optical.meter import cosem
from custom_components.landis_gyr_optical.meter.cosem import obis_to_bytes
from custom_components.landis_gyr_optical.meter.dlms import axdr
from custom_components.landis_gyr_optical.meter.dlms.association import (
    AssociationRequest,
    AssociationResponse,
    AssociationResult,
    Diagnostic,
    Referencing,
)
from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.ciphering import encrypt
from custom_components.landis_gyr_optical.meter.dlms.get import GetRequest, GetResponse
from custom_components.landis_gyr_optical.meter.dlms.hdlc import (
    LLC_RESPONSE,
    UA,
    UI,
    Frame,
    FrameKind,
    FrameReader,
    HdlcAddress,
    control_i,
    split_blocks,
)
from custom_components.landis_gyr_optical.meter.dlms.notification import DataNotification
from custom_components.landis_gyr_optical.meter.dlms.registers import (
    CLASS_CLOCK,
    CLASS_DATA,
    CLASS_PUSH_SETUP,
    CLASS_REGISTER,
)
from custom_components.landis_gyr_optical.meter.dlms.short_names import (
    OBJECT_LIST,
    READ_REQUEST,
    ObjectListEntry,
    ReadRequest,
    ReadResponse,
    encode_object_list,
    variable_name,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    ACK,
    BAUD_MODE_C,
    INITIAL_BAUD,
    Identification,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.obis import ObisCode

from .meter import MeterState
from .ports import PtyMeter
from .profile import Faults, load_profile

SERIAL = "LGZ1030653520967"
PUSH_SETUP = ObisCode.parse("0-8:25.9.0")
METER_TIME = datetime(2026, 5, 4, 11, 39, 21, tzinfo=timezone(timedelta(hours=2)))

# (class, OBIS, value) of the simulated E450-like meter; registers in Wh / W / V / 10 mA.
PUSH_VALUES: tuple[tuple[int, str, Data], ...] = (
    (CLASS_DATA, "0-0:42.0.0", Data(DataType.OCTET_STRING, SERIAL.encode())),
    (CLASS_CLOCK, "0-0:1.0.0", Data(DataType.OCTET_STRING, cosem.encode_datetime(METER_TIME))),
    (CLASS_REGISTER, "1-1:1.8.0", Data(DataType.DOUBLE_LONG_UNSIGNED, 482939)),
    (CLASS_REGISTER, "1-1:2.8.0", Data(DataType.DOUBLE_LONG_UNSIGNED, 1500)),
    (CLASS_REGISTER, "1-0:1.7.0", Data(DataType.DOUBLE_LONG_UNSIGNED, 28)),
    (CLASS_REGISTER, "1-0:2.7.0", Data(DataType.DOUBLE_LONG_UNSIGNED, 0)),
    (CLASS_REGISTER, "1-0:32.7.0", Data(DataType.LONG_UNSIGNED, 236)),
    (CLASS_REGISTER, "1-0:31.7.0", Data(DataType.LONG_UNSIGNED, 9)),
)


def capture(class_id: int, obis: str, attribute: int = 2) -> Data:
    """One entry of a push object list."""
    return axdr.structure(
        Data(DataType.LONG_UNSIGNED, class_id),
        axdr.octet_string(obis_to_bytes(ObisCode.parse(obis))),
        Data(DataType.INTEGER, attribute),
        Data(DataType.LONG_UNSIGNED, 0),
    )


def push_apdu(invoke_id: int = 1, values: Sequence[tuple[int, str, Data]] = PUSH_VALUES) -> bytes:
    """A data-notification in the L+G layout: object list first, then one value per object."""
    objects = axdr.array(capture(CLASS_PUSH_SETUP, str(PUSH_SETUP)), *(capture(c, o) for c, o, _ in values))
    body = axdr.structure(objects, *(value for _, _, value in values))
    notification = DataNotification(invoke_id, body, raw_timestamp=cosem.encode_datetime(METER_TIME))
    return notification.encode()


PUSH_DESTINATION = HdlcAddress(103, 127, 2)
PUSH_SOURCE = HdlcAddress(1)


def gbt_push_frames(apdu: bytes, block_size: int = 112) -> list[bytes]:
    """An E450-style push: UI frames, the first with the LLC header, one GBT block each."""
    frames = []
    for index, block in enumerate(split_blocks(apdu, block_size)):
        info = (LLC_RESPONSE if index == 0 else b"") + block.encode()
        frames.append(Frame(PUSH_DESTINATION, PUSH_SOURCE, UI, info).encode())
    return frames


def single_push_frame(apdu: bytes) -> list[bytes]:
    """An E360-style push: one UI frame."""
    return [Frame(HdlcAddress(103), PUSH_SOURCE, UI, LLC_RESPONSE + apdu).encode()]


def encrypted_push_frames(
    apdu: bytes, key: bytes, system_title: bytes = b"LGZ\x67\x74\x20\x62\x95"
) -> list[bytes]:
    """An E570-style push: general-glo-ciphering, carried by GBT."""
    return gbt_push_frames(encrypt(apdu, key, system_title, 0x247), block_size=116)


_DUMMY_PROFILE = load_profile("lgz_e350")


class _BinaryMeter(PtyMeter):
    """A pty meter whose line starts at ``line``; bytes are handed over unfiltered."""

    def __init__(self, line: LineSettings) -> None:
        self.start_line = line
        super().__init__(replace(_DUMMY_PROFILE, faults=Faults()))

    def _initial_line(self) -> LineSettings:
        return self.start_line

    def _arrived(self, data: bytes | None, end: float) -> None:
        self._last_activity = max(self._last_activity, end)
        if data is None:
            self._rx.clear()
            return
        self._rx += data
        self._handle(end)

    def _handle(self, end: float) -> None:
        self._rx.clear()

    async def _send(self, data: bytes, what: str) -> bool:
        return await self._transmit(data, self.line, Faults(), what)


class PtyPushMeter(_BinaryMeter):
    """Pushes ``frames_fn(n)`` (the n-th push) every ``period`` seconds while a client is attached."""

    def __init__(
        self, frames_fn: Callable[[int], list[bytes]], *, baud: int = 9600, period: float = 0.2
    ) -> None:
        """Prepare the meter; the first push starts ``period`` after a client opens the port."""
        super().__init__(LineSettings(baud, Framing.EIGHT_N_ONE))
        self.frames_fn = frames_fn
        self.period = period
        self.pushes = 0

    def _start_push(self) -> None:
        self._cancel_push()
        if self._connected:
            self._push_task = asyncio.get_running_loop().create_task(self._push_frames())
            self._push_task.add_done_callback(self._task_done)

    async def _push_frames(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.pushes += 1
            for frame in self.frames_fn(self.pushes):
                if not await self._send(frame, "push frame"):
                    return
            self._pushed()

    def _pushed(self) -> None:
        """Called when the last frame of a push has been written (a hook for timing tests)."""


class PullMeter(_BinaryMeter):
    """Answers mode E sign-on (``mode_e=True``) or starts in HDLC, then serves GET requests.

    ``objects`` maps (OBIS, attribute) to the A-XDR value; ``password`` (if set) must come
    in the AARQ. Every request the meter got is in ``apdus``; SET and ACTION are refused.
    A ``server`` with a physical part is answered only at exactly that address.
    ``short_names``: the meter refuses logical names (application context not supported)
    and serves Read requests, base names from its object list. ``refuse_public``: every
    AARQ without the password is refused the way ZCX meters do (rejected-permanent,
    authentication-failure, no user-information).
    """

    def __init__(
        self,
        objects: dict[tuple[ObisCode, int], Data],
        *,
        mode_e: bool = True,
        identification: bytes = b"/LGZ5\\2ZMD4104407.B23",
        password: bytes | None = None,
        server: HdlcAddress | None = None,
        max_info: int = 128,
        reaction_time: float = 0.02,
        short_names: bool = False,
        refuse_public: bool = False,
    ) -> None:
        """Prepare the meter."""
        initial = (
            LineSettings(INITIAL_BAUD, Framing.SEVEN_E_ONE)
            if mode_e
            else LineSettings(9600, Framing.EIGHT_N_ONE)
        )
        super().__init__(initial)
        self.objects = objects
        self.mode_e = mode_e
        self.identification = Identification.parse(identification)
        self.password = password
        self.server = server or HdlcAddress(1)
        self.max_info = max_info
        self.reaction_time = reaction_time
        self.short_names = short_names
        self.refuse_public = refuse_public
        self.base_names = _base_names(objects)
        self.associations: list[AssociationRequest] = []
        self.apdus: list[bytes] = []
        self.frames_received: list[Frame] = []
        self._reader = FrameReader()
        self._hdlc = not mode_e
        self._associated = False
        self._send_sequence = 0
        self._receive_sequence = 0
        self._outgoing: list[bytes] = []
        self._blocks: list[bytes] = []
        self._block_number = 0

    def _reset(self, why: str) -> None:
        super()._reset(why)
        self._hdlc = not getattr(self, "mode_e", False)
        self._reader = FrameReader()
        self._associated = False
        self._send_sequence = 0

    def _handle(self, end: float) -> None:
        if not self._hdlc:
            self._handle_iec(end)
            return
        events = self._reader.feed(bytes(self._rx))
        self._rx.clear()
        for event in events:
            if isinstance(event, Frame) and self._addressed(event.destination):
                self.frames_received.append(event)
                self._on_frame(event, end)

    def _addressed(self, destination: HdlcAddress) -> bool:
        if self.server.physical is None:
            return destination.logical == self.server.logical
        return destination == self.server

    def _handle_iec(self, end: float) -> None:
        if self.state is MeterState.IDLE:
            request = self._take_sign_on()
            if request is None:
                return
            self.requests.append(request)
            self.sessions += 1
            self.state = MeterState.AWAIT_OPTION
            self._start(self._reply(self.identification.encode(), end))
        elif self.state is MeterState.AWAIT_OPTION:
            if b"/?" in self._rx and ACK not in self._rx:
                # A sign-on instead of the option select: a client that reopened the port before
                # the pty showed this meter the close. Start over with it, as after a break.
                pending = bytes(self._rx)
                self._reset("sign-on while awaiting the option select")
                self._rx += pending
                self._handle_iec(end)
                return
            message = self._take_option_select()
            if message is None:
                return
            self.requests.append(message)
            protocol, rate, mode = (chr(byte) for byte in message[1:4])
            if message[0] != ACK or protocol != "2" or mode != "2" or rate not in BAUD_MODE_C:
                self._event("ignored", f"option select {message!r} is not mode E")
                return
            # Mode E: the meter answers nothing and switches to 8N1 at the agreed rate.
            self._switch(LineSettings(BAUD_MODE_C[rate], Framing.EIGHT_N_ONE))
            self._hdlc = True
            self.state = MeterState.ANSWERING

    async def _reply(self, data: bytes, end: float) -> None:
        await self._sleep_until(end + self.reaction_time)
        await self._send(data, "answer")

    def _on_frame(self, frame: Frame, end: float) -> None:
        kind = frame.kind
        client = frame.source
        if kind is FrameKind.SNRM:
            self._send_sequence = 0
            self._respond(Frame(client, self.server, UA), end)
        elif kind is FrameKind.DISC:
            self._respond(Frame(client, self.server, UA), end, then_end=True)
        elif kind is FrameKind.RR and self._outgoing:
            self._respond_segment(client, end)
        elif kind is FrameKind.I:
            self._receive_sequence = (frame.send_sequence + 1) & 7
            apdu = frame.info[3:] if frame.info[:2] == b"\xe6\xe6" else frame.info
            self.apdus.append(apdu)
            answer = self._answer(apdu)
            info = LLC_RESPONSE + answer
            self._outgoing = [
                info[index : index + self.max_info] for index in range(0, len(info), self.max_info)
            ]
            self._respond_segment(client, end)

    def _respond_segment(self, client: HdlcAddress, end: float) -> None:
        info = self._outgoing.pop(0)
        control = control_i(self._send_sequence, self._receive_sequence)
        self._send_sequence = (self._send_sequence + 1) & 7
        self._respond(Frame(client, self.server, control, info, segmented=bool(self._outgoing)), end)

    def _respond(self, frame: Frame, end: float, *, then_end: bool = False) -> None:
        async def run() -> None:
            await self._reply(frame.encode(), end)
            if then_end:
                self._end_session()
                self._reset("disconnected")

        self._start(run())

    def _answer(self, apdu: bytes) -> bytes:
        if apdu[:1] == b"\x60":
            return self._associate(AssociationRequest.decode(apdu))
        if self._associated and self.short_names and apdu[:1] == bytes([READ_REQUEST]):
            return self._read(ReadRequest.decode(apdu))
        if not self._associated or self.short_names or apdu[:1] != b"\xc0":
            return bytes([0xD8, 0x01, 0x01])  # exception-response: service not allowed
        request = GetRequest.decode(apdu)
        assert request.reference is not None
        value = self.objects.get((request.reference.obis, request.reference.attribute))
        if value is None:
            return GetResponse(request.invoke_id, result=4).encode()  # object-undefined
        return GetResponse(request.invoke_id, data=value).encode()

    def _associate(self, request: AssociationRequest) -> bytes:
        self.associations.append(request)
        wanted = Referencing.SHORT_NAMES if self.short_names else Referencing.LOGICAL_NAMES
        if request.referencing is not wanted:
            self._associated = False
            return AssociationResponse(
                False, Diagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, referencing=request.referencing
            ).encode()
        accepted = request.password == self.password and not (self.refuse_public and request.password is None)
        self._associated = accepted
        if not accepted and self.refuse_public:
            return AssociationResponse(
                False,
                Diagnostic.AUTHENTICATION_FAILURE,
                result=AssociationResult.REJECTED_PERMANENT,
                referencing=request.referencing,
                user_information=False,
            ).encode()
        return AssociationResponse(
            accepted,
            0 if accepted else Diagnostic.AUTHENTICATION_FAILURE,
            request.conformance & 0x101010,
            0x0200,
            referencing=request.referencing,
        ).encode()

    def _read(self, request: ReadRequest) -> bytes:
        if request.block_number is not None:
            return self._next_block()
        assert request.name is not None
        if request.name == OBJECT_LIST:
            value = encode_object_list(list(self.base_names.values()))
        else:
            found = next(
                (
                    (entry.obis, attribute)
                    for entry in self.base_names.values()
                    for attribute in (2, 3)
                    if variable_name(entry.base_name, attribute) == request.name
                ),
                None,
            )
            if found is None or found not in self.objects:
                return ReadResponse(result=4).encode()  # object-undefined
            value = self.objects[found]
        raw = value.encode()
        if len(raw) <= self.max_info:
            return ReadResponse(data=value).encode()
        self._blocks = [raw[index : index + self.max_info] for index in range(0, len(raw), self.max_info)]
        self._block_number = 0
        return self._next_block()

    def _next_block(self) -> bytes:
        self._block_number += 1
        block = self._blocks.pop(0)
        return ReadResponse(
            block_number=self._block_number, last_block=not self._blocks, raw_block=block
        ).encode()


def _base_names(objects: dict[tuple[ObisCode, int], Data]) -> dict[ObisCode, ObjectListEntry]:
    """Base names of a short-name meter: one object every 0x40 from 0x2000, classes as in the reads."""
    classes = {CLASS_DATA: ("0-0:42.0.0",), CLASS_CLOCK: ("0-0:1.0.0",)}
    out: dict[ObisCode, ObjectListEntry] = {}
    for index, obis in enumerate(sorted({obis for obis, _ in objects}, key=str)):
        class_id = next((cid for cid, codes in classes.items() if str(obis) in codes), CLASS_REGISTER)
        out[obis] = ObjectListEntry(0x2000 + 0x40 * index, class_id, 0, obis)
    return out


LOCKED_ZCX_IDENTIFICATION = b"/LGZ5\\2ZCXe110CRU0L3D2.03"
"""The identification of an E-Redes ZCXe110 on its optical port (mode E offered at 9600 Bd)."""


def locked_zcx_meter(**options: object) -> PullMeter:
    """A ZCX-like optical port: mode E identification, no readout, the public client refused.

    It answers at server logical 1, physical 0 (the address in Gurux's ZCX trace) and
    refuses every AARQ without its password as the ZCX does (Gurux/gurux.dlms.java PR #22).
    """
    settings: dict[str, object] = {
        "identification": LOCKED_ZCX_IDENTIFICATION,
        "server": HdlcAddress.server(1, 0),
        "refuse_public": True,
        "password": b"operator",
        **options,
    }
    return PullMeter(standard_objects(), **settings)  # type: ignore[arg-type]


def register_objects(values: dict[str, tuple[Data, int, int]]) -> dict[tuple[ObisCode, int], Data]:
    """Objects of a pull meter: OBIS → (value, scaler, unit) as attributes 2 and 3."""
    out: dict[tuple[ObisCode, int], Data] = {}
    for code, (value, scaler, unit) in values.items():
        obis = ObisCode.parse(code)
        out[(obis, 2)] = value
        out[(obis, 3)] = axdr.structure(Data(DataType.INTEGER, scaler), Data(DataType.ENUM, unit))
    return out


def standard_objects() -> dict[tuple[ObisCode, int], Data]:
    """A ZMD-like meter: name, clock, energy, power, voltages and currents with scalers."""
    objects = register_objects(
        {
            "1-0:1.8.0": (Data(DataType.DOUBLE_LONG_UNSIGNED, 12345678), 1, 30),
            "1-0:2.8.0": (Data(DataType.DOUBLE_LONG_UNSIGNED, 4321), 1, 30),
            "1-0:1.7.0": (Data(DataType.DOUBLE_LONG, 1532), 0, 27),
            "1-0:2.7.0": (Data(DataType.DOUBLE_LONG, 0), 0, 27),
            "1-0:32.7.0": (Data(DataType.LONG_UNSIGNED, 2314), -1, 35),
            "1-0:31.7.0": (Data(DataType.LONG_UNSIGNED, 512), -2, 33),
        }
    )
    objects[(ObisCode.parse("0-0:42.0.0"), 2)] = axdr.octet_string(b"LGZ0093121456")
    objects[(ObisCode.parse("0-0:1.0.0"), 2)] = axdr.octet_string(cosem.encode_datetime(METER_TIME))
    return objects
