"""The wired M-Bus heat meter captures of libmbus decode to the values its tests assert.

libmbus names each value by quantity and storage number (``Energy[0]``, ``MaxPower[1]``)
in base units (Wh, m^3, W, m^3/h, °C, K, s); the records are compared on that footing,
then the registers and the entities they give.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
import json

import pytest

from custom_components.landis_gyr_optical import sensor
from custom_components.landis_gyr_optical.meter.mbus.records import (
    Function,
    Quantity,
    Record,
    Telegram,
    decode_frame,
)
from custom_components.landis_gyr_optical.meter.mbus.registers import heat_registers, identity_of, serial_of
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.vectors import OWN_VECTORS, own_expectations, own_vector

EXPECTATIONS = own_expectations()
CAPTURES = sorted(
    name for name, item in EXPECTATIONS.items() if item.format == "mbus_hex" and item.family == "heat"
)

_QUANTITIES = {
    "Energy": Quantity.ENERGY,
    "Volume": Quantity.VOLUME,
    "Power": Quantity.POWER,
    "VolumeFlow": Quantity.VOLUME_FLOW,
    "FlowTemperature": Quantity.FLOW_TEMPERATURE,
    "ReturnTemperature": Quantity.RETURN_TEMPERATURE,
    "TemperatureDifference": Quantity.TEMPERATURE_DIFFERENCE,
    "OnTime": Quantity.ON_TIME,
    "FabricationNo": Quantity.FABRICATION_NUMBER,
    "TimePoint": Quantity.DATE_TIME,
    "Date": Quantity.DATE,
}
_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400}
_UNITS = {"m^3": "m³", "m^3/h": "m³/h"}


def _telegram(name: str) -> Telegram:
    return decode_frame(bytes.fromhex(own_vector(name).decode("ascii").strip()))


def _find(records: tuple[Record, ...], key: str) -> Record:
    """The first record of a libmbus name: quantity, storage number, maximum or not."""
    name, _, storage = key.partition("[")
    maximum = name.startswith("Max")
    quantity = _QUANTITIES[name.removeprefix("Max")]
    number = int(storage.rstrip("]") or 0)
    for record in records:
        if (
            record.quantity is quantity
            and record.storage == number
            and record.subunit == 0
            and (record.function is Function.MAXIMUM) == maximum
        ):
            return record
    raise AssertionError(f"no record for {key}")


def _base(record: Record) -> tuple[Decimal, str | None]:
    assert isinstance(record.value, Decimal | int)
    if record.unit in _SECONDS:
        return Decimal(record.value) * _SECONDS[record.unit], "s"
    return Decimal(record.value), record.unit


def test_both_captures_are_read() -> None:
    assert CAPTURES == [
        "mbus_heat_kamstrup_multical601_libmbus.hex",
        "mbus_heat_lug_ultraheat_t230_libmbus.hex",
    ]


@pytest.mark.parametrize("name", CAPTURES)
def test_records_are_the_asserted_values(name: str) -> None:
    telegram = _telegram(name)
    for key, (value, unit) in EXPECTATIONS[name].values.items():
        got, got_unit = _base(_find(telegram.records, key))
        assert value is not None
        assert got == Decimal(value), key
        assert got_unit == (_UNITS.get(unit, unit) if unit is not None else None), key


@pytest.mark.parametrize("name", CAPTURES)
def test_dates_are_the_asserted_ones(name: str) -> None:
    telegram = _telegram(name)
    stamps = json.loads((OWN_VECTORS / "expected.json").read_text("utf-8"))[name]["expected_timestamps"]
    assert stamps
    for key, text in stamps.items():
        value = _find(telegram.records, key).value
        if isinstance(value, datetime):
            # libmbus prints the meter's local time with a Z; the meter names no zone.
            assert value == datetime.fromisoformat(text.removesuffix("Z")), key
        else:
            assert isinstance(value, date) and value == date.fromisoformat(text), key


def test_ultraheat_header_identity_and_registers() -> None:
    telegram = _telegram("mbus_heat_lug_ultraheat_t230_libmbus.hex")
    header = telegram.header
    assert (header.identification, header.manufacturer, header.version, header.medium) == (
        "66660205",
        "LUG",
        7,
        4,
    )
    assert (header.access_number, header.status, header.signature) == (1, 0x10, 0)
    assert telegram.manufacturer_data == bytes.fromhex("0907006601") and not telegram.more_records
    assert len(telegram.records) == 34  # libmbus's records 0..33
    identity = identity_of(telegram)
    assert (identity.flag_id, identity.manufacturer, serial_of(telegram)) == ("LUG", "Landis+Gyr", "66660205")
    registers = {str(register.obis): register for register in heat_registers(telegram)}
    assert registers["6-0:6.8.0"].values[0].value == 0 and registers["6-0:6.8.0"].unit == "kWh"
    assert registers["6-0:6.31.0"].value == 3769 and registers["6-0:6.31.0"].unit == "h"
    assert registers["6-0:6.32.0"].value == 3769  # on time in error state: the fault hours
    assert registers["6-0:6.32.0*1"].value == 3469
    maxima = registers["6-0:9.4.0"].values
    assert [(item.value, item.unit) for item in maxima] == [(Decimal("30.7"), "°C"), (Decimal("50.7"), "°C")]
    assert registers["6-0:9.20.0"].value == "66660205"
    assert registers["6-0:6.8.0"].timestamp == datetime(2012, 1, 13, 12, 4)
    # Records 21/22 (maximum temperatures with a VIFE) are dates libmbus reads as 41065374.6 and
    # 40953732.3 °C: they keep no meaning here and reach no register.
    unread = [record for record in telegram.records if record.quantity is None]
    assert [record.vif.hex() for record in unread] == ["ad6f", "bb6f", "da6f", "de6f"]
    published = {item.value for register in registers.values() for item in register.values}
    assert not published & {Decimal("41065374.6"), Decimal("40953732.3")}


def test_multical_registers_and_history() -> None:
    telegram = _telegram("mbus_heat_kamstrup_multical601_libmbus.hex")
    assert (telegram.header.identification, telegram.header.manufacturer) == ("06855817", "KAM")
    assert identity_of(telegram).manufacturer == "Kamstrup"
    registers = {str(register.obis): register for register in heat_registers(telegram)}
    assert (registers["6-0:6.8.0"].value, registers["6-0:6.8.0"].unit) == (Decimal(37351), "kWh")
    assert (registers["6-0:6.26.0"].value, registers["6-0:6.26.0"].unit) == (Decimal("561.08"), "m³")
    assert (registers["6-0:6.6.0"].value, registers["6-0:6.6.0"].unit) == (Decimal(44800), "W")
    assert (registers["6-0:6.33.0"].value, registers["6-0:6.33.0"].unit) == (Decimal("0.628"), "m³/h")
    assert registers["6-0:6.31.0"].value == 985
    assert registers["6-0:6.8.0*1"].value == 33361 and registers["6-0:6.8.0*1"].timestamp == datetime(
        2010, 12, 31
    )
    # Tariffs 1 and 2 beside the total, subunits as value group B.
    assert {"6-0:6.8.1", "6-0:6.8.2", "6-1:6.26.0", "6-2:6.26.0", "6-3:6.8.0"} <= set(registers)
    assert "6-0:9.4.0" not in registers  # the Multical gives no maximum temperatures


@pytest.mark.parametrize("name", CAPTURES)
def test_the_heat_entities_of_the_optical_readouts_appear(name: str) -> None:
    keys = set()
    for register in heat_registers(_telegram(name)):
        keys |= {description.key for description, _ in sensor.describe_all(register.obis, register)}
    expected = {"heat_energy", "heat_volume", "heat_power_maximum", "heat_flow_maximum", "operating_hours"}
    assert expected <= keys
    energy = next(r for r in heat_registers(_telegram(name)) if r.obis == ObisCode(6, 0, "6", "8", "0"))
    [(description, unit)] = sensor.describe_all(energy.obis, energy)
    assert description.key == "heat_energy" and unit == "kWh"
