"""Real IEC 62056-21 and P1 captures decode to the values their sources document."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.errors import ChecksumError, ProtocolError
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import Identification, Mode, bcc
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Finished,
    Protocol,
    Receive,
    Session,
    SessionSettings,
    Transmit,
)
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Readout
from custom_components.landis_gyr_optical.meter.registers import Register
from tests.vectors import VECTORS, vector, vector_names

COVERED = {
    "iec21_ace3000_corrupted_vzlogger.txt",
    "iec21_itron_em214_modeA_smartmeter-obis.txt",
    "iec21_lgz_e230_zmr120ac_k75_bossjl_partial_transcribed.txt",
    "iec21_lgz_e350_zmf100ac_m23_widmedia_notes_transcribed.txt",
    "iec21_lgz_e350_zmf100ac_m27_vzlogger.txt",
    "iec21_lgz_zmd120ap_vzlogger.txt",
    "iec21_lgz_zmd405_b40_pwitab_issue16_partial_transcribed.txt",
    "iec21_lug_t550_uh50_ultraheat_vpathuis_b.txt",
    "iec21_lug_uh50_ultraheat_vpathuis_a.txt",
    "p1_lgf_e360_amshan_A.txt",
    "p1_lgf_e360_amshan_D.txt",
}


def split_dump(data: bytes) -> tuple[Identification, bytes]:
    """Split an unframed dump into the meter's identification and the data block after it.

    A request echo (``/?...``) before the identification and an STX before the block
    are dropped; the block runs to the end mark ``!``.
    """
    lines = data.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(b"/") and not line.startswith(b"/?"))
    identification = Identification.parse(lines[index].rstrip(b"\r\n"))
    block = b"".join(lines[index + 1 :]).lstrip(b"\r\n").removeprefix(b"\x02")
    end = block.find(b"!")
    return identification, block if end < 0 else block[:end]


def by_code(registers: list[Register], medium: int = 1) -> dict[ObisCode, Register]:
    out: dict[ObisCode, Register] = {}
    for register in registers:
        out.setdefault(register.obis, register)
    return out


def reading(
    registers: dict[ObisCode, Register], code: str, medium: int = 1
) -> tuple[Decimal | str | None, str | None]:
    register = registers[ObisCode.parse(code, medium=medium)]
    return register.value, register.unit


def pull(session: Session) -> list[object]:
    commands: list[object] = []
    while not session.needs_data:
        command = session.next_command()
        commands.append(command)
        if isinstance(command, Finished):
            break
    return commands


def test_every_text_vector_is_covered() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"vector directory {VECTORS} not found")
    assert set(vector_names("iec21_*.txt")) | set(vector_names("p1_*.txt")) == COVERED


# --- unframed dumps: the data-block parser ----------------------------------------------------


def test_lgz_zmd120ap_vzlogger() -> None:
    ident, block = split_dump(vector("iec21_lgz_zmd120ap_vzlogger.txt"))
    assert ident == Identification("LGZ", "5", "2ZMD120APt.G03")
    registers = parse_data_block(block)
    assert len(registers) == 8
    values = by_code(registers)
    assert reading(values, "1.8.1") == (Decimal("1846.0"), "kWh")
    assert reading(values, "1.8.2") == (Decimal("0.0"), "kWh")
    assert reading(values, "2.8.1") == (Decimal("4329.6"), "kWh")
    assert reading(values, "2.8.0") == (Decimal("4329.6"), "kWh")
    assert values[ObisCode.parse("0.0.0")].value == Decimal(20000)
    assert values[ObisCode.parse("0.0.0")].text == "20000"
    assert values[ObisCode.parse("F.F")].text == "00000000"


def test_lgz_zmd120ap_through_a_session_is_rejected_as_unframed() -> None:
    session = Session(SessionSettings())
    assert pull(session)[0] == Transmit(b"/?!\r\n")
    data = vector("iec21_lgz_zmd120ap_vzlogger.txt")
    with pytest.raises(ChecksumError, match="without STX/ETX framing"):
        session.receive_data(data)
    # The echo was skipped and the identification understood before the data failed.
    assert session.identification == Identification("LGZ", "5", "2ZMD120APt.G03")


def test_lgz_e350_m27_vzlogger() -> None:
    ident, block = split_dump(vector("iec21_lgz_e350_zmf100ac_m27_vzlogger.txt"))
    assert str(ident) == "LGZ4ZMF100AC.M27"
    assert ident.offered_baud == 4800
    registers = parse_data_block(block)
    assert len(registers) == 23
    last = registers[-1]
    assert (last.obis, last.text) == (ObisCode.parse("C.5.0"), "1420")
    values = by_code(registers)
    assert reading(values, "1.8.2") == (Decimal("219.251"), "kWh")
    assert reading(values, "1.8.0") == (Decimal("219.252"), "kWh")
    assert reading(values, "15.8.0") == (Decimal("219.252"), "kWh")
    assert [reading(values, code) for code in ("32.7", "52.7", "72.7")] == [
        (Decimal(233), "V"),
        (Decimal(233), "V"),
        (Decimal(234), "V"),
    ]
    assert [reading(values, code) for code in ("31.7", "51.7", "71.7")] == [
        (Decimal("2.30"), "A"),
        (Decimal("2.32"), "A"),
        (Decimal("2.97"), "A"),
    ]
    assert reading(values, "16.7") == (Decimal("1.66"), "kW")
    assert values[ObisCode.parse("C.7.0")].text == "0004"
    assert values[ObisCode.parse("0.2.0")].value == "M27"
    assert values[ObisCode.parse("C.1.0")].text == "18438636"
    readout = Readout(ident.identity, tuple(registers), "mode_c", 4800, "none")
    assert readout.serial == "18438636"


def test_lgz_e350_m27_with_lost_carriage_returns_is_rejected_by_a_session() -> None:
    # The dump's line ends are bare LF: no identification line ever ends, and the
    # session gives up once the line is longer than any identification.
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(ProtocolError, match="identification line too long"):
        session.receive_data(vector("iec21_lgz_e350_zmf100ac_m27_vzlogger.txt"))


def test_lgz_e350_m23_widmedia_transcribed() -> None:
    data = vector("iec21_lgz_e350_zmf100ac_m23_widmedia_notes_transcribed.txt")
    ident, block = split_dump(data)
    assert str(ident) == "LGZ4ZMF100AC.M23"
    # The transcription keeps the echo of the option select ("000" after the lost ACK).
    assert block.startswith(b"000\n")
    registers = parse_data_block(block.removeprefix(b"000\n"))
    assert len(registers) == 18
    values = by_code(registers)
    assert values[ObisCode.parse("C.1.0")].text == "12314330"
    assert values[ObisCode.parse("0.0")].text == "00188123"
    assert [reading(values, code) for code in ("1.8.1", "1.8.0", "15.8.0")] == [
        (Decimal("1234.120"), "kWh")
    ] * 3
    assert reading(values, "32.7") == (Decimal(229), "V")
    assert values[ObisCode.parse("C.5.0")].text == "0400"
    assert values[ObisCode.parse("0.2.0")].value == "M23"
    assert reading(values, "16.7") == (Decimal("0.00"), "kW")


def test_lgz_zmd405_history_transcribed() -> None:
    ident, block = split_dump(vector("iec21_lgz_zmd405_b40_pwitab_issue16_partial_transcribed.txt"))
    assert ident.hdlc_capable
    assert ident.offered_baud == 9600
    registers = parse_data_block(block, medium=ident.medium)
    assert len(registers) == 60
    readout = Readout(ident.identity, tuple(registers), "mode_c", 9600, "none")
    current, history = readout.current, readout.history
    assert current[ObisCode.parse("1.8.0")].value == Decimal("302.8260")
    assert history[ObisCode.parse("1.8.0*12")].value == Decimal("75.5341")
    assert history[ObisCode.parse("1.8.0&12")].value == Decimal(0)
    assert ObisCode.parse("1.8.0*12") not in current
    assert ObisCode.parse("1.8.0&12") != ObisCode.parse("1.8.0*12")
    assert current[ObisCode.parse("1.8.1")].value == Decimal("302.8260")
    assert reading(current, "5.8.1") == (Decimal("64.3714"), "kvarh")
    assert history[ObisCode.parse("5.8.1*12")].value == Decimal("16.0599")
    assert current[ObisCode.parse("0.9.1")].value == "23:16:43"
    assert current[ObisCode.parse("0.9.2")].value == "21-01-04"
    assert current[ObisCode.parse("C.90.1")].text == "54800102"
    assert history[ObisCode.parse("0.1.0*12")].value == "21-01-01 00:00"
    assert current[ObisCode.parse("0.0.0")].value is None
    assert readout.serial == "54800102"
    assert len(current) + len(history) < len(registers)  # the repeated *00 entries collapse


def test_lgz_e230_zmr120_transcribed() -> None:
    ident, block = split_dump(vector("iec21_lgz_e230_zmr120ac_k75_bossjl_partial_transcribed.txt"))
    assert str(ident) == "LGZ5ZMR120AC.K75"
    registers = parse_data_block(block)
    assert len(registers) == 4
    values = by_code(registers)
    assert values[ObisCode.parse("F.F.0")].text == "00000000"
    assert reading(values, "1.8.1") == (Decimal("4.079"), "kWh")
    assert reading(values, "1.8.2") == (Decimal("36884.085"), "kWh")
    assert reading(values, "2.8.0") == (Decimal("0.000"), "kWh")


def test_lug_uh50_heat_meter() -> None:
    ident, block = split_dump(vector("iec21_lug_uh50_ultraheat_vpathuis_a.txt"))
    assert ident.medium == 6
    assert ident.mode is Mode.B
    assert ident.offered_baud == 2400
    registers = parse_data_block(block, medium=ident.medium)
    values = by_code(registers)

    def heat(code: str) -> tuple[Decimal | str | None, str | None]:
        return reading(values, code, medium=6)

    assert heat("6.8") == (Decimal("328.871"), "GJ")
    assert heat("6.26") == (Decimal("3329.67"), "m³")
    assert heat("9.21") == (Decimal(66153690), None)
    assert heat("6.26*01") == (Decimal("3188.07"), "m³")
    assert heat("6.8*01") == (Decimal("314.658"), "GJ")
    assert heat("6.6") == (Decimal("22.4"), "kW")
    assert heat("6.33") == (Decimal("0.744"), "m³/h")
    assert [(v.value, v.unit) for v in values[ObisCode.parse("9.4", medium=6)].values] == [
        (Decimal("98.5"), "°C"),
        (Decimal("96.1"), "°C"),
    ]
    assert heat("6.31") == (Decimal(107988), "h")
    assert heat("6.32") == (Decimal(5), "h")
    assert [v.value for v in values[ObisCode.parse("9.36", medium=6)].values] == ["2022-05-19", "19:41:17"]
    assert heat("9.31") == (Decimal(28849), "h")
    assert heat("6.35") == (Decimal(60), "min")
    assert values[ObisCode.parse("0.0")].text == "66153690"
    assert str(registers[0].obis) == "6-0:6.8.0"


def test_lug_t550_heat_meter_in_mwh() -> None:
    ident, block = split_dump(vector("iec21_lug_t550_uh50_ultraheat_vpathuis_b.txt"))
    assert str(ident) == "LUGCUH50"
    registers = parse_data_block(block, medium=ident.medium)
    values = by_code(registers)
    assert reading(values, "6.8", 6) == (Decimal("326.062"), "MWh")
    assert reading(values, "6.26", 6) == (Decimal("7939.56"), "m³")
    assert reading(values, "9.20", 6) == (Decimal(66935074), None)
    assert [v.value for v in values[ObisCode.parse("9.36", medium=6)].values] == ["2022-06-08", "10:06:51"]
    assert values[ObisCode.parse("9.1", medium=6)].values[-1].value == "?:"


def test_itron_em214_mode_a_block() -> None:
    data = vector("iec21_itron_em214_modeA_smartmeter-obis.txt")
    ident, block = split_dump(data)
    assert str(ident) == "ITR5EM214"
    assert ident.manufacturer == "Itron"
    registers = parse_data_block(block)
    assert len(registers) == 21
    values = by_code(registers)
    assert [reading(values, code) for code in ("31.7.0", "51.7.0", "71.7.0")] == [
        (Decimal("0.8"), "A"),
        (Decimal("0.7"), "A"),
        (Decimal("1.2"), "A"),
    ]
    assert values[ObisCode.parse("C.90")].text == "00000100"
    assert reading(values, "C.8.1") == (Decimal("24616.21"), "h")
    assert reading(values, "1.8.1") == (Decimal("22108.7"), "kWh")
    assert reading(values, "C.13.21") == (Decimal(1), "s")
    assert Readout(ident.identity, tuple(registers), "mode_a", 300, "none").serial == "53965555"


def test_itron_em214_forced_mode_a_never_completes_without_etx() -> None:
    # The capture has STX but no ETX/BCC: the session keeps waiting rather than accept an
    # unverifiable readout, and the driver's timeout then reports how far it got.
    data = vector("iec21_itron_em214_modeA_smartmeter-obis.txt")
    session = Session(SessionSettings(protocol=Protocol.MODE_A))
    pull(session)
    session.receive_data(data)
    commands = pull(session)
    assert len(commands) == 1 and isinstance(commands[0], Receive)
    assert session.needs_data
    assert session.mode is Mode.A
    stx = data.index(b"\x02")
    assert f"the data message stopped after {len(data) - stx} bytes" in str(session.timeout())


# --- the corrupted capture ----------------------------------------------------------------------


def test_ace3000_corrupted_bcc_does_not_verify() -> None:
    data = vector("iec21_ace3000_corrupted_vzlogger.txt")
    start, end = data.index(b"\x02"), data.index(b"\x03")
    assert data[end + 1 : end + 2] == b"F"
    assert bcc(data[start + 1 : end + 1]) == 0x4D


def test_ace3000_corrupted_rejected_by_mode_c_session() -> None:
    data = vector("iec21_ace3000_corrupted_vzlogger.txt")
    split = data.index(b"\x02")
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(data[:split])
    assert session.identification == Identification("ACE", "0", "k260V01.19", "3")
    commands = pull(session)
    assert commands[1] == Transmit(b"\x06000\r\n")
    with pytest.raises(ChecksumError, match=r"received 0x46, calculated 0x4D"):
        session.receive_data(data[split:])
    assert not any(isinstance(command, Finished) for command in session._commands)


def test_ace3000_corrupted_in_one_chunk_rejected() -> None:
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(ChecksumError):
        session.receive_data(vector("iec21_ace3000_corrupted_vzlogger.txt"))


def test_ace3000_noise_breaks_the_block_parser_too() -> None:
    data = vector("iec21_ace3000_corrupted_vzlogger.txt")
    block = data[data.index(b"\x02") + 1 : data.index(b"\x03")]
    with pytest.raises(ProtocolError, match="not a data set"):
        parse_data_block(block)
    # The lines before the noise hold what vzlogger reports for them.
    registers = parse_data_block(block[: block.index(b"Y")])
    assert [(str(r.obis), r.text) for r in registers] == [
        ("0-0:F.F.0", "00"),
        ("0-0:C.1.0", "1126120053322353"),
        ("0-0:C.5.0", "00"),
        ("1-0:1.8.0", "013925.5"),
    ]
    assert registers[-1].value == Decimal("13925.5")
    assert registers[-1].unit is None


# --- P1 pushes through the mode D session -------------------------------------------------------


def push_readout(name: str) -> Readout:
    data = vector(name)
    if not data.endswith(b"\r\n"):
        # The source dropped the CR LF that ends every telegram after its CRC.
        data += b"\r\n"
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    session.receive_data(data)
    commands = pull(session)
    assert isinstance(commands[-1], Finished)
    readout = commands[-1].readout
    assert readout.checksum == "crc16"
    assert readout.protocol == "mode_d"
    assert readout.identity == Identification("LGF", "5", "E360").identity
    return readout


def test_p1_e360_a() -> None:
    readout = push_readout("p1_lgf_e360_amshan_A.txt")
    assert readout.raw.endswith(b"!A077")
    assert len(readout.registers) == 27
    current = readout.current
    assert reading(current, "1-0:1.8.0") == (Decimal("896.020"), "kWh")
    assert reading(current, "1-0:2.8.0") == (Decimal("48.792"), "kWh")
    assert reading(current, "1-0:3.8.0") == (Decimal("518.309"), "kvarh")
    assert reading(current, "1-0:32.7.0") == (Decimal("230.1"), "V")
    assert current[ObisCode.parse("0-0:1.0.0")].value == "210222161900W"


def test_p1_e360_d() -> None:
    readout = push_readout("p1_lgf_e360_amshan_D.txt")
    assert readout.raw.endswith(b"!8012")
    assert len(readout.registers) == 27
    current = readout.current
    assert reading(current, "1-0:1.8.0") == (Decimal("10501.076"), "kWh")
    assert reading(current, "1-0:1.7.0") == (Decimal("2.301"), "kW")
    assert reading(current, "1-0:31.7.0") == (Decimal("2.8"), "A")


@pytest.mark.parametrize("name", ["p1_lgf_e360_amshan_A.txt", "p1_lgf_e360_amshan_D.txt"])
def test_p1_every_single_digit_change_is_caught(name: str) -> None:
    data = vector(name).rstrip(b"\r\n") + b"\r\n"
    stop = data.index(b"!")
    for index in range(stop):
        if not data[index : index + 1].isdigit():
            continue
        changed = data[:index] + bytes([(data[index] - 0x30 + 1) % 10 + 0x30]) + data[index + 1 :]
        session = Session(SessionSettings(protocol=Protocol.MODE_D))
        pull(session)
        with pytest.raises(ChecksumError):
            session.receive_data(changed)
