"""DLMS optical ports: server addresses, logical and short names, a locked port, one password try."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.clock import SessionClock
from custom_components.landis_gyr_optical.meter.dlms.association import (
    CONFORMANCE_BLOCK_TRANSFER_WITH_GET,
    CONFORMANCE_GET,
    CONFORMANCE_READ,
    AssociationError,
    AssociationRequest,
    AssociationResponse,
    AssociationResult,
    Diagnostic,
    Referencing,
    describe_diagnostic,
    encode_aarq,
)
from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.client import (
    PullSettings,
    discover_dlms_optical,
    read_dlms_hdlc,
    read_dlms_mode_e,
)
from custom_components.landis_gyr_optical.meter.dlms.hdlc import FrameReader, HdlcAddress
from custom_components.landis_gyr_optical.meter.dlms.optical import (
    SERVER_ADDRESSES,
    Association,
    PasswordRefusedError,
    PublicClientRefusedError,
)
from custom_components.landis_gyr_optical.meter.dlms.registers import DlmsError
from custom_components.landis_gyr_optical.meter.dlms.short_names import (
    OBJECT_LIST,
    ObjectListEntry,
    ReadRequest,
    ReadResponse,
    encode_object_list,
    encode_read_next,
    encode_read_request,
    object_list,
    variable_name,
)
from custom_components.landis_gyr_optical.meter.errors import NoAnswerError
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Direction
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, MeterReader, Variant
from tests.simulator.dlms import PullMeter, locked_zcx_meter, standard_objects

ZCX_AARE_FRAME = bytes.fromhex(
    "7EA026210201304F22E6E7006117A109060760857405080101A203020101A305A10302010DAE4F7E"
)
"""An L+G ZCXi120 / ZMXi320 refusing the public client: Gurux/gurux.dlms.java PR #22 (2017-08-18)."""
FRAME_TIMEOUT = 0.4


def test_the_zcx_refusal_captured_by_gurux_decodes() -> None:
    frames = FrameReader().feed(ZCX_AARE_FRAME)
    assert len(frames) == 1
    frame = frames[0]
    assert (frame.destination, frame.source) == (HdlcAddress(16), HdlcAddress.server(1, 0))
    response = AssociationResponse.decode(frame.info[3:])
    assert not response.accepted
    assert (response.result, response.diagnostic) == (AssociationResult.REJECTED_PERMANENT, 13)
    assert not response.user_information
    error = AssociationError("refused", diagnostic=response.diagnostic, client=16)
    assert error.authentication
    assert describe_diagnostic(13) == "authentication failure (13)"
    assert describe_diagnostic(99) == "diagnostic 99"


def test_the_simulated_zcx_sends_the_captured_refusal() -> None:
    aare = AssociationResponse(
        False, 13, result=AssociationResult.REJECTED_PERMANENT, user_information=False
    ).encode()
    assert aare == AssociationResponse.decode(FrameReader().feed(ZCX_AARE_FRAME)[0].info[3:]).encode()
    assert aare == FrameReader().feed(ZCX_AARE_FRAME)[0].info[3:]


def test_the_client_proposes_read_only_services() -> None:
    """Bit 11 of the conformance block is block transfer with GET or Read; bit 12 would be SET."""
    assert CONFORMANCE_BLOCK_TRANSFER_WITH_GET == 0x001000
    assert (CONFORMANCE_GET, CONFORMANCE_READ) == (0x000010, 0x100000)
    logical = AssociationRequest.decode(encode_aarq())
    assert (logical.referencing, logical.conformance) == (Referencing.LOGICAL_NAMES, 0x001010)
    short = AssociationRequest.decode(encode_aarq(referencing=Referencing.SHORT_NAMES))
    assert (short.referencing, short.conformance) == (Referencing.SHORT_NAMES, 0x101000)
    with pytest.raises(DlmsError, match="unknown application context"):
        AssociationRequest.decode(encode_aarq().replace(bytes.fromhex("60857405080101"), bytes(7)))


