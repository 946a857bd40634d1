"""Property tests: round trips of generated readouts and robustness against any bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.landis_gyr_optical.meter.errors import (
    ChecksumError,
    MeterError,
    ProtocolError,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import (
    encode_data_block,
    parse_data_block,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    Identification,
    encode_data_message,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Finished,
    Protocol,
    Session,
    SessionSettings,
)
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Readout
from custom_components.landis_gyr_optical.meter.registers import Register, Value

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROBUSTNESS_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

IDENTIFICATION = b"/LGZ6ZMD4054459.B40\r\n"
ABSTRACT_LETTERS = "CFLP"

# --- strategies ---------------------------------------------------------------------------------


def _printed(number: int) -> st.SearchStrategy[str]:
    """A group number as meters print it, with or without leading zeros."""
    return st.sampled_from([str(number), f"{number:02d}", f"{number:03d}"]).filter(
        lambda text: len(text) <= 3
    )


group_number = st.integers(min_value=0, max_value=255)


@st.composite
def obis_addresses(draw: st.DrawFn) -> tuple[str, ObisCode]:
    """A valid OBIS address in one of the readout forms, with the code it stands for."""
    form = draw(st.sampled_from(["full", "short", "short2", "lettered"]))
    d_number, e_number = draw(group_number), draw(group_number)
    d, e = str(d_number), str(e_number)
    if form == "lettered":
        c = draw(st.sampled_from(ABSTRACT_LETTERS))
        c_text = c
        if draw(st.booleans()):
            d = draw(st.sampled_from(ABSTRACT_LETTERS))
            d_text = d
        else:
            d_text = draw(_printed(d_number))
    else:
        c_number = draw(group_number)
        c, c_text, d_text = str(c_number), draw(_printed(c_number)), draw(_printed(d_number))
    if form == "full":
        a, b = draw(group_number), draw(group_number)
        address = f"{a}-{b}:{c_text}.{d_text}.{draw(_printed(e_number))}"
    elif form == "short2":
        e = "0"
        address = f"{c_text}.{d_text}"
        a, b = (0, 0) if c in {"0", "96", "97", "98", "99"} else (1, 0)
    else:
        address = f"{c_text}.{d_text}.{draw(_printed(e_number))}"
        a, b = (0, 0) if c in {"0", "96", "97", "98", "99", *ABSTRACT_LETTERS} else (1, 0)
    if form == "lettered" and not address[0].isdigit():
        a, b = 0, 0
    f: int | None = None
    separator = "*"
    suffix = draw(st.sampled_from(["", "current", "star", "amp"]))
    if suffix == "current":
        address += "*255"
    elif suffix:
        f = draw(group_number)
        separator = "*" if suffix == "star" else "&"
        if separator == "*" and f == 255:
            f = None
        address += f"{separator}{draw(_printed(f if f is not None else 255))}"
    return address, ObisCode(a, b, c, d, e, f, "&" if separator == "&" else "*")


UNITS = [
    ("kWh", "kWh"),
    ("kwh", "kWh"),
    ("W", "W"),
    ("kW", "kW"),
    ("V", "V"),
    ("A", "A"),
    ("Hz", "Hz"),
    ("kvarh", "kvarh"),
    ("kVArh", "kvarh"),
    ("m3", "m³"),
    ("m3ph", "m³/h"),
    ("C", "°C"),
    ("GJ", "GJ"),
    ("MWh", "MWh"),
    ("h", "h"),
    ("secs", "s"),
    ("Xyz", "Xyz"),
]


@st.composite
def numbers(draw: st.DrawFn) -> tuple[str, Value]:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", min_size=1, max_size=9))
    fraction = draw(st.text("0123456789", max_size=5))
    point = draw(st.sampled_from([".", ","])) if fraction else ""
    text = f"{sign}{whole}{point}{fraction}"
    value = Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")
    if draw(st.booleans()):
        printed, unit = draw(st.sampled_from(UNITS))
        return f"{text}*{printed}", Value(value, unit)
    return text, Value(value)


TEXT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-:#._/ "


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, Value]:
    first = draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    rest = draw(st.text(TEXT_ALPHABET, max_size=20)).rstrip()
    padding = draw(st.sampled_from(["", " ", "   "]))
    return f"{padding}{first}{rest}{padding}", Value(first + rest)


empties = st.sampled_from([("", Value(None)), ("   ", Value(None)), ("*kWh", Value(None, "kWh"))])
values_strategy = st.one_of(numbers(), texts(), empties)


@dataclass(frozen=True)
class GeneratedRegister:
    address: str
    obis: ObisCode
    raw: str
    values: tuple[Value, ...]


@st.composite
def registers(draw: st.DrawFn) -> GeneratedRegister:
    address, obis = draw(obis_addresses())
    groups = draw(st.lists(st.lists(values_strategy, min_size=1, max_size=3), min_size=1, max_size=3))
    raw = ")(".join("&".join(text for text, _ in group) for group in groups)
    values = tuple(value for group in groups for _, value in group)
    return GeneratedRegister(address, obis, raw, values)


register_lists = st.lists(registers(), min_size=0, max_size=12)


def accepted_by_session(register: GeneratedRegister) -> bool:
    """Whether a session may pass the register on: a time integral (an energy total) is a number."""
    first = register.values[0].value
    return not (register.obis.is_time_integral and isinstance(first, str))


session_register_lists = st.lists(registers().filter(accepted_by_session), min_size=0, max_size=12)
"""Readouts a session must deliver whole (the session rejects text in an energy total by design)."""


def block_of(generated: list[GeneratedRegister]) -> bytes:
    return encode_data_block([(register.address, register.raw) for register in generated])


def assert_same(parsed: Sequence[Register], generated: list[GeneratedRegister]) -> None:
    assert [(r.obis, r.values) for r in parsed] == [(g.obis, g.values) for g in generated]


def signed_on_session() -> Session:
    session = Session(SessionSettings())
    while not session.needs_data:
        session.next_command()
    session.receive_data(IDENTIFICATION)
    while not session.needs_data:
        session.next_command()
    return session


def listening_session() -> Session:
    session = Session(SessionSettings(protocol=Protocol.MODE_D, max_readout=4096))
    session.next_command()
    return session


def finished_readout(session: Session) -> Readout | None:
    while session._commands:
        command = session.next_command()
        if isinstance(command, Finished):
            return command.readout
    return None


# --- round trips --------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(obis_addresses())
def test_generated_addresses_parse_to_their_code(case: tuple[str, ObisCode]) -> None:
    address, expected = case
    code = ObisCode.parse(address)
    assert code == expected
    assert ObisCode.parse(str(code)) == code


@PROPERTY_SETTINGS
@given(register_lists)
def test_data_block_round_trip(generated: list[GeneratedRegister]) -> None:
    parsed = parse_data_block(block_of(generated))
    assert_same(parsed, generated)
    assert [register.raw for register in parsed] == [g.raw for g in generated]


@PROPERTY_SETTINGS
@given(session_register_lists, st.integers(min_value=1, max_value=64))
def test_data_message_through_mode_c(generated: list[GeneratedRegister], chunk: int) -> None:
    message = encode_data_message(block_of(generated))
    session = signed_on_session()
    for index in range(0, len(message), chunk):
        session.receive_data(message[index : index + chunk])
    readout = finished_readout(session)
    assert readout is not None
    assert readout.checksum == "bcc"
    assert readout.raw == message
    assert_same(readout.registers, generated)


@PROPERTY_SETTINGS
@given(session_register_lists, st.booleans(), st.integers(min_value=1, max_value=64))
def test_push_through_mode_d(generated: list[GeneratedRegister], framed: bool, chunk: int) -> None:
    block = block_of(generated)
    if framed:
        stream = IDENTIFICATION + encode_data_message(block)
    else:
        stream = IDENTIFICATION + b"\r\n" + block + b"!\r\n"
    session = listening_session()
    for index in range(0, len(stream), chunk):
        session.receive_data(stream[index : index + chunk])
    readout = finished_readout(session)
    assert readout is not None
    assert readout.checksum == ("bcc" if framed else "none")
    assert_same(readout.registers, generated)


@PROPERTY_SETTINGS
@given(register_lists, st.booleans(), texts())
def test_text_in_an_energy_total_discards_the_readout(
    generated: list[GeneratedRegister], framed: bool, text: tuple[str, Value]
) -> None:
    corrupted = GeneratedRegister("1.8.0", ObisCode.parse("1.8.0"), text[0], (text[1],))
    block = block_of([*generated, corrupted])
    stream = IDENTIFICATION + (encode_data_message(block) if framed else b"\r\n" + block + b"!\r\n")
    session = listening_session()
    with pytest.raises(ChecksumError):
        session.receive_data(stream)


# --- robustness ---------------------------------------------------------------------------------


@ROBUSTNESS_SETTINGS
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_parse_data_block_raises_only_meter_errors(data: bytes | str) -> None:
    try:
        registers = parse_data_block(data)
    except MeterError:
        return
    assert all(isinstance(register.obis, ObisCode) for register in registers)


@ROBUSTNESS_SETTINGS
@given(st.binary(max_size=60))
def test_identification_parse_raises_only_meter_errors(data: bytes) -> None:
    try:
        ident = Identification.parse(data)
    except MeterError:
        return
    assert Identification.parse(ident.encode()) == ident


@ROBUSTNESS_SETTINGS
@given(st.text(max_size=30))
def test_obis_parse_raises_only_meter_errors(text: str) -> None:
    try:
        code = ObisCode.parse(text)
    except MeterError:
        return
    assert ObisCode.parse(str(code)) == code


@ROBUSTNESS_SETTINGS
@given(
    st.sampled_from(["identification", "data", "push"]),
    st.sampled_from([b"", IDENTIFICATION, b"\x02", IDENTIFICATION + b"\x02", b"/?!\r\n"]),
    st.lists(st.binary(max_size=80), max_size=6),
)
def test_session_raises_only_meter_errors(phase: str, prefix: bytes, chunks: list[bytes]) -> None:
    if phase == "identification":
        session = Session(SessionSettings())
        while not session.needs_data:
            session.next_command()
    elif phase == "data":
        session = signed_on_session()
    else:
        session = listening_session()
    try:
        for chunk in [prefix, *chunks]:
            session.receive_data(chunk)
            finished_readout(session)
    except MeterError:
        pass
    assert str(session.timeout())


@ROBUSTNESS_SETTINGS
@given(register_lists.filter(bool), st.data())
def test_single_bit_flip_never_changes_values(
    generated: list[GeneratedRegister], data: st.DataObject
) -> None:
    message = encode_data_message(block_of(generated))
    index = data.draw(st.integers(min_value=0, max_value=len(message) - 1), label="index")
    bit = data.draw(st.integers(min_value=0, max_value=7), label="bit")
    flipped = bytearray(message)
    flipped[index] ^= 1 << bit
    session = signed_on_session()
    try:
        session.receive_data(bytes(flipped))
    except (ChecksumError, ProtocolError):
        return
    readout = finished_readout(session)
    if readout is None:
        # A flipped STX/ETX leaves the message incomplete: the driver times out.
        assert session.needs_data
        return
    # Only the parity bit of the BCC character is not compared (a 7-bit line has none).
    assert (index, bit) == (len(message) - 1, 7)
    assert_same(readout.registers, generated)
