"""Two meters on one real line (a pty behind a by-id style link): what happens to one keeps the other reading.

Reconfiguring one meter (its test read takes a turn on the line), unplugging and replugging
the adapter (a new pty behind the same link), and removing one entry: the other meter's
reads go on, and the line never carries two sessions at once. About 25 s of line time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from custom_components.landis_gyr_optical.bus import BUSES
from custom_components.landis_gyr_optical.const import CONF_PORT, DOMAIN
from custom_components.landis_gyr_optical.coordinator import LandisGyrCoordinator
from scripts.soak_lib.entries import mode_c_entry
from scripts.soak_lib.port_soak import load_manifest_dependencies
from tests.simulator.bus import PtyBus, bus_profiles

from .test_config_flow import _protocol_input


def _point(link: Path, target: str) -> None:
    temporary = link.with_name(f".{link.name}.new")
    temporary.symlink_to(target)
    temporary.replace(link)


async def _read(coordinator: LandisGyrCoordinator) -> bool:
    await coordinator.async_refresh()
    return coordinator.last_update_success


async def test_one_meter_changes_the_other_keeps_reading(hass: HomeAssistant, tmp_path: Path) -> None:
    """Reconfigure, unplug/replug and removal of one entry on a shared line."""
    for dependency in load_manifest_dependencies():
        assert await async_setup_component(hass, dependency, {})
    async with PtyBus(bus_profiles(2)) as line:
        link = tmp_path / "usb-RS485-if00-port0"
        link.symlink_to(line.port)
        first, second = (
            mode_c_entry(
                str(link),
                title=f"meter {meter.profile.address}",
                unique_id=str(meter.profile.address),
                scan_interval=3600,
                max_baud=9600,
                address=meter.profile.address or "",
            )
            for meter in line.meters
        )
        for entry in (first, second):
            entry.add_to_hass(hass)
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
        assert (first.state, second.state) == (ConfigEntryState.LOADED, ConfigEntryState.LOADED)
        keeps: LandisGyrCoordinator = first.runtime_data

        # Reconfigure the second meter while the first one is polled.
        result = await second.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: str(link)})
        assert result["step_id"] == "protocol"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _protocol_input(address=second.data["address"], max_baud="9600")
        )
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        assert await _read(keeps)
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert second.state is ConfigEntryState.LOADED
        assert await _read(keeps) and await _read(second.runtime_data)

        # Unplug: both fail; replugged (a new pty behind the same link): both read again.
        link.unlink()
        await line.vanish()
        assert not await _read(keeps)
        _point(link, await line.reappear())
        results = await asyncio.gather(_read(keeps), _read(second.runtime_data))
        assert results == [True, True]

        # Remove the second entry: the first keeps its bus and reads on.
        assert await hass.config_entries.async_remove(second.entry_id)
        await hass.async_block_till_done()
        assert await _read(keeps)
        (bus,) = hass.data[BUSES].values()
        assert list(bus.members) == [first.entry_id]

        assert (line.collisions, line.overlaps) == (0, 0)
        assert not line.meter_errors
        assert await hass.config_entries.async_unload(first.entry_id)
        await hass.async_block_till_done()
    assert not hass.data[BUSES]
