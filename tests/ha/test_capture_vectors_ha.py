"""Captures of real meters through Home Assistant: the asserted values become entity states."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from unittest.mock import AsyncMock, PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.landis_gyr_optical.const import DOMAIN
from tests.core.test_capture_vectors import (
    DECODED,
    EXPECTATIONS,
    FRAMED_MESSAGES,
    UNKNOWN_CODES_ONLY,
    _code,
    decode,
    same,
)
from tests.vectors import Expectation

from .conftest import METER_SERIAL, make_readout

CAPTURES = [
    name
    for name in DECODED
    if not EXPECTATIONS[name].corrupt and name not in UNKNOWN_CODES_ONLY and name not in FRAMED_MESSAGES
]
"""Every capture that decodes to values, through Home Assistant (the protocol test's
addresses ``3:14`` are no OBIS codes and have no entities)."""


def _state_matches(state: str, unit: str | None, value: str, expected_unit: str | None) -> bool:
    return same(Decimal(state), unit, value, expected_unit)


@pytest.fixture(autouse=True)
def _frozen_start(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to("2026-02-01 12:00:00+00:00")


@pytest.mark.parametrize("name", CAPTURES)
async def test_capture_values_become_states(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
    name: str,
) -> None:
    expectation: Expectation = EXPECTATIONS[name]
    [registers, *_] = decode(expectation)
    mock_read_meter.return_value = replace(make_readout(), registers=tuple(registers))
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        mock_config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        for _ in range(2):  # a total is published once a second read confirms it
            freezer.tick(timedelta(seconds=60))
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
    medium = 6 if expectation.family == "heat" else 1
    serials = {
        device.serial_number
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), mock_config_entry.entry_id)
    }
    checked = 0
    for key, (value, unit) in expectation.values.items():
        if "[" in key or value is None:
            continue
        obis, _ = _code(key, medium)
        entity_id = None
        for candidate in (obis, obis.__class__(1, 0, obis.c, obis.d, obis.e)):
            entity_id = entity_id or entity_registry.async_get_entity_id(
                "sensor", DOMAIN, f"{METER_SERIAL}_{candidate}"
            )
        if entity_id is None:
            # Texts and identifiers are device data, not entities.
            if value in serials:
                checked += 1
            continue
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN), (key, entity_id)
        try:
            Decimal(state.state)
        except ArithmeticError:
            assert state.state == value, (key, state.state)
        else:
            assert _state_matches(state.state, state.attributes.get("unit_of_measurement"), value, unit), (
                key,
                state.state,
                state.attributes,
            )
        checked += 1
    if expectation.values:
        assert checked, "the capture's asserted values have entities"
    else:
        # The source asserts only that the capture parses: its registers become entities.
        assert [state for state in hass.states.async_all("sensor") if "register" not in state.entity_id]
