"""Sensors: one per reported register, named by translation, guarded totals."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import AsyncMock, PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.sensor import describe

from .conftest import DATA_BLOCK, METER_SERIAL, device_with_identifier, make_readout

ENERGY_IMPORT = "sensor.landis_gyr_zmf100ac_m27_energy_import"
POWER_IMPORT = "sensor.landis_gyr_zmf100ac_m27_power_import"


@pytest.fixture(autouse=True)
def _frozen_start(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to("2026-02-01 12:00:00+00:00")


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: int = 60) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    """Every reported register has its entity; totals show once a second read confirms them."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        await _setup(hass, mock_config_entry)
        assert hass.states.get(ENERGY_IMPORT).state == STATE_UNKNOWN
        await _poll(hass, freezer)
        await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_device_and_categories(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    """The device comes from the identification; unknown registers are disabled by default."""
    await _setup(hass, mock_config_entry)
    device = device_with_identifier(device_registry, mock_config_entry, METER_SERIAL)
    assert (device.manufacturer, device.model, device.serial_number, device.sw_version) == (
        "Landis+Gyr",
        "ZMF100AC.M27",
        METER_SERIAL,
        "M27",
    )
    generic = entity_registry.async_get("sensor.landis_gyr_zmf100ac_m27_register_0_0_c_7_0")
    assert generic is not None and generic.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    firmware = entity_registry.async_get("sensor.landis_gyr_zmf100ac_m27_firmware")
    assert firmware.entity_category is EntityCategory.DIAGNOSTIC
    assert firmware.unique_id == f"{METER_SERIAL}_0-0:0.2.0"
    # Serial numbers and billing history are not entities.
    unique_ids = {
        entry.unique_id
        for entry in er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id)
    }
    assert not any(uid.endswith(("C.1.0", "0.0.0", "*1")) for uid in unique_ids)


