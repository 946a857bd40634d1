"""An M-Bus heat meter in Home Assistant: the flow, the libmbus captures' values as entities.

The simulated meter answers with the captures over a pty in real line time; the Multical
sleeps until the optical wake-up, the Ultraheat is read without it. The heat energy never
goes backwards: a lower reading is held back.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er

from custom_components.landis_gyr_optical import sensor
from custom_components.landis_gyr_optical.const import CONF_PROTOCOL, CONF_SCAN_INTERVAL, CONF_SLAVE, DOMAIN
from custom_components.landis_gyr_optical.meter.mbus.frames import build_long_frame, long_frame_body
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.registers import Register, Value
from tests.simulator.mbus import MULTICAL, T230, MbusProfile, PtyMbusMeter

from .test_variants_ha import (  # the fixture: no USB ports, the flow starts at the manual step
    _fast_han_and_no_ports,  # noqa: F401
    _protocol,
    _start,
    _submit,
    _unload_closes,
)

_MULTICAL_ENERGY = bytes.fromhex("0406E7910000")  # 37351 kWh


def _multical_with_energy(kwh: int) -> bytes:
    body = long_frame_body(MULTICAL)
    assert body.count(_MULTICAL_ENERGY) == 1
    return build_long_frame(body.replace(_MULTICAL_ENERGY, bytes.fromhex("0406") + kwh.to_bytes(4, "little")))


def _state(hass: HomeAssistant, entry: Any, code: str) -> tuple[str, dict[str, Any]]:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{code}")
    assert entity_id is not None, f"no entity for {code}"
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state, dict(state.attributes)


async def _refresh(hass: HomeAssistant, entry: Any) -> None:
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()


async def test_multical_woken_through_the_flow(hass: HomeAssistant) -> None:
    async with PtyMbusMeter(MbusProfile((MULTICAL,), address=17)) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("mbus"))
        assert result["step_id"] == "mbus"
        result = await _submit(hass, result, {CONF_SLAVE: 252, "wake_up": True})
        assert result["errors"] == {CONF_SLAVE: "invalid_mbus_address"}
        result = await _submit(hass, result, {CONF_SLAVE: 254, "wake_up": True})
        assert result["type"] is FlowResultType.CREATE_ENTRY, result
        assert (result["data"][CONF_PROTOCOL], result["data"][CONF_SLAVE], result["data"]["wake_up"]) == (
            "mbus",
            254,
            True,
        )
        assert result["options"][CONF_SCAN_INTERVAL] == 900  # a battery meter: every 15 minutes
        entry = result["result"]
        await hass.async_block_till_done()
        await _refresh(hass, entry)  # totals are published once a second read confirms them
        # Three reads (the flow's, the set-up's, this one): each request followed a wake-up run.
        assert len(meter.log.requests) == 6 and meter.log.ignored == [] and meter.log.wake_ups >= 1
        energy, attributes = _state(hass, entry, "6-0:6.8.0")
        assert (Decimal(energy), attributes[ATTR_UNIT_OF_MEASUREMENT]) == (Decimal(37351), "kWh")
        assert attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
        assert attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
        expected = {
            "6-0:6.26.0": ("561.08", "m³", SensorDeviceClass.VOLUME),
            "6-0:8.0.0": ("34700", "W", SensorDeviceClass.POWER),
            "6-0:9.0.0": ("0.543", "m³/h", SensorDeviceClass.VOLUME_FLOW_RATE),
            "6-0:10.0.0": ("101.69", "°C", SensorDeviceClass.TEMPERATURE),
            "6-0:11.0.0": ("46.16", "°C", SensorDeviceClass.TEMPERATURE),
            "6-0:12.0.0": ("55.53", "K", SensorDeviceClass.TEMPERATURE_DELTA),
            "6-0:6.6.0": ("44800", "W", SensorDeviceClass.POWER),
            "6-0:6.33.0": ("0.628", "m³/h", SensorDeviceClass.VOLUME_FLOW_RATE),
            "6-0:6.31.0": ("985", "h", SensorDeviceClass.DURATION),
        }
        for code, (value, unit, device_class) in expected.items():
            state, attributes = _state(hass, entry, code)
            assert (Decimal(state), attributes[ATTR_UNIT_OF_MEASUREMENT], attributes[ATTR_DEVICE_CLASS]) == (
                Decimal(value),
                unit,
                device_class,
            ), code
        await _unload_closes(hass, entry, meter.port)


async def test_ultraheat_entities_and_energy_never_backwards(hass: HomeAssistant) -> None:
    async with PtyMbusMeter(MbusProfile((T230,), asleep=False)) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("mbus"))
        result = await _submit(hass, result, {CONF_SLAVE: 0, "wake_up": False})
        assert result["type"] is FlowResultType.CREATE_ENTRY, result
        entry = result["result"]
        assert entry.unique_id.startswith("LUG-")
        await hass.async_block_till_done()
        await _refresh(hass, entry)
        assert meter.log.requests[0] == bytes.fromhex("1040004016")
        assert _state(hass, entry, "6-0:10.0.0")[0] == "19.5"
        assert _state(hass, entry, "6-0:11.0.0")[0] == "19.7"
        assert _state(hass, entry, "6-0:12.0.0")[0] == "-0.2"
        assert _state(hass, entry, "6-0:9.4.0")[0] == "30.7"
        assert _state(hass, entry, "6-0:9.4.0_value_2")[0] == "50.7"
        assert _state(hass, entry, "6-0:6.31.0")[0] == "3769"
        fault_hours, attributes = _state(hass, entry, "6-0:6.32.0")
        assert fault_hours == "3769" and attributes["unit_of_measurement"] == "h"
        assert Decimal(_state(hass, entry, "6-0:6.8.0")[0]) == 0
        await _unload_closes(hass, entry, meter.port)
        # Removed, so that the next flow lists no port of an entry (a bus to add a meter to).
        await hass.config_entries.async_remove(entry.entry_id)

    async with PtyMbusMeter(MbusProfile((_multical_with_energy(37351),), asleep=False)) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("mbus"))
        result = await _submit(hass, result, {CONF_SLAVE: 254, "wake_up": False})
        entry = result["result"]
        await hass.async_block_till_done()
        await _refresh(hass, entry)
        assert Decimal(_state(hass, entry, "6-0:6.8.0")[0]) == 37351
        meter.profile = replace(meter.profile, telegrams=(_multical_with_energy(37350),))
        await _refresh(hass, entry)
        assert Decimal(_state(hass, entry, "6-0:6.8.0")[0]) == 37351  # held back: never lower
        meter.profile = replace(meter.profile, telegrams=(_multical_with_energy(37352),))
        await _refresh(hass, entry)
        # 1 kWh within a second is beyond what the installation can draw: held until confirmed.
        assert Decimal(_state(hass, entry, "6-0:6.8.0")[0]) == 37351
        await _refresh(hass, entry)
        assert Decimal(_state(hass, entry, "6-0:6.8.0")[0]) == 37352
        await _unload_closes(hass, entry, meter.port)


def test_the_error_flags_are_a_diagnostic() -> None:
    register = Register(obis=ObisCode.parse("6-0:97.97.0"), raw="8004", values=(Value("8004"),))
    [(description, unit)] = sensor.describe_all(register.obis, register)
    assert (description.key, description.entity_category, unit) == (
        "error_register",
        EntityCategory.DIAGNOSTIC,
        None,
    )
