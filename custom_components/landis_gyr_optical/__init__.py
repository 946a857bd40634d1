"""Landis+Gyr optical meter reader: IEC 62056-21, DLMS/COSEM, SML and E-Redes HAN meters."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .bus import BusConflictError
from .const import DOMAIN, ISSUE_READ_FAILURES, ISSUE_REGISTER_NOT_ENABLED, STORAGE_VERSION
from .coordinator import LandisGyrConfigEntry, LandisGyrCoordinator
from .meter.errors import MeterError

PLATFORMS: list[Platform] = [Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: LandisGyrConfigEntry) -> bool:
    """Read the meter once (or open its push port), then set up the sensors."""
    coordinator = LandisGyrCoordinator(hass, entry)
    await coordinator.async_load()
    try:
        await coordinator.async_join_bus()
    except BusConflictError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key=err.key,
            translation_placeholders={"port": coordinator.port, "error": str(err)},
        ) from err
    try:
        return await _async_start(hass, entry, coordinator)
    except BaseException:
        await coordinator.async_leave_bus()
        raise


async def _async_start(
    hass: HomeAssistant, entry: LandisGyrConfigEntry, coordinator: LandisGyrCoordinator
) -> bool:
    if coordinator.push:
        try:
            await coordinator.async_check_port()
        except MeterError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key=err.key,
                translation_placeholders={"port": coordinator.port, "error": str(err)},
            ) from err
    else:
        await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if coordinator.push:
        coordinator.async_start_push()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: LandisGyrConfigEntry) -> bool:
    """Unload the sensors, stop reading and close the port."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: LandisGyrConfigEntry) -> None:
    """Drop the repair issues and the stored references of a removed meter."""
    for issue in (ISSUE_READ_FAILURES, ISSUE_REGISTER_NOT_ENABLED):
        ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry.entry_id}")
    await Store[dict[str, object]](hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}").async_remove()
