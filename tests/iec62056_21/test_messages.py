"""IEC 62056-21 messages: request, option select, break, identification, data message."""

from __future__ import annotations

import pytest

from custom_components.landis_gyr_optical.meter.crc import crc16_arc
from custom_components.landis_gyr_optical.meter.errors import ProtocolError
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    ACK,
    BAUD_MODE_B,
    BAUD_MODE_C,
    BREAK,
    ETX,
    INITIAL_BAUD,
    MODE_D_BAUD,
    REACTION_TIME,
    SHORT_REACTION_TIME,
    SOH,
    STX,
    Identification,
    Mode,
    baud_character,
    bcc,
    encode_data_message,
    option_select,
    sign_on,
)
from custom_components.landis_gyr_optical.meter.line import wire_time
from custom_components.landis_gyr_optical.meter.manufacturers import manufacturer_name


def test_constants() -> None:
    assert (SOH, STX, ETX, ACK) == (0x01, 0x02, 0x03, 0x06)
    assert (INITIAL_BAUD, MODE_D_BAUD) == (300, 2400)
    assert (REACTION_TIME, SHORT_REACTION_TIME) == (0.2, 0.02)
    assert BAUD_MODE_C == {"0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200}
    assert BAUD_MODE_B == {"A": 600, "B": 1200, "C": 2400, "D": 4800, "E": 9600, "F": 19200}
    assert [str(mode) for mode in Mode] == ["mode_a", "mode_b", "mode_c", "mode_d"]


def test_sign_on() -> None:
    assert sign_on() == b"/?!\r\n"
    assert sign_on() == bytes.fromhex("2f3f210d0a")
    assert sign_on("Bla0") == b"/?Bla0!\r\n"
    assert sign_on("12345678") == b"/?12345678!\r\n"
    assert sign_on("A" * 32) == b"/?" + b"A" * 32 + b"!\r\n"


@pytest.mark.parametrize("address", ["A" * 33, "12!3", "über", "12\r\n", "\x00", "a\tb"])
def test_sign_on_rejects_invalid_addresses(address: str) -> None:
    with pytest.raises(ValueError, match="device address"):
        sign_on(address)


@pytest.mark.parametrize(
    ("baud", "char"),
    [(300, "0"), (600, "1"), (1200, "2"), (2400, "3"), (4800, "4"), (9600, "5"), (19200, "6")],
)
def test_option_select_for_every_rate(baud: int, char: str) -> None:
    assert baud_character(baud) == char
    assert option_select(baud) == bytes([0x06, 0x30, ord(char), 0x30, 0x0D, 0x0A])


def test_option_select_known_bytes_and_modes() -> None:
    assert option_select(9600) == bytes.fromhex("063035300d0a")
    assert option_select(300) == bytes.fromhex("063030300d0a")
    assert option_select(9600, protocol="2", mode="2") == b"\x06252\r\n"
    assert option_select(2400, mode="1") == b"\x06031\r\n"


@pytest.mark.parametrize("baud", [0, 110, 115200, 57600])
def test_option_select_rejects_rates_without_character(baud: int) -> None:
    with pytest.raises(ValueError, match="no mode C baud character"):
        option_select(baud)


def test_break_bytes() -> None:
    assert bytes([0x01, 0x42, 0x30, 0x03, 0x71]) == BREAK
    assert bcc(BREAK[1:-1]) == BREAK[-1]


def test_bcc_of_known_frame() -> None:
    frame = b"\x01P0\x02(1234567)\x03P"
    assert bcc(frame[1:-1]) == ord("P")
    assert bcc(b"") == 0
    assert bcc(b"\x55\x55") == 0


def test_crc16_arc_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D
    assert crc16_arc(b"") == 0


def test_encode_data_message_bcc_verifies() -> None:
    block = b"1.8.0(000219.252*kWh)\r\nC.1.0(18438636)\r\n"
    message = encode_data_message(block)
    assert message[0] == STX
    assert message[1:-1] == block + b"!\r\n\x03"
    assert bcc(message[1:-1]) == message[-1]
    assert encode_data_message(b"") == b"\x02!\r\n\x03" + bytes([bcc(b"!\r\n\x03")])


def test_wire_time() -> None:
    assert wire_time(30, 300) == pytest.approx(1.0)
    assert wire_time(6, 300) == pytest.approx(0.2)
    assert wire_time(11, 9600, 11) == pytest.approx(121 / 9600)


def test_identification_e350() -> None:
    ident = Identification.parse(b"/LGZ4ZMF100AC.M27\r\n")
    assert ident == Identification("LGZ", "4", "ZMF100AC.M27", None)
    assert ident.manufacturer == "Landis+Gyr"
    assert ident.mode is Mode.C
    assert ident.offered_baud == 4800
    assert ident.reaction_time == REACTION_TIME
    assert not ident.hdlc_capable
    assert ident.medium == 1
    assert ident.encode() == b"/LGZ4ZMF100AC.M27\r\n"
    assert str(ident) == "LGZ4ZMF100AC.M27"


def test_identification_mode_e_enhanced_id() -> None:
    ident = Identification.parse(b"/LGZ5\\2ZMD4054459.B40")
    assert (ident.flag_id, ident.baud_char, ident.enhanced_id, ident.identification) == (
        "LGZ",
        "5",
        "2",
        "ZMD4054459.B40",
    )
    assert ident.hdlc_capable
    assert ident.offered_baud == 9600
    assert ident.mode is Mode.C
    assert ident.encode() == b"/LGZ5\\2ZMD4054459.B40\r\n"


def test_identification_ace3000() -> None:
    ident = Identification.parse(b"/ACE0\\3k260V01.19\r\n")
    assert (ident.flag_id, ident.baud_char, ident.enhanced_id, ident.identification) == (
        "ACE",
        "0",
        "3",
        "k260V01.19",
    )
    assert ident.manufacturer == "Actaris"
    assert not ident.hdlc_capable
    assert ident.offered_baud == 300
    assert ident.mode is Mode.C
    assert ident.encode() == b"/ACE0\\3k260V01.19\r\n"


def test_lower_case_third_letter_means_short_reaction_time() -> None:
    ident = Identification.parse(b"/ISk5\\2MT382-1000")
    assert ident.reaction_time == SHORT_REACTION_TIME == 0.02
    assert ident.manufacturer == "Iskraemeco"
    assert Identification.parse(b"/LGz5ZMD").reaction_time == 0.02
    assert Identification.parse(b"/LGZ5ZMD").reaction_time == 0.2


@pytest.mark.parametrize(
    ("line", "mode", "baud"),
    [
        (b"/LGZ0ZCF100AC.M23", Mode.C, 300),
        (b"/LGZ6XXX", Mode.C, 19200),
        (b"/LUGCUH50", Mode.B, 2400),
        (b"/ABCAxyz", Mode.B, 600),
        (b"/ABCFxyz", Mode.B, 19200),
        (b"/ABCGxyz", Mode.A, 300),
        (b"/ABC7xyz", Mode.A, 300),
        (b"/ABC xyz", Mode.A, 300),
        (b"/ABCaxyz", Mode.A, 300),
    ],
)
def test_mode_and_rate_from_the_baud_character(line: bytes, mode: Mode, baud: int) -> None:
    ident = Identification.parse(line)
    assert ident.mode is mode
    assert ident.offered_baud == baud


def test_heat_meter_medium() -> None:
    ident = Identification.parse(b"/LUGCUH50\r\n")
    assert ident.medium == 6
    assert ident.manufacturer == "Landis+Gyr"
    assert Identification.parse(b"/lug5X").medium == 6


def test_unknown_flag_id() -> None:
    ident = Identification.parse(b"/XYZ5METER")
    assert ident.manufacturer is None
    assert manufacturer_name("xyz") is None
    assert manufacturer_name("lgz") == "Landis+Gyr"
    assert manufacturer_name("LGF") == "Landis+Gyr"


def test_identification_without_enhanced_backslash() -> None:
    ident = Identification.parse(b"/LGZ52ZMD120APt.G03\r\n")
    assert ident.enhanced_id is None
    assert ident.identification == "2ZMD120APt.G03"
    assert ident.offered_baud == 9600


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"LGZ4ZMF100AC.M27",
        b"/LG",
        b"/LG14ZMF",
        b"/?!",
        b"/LGZ4" + b"X" * 33,
        b"/LGZ4ZMF\x02",
        b"/LGZ4ZM\xb0F",
        b"/LGZ4ZMF\r\nmore",
    ],
)
def test_identification_parse_rejects(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        Identification.parse(line)


@pytest.mark.parametrize(
    "line",
    [
        b"/LGZ4ZMF100AC.M27",
        b"/LGZ5\\2ZMD4054459.B40",
        b"/ACE0\\3k260V01.19",
        b"/LUGCUH50",
        b"/ITR5EM214",
        b"/LGF5E360",
    ],
)
def test_identification_round_trip(line: bytes) -> None:
    ident = Identification.parse(line)
    assert ident.encode() == line + b"\r\n"
    assert Identification.parse(ident.encode()) == ident