def test_short_name_services_round_trip() -> None:
    assert variable_name(0xFA00, 2) == OBJECT_LIST == 0xFA08
    assert variable_name(0x2040, 3) == 0x2050
    with pytest.raises(ValueError, match="attribute 0"):
        variable_name(0x2000, 0)
    assert encode_read_request(0xFA08) == bytes.fromhex("050102fa08")
    assert encode_read_next(3) == bytes.fromhex("0501050003")
    assert ReadRequest.decode(encode_read_request(0x2008)) == ReadRequest(name=0x2008)
    assert ReadRequest.decode(encode_read_next(3)) == ReadRequest(block_number=3)
    for bad in (b"\x05\x02\x02\x20\x08", b"\x05\x01\x04\x20\x08", b"\x05\x01"):
        with pytest.raises(DlmsError):
            ReadRequest.decode(bad)
    value = Data(DataType.DOUBLE_LONG_UNSIGNED, 1234)
    for response in (
        ReadResponse(data=value),
        ReadResponse(result=4),
        ReadResponse(block_number=2, last_block=False, raw_block=b"\x01\x02"),
    ):
        assert ReadResponse.decode(response.encode()) == response
    assert ReadResponse(data=value).encode() == bytes.fromhex("0c01000600000" + "4d2")
    for bad in (
        b"\x0c\x02\x00\x11\x01",
        b"\x0c\x01\x01",
        b"\x0c\x01\x00\x06\x00",
        b"\xc4\x01\x00",
        b"\x0c\x01\x07\x00",
    ):
        with pytest.raises(DlmsError):
            ReadResponse.decode(bad)


def test_object_list() -> None:
    entries = [
        ObjectListEntry(0x2000, 3, 0, ObisCode.parse("1-0:1.8.0")),
        ObjectListEntry(0xFA00, 12, 0, ObisCode.parse("0-0:40.0.0")),
    ]
    decoded = object_list(encode_object_list(entries))
    assert decoded[ObisCode.parse("1-0:1.8.0")] == entries[0]
    assert decoded[ObisCode.parse("0-0:40.0.0")].base_name == 0xFA00
    with pytest.raises(DlmsError, match="not an array"):
        object_list(Data(DataType.STRUCTURE, ()))
    with pytest.raises(DlmsError, match="malformed object list entry"):
        object_list(Data(DataType.ARRAY, (Data(DataType.STRUCTURE, (Data(DataType.LONG, 1),)),)))


async def test_locked_zcx_port_stops_at_the_first_authentication_refusal() -> None:
    async with locked_zcx_meter() as meter:
        clock = SessionClock()
        with pytest.raises(PublicClientRefusedError) as caught:
            await discover_dlms_optical(meter.port, mode_e=True, frame_timeout=FRAME_TIMEOUT, clock=clock)
        # One AARQ only: short names would ask with the same (no) credentials.
        assert [request.referencing for request in meter.associations] == [Referencing.LOGICAL_NAMES]
    error = caught.value
    assert error.key == "association_rejected"
    assert error.authentication and error.diagnostic == Diagnostic.AUTHENTICATION_FAILURE
    assert error.identification == "LGZ5\\2ZCXe110CRU0L3D2.03"
    assert [str(entry) for entry in error.tried] == [
        "client 16 to server 1, logical names: no answer to SNRM at server 1",
        "client 16 to server 1/0, logical names: refused (authentication failure (13))",
    ]
    received = b"".join(entry.data for entry in clock.trace if entry.direction is Direction.RECEIVED)
    assert ZCX_AARE_FRAME in received
    sent = b"".join(entry.data for entry in clock.trace if entry.direction is Direction.SENT)
    assert sent.startswith(b"/?!\r\n\x06252\r\n")


async def test_a_password_is_tried_once_with_the_management_client() -> None:
    async with locked_zcx_meter() as meter:
        with pytest.raises(PasswordRefusedError, match="not tried again") as caught:
            await discover_dlms_optical(
                meter.port, mode_e=True, password=b"wrong", frame_timeout=FRAME_TIMEOUT
            )
        passwords = [request.password for request in meter.associations]
        assert passwords == [None, b"wrong"]
        assert caught.value.client == 1
        result = await discover_dlms_optical(
            meter.port, mode_e=True, password=b"operator", frame_timeout=FRAME_TIMEOUT
        )
    assert result.association == Association(
        HdlcAddress.server(1, 0), 1, Referencing.LOGICAL_NAMES, b"operator"
    )
    assert result.readout.current[ObisCode.parse("1-0:1.8.0")].value == Decimal("123456.78")
    assert result.readout.protocol == "dlms_mode_e"


