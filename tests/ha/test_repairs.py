"""Failed reads: unavailable, logged once, a repair issue after three failures, cleared on success."""

from __future__ import annotations

import logging
from unittest.mock import AsyncMock

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import DOMAIN
from custom_components.landis_gyr_optical.meter.errors import ChecksumError, NoAnswerError, PortError

from .conftest import METER_SERIAL, entry_data

ENERGY = "sensor.landis_gyr_zmf100ac_m27_energy_import"
CHECKSUMS = "sensor.landis_gyr_zmf100ac_m27_checksum_errors"


async def test_issue_after_three_failures(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator = mock_config_entry.runtime_data
    issue_id = f"read_failures_{mock_config_entry.entry_id}"
    good = mock_read_meter.return_value
    caplog.set_level(logging.INFO)
    mock_read_meter.side_effect = [NoAnswerError("silent"), ChecksumError("bad bcc"), NoAnswerError("silent")]
    for expected_issue in (False, False, True):
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
        assert (issue_registry.async_get_issue(DOMAIN, issue_id) is not None) is expected_issue
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue.translation_key == "read_failures"
    assert issue.translation_placeholders["failures"] == "3"
    # The diagnostics stay available and count the checksum failure.
    assert hass.states.get(CHECKSUMS).state == "1"
    cannot = [r for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(cannot) == 1 and cannot[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    mock_read_meter.side_effect = None
    mock_read_meter.return_value = good
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
    back = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert len(back) == 1 and back[0].levelno == logging.INFO


async def test_issue_at_once_when_port_vanishes(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A USB head that was unplugged (its path is gone) is reported on the first failure."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    mock_read_meter.side_effect = PortError(mock_config_entry.data["port"], "No such file or directory")
    await mock_config_entry.runtime_data.async_refresh()
    assert issue_registry.async_get_issue(DOMAIN, f"read_failures_{mock_config_entry.entry_id}") is not None
    # Removing the entry drops its issue.
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, f"read_failures_{mock_config_entry.entry_id}") is None


async def test_url_port_failure_waits_for_three(
    hass: HomeAssistant, mock_read_meter: AsyncMock, issue_registry: ir.IssueRegistry
) -> None:
    """A network bridge that refuses is not 'vanished': the usual count applies."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(port="socket://192.0.2.1:1")
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    mock_read_meter.side_effect = PortError("socket://192.0.2.1:1", "refused")
    await entry.runtime_data.async_refresh()
    assert issue_registry.async_get_issue(DOMAIN, f"read_failures_{entry.entry_id}") is None
