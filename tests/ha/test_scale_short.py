"""Concurrency and scale: eight meters on eight ptys polled every 10 s by one Home Assistant.

CI advances Home Assistant's timers by one poll interval as soon as every meter is idle, for
60 s of polling (all eight meters are read at the same moment each time). ``scripts/soak
--scale-minutes M`` runs the same test in real time for M minutes (``SCALE_MINUTES``).
"""

from __future__ import annotations

import os

from homeassistant.core import HomeAssistant

from scripts.soak_lib import report
from scripts.soak_lib.scale_soak import METERS, POLL_SECONDS, run_scale_soak, scale_table

SCALE_MINUTES = float(os.environ.get("SCALE_MINUTES", "0"))
"""Real minutes of polling; 0 runs 60 s of polling on Home Assistant's advanced timers."""


async def test_eight_meters_polled_together(hass: HomeAssistant) -> None:
    """Every read succeeds, no port is opened twice at once, every meter session completes."""
    real_time = SCALE_MINUTES > 0
    polling_seconds = SCALE_MINUTES * 60 if real_time else 60.0
    result = await run_scale_soak(hass, polling_seconds=polling_seconds, real_time=real_time)
    table = scale_table(result)
    report.append(table)
    print(f"\n{table}")  # noqa: T201 - the figures are the output of this measurement
    if real_time:
        # A coordinator counts its interval from the end of the previous read (about 1.3 s here),
        # truncates the loop time to the second and adds its own offset of up to 0.5 s.
        minimum = METERS * int(polling_seconds // (POLL_SECONDS + 2))
    else:
        minimum = METERS * int(polling_seconds // POLL_SECONDS)
    assert result.reads >= minimum
    assert result.failures == 0, result.errors_by_key
    assert result.overlaps == 0
    assert result.peak_links_per_port == 1
    assert result.incomplete_sessions == 0
    assert not result.meter_errors
    assert result.cpu_seconds > 0
