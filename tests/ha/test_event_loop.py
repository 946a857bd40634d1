"""Reads never block Home Assistant's event loop: asyncio debug mode with a 5 ms limit."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import CONF_MAX_POWER_KW, CONF_SCAN_INTERVAL, DOMAIN
from tests.simulator import PtyMeter, load_profile

from .conftest import entry_data

SLOW_CALLBACK = 0.005
OURS = "custom_components/landis_gyr_optical"
_SLOW = re.compile(r"Executing (?P<what>.*) took (?P<seconds>[0-9.]+) seconds")


def attribute(message: str) -> str:
    """Name who a slow callback belongs to, from the handle or task asyncio prints."""
    if OURS in message or "landis_gyr_optical" in message:
        return "landis_gyr_optical"
    if "tests/simulator" in message:
        return "simulator"
    match = re.search(r"(homeassistant|asyncio|serialx|aiohttp)[/.]", message)
    return match.group(1) if match else "other"


async def test_no_slow_callback_of_ours_during_reads(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Three polls of a real meter on a pty: no callback of ours takes 5 ms."""
    profile = dataclasses.replace(load_profile("lgz_e350"), reaction_time=0.2)
    loop = asyncio.get_running_loop()
    async with PtyMeter(profile) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="18438636",
            data=entry_data(port=meter.port),
            options={CONF_SCAN_INTERVAL: 3600, CONF_MAX_POWER_KW: 60.0},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        caplog.set_level(logging.WARNING, logger="asyncio")
        loop.set_debug(True)
        loop.slow_callback_duration = SLOW_CALLBACK
        try:
            for _ in range(3):
                await entry.runtime_data.async_refresh()
            await hass.async_block_till_done()
            assert entry.runtime_data.stats.reads == 4
        finally:
            loop.set_debug(False)
        assert await hass.config_entries.async_unload(entry.entry_id)
    slow: dict[str, list[str]] = {}
    for record in caplog.records:
        if record.name == "asyncio" and (match := _SLOW.search(record.getMessage())):
            slow.setdefault(attribute(match.group("what")), []).append(record.getMessage()[:300])
    print({owner: len(messages) for owner, messages in slow.items()})  # noqa: T201 - part of the report
    assert "landis_gyr_optical" not in slow, slow.get("landis_gyr_optical")
