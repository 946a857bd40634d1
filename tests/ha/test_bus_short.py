"""Several meters on one line: two and eight entries on one pty, read one after the other.

CI advances Home Assistant's timers one interval at a time (every meter due at once, the
worst case) and reloads every entry at once. Two meters: single reads measured, two
intervals, the reload, one more interval (about 25 s). Eight meters: their set-up (all
read at once) and the reload of all eight (about 55 s: a cycle of eight reads at 9600 Bd
with their sign-ons at 300 Bd and the rests takes about 24 s). ``scripts/soak
--bus-minutes M`` runs eight meters in real time for M minutes (``BUS_MINUTES``); ``BUS_CYCLES=N``
polls the eight for N intervals on advanced timers, measuring the cycle against their single reads.
"""

from __future__ import annotations

import os

from homeassistant.core import HomeAssistant
import pytest

from scripts.soak_lib import report
from scripts.soak_lib.bus_soak import POLL_SECONDS, bus_table, run_bus_soak

BUS_MINUTES = float(os.environ.get("BUS_MINUTES", "0"))
"""Real minutes of polling eight meters; 0 runs the short cycles on advanced timers."""
EIGHT_METER_CYCLES = int(os.environ.get("BUS_CYCLES", "0"))
"""Intervals the eight meters are polled after their set-up (``BUS_CYCLES``; the cycle measurement)."""
REST = 1.5
"""The bus's rest after an IEC 62056-21 read."""


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("meters", "cycles"), [(2, 2), (8, EIGHT_METER_CYCLES)])
async def test_meters_on_one_line(hass: HomeAssistant, meters: int, cycles: int) -> None:
    """Every read succeeds, no two sessions overlap, one connection serves the whole line."""
    real_time = BUS_MINUTES > 0
    if real_time and meters != 8:
        pytest.skip("the real-time soak runs eight meters")
    interval = POLL_SECONDS if real_time else 60
    result = await run_bus_soak(
        hass,
        meters=meters,
        interval=interval,
        polling_seconds=BUS_MINUTES * 60 if real_time else cycles * interval,
        real_time=real_time,
        reload_all=not real_time,
        measure_single=real_time or meters == 2 or cycles > 0,
    )
    table = bus_table(result)
    report.append(table)
    print(f"\n{table}")  # noqa: T201 - the figures are the output of this measurement
    assert result.failures == 0, result.errors_by_key
    assert result.collisions == 0
    assert result.overlaps == 0
    assert result.incomplete_sessions == 0
    assert result.peak_links == 1
    assert not result.meter_errors
    if real_time:
        # A meter's next poll is due an interval after its read ended, then waits for its turn.
        expected = int(result.polling_seconds // (interval + result.single_sum + meters * REST))
        assert min(result.reads_per_meter) >= expected
        assert result.link_opens <= 2
    else:
        # Set-up, the intervals, the reload and the interval after it: each meter read every time.
        assert min(result.reads_per_meter) >= cycles + (1 if cycles else 0)
        # One connection for the line: opened at set-up, again after the reload of all entries.
        assert result.link_opens <= 4
        assert result.reload_seconds is not None
    if result.single_reads and result.cycles:
        # Read one after the other: a cycle is the single reads plus a rest after each.
        assert result.single_sum < min(result.cycles)
