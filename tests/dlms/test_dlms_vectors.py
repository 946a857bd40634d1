"""Every DLMS/HDLC capture decodes to the values its source gives (negative ones are rejected)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
import time

import pytest

from custom_components.landis_gyr_optical.meter.dlms.association import (
    AssociationRequest,
    AssociationResponse,
)
from custom_components.landis_gyr_optical.meter.dlms.ciphering import DecryptionError
from custom_components.landis_gyr_optical.meter.dlms.hdlc import (
    ApduReader,
    Frame,
    FrameKind,
    FrameReader,
    HdlcAddress,
    Rejected,
    strip_llc,
)
from custom_components.landis_gyr_optical.meter.dlms.notification import DataNotification, Push, decode_push
from tests.vectors import vector

E570_KEY = bytes.fromhex("101112131415161718191A1B1C1D1E1F")


def frames_of(name: str) -> list[bytes]:
    return [bytes.fromhex(line) for line in vector(name).decode("ascii").split()]


def pushes(name: str, key: bytes | None = None) -> tuple[list[Push], list[Rejected]]:
    reader = ApduReader()
    found: list[Push] = []
    rejected: list[Rejected] = []
    for frame in frames_of(name):
        for event in reader.feed(frame):
            if isinstance(event, Rejected):
                rejected.append(event)
            else:
                found.append(decode_push(event, key=key))
    return found, rejected


def values(push: Push) -> dict[str, Decimal | str | None]:
    return {str(register.obis): register.value for register in push.registers}


def units(push: Push) -> dict[str, str | None]:
    return {str(register.obis): register.unit for register in push.registers}


def test_e450_cfg2026() -> None:
    found, rejected = pushes("hdlc_lg_e450_push_unencrypted_valid_data_cfg2026_scs.hex")
    assert rejected == []
    [push] = found
    got = values(push)
    assert got["1-0:1.7.0"] == Decimal(28)
    assert got["1-0:2.7.0"] == Decimal(0)
    assert got["1-0:1.8.0"] == Decimal("482.939")  # A+ 482939 Wh
    assert got["1-0:2.8.0"] == Decimal(0)
    assert got["1-0:3.8.0"] == Decimal("0.037")  # R+ 37 varh
    assert got["1-0:4.8.0"] == Decimal("344.697")  # R- 344697 varh
    assert (got["1-0:32.7.0"], got["1-0:52.7.0"], got["1-0:72.7.0"]) == (236, 236, 0)
    assert (got["1-0:31.7.0"], got["1-0:51.7.0"], got["1-0:71.7.0"]) == (
        Decimal("0.09"),
        Decimal("0.08"),
        Decimal("0.00"),
    )
    assert got["0-0:96.1.0"] == got["0-0:42.0.0"] == "LGZ1030653520967"
    assert got["0-0:1.0.0"] == "2026-05-04T11:39:21"
    assert units(push)["1-0:1.8.0"] == "kWh"
    assert units(push)["1-0:4.8.0"] == "kvarh"
    assert units(push)["1-0:1.7.0"] == "W"
    assert units(push)["1-0:31.7.0"] == "A"


def test_e450_restarted_push() -> None:
    # Blocks 1-2 of a push, then a new push from block 1 to 4: the cut-off one is dropped.
    found, rejected = pushes("hdlc_lg_e450_push_unencrypted_valid_data_scs.hex")
    assert rejected == []
    assert len(found) == 1
    first = values(found[0])
    assert first["0-0:96.1.0"] == "LGZ1030655933512"
    assert first["0-0:1.0.0"] == "2021-07-06T14:58:18"
    assert first["1-0:1.8.0"] == Decimal("886.977")
    assert first["1-0:13.7.0"] == Decimal("0.941")


def test_e450_invalid_blocks_yield_no_data() -> None:
    found, rejected = pushes("hdlc_lg_e450_push_unencrypted_invalid_data_scs.hex")
    assert found == []
    assert len(rejected) == 3


def test_e360_single_frame() -> None:
    [frame] = frames_of("hdlc_lg_e360_push_unencrypted_valid_data_cfg2026_scs.hex")
    decoded = Frame.decode(frame[1:-1])
    assert (decoded.destination, decoded.source, decoded.kind) == (
        HdlcAddress(103),
        HdlcAddress(1),
        FrameKind.UI,
    )
    assert len(frame) == 354
    found, _ = pushes("hdlc_lg_e360_push_unencrypted_valid_data_cfg2026_scs.hex")
    [push] = found
    got = values(push)
    assert got["1-0:1.7.0"] == Decimal(11)
    assert got["1-0:2.7.0"] == Decimal(0)
    assert got["1-0:1.8.0"] == Decimal("21.956")
    assert got["1-0:2.8.0"] == Decimal("4.547")
    assert got["1-0:3.8.0"] == Decimal("27.256")
    assert got["1-0:4.8.0"] == Decimal("4.432")
    assert got["1-0:32.7.0"] == Decimal("235.7")
    assert got["1-0:52.7.0"] == got["1-0:72.7.0"] == Decimal(0)
    assert got["1-0:31.7.0"] == Decimal("0.06")
    assert got["0-0:96.1.0"] == "LGZ1030163598905"
    assert push.notification.timestamp is not None
    stamp = push.notification.timestamp.astimezone(UTC)
    assert stamp.strftime("%d.%m.%Y %H:%M:%S") == "06.06.2023 15:31:20"


def test_e570_idle() -> None:
    [push], _ = pushes("hdlc_lg_e570_push_unencrypted_valid_data_cfg2026_scs.hex")
    got = values(push)
    assert got["1-0:32.7.0"] == Decimal(232)
    assert got["0-0:96.1.0"] == "LGZ1030781910790"


def test_e570_loaded() -> None:
    [push], _ = pushes("hdlc_lg_e570_push_unencrypted_valid_data_load_cfg2026_scs.hex")
    got = values(push)
    assert got["1-0:1.7.0"] == Decimal(258874)
    assert got["1-0:1.8.0"] == Decimal("2607.383")
    assert got["1-0:2.8.0"] == Decimal("641.338")
    assert (got["1-0:32.7.0"], got["1-0:52.7.0"], got["1-0:72.7.0"]) == (229, 230, 229)
    assert (got["1-0:31.7.0"], got["1-0:51.7.0"], got["1-0:71.7.0"]) == (
        Decimal("4.00"),
        Decimal("2.00"),
        Decimal("6.01"),
    )
    assert got["0-0:96.1.0"] == "LGZ1030769231250"


def test_e570_encrypted() -> None:
    [push], rejected = pushes("hdlc_lg_e570_push_encrypted_valid_data_scs.hex", key=E570_KEY)
    assert rejected == []
    assert push.system_title is not None and push.system_title[:3] == b"LGZ"
    assert values(push)["0-0:96.1.0"] == "LGZ1030769231253"
    assert values(push)["1-0:1.8.0"] == Decimal("862.055")


def test_e570_encrypted_with_a_wrong_key_is_rejected() -> None:
    with pytest.raises(DecryptionError):
        pushes("hdlc_lg_e570_push_encrypted_valid_data_scs.hex", key=bytes(16))


def test_kamstrup_push() -> None:
    [push], _ = pushes("hdlc_kamstrup_push_amshan.hex")
    got = values(push)
    assert (got["1-0:32.7.0"], got["1-0:52.7.0"], got["1-0:72.7.0"]) == (232, 233, 236)
    assert got["1-0:1.7.0"] == Decimal(826)


def test_bare_data_notification() -> None:
    apdu = bytes.fromhex(vector("dlms_apdu_data_notification_dlms-cosem.hex").decode("ascii").strip())
    notification = DataNotification.decode(apdu)
    assert notification.invoke_id == 0x1DB
    assert notification.timestamp is None
    assert isinstance(notification.body.value, bytes)
    assert len(notification.body.value) == 0x22


def test_public_client_exchange() -> None:
    snrm, ua, aarq, aare = (
        Frame.decode(frame[1:-1])
        for frame in frames_of("hdlc_public_client_snrm_ua_aarq_aare_dlms-cosem.hex")
    )
    assert snrm.kind is FrameKind.SNRM
    assert snrm.destination == HdlcAddress(1, 17, 2)
    assert snrm.source == HdlcAddress(16)
    assert ua.kind is FrameKind.UA
    assert ua.info.startswith(bytes.fromhex("818012"))
    assert AssociationRequest.decode(strip_llc(aarq.info)).conformance == 0x001E1D
    response = AssociationResponse.decode(strip_llc(aare.info))
    assert response.accepted
    assert response.max_pdu == 0x04C8


def test_segmented_iframe() -> None:
    [frame] = frames_of("hdlc_segmented_iframe_server_to_client_dlms-cosem.hex")
    [decoded] = FrameReader().feed(frame)
    assert isinstance(decoded, Frame)
    assert decoded.segmented
    assert decoded.kind is FrameKind.I
    assert (decoded.destination, decoded.source) == (HdlcAddress(16), HdlcAddress(1))
    assert ApduReader().feed(frame) == []  # waits for the remaining segments


def test_forum_snrm() -> None:
    [frame] = frames_of("hdlc_gurux_forum_snrm_client16_server1.hex")
    decoded = Frame.decode(frame[1:-1])
    assert (decoded.kind, decoded.destination, decoded.source) == (
        FrameKind.SNRM,
        HdlcAddress(1),
        HdlcAddress(16),
    )


def test_parse_time_per_frame() -> None:
    # CPU time of this thread: other processes on a loaded machine do not count against the bound.
    frames = frames_of("hdlc_lg_e450_push_unencrypted_valid_data_cfg2026_scs.hex")
    rounds = 200
    started = time.thread_time()
    for _ in range(rounds):
        reader = ApduReader()
        for frame in frames:
            for event in reader.feed(frame):
                assert isinstance(event, bytes)
                decode_push(event)
    per_frame = (time.thread_time() - started) / (rounds * len(frames))
    assert per_frame < 0.005
