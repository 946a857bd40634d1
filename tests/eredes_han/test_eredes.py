"""The E-Redes HAN register map and the decoding of its objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.eredes_han.client import Block, plan_blocks, poll_addresses
from custom_components.landis_gyr_optical.meter.eredes_han.registers import (
    BY_ADDRESS,
    REGISTERS,
    TARIFFS,
    MeterModel,
    Phases,
    decode_block,
    decode_clock,
    decode_text,
    encode_block,
    encode_clock,
    encode_object,
    lookup,
    split_objects,
)
from custom_components.landis_gyr_optical.meter.errors import ProtocolError
from custom_components.landis_gyr_optical.meter.obis import ObisCode


def test_map_is_consistent() -> None:
    addresses = [register.address for register in REGISTERS]
    assert addresses == sorted(set(addresses))
    codes = [str(register.obis) for register in REGISTERS if register.obis is not None]
    assert len(codes) == len(set(codes))
    assert all(register.size in (1, 2, 4, 5, 6, 10, 12) for register in REGISTERS)


@pytest.mark.parametrize(
    ("address", "raw", "value", "unit", "code"),
    [
        (0x0016, (1_234_567).to_bytes(4, "big"), Decimal("1234.567"), "kWh", "1-0:1.8.0"),
        (0x0029, (0).to_bytes(4, "big"), Decimal(0), "kWh", "1-0:1.8.4"),
        (0x006C, (2301).to_bytes(2, "big"), Decimal("230.1"), "V", "1-0:32.7.0"),
        (0x006D, (52).to_bytes(2, "big"), Decimal("5.2"), "A", "1-0:31.7.0"),
        (0x0079, (4_294_967_295).to_bytes(4, "big"), Decimal(4_294_967_295), "W", "1-0:1.7.0"),
        (0x007B, (987).to_bytes(2, "big"), Decimal("0.987"), None, "1-0:13.7.0"),
        (0x007F, (500).to_bytes(2, "big"), Decimal("50.0"), "Hz", "1-0:14.7.0"),
        (0x000C, (6900).to_bytes(4, "big"), Decimal(6900), "VA", "0-0:17.0.1"),
        (0x0018, (11_000).to_bytes(4, "big"), Decimal(11), "kvarh", "1-0:5.8.0"),
        (0x00B4, (3).to_bytes(2, "big"), Decimal(3), None, "0-0:96.7.21"),
    ],
)
def test_numbers_are_scaled_and_normalised(
    address: int, raw: bytes, value: Decimal, unit: str | None, code: str
) -> None:
    register = BY_ADDRESS[address].decode(raw)
    assert register is not None
    assert register.obis == ObisCode.parse(code)
    assert register.value == value
    assert register.unit == unit


@pytest.mark.parametrize(("code", "text"), [(1, "vazio"), (2, "ponta"), (3, "cheias")])
def test_active_tariff_is_text(code: int, text: str) -> None:
    register = BY_ADDRESS[0x000B].decode(bytes([code]))
    assert register is not None
    assert register.obis == ObisCode.parse("0-0:96.14.0")
    assert register.value == text == TARIFFS[code]


def test_unknown_tariff_has_no_value() -> None:
    register = BY_ADDRESS[0x000B].decode(b"\x07")
    assert register is not None
    assert register.value is None


def test_clock_round_trip_with_offset() -> None:
    moment = datetime(2025, 7, 1, 23, 59, 58, 120_000, tzinfo=timezone(timedelta(hours=1)))
    data = encode_clock(moment, summer=True)
    assert len(data) == 12
    assert data[9:11] == (-60).to_bytes(2, "big", signed=True)
    assert data[11] == 0x80
    assert decode_clock(data) == moment
    register = BY_ADDRESS[0x0001].decode(data)
    assert register is not None
    assert register.value == "2025-07-01T23:59:58.120000+01:00"


def test_clock_without_deviation_is_naive() -> None:
    moment = datetime(2024, 2, 29, 0, 0, 0)
    assert decode_clock(encode_clock(moment)) == moment


def test_unspecified_clock_has_no_value() -> None:
    data = bytes.fromhex("FFFF FF FF FF FF FF FF FF 8000 FF".replace(" ", ""))
    assert decode_clock(data) is None
    register = BY_ADDRESS[0x0001].decode(data)
    assert register is not None
    assert register.value is None


def test_text_objects() -> None:
    assert decode_text(b"0123456789") == "0123456789"
    assert decode_text(b"\x00\x00ABC 12\x00") == "ABC 12"
    assert decode_text(b"\x12\x34\x56\x78\x9a") == "123456789A"
    register = BY_ADDRESS[0x0002].decode(bytes(10))
    assert register is not None
    assert register.value is None


def test_model_codes() -> None:
    known = MeterModel.from_object((6750210).to_bytes(4, "big") + (2020).to_bytes(2, "big"))
    assert (known.code, known.year, known.flag_id) == (6750210, 2020, "LGZ")
    assert known.name == "Landis+Gyr S3 single-phase"
    assert known.info is not None
    assert not known.info.three_phase
    unknown = MeterModel.from_object((42).to_bytes(4, "big") + (2017).to_bytes(2, "big"))
    assert (unknown.name, unknown.flag_id) == ("model 42", "HAN")
    register = BY_ADDRESS[0x0003].decode((16977920).to_bytes(4, "big") + (2018).to_bytes(2, "big"))
    assert register is not None
    assert register.text == "ZIV three-phase"
    assert [value.value for value in register.values[1:]] == [Decimal(16977920), Decimal(2018)]


def test_wrong_object_size_raises() -> None:
    with pytest.raises(ProtocolError, match=r"active energy import \+A \(0x0016\): 2 bytes instead of 4"):
        BY_ADDRESS[0x0016].decode(b"\x00\x01")


def test_block_objects_follow_each_other_padded_to_even() -> None:
    registers = lookup(range(0x000B, 0x0012))
    objects = [
        encode_object(registers[0], 3),
        *(encode_object(item, 6900 + n) for n, item in enumerate(registers[1:])),
    ]
    data = encode_block(objects)
    assert len(data) == 26
    decoded = decode_block(registers, data)
    assert [register.value for register in decoded] == ["cheias", *(Decimal(6900 + n) for n in range(6))]
    # Without the pad byte too.
    assert [register.value for register in decode_block(registers, data[:-1])][1] == Decimal(6900)


def test_block_with_word_aligned_objects_is_accepted() -> None:
    registers = lookup(range(0x0001, 0x0007))
    values: list[object] = [
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "SN",
        b"\x00\x67\x00\x02\x07\xe4",
        "1",
        "2",
        "3",
    ]
    objects = [encode_object(register, value) for register, value in zip(registers, values, strict=True)]  # type: ignore[arg-type]
    aligned = b"".join(item + b"\x00" * (len(item) % 2) for item in objects)
    assert len(aligned) == 46
    assert split_objects(registers, aligned) == objects
    assert [register.text for register in decode_block(registers, aligned)][3:] == ["1", "2", "3"]


def test_block_of_the_wrong_length_raises() -> None:
    with pytest.raises(ProtocolError, match=r"0x0016\.\.0x0017 has 6 data bytes; the objects need 8"):
        decode_block(lookup([0x0016, 0x0017]), bytes(6))


def test_unreported_rate_total_is_skipped() -> None:
    registers = lookup(range(0x002B, 0x002E))
    decoded = decode_block(registers, bytes(12))
    assert [str(register.obis) for register in decoded] == ["1-0:1.8.6", "1-0:2.8.1"]


def test_encode_object_checks_size() -> None:
    with pytest.raises(ValueError, match="holds 4 bytes"):
        encode_object(BY_ADDRESS[0x0016], b"\x00")
    assert encode_object(BY_ADDRESS[0x0002], "12") == b"12" + bytes(8)


def test_lookup_unknown_address() -> None:
    with pytest.raises(ValueError, match="0x0008"):
        lookup([0x0008])


def test_poll_addresses_by_phases() -> None:
    three = poll_addresses(three_phase=True)
    single = poll_addresses(three_phase=False)
    assert set(single) < set(three)
    assert all(BY_ADDRESS[address].phases is Phases.ANY for address in single)
    assert {0x001C, 0x006E, 0x0073, 0x007E} <= set(three) - set(single)


def test_plan_blocks_groups_consecutive_addresses() -> None:
    three = [str(block) for block in plan_blocks(poll_addresses(three_phase=True))]
    assert three == ["0x0001x6", "0x000Bx7", "0x0016x12", "0x0026x14", "0x006Cx20", "0x00B4x2"]
    single = [str(block) for block in plan_blocks(poll_addresses(three_phase=False))]
    assert single == [
        "0x0001x6",
        "0x000Bx7",
        "0x0016x6",
        "0x0026x14",
        "0x006Cx2",
        "0x0079x3",
        "0x007Fx1",
        "0x00B4x2",
    ]


def test_plan_blocks_respects_the_reply_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("custom_components.landis_gyr_optical.meter.eredes_han.client.MAX_DATA", 20)
    blocks = plan_blocks(range(0x0016, 0x0022))
    assert [str(block) for block in blocks] == ["0x0016x5", "0x001Bx5", "0x0020x2"]
    assert Block(lookup(range(0x0026, 0x0034))).reply_size == 56