async def test_new_register_appears(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    """A register that shows up in a later readout gets its entity; a vanished one goes unavailable."""
    await _setup(hass, mock_config_entry)
    assert hass.states.get("sensor.landis_gyr_zmf100ac_m27_energy_export_tariff_1") is None
    mock_read_meter.return_value = make_readout(
        DATA_BLOCK.replace("1.7.0(00.512*kW)\r\n", "") + "2.8.1(000001.000*kWh)\r\n"
    )
    await _poll(hass, freezer)
    assert hass.states.get("sensor.landis_gyr_zmf100ac_m27_energy_export_tariff_1") is not None
    assert hass.states.get(POWER_IMPORT).state == STATE_UNAVAILABLE


async def test_totals_guarded(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    """A spike is held back until the next read confirms it; a drop (or 0) never shows."""
    await _setup(hass, mock_config_entry)
    await _poll(hass, freezer)
    assert hass.states.get(ENERGY_IMPORT).state == "219.252"
    # 1000 kWh more within a minute is far beyond 60 kW: held, the last value stays.
    spike = make_readout(DATA_BLOCK.replace("1.8.0(000219.252*kWh)", "1.8.0(001219.252*kWh)"))
    mock_read_meter.return_value = spike
    await _poll(hass, freezer)
    assert hass.states.get(ENERGY_IMPORT).state == "219.252"
    # The next read is back to the truth: the spike is never published.
    mock_read_meter.return_value = make_readout(DATA_BLOCK.replace("000219.252", "000219.260"))
    await _poll(hass, freezer)
    assert hass.states.get(ENERGY_IMPORT).state == "219.260"
    # A zero is lower than the published value: held, never shown.
    mock_read_meter.return_value = make_readout(DATA_BLOCK.replace("000219.252", "000000.000"))
    await _poll(hass, freezer)
    assert hass.states.get(ENERGY_IMPORT).state == "219.260"
    # Instantaneous values are not guarded.
    assert hass.states.get(POWER_IMPORT).state == "512.0"


async def test_state_survives_restart_reference(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    """After a reload the stored reference lets the first read publish at once."""
    await _setup(hass, mock_config_entry)
    await _poll(hass, freezer)
    assert hass.states.get(ENERGY_IMPORT).state == "219.252"
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ENERGY_IMPORT).state == "219.252"


def test_describe_units() -> None:
    """Table entries take the printed unit when it fits, else the register becomes generic."""
    (watts,) = parse_data_block("1.7.0(512*W)")
    description, unit = describe(watts.obis, watts)
    assert (description.key, unit) == ("power_import", "W")
    (odd,) = parse_data_block("1.7.0(512*A)")
    description, unit = describe(odd.obis, odd)
    assert (description.key, unit) == ("register", "A")
    (bare,) = parse_data_block("1.8.0(000219.252)")
    description, unit = describe(bare.obis, bare)
    assert (description.device_class, description.state_class, unit) == (
        SensorDeviceClass.ENERGY,
        SensorStateClass.TOTAL_INCREASING,
        "kWh",
    )
    (total,) = parse_data_block("1.8.7(000001.000*kWh)")
    description, unit = describe(total.obis, total)
    assert (description.key, description.entity_registry_enabled_default) == ("register_total", False)
    (text,) = parse_data_block("C.90.9(ABC)")
    assert describe(text.obis, text) is None
    assert describe(ObisCode.parse("1.8.0*12"), watts) is None


async def test_first_total_confirmed_soon(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    """A new meter's first total is confirmed by a read a few seconds later, not a full interval later."""
    await _setup(hass, mock_config_entry)
    coordinator = mock_config_entry.runtime_data
    assert hass.states.get(ENERGY_IMPORT).state == STATE_UNKNOWN
    # The readout took 2.25 s: the confirming read follows after it plus a 2 s pause (5 s at least).
    assert coordinator.update_interval == timedelta(seconds=5)
    await _poll(hass, freezer, 4)
    assert mock_read_meter.await_count == 1
    await _poll(hass, freezer, 1)
    assert mock_read_meter.await_count == 2
    assert hass.states.get(ENERGY_IMPORT).state == "219.252"
    assert coordinator.update_interval == timedelta(seconds=60)
    await _poll(hass, freezer, 30)
    assert mock_read_meter.await_count == 2


def test_numeric_tariff_indicator_is_no_enum() -> None:
    """DSMR's numeric 0-0:96.14.0 is a plain register; E-Redes tariff names are the ENUM sensor."""
    (numeric,) = parse_data_block("0-0:96.14.0(0002)")
    description, _ = describe(numeric.obis, numeric)
    assert description.key == "register"
    from custom_components.landis_gyr_optical.meter.registers import Register, Value

    named = Register(ObisCode.parse("0-0:96.14.0"), "ponta", (Value("ponta"),))
    description, _ = describe(named.obis, named)
    assert (description.key, description.device_class) == ("active_tariff", SensorDeviceClass.ENUM)


async def test_corrupted_units_never_reach_an_entity(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    """A readout the checksum let through with a mangled unit or number changes no state.

    Two flipped bits in one column pass the BCC: ``2.8.0(..*kWh)`` can arrive as a total in
    another unit, a voltage as text. The total keeps its published value, the measurement
    shows unknown, and the diagnostics count the malformed total.
    """
    await _setup(hass, mock_config_entry)
    await _poll(hass, freezer)
    export = "sensor.landis_gyr_zmf100ac_m27_energy_export"
    voltage = "sensor.landis_gyr_zmf100ac_m27_voltage_l1"
    assert hass.states.get(export).state == "1.500"
    assert hass.states.get(voltage).state == "233"
    mock_read_meter.return_value = make_readout(
        DATA_BLOCK.replace("2.8.0(000001.500*kWh)", "2.8.0(001601.500*C)").replace(
            "32.7.0(233*V)", "32.7.0(233*A)"
        )
    )
    await _poll(hass, freezer)
    assert hass.states.get(export).state == "1.500"
    assert hass.states.get(voltage).state == "unknown"
    assert mock_config_entry.runtime_data.stats.malformed_totals == 1
    mock_read_meter.return_value = make_readout()
    await _poll(hass, freezer)
    assert hass.states.get(voltage).state == "233"
