"""Entries stored by earlier versions load unchanged: same data, same device, same entity unique ids.

The entry data below is written out as the config flow stored it before the protocol core was
split into one package per family; nothing may need a migration for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from contextlib import AbstractAsyncContextManager
import dataclasses
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import DOMAIN
from custom_components.landis_gyr_optical.meter.eredes_han.client import HanSettings
from tests.simulator import PtyMeter, load_profile
from tests.simulator.dlms import PtyPushMeter, gbt_push_frames, push_apdu
from tests.simulator.eredes import PtyHanMeter, three_phase_profile

FAST_HAN = HanSettings(request_pause=0.01, response_timeout=0.3)
IEC_FIELDS: dict[str, Any] = {
    "address": "",
    "max_baud": 19200,
    "wake_up": False,
    "software_parity": False,
    "fixed_baud": None,
    "usb_id": None,
}
"""The IEC fields every stored entry carries, whatever its protocol."""


@pytest.fixture(autouse=True)
def _fast_han() -> Generator[None]:
    with patch("custom_components.landis_gyr_optical.meter.variants.HAN_TIMING", FAST_HAN):
        yield


def _stored(
    port: str, unique_id: str, title: str, data: dict[str, Any], options: dict[str, Any]
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        version=1,
        title=title,
        unique_id=unique_id,
        data={"port": port, **IEC_FIELDS, **data},
        options=options,
    )


async def _load(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


def _unique_ids(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {item.unique_id for item in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)}


@dataclass(frozen=True)
class Stored:
    """An entry as an earlier version stored it, the meter it reads, and what it must show."""

    meter: Callable[[], AbstractAsyncContextManager[Any]]
    unique_id: str
    title: str
    data: dict[str, Any]
    options: dict[str, Any]
    entity_ids: frozenset[str]
    device: tuple[str, str, str]
    """Manufacturer, model and model id of the meter's device."""


def _e350() -> AbstractAsyncContextManager[Any]:
    return PtyMeter(dataclasses.replace(load_profile("lgz_e350"), reaction_time=0.2))


STORED = {
    "mode_c": Stored(
        _e350,
        "18438636",
        "Landis+Gyr ZMF100AC.M27",
        {"protocol": "mode_c", "framing": "7E1"},
        {"scan_interval": 60, "max_power_kw": 60.0},
        frozenset({"18438636_1-0:1.8.0", "18438636_1-0:32.7.0", "18438636_checksum_errors"}),
        ("Landis+Gyr", "ZMF100AC.M27", "LGZ"),
    ),
    "dlms_push": Stored(
        lambda: PtyPushMeter(lambda n: gbt_push_frames(push_apdu(n)), period=0.05),
        "LGZ1030653520967",
        "Landis+Gyr LGZ1030653520967",
        {"protocol": "dlms_push", "framing": "8N1", "key": None, "authentication_key": None},
        {"max_power_kw": 60.0},
        frozenset({"LGZ1030653520967_1-0:1.8.0"}),
        ("Landis+Gyr", "LGZ1030653520967", "LGZ"),
    ),
    "eredes_han": Stored(
        lambda: PtyHanMeter(three_phase_profile()),
        "0123456789",
        "Landis+Gyr S3 three-phase 01.02",
        {"protocol": "eredes_han", "framing": "8N1", "slave": 1},
        {"scan_interval": 30, "max_power_kw": 60.0},
        frozenset({"0123456789_1-0:1.8.0"}),
        ("Landis+Gyr", "Landis+Gyr S3 three-phase 01.02", "LGZ"),
    ),
}


@pytest.mark.parametrize("stored", STORED.values(), ids=STORED.keys())
async def test_entry_of_an_earlier_version_loads(hass: HomeAssistant, stored: Stored) -> None:
    async with stored.meter() as meter:
        entry = _stored(meter.port, stored.unique_id, stored.title, stored.data, stored.options)
        await _load(hass, entry)
        for _ in range(250):  # a push meter's entities appear with its first push
            if stored.entity_ids <= _unique_ids(hass, entry):
                break
            await asyncio.sleep(0.02)
        assert stored.entity_ids <= _unique_ids(hass, entry)
        [device] = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        assert device.identifiers == {(DOMAIN, stored.unique_id)}
        assert (device.manufacturer, device.model, device.model_id) == stored.device
        assert device.name == f"{stored.device[0]} {stored.device[1]}"
        assert await hass.config_entries.async_unload(entry.entry_id)
