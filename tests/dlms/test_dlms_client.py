"""DLMS readers end to end over a pty against the simulated meters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.dlms.association import AssociationError
from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.ciphering import DecryptionError
from custom_components.landis_gyr_optical.meter.dlms.client import (
    PullSettings,
    read_dlms_hdlc,
    read_dlms_mode_e,
    read_dlms_push,
)
from custom_components.landis_gyr_optical.meter.dlms.get import STANDARD_READS, RegisterRead
from custom_components.landis_gyr_optical.meter.errors import (
    ChecksumError,
    NoAnswerError,
    ProtocolError,
    UnsupportedModeError,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Direction, Readout
from tests.simulator.dlms import (
    PtyPushMeter,
    PullMeter,
    encrypted_push_frames,
    gbt_push_frames,
    push_apdu,
    single_push_frame,
    standard_objects,
)

KEY = bytes.fromhex("101112131415161718191A1B1C1D1E1F")
LINE = LineSettings(9600, Framing.EIGHT_N_ONE)


def values(readout: Readout) -> dict[str, Decimal | str | None]:
    return {str(code): register.value for code, register in readout.current.items()}


@pytest.mark.parametrize(
    "frames_fn",
    [
        lambda n: gbt_push_frames(push_apdu(n)),
        lambda n: single_push_frame(push_apdu(n)),
        lambda n: encrypted_push_frames(push_apdu(n), KEY),
    ],
    ids=["e450_gbt", "e360_single", "e570_encrypted"],
)
async def test_push_variants(frames_fn) -> None:  # type: ignore[no-untyped-def]
    async with PtyPushMeter(frames_fn, period=0.05) as meter, Link(meter.port, LINE) as link:
        readout = await read_dlms_push(link, key=KEY, timeout=3)
        assert meter.errors == []
    assert readout.protocol == "dlms_push"
    assert readout.checksum == "crc16"
    assert readout.serial == "LGZ1030653520967"
    assert readout.identity.flag_id == "LGZ"
    assert readout.identity.iec_identification is None
    assert readout.manufacturer is not None
    got = values(readout)
    assert got["1-0:1.8.0"] == Decimal("482.939")
    assert readout.current[ObisCode.parse("1-0:1.8.0")].unit == "kWh"
    assert got["1-0:31.7.0"] == Decimal("0.09")


async def test_push_with_a_broken_frame_waits_for_the_next_push() -> None:
    def frames(n: int) -> list[bytes]:
        sent = gbt_push_frames(push_apdu(n))
        if n == 1:
            broken = bytearray(sent[1])
            broken[20] ^= 0xFF
            sent[1] = bytes(broken)
        return sent

    async with PtyPushMeter(frames, period=0.05) as meter, Link(meter.port, LINE) as link:
        readout = await read_dlms_push(link, timeout=3)
    assert readout.serial == "LGZ1030653520967"
    assert any("rejected" in entry.note for entry in readout.trace)


async def test_push_only_broken_frames_raise_the_error() -> None:
    def frames(n: int) -> list[bytes]:
        broken = bytearray(single_push_frame(push_apdu(n))[0])
        broken[30] ^= 0xFF
        return [bytes(broken)]

    async with PtyPushMeter(frames, period=0.05) as meter, Link(meter.port, LINE) as link:
        with pytest.raises(ChecksumError) as caught:
            await read_dlms_push(link, timeout=0.5)
    # The error carries what was heard, for ``--trace`` and diagnostics.
    assert any(entry.direction is Direction.RECEIVED and entry.data for entry in caught.value.trace)
    assert any(entry.note.startswith("rejected: ") for entry in caught.value.trace)


async def test_push_undecodable_apdu_raises_protocol_error() -> None:
    async with (
        PtyPushMeter(lambda n: single_push_frame(b"\x0f\x00\x00\x00\x01\x00\x09"), period=0.05) as meter,
        Link(meter.port, LINE) as link,
    ):
        with pytest.raises(ProtocolError):
            await read_dlms_push(link, timeout=0.5)


async def test_push_encrypted_without_key() -> None:
    async with (
        PtyPushMeter(lambda n: encrypted_push_frames(push_apdu(n), KEY), period=0.05) as meter,
        Link(meter.port, LINE) as link,
    ):
        with pytest.raises(DecryptionError):
            await read_dlms_push(link, timeout=2)


async def test_push_silence() -> None:
    async with PtyPushMeter(lambda n: [], period=5) as meter, Link(meter.port, LINE) as link:
        with pytest.raises(NoAnswerError):
            await read_dlms_push(link, timeout=0.3)


async def test_mode_e_pull() -> None:
    async with PullMeter(standard_objects(), mode_e=True, max_info=40) as meter:
        readout = await read_dlms_mode_e(meter.port)
        assert meter.errors == []
        apdus = meter.apdus
    assert readout.protocol == "dlms_mode_e"
    assert readout.baud == 9600
    assert readout.identity.identification == "LGZ5\\2ZMD4104407.B23"
    assert readout.serial == "LGZ0093121456"
    got = values(readout)
    assert got["1-0:1.8.0"] == Decimal("123456.78")
    assert got["1-0:32.7.0"] == Decimal("231.4")
    assert got["1-0:31.7.0"] == Decimal("5.12")
    assert got["1-0:1.7.0"] == Decimal(1532)
    assert got["0-0:1.0.0"] == "2026-05-04T11:39:21+02:00"
    # Read-only: an association and GET requests, nothing else.
    assert {apdu[0] for apdu in apdus} == {0x60, 0xC0}


async def test_mode_e_pull_at_a_lower_rate() -> None:
    few = PullSettings(reads=STANDARD_READS[:1] + STANDARD_READS[3:4])
    async with PullMeter(standard_objects(), identification=b"/LGZ4\\2ZMD4104407.B23") as meter:
        readout = await read_dlms_mode_e(meter.port, max_baud=2400, settings=few)
    assert readout.baud == 2400
    assert values(readout)["1-0:1.8.0"] == Decimal("123456.78")


async def test_mode_e_refused_when_the_meter_offers_no_hdlc() -> None:
    async with PullMeter(standard_objects(), identification=b"/LGZ5ZMD4104407.B23") as meter:
        with pytest.raises(UnsupportedModeError):
            await read_dlms_mode_e(meter.port)


async def test_direct_hdlc_pull_with_password() -> None:
    async with PullMeter(standard_objects(), mode_e=False, password=b"00000001") as meter:
        readout = await read_dlms_hdlc(meter.port, settings=PullSettings(password=b"00000001"))
        with pytest.raises(AssociationError):
            await read_dlms_hdlc(meter.port, settings=PullSettings(password=b"wrong"))
    assert readout.protocol == "dlms_hdlc"
    assert readout.identity.model == "LGZ0093121456"
    assert values(readout)["1-0:2.8.0"] == Decimal("43.21")


async def test_pull_with_nothing_readable() -> None:
    only = (RegisterRead(ObisCode.parse("1-0:99.99.0"), 3),)
    async with PullMeter(standard_objects(), mode_e=False) as meter:
        with pytest.raises(ProtocolError):
            await read_dlms_hdlc(meter.port, settings=PullSettings(reads=only))


async def test_pull_silent_meter() -> None:
    async with PtyPushMeter(lambda n: [], period=5) as meter:
        with pytest.raises(NoAnswerError) as hdlc:
            await read_dlms_hdlc(meter.port, settings=PullSettings(frame_timeout=0.3))
        with pytest.raises(NoAnswerError) as mode_e:
            await read_dlms_mode_e(meter.port)
    # Each error carries what was sent into the silence: the SNRM, the mode E sign-on.
    assert [entry.note for entry in hdlc.value.trace if entry.direction is Direction.SENT][:1] == ["SNRM"]
    assert mode_e.value.trace[0].data == b"/?!\r\n"


async def test_pull_meter_without_the_objects() -> None:
    async with PullMeter({}, mode_e=False) as meter:
        with pytest.raises(ProtocolError):
            await read_dlms_hdlc(meter.port)


async def test_pull_long_values_in_segments() -> None:
    objects = standard_objects()
    objects[(ObisCode.parse("0-0:42.0.0"), 2)] = Data(DataType.OCTET_STRING, b"LGZ" + b"9" * 150)
    async with PullMeter(objects, mode_e=False, max_info=32) as meter:
        readout = await read_dlms_hdlc(meter.port, settings=PullSettings(reads=STANDARD_READS[:1]))
    assert readout.serial == "LGZ" + "9" * 150
