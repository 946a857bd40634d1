"""Set-up, polling, push listening and unloading, against the simulated meter on a pty."""

from __future__ import annotations

import asyncio
import dataclasses
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import CONF_MAX_POWER_KW, DOMAIN
from custom_components.landis_gyr_optical.coordinator import readout_duration
from custom_components.landis_gyr_optical.meter.errors import NoAnswerError, PortError
from tests.simulator import PtyMeter, load_profile

from .conftest import entry_data, fds_on, make_readout


def _entry(port: str, serial: str, **data: object) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="meter",
        unique_id=serial,
        data=entry_data(port=port, **data),
        options={CONF_MAX_POWER_KW: 60.0},
    )


async def test_polled_meter_on_pty(hass: HomeAssistant) -> None:
    """Set-up reads the meter, a poll reads it again, unload leaves no port or task open."""
    profile = dataclasses.replace(load_profile("lgz_e350"), reaction_time=0.2)
    async with PtyMeter(profile) as meter:
        entry = _entry(meter.port, "18438636")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        state = hass.states.get("sensor.landis_gyr_zmf100ac_m27_energy_import")
        assert state is not None and state.state == "unknown"  # the first value awaits confirmation
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done()
        assert hass.states.get("sensor.landis_gyr_zmf100ac_m27_energy_import").state == "219.252"
        assert hass.states.get("sensor.landis_gyr_zmf100ac_m27_voltage_l1").state == "233"
        assert entry.runtime_data.data.readout.baud == 4800
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert entry.state is ConfigEntryState.NOT_LOADED
        assert fds_on(meter.port) == 0
        assert meter.closes >= 2


async def test_push_meter_on_pty(hass: HomeAssistant) -> None:
    """Mode D: the port stays open and each push updates the entities; unload closes it."""
    profile = dataclasses.replace(load_profile("lgf_e360_mode_d"), reaction_time=0.02, push_interval=0.2)
    async with PtyMeter(profile, reset_termios=False) as meter:
        entry = _entry(meter.port, "E360", protocol="mode_d")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data
        for _ in range(300):  # a 704-byte push takes 2.9 s at 2400 Bd; the second confirms the first
            await asyncio.sleep(0.05)
            state = hass.states.get("sensor.landis_gyr_e360_energy_import")
            if state is not None and state.state not in ("unknown", STATE_UNAVAILABLE):
                break
        assert hass.states.get("sensor.landis_gyr_e360_energy_import").state == "896.020", (
            "; ".join(f"{e.kind} {e.detail}" for e in meter.events[-14:]),
            meter.errors,
        )
        assert coordinator.data.readout.checksum == "crc16"
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert coordinator._push_task is None
        assert fds_on(meter.port) == 0


async def test_setup_retries_when_meter_silent(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """A meter that does not answer at start-up makes the entry retry later."""
    mock_read_meter.side_effect = NoAnswerError("silent")
    entry = _entry("/dev/ttyUSB9", "x")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_push_setup_retries_when_port_missing(hass: HomeAssistant) -> None:
    """A push port that cannot be opened makes the entry retry later."""
    entry = _entry("/dev/does-not-exist", "x", protocol="mode_d")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_push_reconnects_after_port_error(hass: HomeAssistant) -> None:
    """A push port that fails is closed and reopened after a pause; errors make entities unavailable."""
    pushes = [
        PortError("/dev/x", "gone"),
        NoAnswerError("quiet"),
        make_readout(protocol="mode_d", checksum="crc16"),
    ]
    opened = AsyncMock()
    closed = AsyncMock()
    release = asyncio.Event()

    async def _session(*_: object) -> object:
        if pushes:
            item = pushes.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        await release.wait()
        raise asyncio.CancelledError

    entry = _entry("/dev/x", "18438636", protocol="mode_d")
    entry.add_to_hass(hass)
    with (
        patch("custom_components.landis_gyr_optical.coordinator.Link.open", opened),
        patch("custom_components.landis_gyr_optical.coordinator.Link.close", closed),
        patch("custom_components.landis_gyr_optical.coordinator.run_session", _session),
        patch("custom_components.landis_gyr_optical.coordinator.PUSH_BACKOFF", (0.01, 0.02)),
        patch("custom_components.landis_gyr_optical.coordinator.PUSH_ERROR_PAUSE", 0.01),
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data
        for _ in range(100):
            await asyncio.sleep(0.01)
            if coordinator.data is not None:
                break
        assert coordinator.data is not None
        assert coordinator.stats.errors_by_key == {"cannot_open_port": 1, "no_answer": 1}
        # open once in the set-up check, then twice in the loop (after the port error).
        assert opened.await_count == 3
        # A manual refresh of a push entry returns what the last push brought.
        await coordinator.async_refresh()
        assert coordinator.last_update_success
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert closed.await_count >= 3


async def test_push_refresh_before_first_push(hass: HomeAssistant) -> None:
    """Before the first push a refresh reports that it is waiting."""
    entry = _entry("/dev/x", "y", protocol="mode_d")
    entry.add_to_hass(hass)

    async def _wait(*_: object) -> object:
        await asyncio.Event().wait()
        raise AssertionError

    with (
        patch("custom_components.landis_gyr_optical.coordinator.Link.open", AsyncMock()),
        patch("custom_components.landis_gyr_optical.coordinator.Link.close", AsyncMock()),
        patch("custom_components.landis_gyr_optical.coordinator.run_session", _wait),
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await entry.runtime_data.async_refresh()
        assert not entry.runtime_data.last_update_success
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_remove_entry_drops_storage(
    hass: HomeAssistant, mock_read_meter: AsyncMock, hass_storage: dict
) -> None:
    """Removing a meter removes its stored guard references."""
    entry = _entry("/dev/ttyUSB0", "18438636")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.config_entries.async_unload(entry.entry_id)
    assert f"{DOMAIN}.{entry.entry_id}" in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    assert f"{DOMAIN}.{entry.entry_id}" not in hass_storage


@pytest.mark.parametrize(
    ("timings", "expected"), [({"identification started": 1.0, "done": 3.5}, 2.5), ({}, 9.0)]
)
def test_readout_duration(timings: dict[str, float], expected: float) -> None:
    readout = dataclasses.replace(make_readout(), timings=timings)
    assert readout_duration(readout, 9.0) == expected