async def test_short_name_meter_at_physical_address_17() -> None:
    async with PullMeter(standard_objects(), short_names=True, server=HdlcAddress.server(1, 17)) as meter:
        result = await discover_dlms_optical(meter.port, mode_e=True, frame_timeout=FRAME_TIMEOUT)
    assert result.association == Association(HdlcAddress.server(1, 17), 16, Referencing.SHORT_NAMES)
    assert [entry.outcome for entry in result.tried] == [
        "no answer to SNRM at server 1",
        "no answer to SNRM at server 1/0",
        "no answer to SNRM at server 1/16",
        "refused (application context not supported (2))",
        "accepted",
    ]
    current = result.readout.current
    assert current[ObisCode.parse("1-0:1.8.0")].value == Decimal("123456.78")
    assert current[ObisCode.parse("1-0:32.7.0")].value == Decimal("231.4")
    assert result.readout.serial == "LGZ0093121456"


async def test_short_names_in_blocks_and_direct_hdlc() -> None:
    """A small information field: the object list comes in Read blocks; no IEC sign-on."""
    async with PullMeter(
        standard_objects(), mode_e=False, short_names=True, server=HdlcAddress.server(1, 16), max_info=48
    ) as meter:
        result = await discover_dlms_optical(meter.port, mode_e=False, frame_timeout=FRAME_TIMEOUT)
        blocks = [apdu for apdu in meter.apdus if apdu[:3] == bytes.fromhex("050105")]
    assert blocks, "the object list was not read in blocks"
    assert result.readout.protocol == "dlms_hdlc"
    assert result.readout.current[ObisCode.parse("1-0:2.8.0")].value == Decimal("43.21")
    # The found settings read the meter again directly.
    settings = PullSettings(frame_timeout=FRAME_TIMEOUT).with_association(result.association)
    async with PullMeter(
        standard_objects(), mode_e=False, short_names=True, server=HdlcAddress.server(1, 16)
    ) as meter:
        again = await read_dlms_hdlc(meter.port, settings=settings)
    assert again.current.keys() == result.readout.current.keys()


async def test_no_server_address_answers() -> None:
    async with PullMeter(standard_objects(), server=HdlcAddress.server(1, 99)) as meter:
        with pytest.raises(NoAnswerError, match=r"no HDLC SNRM at server addresses 1, 1/0, 1/16, 1/17"):
            await discover_dlms_optical(meter.port, mode_e=True, frame_timeout=FRAME_TIMEOUT)
    assert len(SERVER_ADDRESSES) == 4


async def test_a_refused_read_keeps_its_trace_in_the_given_clock() -> None:
    async with locked_zcx_meter() as meter:
        clock = SessionClock()
        settings = PullSettings(server=HdlcAddress.server(1, 0), frame_timeout=FRAME_TIMEOUT)
        with pytest.raises(AssociationError, match=r"client 16 \(authentication failure"):
            await read_dlms_mode_e(meter.port, settings=settings, clock=clock)
    assert any(entry.direction is Direction.RECEIVED for entry in clock.trace)


async def test_a_reader_never_sends_a_refused_password_again() -> None:
    config = MeterConfig(
        Variant.DLMS_MODE_E, server_physical=0, dlms_client=1, password=b"wrong", max_baud=9600
    )
    assert config.pull_settings().server == HdlcAddress.server(1, 0)
    assert config.cli_arguments()[-4:] == ["--physical", "0", "--client", "1"]
    async with locked_zcx_meter() as meter:
        reader = MeterReader(meter.port, config)
        with pytest.raises(AssociationError) as first:
            await reader.poll()
        assert first.value.authentication
        with pytest.raises(AssociationError, match="not sent again until the entry is reconfigured"):
            await reader.poll()
        assert [request.password for request in meter.associations] == [b"wrong"]


def test_config_of_a_found_association() -> None:
    association = Association(HdlcAddress.server(1, 17), 16, Referencing.SHORT_NAMES)
    config = MeterConfig.for_association(Variant.DLMS_HDLC, association)
    assert (config.slave, config.server_physical, config.short_names) == (1, 17, True)
    assert config.pull_settings().association == association
    assert "--short-names" in config.cli_arguments()
