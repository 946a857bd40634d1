"""M-Bus sub-meters of a P1 meter: kind from the device type (or the unit), id, reading."""

from __future__ import annotations

from decimal import Decimal

from custom_components.landis_gyr_optical.coordinator import is_total
from custom_components.landis_gyr_optical.meter.guard import TotalGuard, Verdict
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.submeters import (
    SubMeterKind,
    is_sub_meter_reading,
    sub_meter_of,
)


def registers(block: str) -> dict[ObisCode, object]:
    return {register.obis: register for register in parse_data_block(block)}


def test_kinds_from_the_device_type() -> None:
    current = registers(
        "0-1:24.1.0(003)\r\n0-1:96.1.0(3232323241424344313233343536373839)\r\n"
        "0-1:24.2.1(170102161005W)(00000.107*m3)\r\n"
        "0-2:24.1.0(007)\r\n0-2:24.2.1(170102161005W)(00012.500*m3)\r\n"
        "0-3:24.1.0(004)\r\n0-3:96.1.1(NOT-HEX)\r\n0-3:24.2.1(170102161005W)(00001.250*GJ)\r\n"
        "0-4:24.1.0(010)\r\n0-4:24.2.1(170102161005W)(00001.000*GJ)\r\n"
    )
    gas = sub_meter_of(ObisCode.parse("0-1:24.2.1"), current)  # type: ignore[arg-type]
    assert gas is not None
    assert (gas.channel, gas.kind, gas.device_type, gas.identifier) == (
        1,
        SubMeterKind.GAS,
        3,
        "2222ABCD123456789",
    )
    assert gas.reading.value == Decimal("0.107")
    water = sub_meter_of(ObisCode.parse("0-2:24.2.1"), current)  # type: ignore[arg-type]
    assert water is not None and (water.kind, water.identifier) == (SubMeterKind.WATER, None)
    heat = sub_meter_of(ObisCode.parse("0-3:24.2.1"), current)  # type: ignore[arg-type]
    assert heat is not None and (heat.kind, heat.identifier) == (SubMeterKind.HEAT, "NOT-HEX")
    # A device type this integration does not know (cooling) gets no sub-meter.
    assert sub_meter_of(ObisCode.parse("0-4:24.2.1"), current) is None  # type: ignore[arg-type]


def test_dsmr22_gas_without_a_device_type() -> None:
    current = registers("0-1:24.3.0(090212160000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.001)\r\n")
    gas = sub_meter_of(ObisCode.parse("0-1:24.3.0"), current)  # type: ignore[arg-type]
    assert gas is not None and (gas.kind, gas.device_type) == (SubMeterKind.GAS, None)
    # Without a type and without a volume, nothing says what the device measures.
    unknown = registers("0-1:24.2.1(170102161005W)(00001.000*GJ)\r\n0-1:24.1.0(abc)\r\n")
    assert sub_meter_of(ObisCode.parse("0-1:24.2.1"), unknown) is None  # type: ignore[arg-type]
    hex_id = registers("0-1:24.2.1(170102161005W)(1*m3)\r\n0-1:96.1.0(0102)\r\n")
    gas = sub_meter_of(ObisCode.parse("0-1:24.2.1"), hex_id)  # type: ignore[arg-type]
    assert gas is not None and gas.identifier == "0102"  # control characters: keep the digits


def test_which_codes_are_readings() -> None:
    assert is_sub_meter_reading(ObisCode.parse("0-4:24.2.3"))
    assert not is_sub_meter_reading(ObisCode.parse("0-5:24.2.1"))
    assert not is_sub_meter_reading(ObisCode.parse("0-0:24.2.1"))
    assert not is_sub_meter_reading(ObisCode.parse("0-1:24.1.0"))
    assert sub_meter_of(ObisCode.parse("0-1:24.2.1"), {}) is None


def test_volume_totals_are_guarded_by_a_flow_bound() -> None:
    assert is_total(ObisCode.parse("0-1:24.2.1"), Decimal(1), "m³")
    assert is_total(ObisCode.parse("0-1:24.2.1"), Decimal(1), "GJ")
    assert is_total(ObisCode.parse("6-0:6.26.0"), Decimal(1), "m³")
    assert not is_total(ObisCode.parse("0-1:24.2.1"), "text", "m³")
    assert not is_total(ObisCode.parse("0-1:24.2.1"), Decimal(1), "°C")
    assert not is_total(ObisCode.parse("1-0:32.7.0"), Decimal(230), "V")
    guard = TotalGuard(60.0)
    assert guard.bound("m³", 3600) == Decimal(40)
    assert guard.check("gas", Decimal("100.000"), "m³", 0.0) is Verdict.HELD_FIRST
    assert guard.check("gas", Decimal("100.010"), "m³", 300.0) is Verdict.CONFIRMED
    assert guard.check("gas", Decimal("100.000"), "m³", 600.0) is Verdict.HELD_LOWER
    assert guard.check("gas", Decimal("150.000"), "m³", 900.0) is Verdict.HELD_JUMP
    assert guard.check("gas", Decimal("100.500"), "m³", 1200.0) is Verdict.PUBLISHED
