"""The sans-IO session: command sequences, parsing, errors, driven with plain byte strings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.errors import (
    ChecksumError,
    NoAnswerError,
    ProtocolError,
    ReadoutTooLongError,
    UnsupportedModeError,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import encode_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    INTER_CHARACTER_TIMEOUT,
    MAX_REACTION_TIME,
    Identification,
    Mode,
    bcc,
    encode_data_message,
    option_select,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    DEFAULT_MAX_READOUT,
    MAX_JUNK,
    SLOW_REACTION_TIME,
    TIMING_SLACK,
    WAKE_UP_CHARACTERS,
    WAKE_UP_PAUSE,
    Command,
    Finished,
    Protocol,
    Receive,
    Session,
    SessionSettings,
    SwitchLine,
    Transmit,
    Wait,
    step_down,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Direction, Readout, TraceEntry, printable
from tests.vectors import vector

E350_BLOCK = (
    b"F.F(00)\r\n0.0(        18438636)\r\nC.1.0(18438636)\r\n1.8.0(000219.252*kWh)\r\n"
    b"1.8.0*12(000100.000*kWh)\r\n1.8.0&12(000050.000*kWh)\r\n32.7(233*V)\r\n16.7(001.66*kW)\r\n"
)
E350_ID = b"/LGZ4ZMF100AC.M27\r\n"
FAST_ID = b"/LGZ6ZMD\r\n"


def pull(session: Session) -> list[Command]:
    """Take the commands the session has for its driver, up to a Receive or Finished."""
    commands: list[Command] = []
    while not session.needs_data:
        command = session.next_command()
        commands.append(command)
        if isinstance(command, Finished):
            break
    return commands


def feed(session: Session, stream: bytes, chunk: int, seen: list[tuple[int, int]] | None = None) -> None:
    """Feed a stream in chunks; ``seen`` collects (bytes fed, buffered bytes) after each."""
    fed = 0
    for index in range(0, len(stream), chunk):
        piece = stream[index : index + chunk]
        fed += len(piece)
        session.receive_data(piece)
        if seen is not None:
            seen.append((fed, len(session._buffer)))


def finish(session: Session, *chunks: bytes) -> Readout:
    """Feed chunks and return the readout the session finishes with."""
    for chunk in chunks:
        session.receive_data(chunk)
    commands = pull(session)
    assert commands, "the session still waits for data"
    assert isinstance(commands[-1], Finished), commands
    return commands[-1].readout


def signed_on(settings: SessionSettings, identification: bytes = E350_ID) -> tuple[Session, list[Command]]:
    """A session that has sent its request and received the identification."""
    session = Session(settings)
    first = pull(session)
    assert isinstance(first[-1], Receive)
    session.receive_data(identification)
    return session, pull(session)


def values(readout: Readout) -> dict[str, Decimal | str | None]:
    return {str(register.obis): register.value for register in readout.registers}


# --- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_initial_line() -> None:
    settings = SessionSettings()
    assert settings.protocol is Protocol.AUTO
    assert settings.max_baud == 19200
    assert settings.max_readout == DEFAULT_MAX_READOUT
    assert settings.initial_line == LineSettings(300, Framing.SEVEN_E_ONE)
    assert SessionSettings(protocol=Protocol.MODE_D).initial_line.baud == 2400
    assert SessionSettings(fixed_baud=9600, framing=Framing.EIGHT_N_ONE).initial_line == LineSettings(
        9600, Framing.EIGHT_N_ONE
    )
    assert LineSettings(300).character_time() == pytest.approx(10 / 300)
    assert LineSettings(300, Framing.SEVEN_E_TWO).character_time() == pytest.approx(11 / 300)
    assert Framing.EIGHT_N_ONE.bits_per_character == 10


# --- mode C -----------------------------------------------------------------------------------


def test_mode_c_full_sequence_capped_by_max_baud() -> None:
    session = Session(SessionSettings(max_baud=9600))
    assert not session.needs_data
    first = pull(session)
    assert first[0] == Transmit(b"/?!\r\n")
    receive = first[1]
    assert isinstance(receive, Receive)
    assert receive.what == "identification"
    # A slow meter's reaction time, then the first character's own wire time, then USB slack.
    first_byte = SLOW_REACTION_TIME + 10 / 300 + TIMING_SLACK
    assert SLOW_REACTION_TIME > MAX_REACTION_TIME + 2 * 0.5  # a standard meter behind 0.5 s each way
    assert receive.first_byte_timeout == pytest.approx(first_byte)
    assert receive.inter_character_timeout == INTER_CHARACTER_TIMEOUT
    assert receive.total_timeout == pytest.approx(first_byte + 2 * 48 * 10 / 300)
    assert len(first) == 2
    assert session.needs_data

    session.receive_data(FAST_ID)
    after = pull(session)
    assert after[:3] == [
        Wait(0.2),
        Transmit(b"\x06050\r\n"),
        SwitchLine(LineSettings(9600, Framing.SEVEN_E_ONE), deadline=0.2),
    ]
    data_receive = after[3]
    assert isinstance(data_receive, Receive)
    assert data_receive.what == "data message"
    data_first_byte = SLOW_REACTION_TIME + 10 / 9600 + TIMING_SLACK
    assert data_receive.first_byte_timeout == pytest.approx(data_first_byte)
    assert data_receive.total_timeout == pytest.approx(data_first_byte + 2 * DEFAULT_MAX_READOUT * 10 / 9600)
    assert len(after) == 4
    assert session.line.baud == 9600
    assert session.mode is Mode.C
    assert session.identification == Identification.parse(FAST_ID)

    message = encode_data_message(E350_BLOCK)
    readout = finish(session, message)
    assert readout.protocol == "mode_c"
    assert readout.baud == 9600
    assert readout.checksum == "bcc"
    assert readout.raw == message
    assert readout.identity.model == "ZMD"
    assert len(readout.registers) == 8
    assert readout.current[ObisCode.parse("1.8.0")].value == Decimal("219.252")
    assert not session.needs_data


@pytest.mark.parametrize(
    ("max_baud", "offered", "asked"),
    [
        (19200, b"6", "6"),
        (19200, b"4", "4"),
        (4800, b"5", "4"),
        (300, b"5", "0"),
        (100, b"5", "0"),
        (7000, b"6", "4"),
    ],
)
def test_negotiated_rate(max_baud: int, offered: bytes, asked: str) -> None:
    _, commands = signed_on(SessionSettings(max_baud=max_baud), b"/LGZ" + offered + b"X\r\n")
    assert Transmit(b"\x060" + asked.encode() + b"0\r\n") in commands


def test_mode_c_at_300_has_no_switch() -> None:
    _, commands = signed_on(SessionSettings(), b"/ACE0\\3k260V01.19\r\n")
    assert commands[:2] == [Wait(0.2), Transmit(option_select(300))]
    assert isinstance(commands[2], Receive)
    assert not any(isinstance(command, SwitchLine) for command in commands)


def test_short_reaction_time_for_lower_case_flag() -> None:
    session, commands = signed_on(SessionSettings(), b"/ISk5\\2MT382-1000\r\n")
    assert commands[0] == Wait(0.02)
    assert commands[2] == SwitchLine(LineSettings(9600), deadline=0.02)
    readout = finish(session, encode_data_message(b"1.8.0(1*kWh)\r\n"))
    assert readout.manufacturer == "Iskraemeco"


def test_fixed_baud_asks_for_that_rate_and_never_switches() -> None:
    session, commands = signed_on(SessionSettings(fixed_baud=300), FAST_ID)
    assert commands[:2] == [Wait(0.2), Transmit(option_select(300))]
    assert not any(isinstance(command, SwitchLine) for command in commands)
    readout = finish(session, encode_data_message(E350_BLOCK))
    assert readout.baud == 300
    session, commands = signed_on(SessionSettings(fixed_baud=2400), FAST_ID)
    assert Transmit(b"\x06030\r\n") in commands
    assert not any(isinstance(command, SwitchLine) for command in commands)


def test_wake_up_sequence() -> None:
    session = Session(SessionSettings(wake_up=True))
    commands = pull(session)
    assert commands[0] == Transmit(bytes(WAKE_UP_CHARACTERS))
    assert commands[0] == Transmit(b"\x00" * 66)
    assert commands[1] == Wait(WAKE_UP_PAUSE) == Wait(1.6)
    assert commands[2] == Transmit(b"/?!\r\n")
    assert isinstance(commands[3], Receive)


def test_wake_up_echo_and_sign_on_echo_are_skipped() -> None:
    session = Session(SessionSettings(wake_up=True))
    pull(session)
    session.receive_data(b"\x00" * 66 + b"/?!\r\n" + b"/LUGCUH50\r\n")
    assert session.identification == Identification.parse(b"/LUGCUH50")
    # The UH50 announces mode B: it switches to 2400 Bd by itself.
    assert session.mode is Mode.B
    assert pull(session)[0] == SwitchLine(LineSettings(2400), deadline=0.2)


def test_mode_b_above_max_baud_raises() -> None:
    session = Session(SessionSettings(max_baud=1200))
    pull(session)
    with pytest.raises(UnsupportedModeError, match="2400 Bd"):
        session.receive_data(b"/LUGCUH50\r\n")


def test_device_address_sign_on() -> None:
    session = Session(SessionSettings(address="54800102"))
    assert pull(session)[0] == Transmit(b"/?54800102!\r\n")
    with pytest.raises(ValueError, match="device address"):
        Session(SessionSettings(address="12!"))


# --- echo -------------------------------------------------------------------------------------


def test_echo_of_request_is_skipped() -> None:
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(b"/?!\r\n" + FAST_ID)
    assert isinstance(pull(session)[0], Wait)
    assert str(session.identification) == "LGZ6ZMD"


def test_echo_of_request_split_byte_by_byte() -> None:
    session = Session(SessionSettings())
    pull(session)
    for byte in b"/?!\r\n" + FAST_ID:
        session.receive_data(bytes([byte]))
    assert session.identification == Identification.parse(FAST_ID)


def test_echo_of_addressed_request_is_skipped() -> None:
    session = Session(SessionSettings(address="12345678"))
    pull(session)
    session.receive_data(b"/?12345678!\r\n/LGZ4ZMF100AC.M27\r\n")
    assert session.identification is not None
    assert session.identification.identification == "ZMF100AC.M27"


def test_echo_behind_line_noise_is_skipped() -> None:
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(b"\x7f\x7f\x7f/?!\r\n/ACE0\\3k260V01.19\r\n")
    assert session.identification is not None
    assert session.identification.flag_id == "ACE"


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_echo_of_ack_is_skipped(chunk: int) -> None:
    session, commands = signed_on(SessionSettings(max_baud=300), FAST_ID)
    assert Transmit(b"\x06000\r\n") in commands
    stream = b"\x06000\r\n" + encode_data_message(E350_BLOCK)
    for index in range(0, len(stream), chunk):
        session.receive_data(stream[index : index + chunk])
    readout = finish(session)
    assert readout.current[ObisCode.parse("32.7")].value == Decimal(233)
    assert readout.raw == encode_data_message(E350_BLOCK)


def test_data_after_switch_has_no_echo_to_skip() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    readout = finish(session, encode_data_message(b"1.8.0(5*kWh)\r\n"))
    assert values(readout) == {"1-0:1.8.0": Decimal(5)}


# --- junk and bad answers ---------------------------------------------------------------------


def test_junk_before_identification_up_to_the_limit() -> None:
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(b"\xff" * MAX_JUNK + FAST_ID)
    assert session.identification == Identification.parse(FAST_ID)


def test_junk_beyond_the_limit_raises() -> None:
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(ProtocolError, match=f"{MAX_JUNK + 1} bytes arrived without a identification"):
        session.receive_data(b"\xff" * (MAX_JUNK + 1))
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(ProtocolError, match="without a identification"):
        session.receive_data(b"\x00" * (MAX_JUNK + 1) + FAST_ID)


def test_junk_in_small_chunks_is_limited_too() -> None:
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(ProtocolError, match="without a identification"):
        feed(session, b"~" * (MAX_JUNK + 1), 1)


def test_identification_too_long() -> None:
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(ProtocolError, match="identification line too long"):
        session.receive_data(b"/LGZ4" + b"X" * 60)


def test_identification_malformed() -> None:
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(ProtocolError, match="not an identification message"):
        session.receive_data(b"/12\r\n")


def test_bad_bcc_raises() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    message = bytearray(encode_data_message(E350_BLOCK))
    message[-1] ^= 0x01
    with pytest.raises(ChecksumError, match="bad block check character"):
        session.receive_data(bytes(message))
    assert not any(isinstance(command, Finished) for command in session._commands)


def test_changed_digit_with_correct_length_raises() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    message = encode_data_message(E350_BLOCK).replace(b"219.252", b"219.253")
    with pytest.raises(ChecksumError):
        session.receive_data(message)


def test_bcc_compares_seven_bits() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    message = bytearray(encode_data_message(E350_BLOCK))
    message[-1] |= 0x80
    readout = finish(session, bytes(message))
    assert readout.current[ObisCode.parse("1.8.0")].value == Decimal("219.252")


@pytest.mark.parametrize(
    "answer",
    [
        b"F.F(00)\r\n1.8.0(1*kWh)\r\n!\r\n",
        b"F.F(00)\r\n",
        b"\x06050\r\n1.8.0(1*kWh)",
    ],
)
def test_readout_without_framing_raises_checksum_error(answer: bytes) -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    with pytest.raises(ChecksumError, match="without STX/ETX framing"):
        session.receive_data(answer)


def test_unframed_readout_byte_by_byte_raises_checksum_error() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    block = encode_data_block([("1.8.0", f"{index}*kWh") for index in range(40)])
    with pytest.raises(ChecksumError, match="without STX/ETX framing"):
        feed(session, block, 1)


def test_junk_before_data_message_is_limited() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    session.receive_data(b"\x00" * MAX_JUNK)
    with pytest.raises(ProtocolError, match="without a data message"):
        session.receive_data(b"\x00")


def test_data_message_without_end_mark() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    body = b"1.8.0(1*kWh)\r\n\x03"
    with pytest.raises(ProtocolError, match="does not end with '!' CR LF"):
        session.receive_data(b"\x02" + body + bytes([bcc(body)]))


def test_data_message_with_bad_data_set() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    with pytest.raises(ProtocolError, match="not a data set at 'garbage'"):
        session.receive_data(encode_data_message(b"1.8.0(1)\r\ngarbage\r\n"))


@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_endless_data_block_is_bounded(chunk: int) -> None:
    limit = 2048
    session, _ = signed_on(SessionSettings(max_readout=limit), FAST_ID)
    line = b"1.8.0(000219.252*kWh)\r\n"
    stream = b"\x02" + line * 200
    seen: list[tuple[int, int]] = []
    with pytest.raises(ReadoutTooLongError, match=f"more than {limit} bytes"):
        feed(session, stream, chunk, seen)
    # Memory stays bounded, and the error comes as soon as the limit is passed.
    assert max(buffered for _, buffered in seen) <= limit + MAX_JUNK + chunk
    assert seen[-1][0] <= limit + 1 + chunk


# --- timeouts -----------------------------------------------------------------------------------


def test_timeout_with_nothing_received() -> None:
    session = Session(SessionSettings())
    pull(session)
    error = session.timeout()
    assert isinstance(error, NoAnswerError)
    assert str(error) == "no answer from the meter while waiting for the identification"


def test_timeout_after_some_bytes() -> None:
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(b"/LGZ4ZMF")
    error = session.timeout()
    assert "the identification stopped after 8 bytes without its end" in str(error)
    assert "/LGZ4ZMF" in str(error)


def test_timeout_counts_only_the_meter_bytes_of_the_current_message() -> None:
    session, _ = signed_on(SessionSettings(max_baud=300), FAST_ID)
    # The echo of the option select is not an answer.
    session.receive_data(b"\x06000\r\n")
    assert str(session.timeout()) == "no answer from the meter while waiting for the data message"
    session.receive_data(b"\x02F.F(00)\r\n")
    assert "the data message stopped after 10 bytes without its end" in str(session.timeout())


def test_timeout_before_any_receive() -> None:
    assert "waiting for the answer" in str(Session(SessionSettings()).timeout())


def test_next_command_without_data_is_a_driver_error() -> None:
    session = Session(SessionSettings())
    pull(session)
    with pytest.raises(RuntimeError, match="waiting for data"):
        session.next_command()


# --- mode A and B -----------------------------------------------------------------------------


def test_mode_a_has_no_ack_and_stays_at_300() -> None:
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(b"/ABCGmeter\r\n")
    commands = pull(session)
    assert len(commands) == 1
    assert isinstance(commands[0], Receive)
    assert commands[0].what == "data message"
    readout = finish(session, encode_data_message(b"1.8.0(12.5*kWh)\r\n"))
    assert readout.protocol == "mode_a"
    assert readout.baud == 300
    assert values(readout) == {"1-0:1.8.0": Decimal("12.5")}


def test_mode_a_identification_and_data_in_one_chunk() -> None:
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(b"/?!\r\n/ABCGmeter\r\n" + encode_data_message(b"1.8.0(3*kWh)\r\n"))
    commands = pull(session)
    assert isinstance(commands[0], Receive)
    assert isinstance(commands[1], Finished)
    assert values(commands[1].readout) == {"1-0:1.8.0": Decimal(3)}


def test_forced_mode_a_ignores_the_announced_rate() -> None:
    session, commands = signed_on(SessionSettings(protocol=Protocol.MODE_A), b"/ITR5EM214\r\n")
    assert len(commands) == 1 and isinstance(commands[0], Receive)
    readout = finish(session, encode_data_message(b"31.7.0(+000.8*A)\r\n"))
    assert readout.protocol == "mode_a"
    assert readout.current[ObisCode.parse("31.7.0")].value == Decimal("0.8")


def test_forced_mode_c_on_a_mode_b_meter_acks() -> None:
    _, commands = signed_on(SessionSettings(protocol=Protocol.MODE_C), b"/LUGCUH50\r\n")
    assert commands[:3] == [Wait(0.2), Transmit(b"\x06030\r\n"), SwitchLine(LineSettings(2400), 0.2)]


def test_forced_mode_b_at_the_initial_rate_does_not_switch() -> None:
    _, commands = signed_on(SessionSettings(protocol=Protocol.MODE_B), b"/ABC0meter\r\n")
    assert len(commands) == 1 and isinstance(commands[0], Receive)


def test_mode_b_switches_without_transmitting() -> None:
    session, commands = signed_on(SessionSettings(), b"/LUGCUH50\r\n")
    assert commands[0] == SwitchLine(LineSettings(2400), deadline=0.2)
    assert isinstance(commands[1], Receive)
    assert not any(isinstance(command, (Transmit, Wait)) for command in commands)
    readout = finish(session, encode_data_message(b"6.8(0328.871*GJ)6.26(03329.67*m3)\r\n"))
    assert readout.protocol == "mode_b"
    assert readout.baud == 2400
    assert values(readout) == {"6-0:6.8.0": Decimal("328.871"), "6-0:6.26.0": Decimal("3329.67")}
    assert readout.registers[1].unit == "m³"


def test_mode_b_on_fixed_rate_line_raises() -> None:
    session = Session(SessionSettings(fixed_baud=300))
    pull(session)
    with pytest.raises(UnsupportedModeError, match="limit 300 Bd"):
        session.receive_data(b"/LUGCUH50\r\n")


def test_mode_b_above_max_baud_names_the_limit() -> None:
    session = Session(SessionSettings(max_baud=9600))
    pull(session)
    with pytest.raises(UnsupportedModeError, match="limit 9600 Bd"):
        session.receive_data(b"/ABCFmeter\r\n")


# --- mode D -----------------------------------------------------------------------------------


def _p1_telegram() -> bytes:
    return vector("p1_lgf_e360_amshan_A.txt") + b"\r\n"


def test_mode_d_push_with_crc() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    commands = pull(session)
    assert len(commands) == 1
    receive = commands[0]
    assert isinstance(receive, Receive)
    assert receive.what == "push message"
    assert receive.first_byte_timeout == 30.0
    assert session.line.baud == 2400
    telegram = _p1_telegram()
    readout = finish(session, telegram)
    assert readout.checksum == "crc16"
    assert readout.protocol == "mode_d"
    assert readout.baud == 2400
    assert readout.raw == telegram[:-2]
    assert readout.identity == Identification.parse(b"/LGF5E360").identity
    assert len(readout.registers) == 27
    assert readout.current[ObisCode.parse("1-0:1.8.0")].value == Decimal("896.020")


def test_mode_d_crc_without_line_end_completes() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    readout = finish(session, vector("p1_lgf_e360_amshan_A.txt"))
    assert readout.checksum == "crc16"


def test_mode_d_flipped_digit_raises() -> None:
    telegram = _p1_telegram().replace(b"00000896.020", b"00000896.021")
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    with pytest.raises(ChecksumError, match="bad CRC after '!': received A077"):
        session.receive_data(telegram)


@pytest.mark.parametrize(
    "tail", [b"ZZZZ\r\n", b"A07\r\n", b"A0G7\r\n", b" A077\r\n", b"+A07\r\n", b"0x12\r\n"]
)
def test_mode_d_malformed_crc_raises_checksum_error(tail: bytes) -> None:
    telegram = _p1_telegram()
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    bad = telegram[: telegram.index(b"!") + 1] + tail
    with pytest.raises(ChecksumError, match="bad CRC"):
        session.receive_data(bad)


def test_mode_d_crc_decides_on_the_four_characters_after_the_end_mark() -> None:
    # Whatever follows a verified CRC cannot change the data it covers, and deciding on
    # these four characters alone gives the same result however the bytes are chunked.
    telegram = _p1_telegram()
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    readout = finish(session, telegram[: telegram.index(b"!") + 5] + b"7\r\n")
    assert readout.checksum == "crc16"
    assert readout.raw == telegram[:-2]


def test_mode_d_bare_end_mark_has_no_checksum() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    readout = finish(session, b"/LGZ4ZMF100AC.M27\r\n" + E350_BLOCK + b"!\r\n")
    assert readout.checksum == "none"
    assert readout.protocol == "mode_d"
    assert len(readout.registers) == 8
    assert readout.raw == b"/LGZ4ZMF100AC.M27\r\n" + E350_BLOCK + b"!"


def test_mode_d_end_mark_waits_for_what_follows() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    session.receive_data(b"/LGZ4ZMF100AC.M27\r\n1.8.0(1*kWh)\r\n!")
    assert session.needs_data
    session.receive_data(b"\r")
    assert session.needs_data
    assert finish(session, b"\n").checksum == "none"


def test_mode_d_push_with_stx_and_bcc() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    message = encode_data_message(E350_BLOCK)
    readout = finish(session, b"/LGZ4ZMF100AC.M27\r\n\r\n" + message)
    assert readout.checksum == "bcc"
    assert readout.protocol == "mode_d"
    assert readout.raw == b"/LGZ4ZMF100AC.M27\r\n\r\n" + message
    assert len(readout.registers) == 8


def test_mode_d_push_with_stx_and_bad_bcc() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    message = bytearray(encode_data_message(E350_BLOCK))
    message[-1] ^= 0x10
    with pytest.raises(ChecksumError):
        session.receive_data(b"/LGZ4ZMF100AC.M27\r\n" + bytes(message))


def test_mode_d_listening_starts_mid_telegram() -> None:
    telegram = _p1_telegram()
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    # The tail of the previous telegram, longer than the sign-on junk limit, then a whole one.
    readout = finish(session, telegram[40:], telegram)
    assert readout.checksum == "crc16"
    assert readout.current[ObisCode.parse("1-0:32.7.0")].value == Decimal("230.1")
    assert len(session._buffer) == 0


def test_mode_d_slash_inside_old_telegram_is_skipped() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    readout = finish(session, b"(1/2)\r\n/" + b"x" * 60 + b"\r\n", _p1_telegram())
    assert readout.checksum == "crc16"


def test_mode_d_identification_split_over_chunks() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    session.receive_data(b"/LGF5")
    assert session.needs_data
    telegram = _p1_telegram()
    readout = finish(session, telegram[5:])
    assert readout.checksum == "crc16"


def test_mode_d_junk_limit() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D, max_readout=1000))
    pull(session)
    session.receive_data(b"\x00" * 1000)
    assert len(session._buffer) == 0
    with pytest.raises(ProtocolError, match="1001 bytes arrived without a push message"):
        session.receive_data(b"\x00")


def test_mode_d_endless_push_is_bounded() -> None:
    session = Session(SessionSettings(protocol=Protocol.MODE_D, max_readout=1000))
    pull(session)
    with pytest.raises(ReadoutTooLongError, match="without the end of the push"):
        session.receive_data(b"/LGF5E360\r\n" + b"1.8.0(1)\r\n" * 101)
    session = Session(SessionSettings(protocol=Protocol.MODE_D, max_readout=1000))
    pull(session)
    with pytest.raises(ReadoutTooLongError):
        session.receive_data(b"/LGF5E360\r\n" + b"\r\n" * 501)


def test_mode_d_fixed_rate_and_framing() -> None:
    settings = SessionSettings(protocol=Protocol.MODE_D, fixed_baud=115200, framing=Framing.EIGHT_N_ONE)
    session = Session(settings)
    pull(session)
    readout = finish(session, _p1_telegram())
    assert readout.baud == 115200


# --- chunking, history, serial ----------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 5, 13])
def test_chunked_data_gives_the_same_readout(chunk: int) -> None:
    stream = b"/?!\r\n" + b"/LGZ0ZMF\r\n" + b"\x06000\r\n" + encode_data_message(E350_BLOCK)
    whole = Session(SessionSettings())
    pull(whole)
    whole.receive_data(stream[:15])
    pull(whole)
    expected = finish(whole, stream[15:])

    pieces = Session(SessionSettings())
    pull(pieces)
    for index in range(0, 15, chunk):
        pieces.receive_data(stream[index : min(index + chunk, 15)])
    pull(pieces)
    for index in range(15, len(stream), chunk):
        pieces.receive_data(stream[index : index + chunk])
    assert finish(pieces) == expected


def test_history_kept_distinct_from_current() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    block = (
        b"1.8.0*12(000100.000*kWh)\r\n1.8.0&12(000050.000*kWh)\r\n1.8.0(000219.252*kWh)\r\n"
        b"1.8.0*00(000000.000*kWh)\r\n1.8.0*00(000001.000*kWh)\r\n"
    )
    readout = finish(session, encode_data_message(block))
    assert readout.current == {ObisCode.parse("1.8.0"): readout.registers[2]}
    assert readout.current[ObisCode.parse("1.8.0")].value == Decimal("219.252")
    history = readout.history
    assert {str(code): register.value for code, register in history.items()} == {
        "1-0:1.8.0*12": Decimal(100),
        "1-0:1.8.0&12": Decimal(50),
        "1-0:1.8.0*0": Decimal(0),
    }


def test_first_current_occurrence_wins() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    readout = finish(session, encode_data_message(b"1.8.0(1*kWh)\r\n1.8.0(2*kWh)\r\n"))
    assert readout.current[ObisCode.parse("1.8.0")].value == Decimal(1)


@pytest.mark.parametrize(
    ("block", "serial"),
    [
        (b"0.0.0(11111111)\r\nC.1.0(22222222)\r\n0-0:96.1.0(33333333)\r\n", "33333333"),
        (b"0.0.0(11111111)\r\nC.1.0(0022222222)\r\n", "0022222222"),
        (b"0.0.0(00011111)\r\n", "00011111"),
        (b"C.1(1126120053322353)\r\n", "1126120053322353"),
        (b"C.1.0(        )\r\n0.0(        18438636)\r\n", "18438636"),
        (b"0.0.0()\r\nC.1.0(54800102)\r\n", "54800102"),
        (b"1.8.0(1*kWh)\r\n", None),
        (b"C.1.0*12(99999999)\r\n", None),
    ],
)
def test_serial_preference(block: bytes, serial: str | None) -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    readout = finish(session, encode_data_message(block))
    assert readout.serial == serial


def test_readout_defaults_and_trace_helpers() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    readout = finish(session, encode_data_message(b"1.8.0(1*kWh)\r\n"))
    assert readout.trace == ()
    assert readout.timings == {}
    assert readout.manufacturer == "Landis+Gyr"
    entry = TraceEntry(0.5, Direction.RECEIVED, b"\x02F.F(00)\r\n\x03\x7f\x00\x01\x06\x15", 300, "data")
    assert entry.printable() == "<STX>F.F(00)\\r\\n<ETX><7F><NUL><SOH><ACK><NAK>"
    assert printable(b"/?!\r\n") == "/?!\\r\\n"


def test_data_after_finish_is_ignored() -> None:
    session, _ = signed_on(SessionSettings(), FAST_ID)
    readout = finish(session, encode_data_message(b"1.8.0(1*kWh)\r\n"))
    session.receive_data(b"\x02garbage")
    assert not session.needs_data
    assert readout.registers[0].value == Decimal(1)


# --- step down ----------------------------------------------------------------------------------


def test_step_down_sequence() -> None:
    settings = SessionSettings(max_baud=9600)
    seen = []
    failed = 9600
    current: SessionSettings | None = settings
    while current is not None:
        seen.append(current.max_baud)
        current = step_down(current, failed)
        if current is not None:
            failed = current.max_baud
    assert seen == [9600, 4800, 2400, 1200, 600, 300]
    assert step_down(SessionSettings(max_baud=300), 300) is None


def test_step_down_below_the_failed_rate_and_the_limit() -> None:
    stepped = step_down(SessionSettings(max_baud=19200), 4800)
    assert stepped is not None and stepped.max_baud == 2400
    stepped = step_down(SessionSettings(max_baud=2400), 9600)
    assert stepped is not None and stepped.max_baud == 1200
    assert stepped.protocol is Protocol.AUTO


def test_step_down_not_possible_on_fixed_or_push_lines() -> None:
    assert step_down(SessionSettings(fixed_baud=9600), 9600) is None
    assert step_down(SessionSettings(protocol=Protocol.MODE_D), 2400) is None


def test_message_started_ignores_junk_and_echo() -> None:
    """Only the start of the awaited message counts; garbage at a wrong rate does not."""
    session = Session(SessionSettings())
    pull(session)
    session.receive_data(b"/?!\r\n")
    assert not session.message_started, "the echo of our request is not the answer"
    session.receive_data(b"\x7f\x7f")
    assert not session.message_started
    timed_out = session.timeout()
    assert isinstance(timed_out, ProtocolError)
    assert "no identification began" in str(timed_out)
    session.receive_data(b"/LGZ")
    assert session.message_started
    assert isinstance(session.timeout(), NoAnswerError)


def test_push_listen_starts_only_at_an_identification() -> None:
    """Mode D: the rest of a telegram heard mid-way is junk until the next ``/`` line."""
    session = Session(SessionSettings(protocol=Protocol.MODE_D))
    pull(session)
    session.receive_data(b"1.8.0(000001.000*kWh)\r\n!\r\n")
    assert not session.message_started
    session.receive_data(b"/LGF5E360\r\n")
    assert session.message_started
