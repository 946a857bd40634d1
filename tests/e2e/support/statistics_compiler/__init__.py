"""Compile the recorder's 5-minute statistics now instead of at the next 5-minute mark.

Home Assistant compiles short-term statistics ten seconds after every 5-minute boundary;
until the first compile the energy dashboard reports ``statistics_not_defined``. A real
process cannot have its clock moved, so the end-to-end tests ask the recorder to run the very
same compile task for the current period right away. Nothing is imported or faked: the
recorder's own sensor statistics code reads the states our sensors recorded.

Service ``statistics_compiler.compile`` (response: the period start that was compiled).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.tasks import StatisticsTask, SynchronizeTask
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

DOMAIN = "statistics_compiler"
PERIOD = timedelta(minutes=5)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service."""

    async def compile_now(call: ServiceCall) -> ServiceResponse:
        now = dt_util.utcnow()
        start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        recorder = get_instance(hass)
        done: asyncio.Future[None] = hass.loop.create_future()
        # The queue is worked in order: the compile has finished when the synchronisation runs.
        recorder.queue_task(StatisticsTask(start, True))
        recorder.queue_task(SynchronizeTask(done))
        await done
        return {"start": start.isoformat(), "end": (start + PERIOD).isoformat()}

    hass.services.async_register(DOMAIN, "compile", compile_now, supports_response=SupportsResponse.ONLY)
    return True
