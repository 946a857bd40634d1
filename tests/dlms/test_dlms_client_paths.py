"""DLMS pull client against meters that answer off the happy path.

Identification garbage comes from a raw TCP peer (``socket://`` has no line rate, so a
runaway answer can outgrow the identification buffer); HDLC misbehaviour comes from
pull meters that answer chosen frames or GET requests their own way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.client import (
    PullSettings,
    read_dlms_hdlc,
    read_dlms_mode_e,
)
from custom_components.landis_gyr_optical.meter.dlms.get import STANDARD_READS, GetRequest, GetResponse
from custom_components.landis_gyr_optical.meter.dlms.hdlc import DM, UA, Frame, FrameKind, control_rr
from custom_components.landis_gyr_optical.meter.dlms.registers import DlmsError
from custom_components.landis_gyr_optical.meter.errors import ChecksumError, ProtocolError
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Readout
from tests.simulator.dlms import PullMeter, standard_objects

NAME = ObisCode.parse("0-0:42.0.0")
ENERGY = ObisCode.parse("1-0:1.8.0")
# Logical device name and total import energy: two reads, one of them scaled.
FEW_READS = PullSettings(reads=(STANDARD_READS[0], STANDARD_READS[3]), frame_timeout=1.0)
LONG_NAME = b"LGZ" + bytes(range(0x30, 0x3A)) * 8
LONG_GET_ABORTED = 14
"""Data-access-result a meter gives when it gives up a block transfer."""


def values(readout: Readout) -> dict[str, Decimal | str | None]:
    return {str(code): register.value for code, register in readout.current.items()}


# --- identification over a raw TCP peer ----------------------------------------------------


@contextlib.asynccontextmanager
async def tcp_peer(answer: bytes) -> AsyncIterator[str]:
    """A peer that writes ``answer`` as soon as the sign-on request arrives."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n")
            writer.write(answer)
            await writer.drain()
            await reader.read()  # keep the connection until the client closes it
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"socket://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.usefixtures("socket_enabled")
async def test_runaway_identification_is_cut_off() -> None:
    # A stream that starts like an identification but never ends its line.
    answer = b"/LGZ5\\2ZMD" + b"4" * 250
    async with tcp_peer(answer) as port:
        with pytest.raises(ProtocolError) as caught:
            await read_dlms_mode_e(port)
    assert type(caught.value) is ProtocolError
    assert caught.value.key == "unsupported_response"
    assert str(caught.value) == f"no identification line in {answer[:48]!r}"


@pytest.mark.usefixtures("socket_enabled")
async def test_answer_line_without_identification() -> None:
    async with tcp_peer(b"ERROR 17\r\n") as port:
        with pytest.raises(ProtocolError) as caught:
            await read_dlms_mode_e(port)
    assert type(caught.value) is ProtocolError
    assert str(caught.value) == "no identification line in b'ERROR 17\\r\\n'"


# --- HDLC frames answered off script -------------------------------------------------------


FrameAnswer = Callable[[Frame, PullMeter], bytes]


class ScriptedFrameMeter(PullMeter):
    """A direct HDLC pull meter that answers the frame kinds in ``script`` with given bytes."""

    def __init__(self, script: dict[FrameKind, FrameAnswer]) -> None:
        super().__init__(standard_objects(), mode_e=False)
        self.script = script

    def _on_frame(self, frame: Frame, end: float) -> None:
        answer = self.script.get(frame.kind)
        if answer is None:
            super()._on_frame(frame, end)
            return
        self._start(self._reply(answer(frame, self), end))


def ua(frame: Frame, meter: PullMeter) -> bytes:
    return Frame(frame.source, meter.server, UA).encode()


def dm(frame: Frame, meter: PullMeter) -> bytes:
    return Frame(frame.source, meter.server, DM).encode()


def ua_with_bad_check_sequence(frame: Frame, meter: PullMeter) -> bytes:
    data = bytearray(ua(frame, meter))
    data[-2] ^= 0x5A
    return bytes(data)


def ua_after_line_noise(frame: Frame, meter: PullMeter) -> bytes:
    return b"\x00\x13\xff" + ua(frame, meter)


def receive_ready(frame: Frame, meter: PullMeter) -> bytes:
    return Frame(frame.source, meter.server, control_rr(1)).encode()


async def test_snrm_refused_with_disconnected_mode() -> None:
    async with ScriptedFrameMeter({FrameKind.SNRM: dm}) as meter:
        with pytest.raises(DlmsError) as caught:
            await read_dlms_hdlc(meter.port, settings=FEW_READS)
        assert meter.errors == []
        # Nothing beyond the refused connect: no association was attempted.
        assert [frame.kind for frame in meter.frames_received] == [FrameKind.SNRM]
    assert str(caught.value) == "the meter answered SNRM to server 1 with DM"


async def test_bad_frame_check_sequence_raises_checksum_error() -> None:
    async with ScriptedFrameMeter({FrameKind.SNRM: ua_with_bad_check_sequence}) as meter:
        with pytest.raises(ChecksumError) as caught:
            await read_dlms_hdlc(meter.port, settings=FEW_READS)
        assert meter.errors == []
    assert caught.value.key == "checksum_error"
    assert str(caught.value).startswith("HDLC frame check sequence wrong in ")


