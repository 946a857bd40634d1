"""Data sets of a data block: addresses, values, units, errors, encoding."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.errors import ProtocolError
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import (
    encode_data_block,
    parse_data_block,
    parse_line,
    parse_time_stamp,
)
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.registers import Register, Value, normalise_unit


def _one(block: str) -> Register:
    registers = parse_data_block(block)
    assert len(registers) == 1
    return registers[0]


def test_simple_line() -> None:
    register = _one("1.8.0(000219.252*kWh)\r\n")
    assert register.obis == ObisCode.parse("1-0:1.8.0")
    assert register.value == Decimal("219.252")
    assert register.unit == "kWh"
    assert register.raw == "000219.252*kWh"
    assert register.text == "000219.252"
    assert register.values == (Value(Decimal("219.252"), "kWh"),)


def test_several_data_sets_on_one_line() -> None:
    registers = parse_data_block("6.8(0328.871*GJ)6.26(03329.67*m3)9.21(66153690)\r\n", medium=6)
    assert [str(r.obis) for r in registers] == ["6-0:6.8.0", "6-0:6.26.0", "6-0:9.21.0"]
    assert [r.value for r in registers] == [Decimal("328.871"), Decimal("3329.67"), Decimal(66153690)]
    assert [r.unit for r in registers] == ["GJ", "m³", None]


def test_several_values_per_data_set() -> None:
    register = _one("1-0:1.6.0*255(02.468*kW)(1703100930)\r\n")
    assert register.obis == ObisCode.parse("1.6.0")
    assert register.values == (Value(Decimal("2.468"), "kW"), Value(Decimal(1703100930)))
    assert register.value == Decimal("2.468")
    assert register.unit == "kW"
    assert register.raw == "02.468*kW)(1703100930"
    assert register.text == "02.468"


def test_ampersand_sub_values() -> None:
    register = _one("9.4(098.5*C&096.1*C)")
    assert register.values == (Value(Decimal("98.5"), "°C"), Value(Decimal("96.1"), "°C"))
    assert register.text == "098.5"
    stamp = _one("9.36(2022-05-19&19:41:17)")
    assert stamp.values == (Value("2022-05-19"), Value("19:41:17"))
    assert stamp.value == "2022-05-19"


def test_empty_values() -> None:
    empty = _one("6.8.1()")
    assert empty.values == (Value(None),)
    assert empty.value is None
    assert empty.unit is None
    assert empty.text == ""
    parts = _one("9.2(&&)")
    assert parts.values == (Value(None), Value(None), Value(None))
    padded = _one("C.1.1(        )")
    assert padded.value is None
    assert padded.text == ""


def test_unit_without_value_and_value_without_unit() -> None:
    assert _one("1.8.0(*kWh)").values == (Value(None, "kWh"),)
    assert _one("1.8.0(013925.5*)").values == (Value(Decimal("13925.5")),)
    assert _one("1.8.0(*)").values == (Value(None),)


def test_space_padding_is_stripped_but_serials_keep_leading_zeros() -> None:
    register = _one("0.0(        18438636)")
    assert register.value == Decimal(18438636)
    assert register.text == "18438636"
    trailing = _one("0.0(00188123        )")
    assert trailing.text == "00188123"
    assert trailing.value == Decimal(188123)
    serial = _one("C.1.0(0012345)")
    assert serial.text == "0012345"
    assert _one("F.F(00000000)").text == "00000000"


def test_signed_and_comma_decimal_values() -> None:
    assert _one("31.7.0(+000.8*A)").values == (Value(Decimal("0.8"), "A"),)
    assert _one("2.7.0(-001.25*kW)").value == Decimal("-1.25")
    assert _one("1.8.0(12,5*kWh)").value == Decimal("12.5")
    assert _one("1.8.0(,5)").value == Decimal("0.5")
    assert _one("1.8.0(7.)").value == Decimal(7)


def test_text_values_stay_text() -> None:
    assert _one("0.2.0(M27)").value == "M27"
    assert _one("0.2.0(V01.69#EEA3546C)").value == "V01.69#EEA3546C"
    assert _one("C.5.0(L1-L2-L3)").value == "L1-L2-L3"
    assert _one("0.9.1(23:16:43)").value == "23:16:43"
    assert _one("1.8.0(1.2.3)").value == "1.2.3"
    assert _one("0-0:1.0.0(210222161900W)").value == "210222161900W"


@pytest.mark.parametrize(
    ("printed", "normalised"),
    [
        ("kwh", "kWh"),
        ("KWH", "kWh"),
        ("kWh", "kWh"),
        ("MWh", "MWh"),
        ("kW", "kW"),
        ("W", "W"),
        ("v", "V"),
        ("A", "A"),
        ("Hz", "Hz"),
        ("kvarh", "kvarh"),
        ("kVArh", "kvarh"),
        ("kVAr", "kvar"),
        ("GJ", "GJ"),
        ("m3", "m³"),
        ("M3", "m³"),
        ("m3ph", "m³/h"),
        ("C", "°C"),
        ("*C", "°C"),
        ("°C", "°C"),
        ("h", "h"),
        ("m", "min"),
        ("secs", "s"),
        ("deg", "°"),
        ("Deg", "°"),
        (" kWh ", "kWh"),
        ("furlong", "furlong"),
    ],
)
def test_normalise_unit(printed: str, normalised: str) -> None:
    assert normalise_unit(printed) == normalised


def test_units_are_normalised_in_values() -> None:
    assert _one("1.8.0(1*kwh)").unit == "kWh"
    assert _one("6.26(1*m3)").unit == "m³"
    assert _one("9.4(98.5*C)").unit == "°C"
    assert _one("C.13.21(00000001*secs)").unit == "s"


def test_line_end_styles_and_blank_lines() -> None:
    for separator in ("\r\n", "\n", "\n\n", "\r", "\r\r\n"):
        block = separator.join(["1.8.1(1*kWh)", "1.8.2(2*kWh)", "!"]) + separator
        registers = parse_data_block(block)
        assert [r.value for r in registers] == [Decimal(1), Decimal(2)], separator


def test_blanks_between_and_around_data_sets() -> None:
    registers = parse_data_block("  1.8.1(1*kWh)\t 1.8.2(2*kWh)  \r\n   \r\n\t!  \r\n")
    assert [(r.obis.short, r.value) for r in registers] == [("1.8.1", Decimal(1)), ("1.8.2", Decimal(2))]


def test_end_mark_stops_the_block() -> None:
    registers = parse_data_block(b"1.8.0(1*kWh)\r\n!\r\nh\r\n \r\n")
    assert [r.value for r in registers] == [Decimal(1)]
    assert [r.value for r in parse_data_block("1.8.0(1)!A077\r\n2.8.0(2)")] == [Decimal(1)]
    assert parse_data_block("!") == []
    assert parse_data_block("") == []
    assert list(parse_line("1.8.0(1)2.8.0(2)!3.8.0(3)")) == parse_data_block("1.8.0(1)2.8.0(2)")


@pytest.mark.parametrize(
    ("block", "named"),
    [
        ("1.8.0(1)\r\ngarbage\r\n", "garbage"),
        ("1.8.0 (1)", "1.8.0 (1)"),
        ("1.8.0", "1.8.0"),
        ("(1)", "(1)"),
        ("1..8(1)", "1..8"),
        ("1.8.0(1)x", "x"),
        ("\x00\x01", "\\x00\\x01"),
    ],
)
def test_malformed_lines_raise_naming_the_text(block: str, named: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_data_block(block)
    assert named in str(info.value)


def test_unterminated_values_raise() -> None:
    with pytest.raises(ProtocolError, match=r"unterminated value in '1.8.0\(000219'"):
        parse_data_block("1.8.0(000219\r\n2.8.0(1)\r\n")
    with pytest.raises(ProtocolError, match="unterminated value"):
        parse_data_block("0.0(" + "1" * 1100 + ")")
    # The longest value accepted (a DSMR 4 text message of 1024 characters) still parses.
    assert _one("0-0:96.13.0(" + "A" * 1024 + ")").text == "A" * 1024
    assert _one("0.0(" + "1" * 1025 + ")").text == "1" * 1025


def test_time_stamped_reading_keeps_the_reading_and_its_time() -> None:
    gas = _one("0-1:24.2.1(161129200000W)(00981.443*m3)")
    assert (gas.value, gas.unit) == (Decimal("981.443"), "m³")
    assert gas.timestamp == datetime(2016, 11, 29, 20, 0, tzinfo=timezone(timedelta(hours=1)))
    peak = _one("1-0:1.6.0(200509134558S)(02.589*kW)")
    assert (peak.value, peak.unit) == (Decimal("2.589"), "kW")
    assert peak.timestamp == datetime(2020, 5, 9, 13, 45, 58, tzinfo=timezone(timedelta(hours=2)))
    # A placeholder time stamp is no time; the reading stays.
    empty = _one("0-1:24.2.1(632525252525S)(00000.000)")
    assert (empty.value, empty.timestamp) == (Decimal("0.000"), None)
    # A time stamp alone is the value (the telegram's own clock) and its time.
    clock = _one("0-0:1.0.0(170102192002W)")
    assert clock.value == "170102192002W"
    assert clock.timestamp == datetime(2017, 1, 2, 19, 20, 2, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time_stamp("17010219200") is None


def test_dsmr22_gas_profile_reading_on_the_next_line() -> None:
    [gas, valve] = parse_data_block(
        "0-1:24.3.0(090212160000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.001)\r\n0-1:24.4.0(1)\r\n"
    )
    assert (str(gas.obis), gas.value, gas.unit) == ("0-1:24.3.0", Decimal("1.001"), "m³")
    assert gas.timestamp == datetime(2009, 2, 12, 16, 0)
    assert valve.value == Decimal(1)


def test_non_ascii_bytes_raise() -> None:
    with pytest.raises(ProtocolError, match="non-ASCII"):
        parse_data_block(b"1.8.0(1\xb0*kWh)\r\n")


def test_history_registers_parse() -> None:
    registers = parse_data_block("1.8.0(0302.8260*kWh)\n1.8.0*12(0075.5341*kWh)\n1.8.0&12(0000.0000*kWh)\n")
    assert [str(r.obis) for r in registers] == ["1-0:1.8.0", "1-0:1.8.0*12", "1-0:1.8.0&12"]
    assert [r.value for r in registers] == [Decimal("302.8260"), Decimal("75.5341"), Decimal(0)]


def test_encode_data_block() -> None:
    block = encode_data_block([("1.8.0", "000219.252*kWh"), ("C.1.0", "18438636"), ("6.8.1", "")])
    assert block == b"1.8.0(000219.252*kWh)\r\nC.1.0(18438636)\r\n6.8.1()\r\n"


def test_encode_parse_round_trip() -> None:
    pairs = [
        ("1.8.0", "000219.252*kWh"),
        ("1-0:1.6.0*255", "02.468*kW)(1703100930"),
        ("9.4", "098.5*C&096.1*C"),
        ("C.1.1", "        "),
        ("1.8.0*12", "0075.5341*kWh"),
        ("1.8.0&12", "0000.0000*kWh"),
        ("0.2.0", "M27"),
    ]
    registers = parse_data_block(encode_data_block(pairs))
    assert [r.obis for r in registers] == [ObisCode.parse(address) for address, _ in pairs]
    assert [r.raw for r in registers] == [raw for _, raw in pairs]
    assert registers[2].values == (Value(Decimal("98.5"), "°C"), Value(Decimal("96.1"), "°C"))


@pytest.mark.parametrize(
    "value",
    [
        Value(Decimal("219.252"), "kWh"),
        Value(Decimal("0.0000001"), "kWh"),
        Value(Decimal("1E+3")),
        Value(Decimal("-0.8"), "A"),
        Value("M27"),
        Value(None),
        Value(None, "kWh"),
    ],
)
def test_value_encode_parse_round_trip(value: Value) -> None:
    encoded = value.encode()
    assert "E" not in encoded
    assert Value.parse(encoded) == value


def test_value_encode_forms() -> None:
    assert Value(Decimal("219.252"), "kWh").encode() == "219.252*kWh"
    assert Value(Decimal("1E-7")).encode() == "0.0000001"
    assert Value("M27").encode() == "M27"
    assert Value(None).encode() == ""


def test_dsmr_buffers_give_their_entries_newest_first() -> None:
    peaks = _one(
        "0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)"
        "(200401000000S)(200305122139S)(05.980*kW)(200301000000S)(200210035421W)(04.318*kW)"
    )
    assert [(value.value, value.unit) for value in peaks.values] == [
        (Decimal("3.695"), "kW"),
        (Decimal("5.980"), "kW"),
        (Decimal("4.318"), "kW"),
    ]
    assert peaks.timestamp == datetime(2020, 4, 23, 19, 25, 38, tzinfo=timezone(timedelta(hours=2)))
    failures = _one("1-0:99.97.0(2)(0-0:96.7.19)(101208152415W)(0000000240*s)(101208151004W)(0000000301*s)")
    assert [value.value for value in failures.values] == [Decimal(240), Decimal(301)]
    assert failures.timestamp == datetime(2010, 12, 8, 15, 24, 15, tzinfo=timezone(timedelta(hours=1)))
    empty = _one("0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)")
    assert (empty.values, empty.timestamp) == ((), None)
