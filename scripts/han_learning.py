"""Time and requests of the HAN reads on a meter whose access profile refuses a third of the map.

The simulated three-phase meter refuses, in groups as E-Redes access profiles do, the
demand-control thresholds, the reactive energies, the per-phase energies and the per-phase
powers (22 of the 61 registers a three-phase poll reads). Measured with the reader's own
timing (1 s between requests), as the config flow and Home Assistant run it:

- the flow's read (``read_for_flow`` with the HAN variant chosen);
- the first poll of the entry the flow made (a new ``MeterReader`` from the found config);
- a steady poll (the next one).

Run: ``.venv/bin/python scripts/han_learning.py`` (about two minutes).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).parents[1]))

from custom_components.landis_gyr_optical.detection import read_for_flow
from custom_components.landis_gyr_optical.meter.variants import (
    MeterConfig,
    MeterReader,
    Variant,
)
from tests.simulator.eredes import PtyHanMeter, partly_refused_profile


async def main() -> None:
    """Measure the three reads and print them."""
    async with PtyHanMeter(partly_refused_profile()) as meter:
        start, before = time.monotonic(), len(meter.requests)
        found = await read_for_flow(meter.port, MeterConfig(Variant.EREDES_HAN), False)
        print(f"flow read:   {time.monotonic() - start:5.1f} s, {len(meter.requests) - before} requests")
        reader = MeterReader(meter.port, found.config)
        for name in ("first poll", "steady poll"):
            start, before = time.monotonic(), len(meter.requests)
            readout = await reader.poll()
            print(
                f"{name + ':':12} {time.monotonic() - start:5.1f} s, {len(meter.requests) - before} requests, "
                f"{len(readout.registers)} registers"
            )


asyncio.run(main())