async def test_line_noise_before_a_frame_is_skipped() -> None:
    async with ScriptedFrameMeter({FrameKind.SNRM: ua_after_line_noise}) as meter:
        readout = await read_dlms_hdlc(meter.port, settings=FEW_READS)
        assert meter.errors == []
    assert readout.raw.startswith(b"\x00\x13\xff\x7e")
    assert readout.serial == "LGZ0093121456"
    assert values(readout)[str(ENERGY)] == Decimal("123456.78")


async def test_data_request_answered_without_data() -> None:
    async with ScriptedFrameMeter({FrameKind.I: receive_ready}) as meter:
        with pytest.raises(DlmsError) as caught:
            await read_dlms_hdlc(meter.port, settings=FEW_READS)
        assert meter.errors == []
        # The client still disconnects cleanly after the failed association.
        assert [frame.kind for frame in meter.frames_received] == [
            FrameKind.SNRM,
            FrameKind.I,
            FrameKind.DISC,
        ]
    assert str(caught.value) == "the meter answered with RR instead of data"


# --- GET answered block by block -----------------------------------------------------------


class BlockMeter(PullMeter):
    """Answers GET requests for ``blockwise`` attributes with GET.response-with-datablock.

    ``abort_at``: the block number the meter answers with long-get-aborted instead of data.
    """

    def __init__(
        self,
        objects: dict[tuple[ObisCode, int], Data],
        *,
        blockwise: set[tuple[ObisCode, int]],
        block_size: int = 20,
        abort_at: int | None = None,
    ) -> None:
        super().__init__(objects, mode_e=False)
        self.blockwise = blockwise
        self.block_size = block_size
        self.abort_at = abort_at
        self.blocks_sent = 0
        self._blocks: list[bytes] = []

    def _answer(self, apdu: bytes) -> bytes:
        if not self._associated or apdu[:1] != b"\xc0":
            return super()._answer(apdu)
        request = GetRequest.decode(apdu)
        if request.block_number is not None:
            return self._block(request.invoke_id, request.block_number + 1)
        assert request.reference is not None
        key = (request.reference.obis, request.reference.attribute)
        if key not in self.blockwise:
            return super()._answer(apdu)
        encoded = self.objects[key].encode()
        self._blocks = [
            encoded[index : index + self.block_size] for index in range(0, len(encoded), self.block_size)
        ]
        return self._block(request.invoke_id, 1)

    def _block(self, invoke_id: int, number: int) -> bytes:
        if number == self.abort_at:
            return GetResponse(invoke_id, result=LONG_GET_ABORTED, block_number=number).encode()
        self.blocks_sent += 1
        return GetResponse(
            invoke_id,
            block_number=number,
            last_block=number == len(self._blocks),
            raw_block=self._blocks[number - 1],
        ).encode()


def objects_with_long_name() -> dict[tuple[ObisCode, int], Data]:
    objects = standard_objects()
    objects[(NAME, 2)] = Data(DataType.OCTET_STRING, LONG_NAME)
    return objects


async def test_value_read_in_blocks() -> None:
    async with BlockMeter(objects_with_long_name(), blockwise={(NAME, 2)}) as meter:
        readout = await read_dlms_hdlc(meter.port, settings=FEW_READS)
        assert meter.errors == []
        blocks_sent = meter.blocks_sent
        next_requests = [apdu for apdu in meter.apdus if apdu[:2] == b"\xc0\x02"]
    # 2-byte tag and length plus the name, 20 bytes a block.
    expected_blocks = -(-(2 + len(LONG_NAME)) // 20)
    assert blocks_sent == expected_blocks
    # Block 1 answers the GET; every further block is asked for by number.
    assert [int.from_bytes(apdu[3:7], "big") for apdu in next_requests] == list(range(1, expected_blocks))
    assert readout.serial == LONG_NAME.decode()
    assert values(readout)[str(ENERGY)] == Decimal("123456.78")


async def test_aborted_block_transfer_leaves_the_value_out() -> None:
    async with BlockMeter(objects_with_long_name(), blockwise={(NAME, 2)}, abort_at=3) as meter:
        readout = await read_dlms_hdlc(meter.port, settings=FEW_READS)
        assert meter.errors == []
        assert meter.blocks_sent == 2
    # The broken name is dropped, the rest of the readout stands.
    assert str(NAME) not in values(readout)
    assert readout.serial is None
    assert values(readout)[str(ENERGY)] == Decimal("123456.78")


async def test_block_transfer_refused_from_the_start() -> None:
    blockwise = {(ENERGY, 2)}
    async with BlockMeter(standard_objects(), blockwise=blockwise, abort_at=1) as meter:
        readout = await read_dlms_hdlc(meter.port, settings=FEW_READS)
        assert meter.errors == []
        assert meter.blocks_sent == 0
    assert str(ENERGY) not in values(readout)
    assert readout.serial == "LGZ0093121456"
