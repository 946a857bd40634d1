"""Base entity: one device per meter, unique ids from the meter's serial number."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import LandisGyrCoordinator
from .meter.obis import ObisCode

FIRMWARE_CODES = (ObisCode.parse("0.2.0"), ObisCode.parse("1-0:0.2.0"), ObisCode.parse("C.90.2"))
"""Registers that carry the firmware version, in order of preference."""


class LandisGyrEntity(CoordinatorEntity[LandisGyrCoordinator]):
    """An entity of the meter the config entry reads."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: LandisGyrCoordinator, key: str) -> None:
        """Attach to the meter device; ``key`` is the OBIS code or the diagnostic's name."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        meter_id = entry.unique_id or entry.entry_id
        self._attr_unique_id = f"{meter_id}_{key}"
        readout = coordinator.data.readout
        identity = readout.identity
        current = readout.current
        firmware = next((current[code].text for code in FIRMWARE_CODES if code in current), None)
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, meter_id)},
            manufacturer=identity.manufacturer or identity.flag_id,
            model=identity.description or None,
            model_id=identity.flag_id,
            serial_number=readout.serial,
            sw_version=firmware or None,
            name=f"{identity.manufacturer or identity.flag_id} {identity.description}".strip(),
        )
