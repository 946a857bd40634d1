"""Encrypted P1 telegrams (general-glo-ciphering without HDLC) through the mode D session."""

from __future__ import annotations

import pytest

from custom_components.landis_gyr_optical.meter.dlms.ciphering import DecryptionError, encrypt
from custom_components.landis_gyr_optical.meter.errors import ProtocolError, ReadoutTooLongError
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Finished,
    Protocol,
    Session,
    SessionSettings,
)
from custom_components.landis_gyr_optical.meter.line import Framing
from custom_components.landis_gyr_optical.meter.variants import P1_BAUD, MeterConfig, Variant
from tests.vectors import own_vector

KEY = bytes.fromhex("D491470F47126332B07D1923B3504188")
AUTHENTICATION_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
FRAME = bytes.fromhex(
    "".join(own_vector("p1_lux_smarty_encrypted_gcm_go-smarty-reader.hex").decode().split())
)


def session(
    key: bytes = KEY, authentication_key: bytes | None = AUTHENTICATION_KEY, **changes: int
) -> Session:
    settings = SessionSettings(
        protocol=Protocol.MODE_D, key=key, authentication_key=authentication_key, **changes
    )
    result = Session(settings)
    while not result.needs_data:
        result.next_command()
    return result


def finished(s: Session) -> Finished:
    command = s.next_command()
    assert isinstance(command, Finished)
    return command


def test_smarty_frame_byte_by_byte_after_line_noise() -> None:
    s = session()
    for byte in b"\x00\xff\xdb" + FRAME:
        s.receive_data(bytes([byte]))
        if not s.needs_data:
            break
    readout = finished(s).readout
    assert readout.checksum == "crc16"
    assert readout.identity.flag_id == "Lux"
    assert readout.raw.startswith(b"/Lux5")


def test_wrong_keys_are_invalid_key() -> None:
    with pytest.raises(DecryptionError, match="does not authenticate"):
        session(key=bytes(16)).receive_data(FRAME)
    with pytest.raises(DecryptionError, match="no P1 telegram"):
        session(key=bytes(16), authentication_key=None).receive_data(FRAME)


def test_a_frame_that_is_not_a_ciphered_apdu() -> None:
    broken = bytearray(FRAME)
    broken[10] = 0x85  # a length prefix of five bytes
    with pytest.raises(ProtocolError):
        session().receive_data(bytes(broken))
    with pytest.raises(ReadoutTooLongError):
        session(max_readout=100).receive_data(FRAME)
    with pytest.raises(ProtocolError, match="without a ciphered push"):
        session(max_readout=100).receive_data(b"\x00" * 200)


def test_a_telegram_of_our_own_encryption() -> None:
    telegram = b"/ISK5\\2MT382-1000\r\n\r\n1-0:1.8.1(000004.426*kWh)\r\n!\r\n"
    frame = encrypt(telegram, KEY, b"SAGgp\x01\xbd\x54", 7, authentication_key=AUTHENTICATION_KEY)
    s = session()
    s.receive_data(frame)
    readout = finished(s).readout
    assert readout.checksum == "none"
    assert [str(register.obis) for register in readout.registers] == ["1-0:1.8.1"]


def test_an_encrypted_p1_port_runs_at_115200_8n1() -> None:
    config = MeterConfig(Variant.MODE_D, key=KEY)
    settings = config.session_settings()
    assert (settings.fixed_baud, settings.framing, settings.key) == (P1_BAUD, Framing.EIGHT_N_ONE, KEY)
    assert config.describe() == "IEC 62056-21 mode D push at 115200 Bd 8N1 (encrypted)"
    plain = MeterConfig(Variant.MODE_D).session_settings()
    assert (plain.fixed_baud, plain.key) == (None, None)
    # Keys of another variant never reach an IEC session.
    assert MeterConfig(Variant.MODE_C, key=KEY).session_settings().key is None
