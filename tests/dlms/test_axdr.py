"""A-XDR data: every type both ways, lengths, date-times and bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from custom_components.landis_gyr_optical.meter import cosem
from custom_components.landis_gyr_optical.meter.dlms import axdr
from custom_components.landis_gyr_optical.meter.dlms.axdr import AxdrError, Data, DataType


@pytest.mark.parametrize(
    ("data", "encoded"),
    [
        (Data(DataType.NULL), "00"),
        (Data(DataType.BOOLEAN, True), "03FF"),
        (Data(DataType.DOUBLE_LONG, -2), "05FFFFFFFE"),
        (Data(DataType.DOUBLE_LONG_UNSIGNED, 5009), "0600001391"),
        (Data(DataType.INTEGER, -3), "0FFD"),
        (Data(DataType.LONG, -300), "10FED4"),
        (Data(DataType.UNSIGNED, 200), "11C8"),
        (Data(DataType.LONG_UNSIGNED, 0x0935), "120935"),
        (Data(DataType.LONG64, -1), "14FFFFFFFFFFFFFFFF"),
        (Data(DataType.LONG64_UNSIGNED, 2607383), "15000000000027C917"),
        (Data(DataType.ENUM, 30), "161E"),
        (Data(DataType.FLOAT32, 1.5), "173FC00000"),
        (Data(DataType.FLOAT64, -2.0), "18C000000000000000"),
        (Data(DataType.OCTET_STRING, b"LGZ"), "09034C475A"),
        (Data(DataType.VISIBLE_STRING, "Kam"), "0A034B616D"),
        (Data(DataType.UTF8_STRING, "ä"), "0C02C3A4"),
        (Data(DataType.BIT_STRING, b"\xa0"), "0408A0"),
        (Data(DataType.DATE_TIME, bytes(12)), "19" + "00" * 12),
        (Data(DataType.DATE, bytes(5)), "1A" + "00" * 5),
        (Data(DataType.TIME, bytes(4)), "1B" + "00" * 4),
        (Data(DataType.BCD, 9), "0D09"),
        (axdr.structure(Data(DataType.INTEGER, -1), Data(DataType.ENUM, 30)), "02020FFF161E"),
        (axdr.array(), "0100"),
    ],
)
def test_round_trip(data: Data, encoded: str) -> None:
    assert data.encode().hex().upper() == encoded
    assert axdr.decode_all(bytes.fromhex(encoded)) == data


def test_long_octet_string_uses_long_length() -> None:
    data = axdr.octet_string(bytes(300))
    assert data.encode()[:4] == bytes.fromhex("09820 12C".replace(" ", ""))
    assert axdr.decode_all(data.encode()) == data


def test_length_helpers() -> None:
    assert axdr.encode_length(0x7F) == b"\x7f"
    assert axdr.encode_length(0x1FF) == b"\x82\x01\xff"
    assert axdr.decode_length(b"\x81\x80", 0) == (0x80, 2)
    for bad in (b"\x80", b"\x85\x00\x00\x00\x00\x00", b"\x82\x01", b""):
        with pytest.raises(AxdrError):
            axdr.decode_length(bad, 0)


@pytest.mark.parametrize(
    "bad",
    ["", "07", "06000001", "0105", "0A02FFFE", "0C01FF", "0900" + "00", "01" + "8104" + "00"],
)
def test_rejects(bad: str) -> None:
    with pytest.raises(AxdrError):
        axdr.decode_all(bytes.fromhex(bad))


def test_nesting_is_bounded() -> None:
    with pytest.raises(AxdrError):
        axdr.decode_all(b"\x02\x01" * (axdr.MAX_DEPTH + 1) + b"\x00")


def test_items_and_integer_helpers() -> None:
    assert axdr.integer(DataType.LONG, 5) == Data(DataType.LONG, 5)
    assert Data(DataType.LONG, 5).items == ()
    assert Data(DataType.ENUM, 1).is_integer
    with pytest.raises(ValueError):
        axdr.integer(DataType.OCTET_STRING, 1)


def test_datetime_with_deviation_is_aware() -> None:
    moment = cosem.decode_datetime(bytes.fromhex("07E7060602111F1412FF8880"))
    assert moment is not None
    assert moment.astimezone(UTC).strftime("%d.%m.%Y %H:%M:%S") == "06.06.2023 15:31:20"


def test_datetime_unspecified_parts() -> None:
    assert cosem.decode_datetime(bytes.fromhex("07E50706020E3A12FF800081")) == datetime(
        2021, 7, 6, 14, 58, 18
    )
    assert cosem.decode_datetime(bytes.fromhex("FFFF0706020E3A12FF800081")) is None
    assert cosem.decode_datetime(bytes.fromhex("07E5FE06020E3A12FF800081")) is None


@pytest.mark.parametrize("bad", ["07E5021E020E3A12FF800081", "07E50706020E3A12FFF00081", "07E5"])
def test_datetime_rejects(bad: str) -> None:
    with pytest.raises(cosem.CosemError):
        cosem.decode_datetime(bytes.fromhex(bad))


def test_datetime_round_trip() -> None:
    moment = datetime(2026, 5, 4, 11, 39, 21, tzinfo=timezone(timedelta(hours=2)))
    assert cosem.decode_datetime(cosem.encode_datetime(moment)) == moment
    naive = datetime(2026, 1, 2, 3, 4, 5)
    assert cosem.decode_datetime(cosem.encode_datetime(naive)) == naive
