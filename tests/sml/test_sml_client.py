"""SML reader end to end over a pty against the simulated E320."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.errors import ChecksumError, NoAnswerError, ProtocolError
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Direction, Readout
from custom_components.landis_gyr_optical.meter.sml.client import read_sml_push
from custom_components.landis_gyr_optical.meter.sml.frames import CrcVariant, encode_frame
from tests.simulator.dlms import PtyPushMeter
from tests.simulator.sml import lgz_messages, sml_push_frames

LINE = LineSettings(9600, Framing.EIGHT_N_ONE)


@pytest.mark.parametrize("crc", [CrcVariant.X25, CrcVariant.KERMIT])
async def test_sml_push(crc: CrcVariant) -> None:
    async with (
        PtyPushMeter(lambda n: sml_push_frames(n, crc=crc), period=0.05) as meter,
        Link(meter.port, LINE) as link,
    ):
        readout = await read(link)
        assert meter.errors == []
    assert readout.protocol == "sml"
    assert readout.checksum == "crc16"
    assert readout.serial == "1LGZ0054541129"
    assert readout.identity.flag_id == "LGZ"
    energy = readout.current[ObisCode.parse("1-0:1.8.0")]
    assert energy.unit == "kWh"
    assert energy.value == Decimal("5171.9238")
    assert readout.current[ObisCode.parse("1-0:16.7.0")].value == Decimal(251)


async def read(link: Link) -> Readout:
    return await read_sml_push(link, timeout=3)


async def test_sml_broken_frames_raise_checksum_error() -> None:
    def frames(n: int) -> list[bytes]:
        data = bytearray(encode_frame(lgz_messages(n)))
        data[30] ^= 0x01
        return [bytes(data)]

    async with PtyPushMeter(frames, period=0.05) as meter, Link(meter.port, LINE) as link:
        with pytest.raises(ChecksumError) as caught:
            await read_sml_push(link, timeout=0.5)
    # The error carries what was heard, for ``--trace`` and diagnostics.
    assert any(entry.direction is Direction.RECEIVED and entry.data for entry in caught.value.trace)
    assert any(entry.note.startswith("rejected: ") for entry in caught.value.trace)


async def test_sml_undecodable_file_raises() -> None:

    async with (
        PtyPushMeter(lambda n: [encode_frame(b"\x72\x01\x01")], period=0.05) as meter,
        Link(meter.port, LINE) as link,
    ):
        with pytest.raises(ProtocolError):
            await read_sml_push(link, timeout=0.5)


async def test_sml_silence() -> None:

    async with PtyPushMeter(lambda n: [], period=5) as meter, Link(meter.port, LINE) as link:
        with pytest.raises(NoAnswerError):
            await read_sml_push(link, timeout=0.3)
