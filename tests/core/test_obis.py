"""OBIS codes: parsing, normalising, history suffixes, ordering."""

from __future__ import annotations

import pytest

from custom_components.landis_gyr_optical.meter.errors import ProtocolError
from custom_components.landis_gyr_optical.meter.obis import ObisCode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.8.0", "1-0:1.8.0"),
        ("1.8", "1-0:1.8.0"),
        ("1-0:1.8.0", "1-0:1.8.0"),
        ("1-0:1.8.0*255", "1-0:1.8.0"),
        ("01.08.00", "1-0:1.8.0"),
        ("32.7", "1-0:32.7.0"),
        ("16.7.0", "1-0:16.7.0"),
        ("C.1.0", "0-0:C.1.0"),
        ("C.1", "0-0:C.1.0"),
        ("C.90.1", "0-0:C.90.1"),
        ("F.F", "0-0:F.F.0"),
        ("F.F.0", "0-0:F.F.0"),
        ("F", "0-0:F.0.0"),
        ("0.0", "0-0:0.0.0"),
        ("0.9.1", "0-0:0.9.1"),
        ("96.1.0", "0-0:96.1.0"),
        ("0-0:96.1.0", "0-0:96.1.0"),
        ("1-0:32.7.0", "1-0:32.7.0"),
        ("0-1:24.2.1", "0-1:24.2.1"),
        ("  1.8.1 ", "1-0:1.8.1"),
        ("1.8.0*12", "1-0:1.8.0*12"),
        ("1.8.0&12", "1-0:1.8.0&12"),
        ("1.8.0*00", "1-0:1.8.0*0"),
        ("1.8.0&255", "1-0:1.8.0&255"),
    ],
)
def test_parse_normalises(text: str, expected: str) -> None:
    assert str(ObisCode.parse(text)) == expected


def test_groups_of_a_full_code() -> None:
    code = ObisCode.parse("1-0:21.7.0*255")
    assert (code.a, code.b, code.c, code.d, code.e, code.f) == (1, 0, "21", "7", "0", None)
    assert code.short == "21.7.0"
    assert not code.is_history


def test_short_and_full_forms_are_the_same_code() -> None:
    variants = {ObisCode.parse(text) for text in ("1.8.0", "1.8", "1-0:1.8.0", "1-0:1.8.0*255", "1-0:1.8")}
    assert variants == {ObisCode(1, 0, "1", "8", "0")}
    assert ObisCode.parse("C.1") == ObisCode.parse("C.1.0") == ObisCode(0, 0, "C", "1", "0")
    assert ObisCode.parse("F.F") == ObisCode.parse("F.F.0")


def test_history_is_distinct_from_current_and_between_separators() -> None:
    current = ObisCode.parse("1.8.0")
    star = ObisCode.parse("1.8.0*12")
    amp = ObisCode.parse("1.8.0&12")
    assert len({current, star, amp}) == 3
    assert star.is_history and amp.is_history and not current.is_history
    assert (star.f, star.separator) == (12, "*")
    assert (amp.f, amp.separator) == (12, "&")
    assert star.current == current
    assert amp.current == current
    assert ObisCode.parse("1.8.0*01") == ObisCode.parse("1.8.0*1")
    assert ObisCode.parse("1.8.0*1") != ObisCode.parse("1.8.0*2")


def test_medium_fills_value_group_a_of_short_codes() -> None:
    heat = ObisCode.parse("6.8", medium=6)
    assert str(heat) == "6-0:6.8.0"
    assert str(ObisCode.parse("6.26*01", medium=6)) == "6-0:6.26.0*1"
    # Abstract codes and codes that already name A keep their group A.
    assert str(ObisCode.parse("0.0", medium=6)) == "0-0:0.0.0"
    assert str(ObisCode.parse("F.F", medium=6)) == "0-0:F.F.0"
    assert str(ObisCode.parse("1-0:1.8.0", medium=6)) == "1-0:1.8.0"
    assert ObisCode.parse("6.8", medium=6) != ObisCode.parse("6.8")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "1..8",
        "1.8.0.0",
        "1-0:",
        "1-0:1.8.0*",
        "1.8.0*F",
        "1.8.0#1",
        "1-0:256.8.0",
        "1.8.0*256",
        "300-0:1.8.0",
        "1.8.1000",
        "c.1.0",
        "1.8.0\n2.8.0",
        "١.8.0",
        "1-٠:1.8.0",
    ],
)
def test_invalid_codes_raise_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError, match="not an OBIS code"):
        ObisCode.parse(text)


def test_trailing_newline_is_stripped_not_matched() -> None:
    # Surrounding whitespace is padding; only a newline inside the code is an error.
    assert str(ObisCode.parse("\t1.8.0\r\n")) == "1-0:1.8.0"


@pytest.mark.parametrize(
    "text",
    ["1-0:1.8.0", "0-0:C.1.0", "0-0:F.F.0", "1-0:1.8.0*12", "1-0:1.8.0&12", "6-0:9.4.0*1", "0-1:24.2.1"],
)
def test_str_round_trip(text: str) -> None:
    code = ObisCode.parse(text)
    assert str(code) == text
    assert ObisCode.parse(str(code)) == code
    assert ObisCode.parse(str(code), medium=6) == code


def test_hash_and_equality_key_dicts() -> None:
    values = {ObisCode.parse("1.8.0"): "current", ObisCode.parse("1.8.0*12"): "billing"}
    assert values[ObisCode.parse("1-0:1.8.0*255")] == "current"
    assert values[ObisCode.parse("1-0:1.8.0*12")] == "billing"
    assert ObisCode.parse("1.8.0&12") not in values


def test_ordering_is_numeric_and_total() -> None:
    texts = ["10.8.0", "1.8.0&12", "1.8.0*12", "1.8.0", "2.8.0", "C.1.0", "F.F", "0.0.0", "1.8.0*2", "96.1.0"]
    ordered = [str(code) for code in sorted(ObisCode.parse(text) for text in texts)]
    assert ordered == [
        "0-0:0.0.0",
        "0-0:96.1.0",
        "0-0:C.1.0",
        "0-0:F.F.0",
        "1-0:1.8.0",
        "1-0:1.8.0*2",
        "1-0:1.8.0&12",
        "1-0:1.8.0*12",
        "1-0:2.8.0",
        "1-0:10.8.0",
    ]
    current, history = ObisCode.parse("1.8.0"), ObisCode.parse("1.8.0*1")
    assert current < history
    assert current <= history
    assert history > current
    assert history >= current
    assert current <= ObisCode.parse("1-0:1.8.0*255")
    assert not current < ObisCode.parse("1-0:1.8.0")


def test_ordering_against_other_types_is_unsupported() -> None:
    with pytest.raises(TypeError):
        _ = ObisCode.parse("1.8.0") < "1-0:1.8.0"
