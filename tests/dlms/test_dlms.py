"""DLMS application layer: OBIS, scaling, pushes, ciphering, association and GET."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.cosem import (
    CosemError,
    Scaling,
    normalise_channels,
    obis_from_bytes,
    obis_to_bytes,
    scaled_value,
    text_value,
)
from custom_components.landis_gyr_optical.meter.dlms import axdr
from custom_components.landis_gyr_optical.meter.dlms.association import (
    AssociationRequest,
    AssociationResponse,
    encode_aarq,
    encode_release_request,
)
from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.ciphering import Ciphered, DecryptionError, encrypt
from custom_components.landis_gyr_optical.meter.dlms.get import (
    STANDARD_READS,
    AttributeReference,
    GetRequest,
    GetResponse,
    PullResult,
    datablock_to_data,
    encode_get_next,
    encode_get_request,
)
from custom_components.landis_gyr_optical.meter.dlms.layouts import default_scaling, push_registers
from custom_components.landis_gyr_optical.meter.dlms.notification import (
    DataNotification,
    decode_push,
    identity_for,
)
from custom_components.landis_gyr_optical.meter.dlms.registers import (
    AccessError,
    DlmsError,
    register_from,
    scaling_from_data,
)
from custom_components.landis_gyr_optical.meter.errors import ProtocolError
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.registers import Register, Value
from tests.simulator.dlms import PUSH_VALUES, push_apdu

KEY = bytes.fromhex("101112131415161718191A1B1C1D1E1F")
AUTH = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
TITLE = b"LGZ\x01\x02\x03\x04\x05"


def test_obis_bytes_round_trip() -> None:
    assert str(obis_from_bytes(bytes.fromhex("0100010800FF"))) == "1-0:1.8.0"
    assert str(obis_from_bytes(bytes.fromhex("0100010800 0C".replace(" ", "")))) == "1-0:1.8.0*12"
    assert obis_to_bytes(ObisCode.parse("C.1.0")) == bytes.fromhex("000060010 0FF".replace(" ", ""))
    with pytest.raises(CosemError):
        obis_from_bytes(b"\x01")


def test_scaled_values_and_units() -> None:
    assert scaled_value(482939, Scaling(0, 30)) == Value(Decimal("482.939"), "kWh")
    assert scaled_value(2357, Scaling(-1, 35)) == Value(Decimal("235.7"), "V")
    assert scaled_value(344697, Scaling(0, 32)) == Value(Decimal("344.697"), "kvarh")
    assert scaled_value(5, Scaling(2, 255)) == Value(Decimal("5E+2"), None)
    assert scaled_value(1.5, None) == Value(Decimal("1.5"), None)
    with pytest.raises(CosemError):
        scaled_value(float("nan"), None)
    with pytest.raises(CosemError):
        scaled_value(1, Scaling(200, 30))


def test_scaling_from_data() -> None:
    data = axdr.structure(Data(DataType.INTEGER, -1), Data(DataType.ENUM, 35))
    assert scaling_from_data(data) == Scaling(-1, 35)
    with pytest.raises(DlmsError):
        scaling_from_data(Data(DataType.INTEGER, 1))


def test_text_values() -> None:
    assert text_value(b"LGZ1") == Value("LGZ1")
    assert text_value(b"\x01\xff") == Value("01FF")
    assert text_value(b"") == Value(None)
    assert text_value(bytes.fromhex("FFFF0706020E3A12FF800081"), clock=True) == Value(None)


def test_register_from_each_kind() -> None:
    obis = ObisCode.parse("0-0:96.1.0")
    assert register_from(obis, Data(DataType.BOOLEAN, True)) == Register(obis, "true", (Value("true"),))
    assert register_from(obis, Data(DataType.VISIBLE_STRING, "x")) == Register(obis, "x", (Value("x"),))
    assert register_from(obis, axdr.array()) is None


def test_default_scaling_table() -> None:
    assert default_scaling(ObisCode.parse("1-0:1.8.0")) == Scaling(0, 30)
    assert default_scaling(ObisCode.parse("1-0:3.8.0")) == Scaling(0, 32)
    assert default_scaling(ObisCode.parse("1-0:9.8.0")) == Scaling(0, 31)
    assert default_scaling(ObisCode.parse("1-0:3.7.0")) == Scaling(0, 29)
    assert default_scaling(ObisCode.parse("1-0:9.7.0")) == Scaling(0, 28)
    assert default_scaling(ObisCode.parse("1-0:32.7.0"), voltage_scaler=-1) == Scaling(-1, 35)
    assert default_scaling(ObisCode.parse("1-0:13.7.0")) == Scaling(-3, 255)
    assert default_scaling(ObisCode.parse("1-0:14.7.0")) == Scaling(-2, 44)
    assert default_scaling(ObisCode.parse("1-0:99.7.0")) is None
    assert default_scaling(ObisCode.parse("0-0:1.0.0")) is None


def test_normalise_channels_keeps_both_when_both_exist() -> None:
    one = Register(ObisCode.parse("1-1:1.8.0"), "1", (Value(Decimal(1)),))
    zero = Register(ObisCode.parse("1-0:1.8.0"), "2", (Value(Decimal(2)),))
    assert [str(r.obis) for r in normalise_channels([one])] == ["1-0:1.8.0"]
    assert [str(r.obis) for r in normalise_channels([one, zero])] == ["1-1:1.8.0", "1-0:1.8.0"]


def test_notification_round_trip_and_tagged_date() -> None:
    apdu = push_apdu(7)
    notification = DataNotification.decode(apdu)
    assert notification.invoke_id == 7
    assert DataNotification.decode(notification.encode()) == notification
    tagged = apdu[:5] + b"\x09" + apdu[5:]
    assert DataNotification.decode(tagged).timestamp == notification.timestamp


@pytest.mark.parametrize("bad", ["0F00", "C4000000000000", "0F0000000105" + "00"])
def test_notification_rejects(bad: str) -> None:
    with pytest.raises(DlmsError):
        DataNotification.decode(bytes.fromhex(bad))


def test_push_from_the_simulator_layout() -> None:
    push = decode_push(push_apdu())
    values = {str(r.obis): r.value for r in push.registers}
    assert values["1-0:1.8.0"] == Decimal("482.939")
    assert values["1-0:31.7.0"] == Decimal("0.09")
    assert values["0-0:96.1.0"] == push.logical_device_name == "LGZ1030653520967"
    assert len(PUSH_VALUES) + 1 == len(push.registers)


def test_push_layout_count_mismatch() -> None:
    apdu = bytearray(push_apdu())
    body = DataNotification.decode(bytes(apdu)).body
    short = axdr.structure(*body.items[:-1])
    with pytest.raises(DlmsError):
        push_registers(short)


def test_push_without_any_layout() -> None:
    with pytest.raises(DlmsError):
        push_registers(axdr.octet_string(b"x"))


def test_paired_layout_with_scaler_unit() -> None:
    body = axdr.structure(
        Data(DataType.VISIBLE_STRING, "list"),
        axdr.octet_string(bytes.fromhex("0100010800FF")),
        Data(DataType.DOUBLE_LONG_UNSIGNED, 1234),
        axdr.structure(Data(DataType.INTEGER, 1), Data(DataType.ENUM, 30)),
        axdr.octet_string(bytes.fromhex("0100200700FF")),
        Data(DataType.LONG_UNSIGNED, 231),
        axdr.structure(Data(DataType.INTEGER, 1)),
    )
    registers = push_registers(body)
    assert [(str(r.obis), r.raw) for r in registers] == [("1-0:1.8.0", "12.34*kWh"), ("1-0:32.7.0", "231*V")]


@pytest.mark.parametrize("authentication_key", [None, AUTH])
def test_ciphering_round_trip(authentication_key: bytes | None) -> None:
    plain = push_apdu()
    apdu = encrypt(plain, KEY, TITLE, 42, authentication_key=authentication_key)
    ciphered = Ciphered.decode(apdu)
    assert (ciphered.system_title, ciphered.invocation_counter) == (TITLE, 42)
    assert ciphered.decrypt(KEY, authentication_key) == plain
    assert ciphered.decrypt(KEY) == plain
    push = decode_push(apdu, key=KEY, authentication_key=authentication_key)
    assert push.system_title == TITLE


def test_ciphering_wrong_keys() -> None:
    apdu = encrypt(push_apdu(), KEY, TITLE, 1, authentication_key=AUTH)
    with pytest.raises(DecryptionError):
        decode_push(apdu, key=bytes(16), authentication_key=AUTH)
    with pytest.raises(DecryptionError):
        decode_push(apdu, key=bytes(16))
    with pytest.raises(DecryptionError):
        decode_push(apdu)
    with pytest.raises(DecryptionError):
        Ciphered.decode(apdu).decrypt(b"short")


def test_ciphered_authentication_only_and_malformed() -> None:
    content = bytes([0x10]) + (5).to_bytes(4, "big") + b"\x0fplain" + bytes(12)
    apdu = bytes([0xDB, 8]) + TITLE + bytes([len(content)]) + content
    assert Ciphered.decode(apdu).decrypt(KEY) == b"\x0fplain"
    for bad in (
        b"\x0f",
        bytes([0xDB, 7]) + TITLE[:7] + b"\x05" + bytes(5),
        bytes([0xDB, 8]) + TITLE + b"\x09" + bytes(5),
    ):
        with pytest.raises(DlmsError):
            Ciphered.decode(bad)
    short = bytes([0xDB, 8]) + TITLE + b"\x06\x30\x00\x00\x00\x01\x00"
    with pytest.raises(DlmsError):
        Ciphered.decode(short).decrypt(KEY)


def test_identity_for() -> None:
    identity = identity_for("LGZ1030653520967")
    assert (identity.flag_id, identity.model, identity.identification, identity.manufacturer) == (
        "LGZ",
        "LGZ1030653520967",
        "LGZ1030653520967",
        "Landis+Gyr",
    )
    assert identity.iec_identification is None
    titled = identity_for(None, system_title=b"LGZgt b\x95")
    assert (titled.flag_id, titled.model, titled.system_title) == ("LGZ", "LGZgt b", b"LGZgt b\x95")
    assert identity_for(None).flag_id == "???"
    assert identity_for("12").flag_id == "???"


def test_aarq_matches_the_reference_bytes() -> None:
    reference = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")
    assert encode_aarq(conformance=0x001E1D) == reference
    request = AssociationRequest.decode(reference)
    assert (request.password, request.conformance, request.max_pdu) == (None, 0x001E1D, 0xFFFF)


def test_aarq_with_password_and_read_only_conformance() -> None:
    request = AssociationRequest.decode(encode_aarq(password=b"00000001"))
    assert request.password == b"00000001"
    # GET and block transfer with GET (bit 11); not bit 12, block transfer with SET.
    assert request.conformance == 0x001010
    with pytest.raises(DlmsError):
        AssociationRequest.decode(b"\x61\x00")
    with pytest.raises(DlmsError):
        AssociationRequest.decode(bytes.fromhex("6009A1070605608574050801"))


def test_aare_reference_and_round_trip() -> None:
    reference = bytes.fromhex(
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007"
    )
    response = AssociationResponse.decode(reference)
    assert response == AssociationResponse(True, 0, 0x001E1D, 0x04C8)
    refused = AssociationResponse(False, 13, 0, 0, result=1)
    assert AssociationResponse.decode(refused.encode()) == refused
    with pytest.raises(DlmsError):
        AssociationResponse.decode(b"\x60\x00")
    with pytest.raises(DlmsError):
        AssociationResponse.decode(bytes.fromhex("6100"))
    with pytest.raises(ProtocolError):
        AssociationResponse.decode(bytes.fromhex("6103A2"))


def test_release_request() -> None:
    assert encode_release_request() == bytes.fromhex("6203800100")


def test_get_request_matches_the_reference_bytes() -> None:
    reference = AttributeReference(1, ObisCode.parse("0-0:43.1.0"), 2)
    apdu = encode_get_request(reference)
    assert apdu == bytes.fromhex("C001C1000100002B0100FF0200")
    assert GetRequest.decode(apdu) == GetRequest(1, reference)
    assert GetRequest.decode(encode_get_next(3)) == GetRequest(1, block_number=3)
    for bad in (b"\xc4\x01\x01", b"\xc0\x03\xc1\x00"):
        with pytest.raises(DlmsError):
            GetRequest.decode(bad)


def test_get_response_kinds() -> None:
    reference = bytes.fromhex("C401C100060000139 1".replace(" ", ""))
    assert GetResponse.decode(reference).data == Data(DataType.DOUBLE_LONG_UNSIGNED, 5009)
    for response in (
        GetResponse(1, result=4),
        GetResponse(1, block_number=1, last_block=False, raw_block=b"\x06\x00"),
        GetResponse(1, block_number=2, result=3),
        GetResponse(2, data=Data(DataType.NULL)),
    ):
        assert GetResponse.decode(response.encode()) == response
    for bad in ("D80101", "0E0101", "C003C1", "C401C1010203", "C402C1000000000100"):
        with pytest.raises(DlmsError):
            GetResponse.decode(bytes.fromhex(bad))


def test_datablock_and_access_error() -> None:
    assert datablock_to_data(b"\x11\x05") == Data(DataType.UNSIGNED, 5)
    with pytest.raises(DlmsError):
        datablock_to_data(b"\x11")
    error = AccessError(ObisCode.parse("1-0:1.8.0"), 4)
    assert error.result == 4
    assert "1-0:1.8.0" in str(error)


def test_pull_result_and_standard_reads() -> None:
    result = PullResult()
    read = STANDARD_READS[0]
    result.add(read, axdr.octet_string(b"LGZ123"), None)
    result.add(read, axdr.array(), None)
    assert [str(r.obis) for r in result.finish()] == ["0-0:42.0.0", "0-0:96.1.0"]
    assert {str(r.obis) for r in STANDARD_READS} >= {
        "1-0:1.8.0",
        "1-0:2.8.0",
        "1-0:1.7.0",
        "1-0:2.7.0",
        "0-0:1.0.0",
    }
    assert STANDARD_READS[3].scaled and not STANDARD_READS[0].scaled
