"""A P1 meter's gas and water meters as devices of their own, and a heat meter's entities."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from unittest.mock import AsyncMock, PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.landis_gyr_optical.const import DOMAIN
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import Identification
from custom_components.landis_gyr_optical.meter.readout import Readout
from tests.core.test_capture_vectors import EXPECTATIONS, decode
from tests.vectors import own_vector

from .conftest import METER_SERIAL, device_with_identifier, make_readout

P1_WITH_GAS_AND_WATER = "p1_fluvius_emucs171_octal_escape_dsmr_parser.txt"
HEAT_METER = "iec_heat_siemens_2wr5_modeD_smartmeter-obis.txt"


@pytest.fixture(autouse=True)
def _frozen_start(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to("2026-02-01 12:00:00+00:00")


def capture_readout(name: str) -> Readout:
    """The capture's registers and identification, in a readout as the client returns it."""
    [registers, *_] = decode(EXPECTATIONS[name])
    identification = Identification.parse(own_vector(name).splitlines()[0])
    return replace(make_readout(), identity=identification.identity, registers=tuple(registers))


async def _setup_and_poll(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for _ in range(2):  # totals are published once a second read confirms them
        freezer.tick(timedelta(seconds=60))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


@pytest.mark.parametrize("name", [P1_WITH_GAS_AND_WATER, HEAT_METER])
async def test_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
    name: str,
) -> None:
    """Every entity of a P1 meter with gas and water, and of a heat meter."""
    mock_read_meter.return_value = capture_readout(name)
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        await _setup_and_poll(hass, mock_config_entry, freezer)
        await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_gas_and_water_meters_are_devices_behind_the_meter(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    mock_read_meter.return_value = capture_readout(P1_WITH_GAS_AND_WATER)
    await _setup_and_poll(hass, mock_config_entry, freezer)
    meter = device_with_identifier(device_registry, mock_config_entry, METER_SERIAL)
    for channel, code, device_class, value, serial in (
        (1, "0-1:24.2.3", SensorDeviceClass.GAS, "112.384", "7FLO2119033733"),
        (2, "0-2:24.2.1", SensorDeviceClass.WATER, "872.234", "8SAG1234567890"),
    ):
        device = device_with_identifier(device_registry, mock_config_entry, f"{METER_SERIAL}_mbus_{channel}")
        assert device.via_device_id == meter.id
        assert device.serial_number == serial
        entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{METER_SERIAL}_{code}")
        assert entity_id is not None
        entry = entity_registry.async_get(entity_id)
        assert entry is not None and entry.device_id == device.id
        assert entry.disabled_by is None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == value
        assert state.attributes["device_class"] == device_class
        assert state.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
        assert state.attributes["unit_of_measurement"] == "m³"
        assert state.attributes["timestamp"] == "2020-05-12T13:45:58+02:00"


async def test_a_gas_reading_never_goes_backwards(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    readout = capture_readout(P1_WITH_GAS_AND_WATER)
    mock_read_meter.return_value = readout
    await _setup_and_poll(hass, mock_config_entry, freezer)
    entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{METER_SERIAL}_0-1:24.2.3")
    assert entity_id is not None
    lower = tuple(
        replace(register, values=(replace(register.values[0], value=register.values[0].value - 1),))  # type: ignore[operator]
        if str(register.obis) == "0-1:24.2.3"
        else register
        for register in readout.registers
    )
    mock_read_meter.return_value = replace(readout, registers=lower)
    freezer.tick(timedelta(seconds=60))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None and state.state == "112.384"


async def test_heat_meter_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
) -> None:
    mock_read_meter.return_value = capture_readout(HEAT_METER)
    await _setup_and_poll(hass, mock_config_entry, freezer)

    def state_of(key: str) -> tuple[str, dict[str, object]]:
        entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{METER_SERIAL}_{key}")
        assert entity_id is not None, key
        state = hass.states.get(entity_id)
        assert state is not None
        return state.state, dict(state.attributes)

    energy, attributes = state_of("6-0:6.8.0")
    assert energy == "29.055"
    assert attributes["device_class"] == SensorDeviceClass.ENERGY
    assert attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert attributes["unit_of_measurement"] == "MWh"
    volume, attributes = state_of("6-0:6.26.0")
    assert (volume, attributes["unit_of_measurement"]) == ("1589.28", "m³")
    assert state_of("6-0:9.4.0")[0] == "88"
    assert state_of("6-0:9.4.0_value_2")[0] == "82"
    assert state_of("6-0:6.31.0")[0] == "30710"
    assert state_of("6-0:6.32.0")[0] == "194"
    assert state_of("6-0:6.33.0")[0] == "1.476"
