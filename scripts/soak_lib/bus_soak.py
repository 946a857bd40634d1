"""Several meters on one line: every entry on one pty, its meters answering by address.

Eight mode C meters (by default) share one simulated RS-485 line (``tests.simulator.bus``):
sign-on at 300 Bd with the meter's address, data at 9600 Bd, 50 ms reaction time. Their
entries poll through the line's bus, which must read them one after the other: the line
counts two meters talking at once (collisions) and a session started while another was
running (overlaps); the link counter counts connections open on the port at once.

First every meter is read alone (``read_meter``, its own open and close, the line at rest
before each read): the sum of these single read times is what the poll cycle is set
against. Two clocks then, as in the scale soak: ``real_time=False`` advances Home
Assistant's timers one interval at a time once the line is idle, so every meter is due at
the same moment and each cycle is measured from that moment to the last read; with
``real_time=True`` the coordinators poll by themselves for the given time (``scripts/soak
--bus-minutes M``) and the cycle is the time between two reads of the same meter.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
import itertools
import statistics
import time

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.landis_gyr_optical.bus import BUSES
from custom_components.landis_gyr_optical.const import DOMAIN
from custom_components.landis_gyr_optical.coordinator import LandisGyrCoordinator
from custom_components.landis_gyr_optical.meter.iec62056_21.client import RETRY_PAUSE, read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.session import SessionSettings
from scripts.soak_lib.entries import mode_c_entry
from tests.simulator import MeterState
from tests.simulator.bus import PtyBus, bus_profiles

from .port_soak import load_manifest_dependencies
from .scale_soak import LinkCounter, wait_for

METERS = 8
DATA_RATE = 9600
POLL_SECONDS = 30
"""Interval of the real-time soak: 8 reads and their rests take about 24 s of it."""


@dataclass(slots=True)
class BusReport:
    """What the polling of all meters on the line gave."""

    meters: int
    interval: int
    real_time: bool
    polling_seconds: float
    wall_seconds: float
    single_reads: list[float]
    cycles: list[float]
    reads: int
    failures: int
    errors_by_key: dict[str, int]
    link_opens: int
    reused_connections: int
    peak_links: int
    collisions: int
    overlaps: int
    incomplete_sessions: int
    reads_per_meter: list[int]
    longest_wait: float
    reload_seconds: float | None
    """Seconds from reloading every entry at once until all of them were set up (each read once)."""
    meter_errors: list[str]

    @property
    def single_sum(self) -> float:
        """Seconds the meters take read one by one, each alone."""
        return sum(self.single_reads)


def _entry(port: str, address: str, interval: int) -> MockConfigEntry:
    return mode_c_entry(
        port,
        title=f"meter {address}",
        unique_id=f"BUS{address}",
        scan_interval=interval,
        max_baud=DATA_RATE,
        address=address,
    )


async def single_read_times(line: PtyBus) -> list[float]:
    """Read every meter of the line alone, the line at rest before each read."""
    times = []
    for meter in line.meters:
        await asyncio.sleep(RETRY_PAUSE)
        started = time.monotonic()
        await read_meter(line.port, SessionSettings(address=meter.profile.address or "", max_baud=DATA_RATE))
        times.append(time.monotonic() - started)
    await asyncio.sleep(RETRY_PAUSE)
    return times


async def run_bus_soak(
    hass: HomeAssistant,
    *,
    meters: int = METERS,
    interval: int = POLL_SECONDS,
    polling_seconds: float = 60.0,
    real_time: bool = False,
    reload_all: bool = False,
    measure_single: bool = True,
) -> BusReport:
    """Poll ``meters`` meters on one line every ``interval`` s for ``polling_seconds``.

    ``reload_all``: after the polling, reload every entry at once (their first reads are a
    cycle with every meter due at once) and, if there was polling before, poll one more
    cycle. ``measure_single``: read every meter alone first.
    """
    for dependency in load_manifest_dependencies():
        assert await async_setup_component(hass, dependency, {})
    counter = LinkCounter()
    async with PtyBus(bus_profiles(meters)) as line:
        single = await single_read_times(line) if measure_single else []
        for meter in line.meters:
            meter.sessions = meter.readouts_sent = 0
        entries = [_entry(line.port, meter.profile.address or "", interval) for meter in line.meters]
        with counter.watching():
            for entry in entries:
                entry.add_to_hass(hass)
            assert await async_setup_component(hass, DOMAIN, {})
            await hass.async_block_till_done()
            not_loaded = [entry.title for entry in entries if entry.state is not ConfigEntryState.LOADED]
            assert not not_loaded, f"not loaded: {not_loaded}"
            bus = hass.data[BUSES][next(iter(hass.data[BUSES]))]
            assert len(hass.data[BUSES]) == 1 and len(bus.members) == meters

            def coordinators() -> list[LandisGyrCoordinator]:
                return [entry.runtime_data for entry in entries]

            read_at: dict[str, list[float]] = {entry.entry_id: [] for entry in entries}

            def note_reads() -> list[Callable[[], None]]:
                unsubscribes = []
                for coordinator in coordinators():
                    last = [coordinator.data.read_at if coordinator.data else None]

                    def listener(coordinator: LandisGyrCoordinator = coordinator, last: list = last) -> None:  # type: ignore[type-arg]
                        data = coordinator.data
                        if data is not None and data.read_at != last[0]:
                            last[0] = data.read_at
                            read_at[coordinator.config_entry.entry_id].append(time.monotonic())

                    unsubscribes.append(coordinator.async_add_listener(listener))
                return unsubscribes

            def idle() -> bool:
                return not bus.busy and all(m.state is MeterState.IDLE for m in line.meters)

            def attempts() -> int:
                return sum(c.stats.reads + c.stats.failures for c in coordinators())

            totals: Counter[str] = Counter()
            errors: Counter[str] = Counter()

            def collect() -> None:
                for coordinator in coordinators():
                    totals["reads"] += coordinator.stats.reads
                    totals["failures"] += coordinator.stats.failures
                    errors.update(coordinator.stats.errors_by_key)

            unsubscribes = note_reads()
            cycles: list[float] = []
            reload_seconds: float | None = None
            started = time.monotonic()
            await wait_for(idle, 60)
            reads_before = attempts()

            async def advance(count: int) -> None:
                for _ in range(count):
                    expected = attempts() + meters
                    fired = time.monotonic()
                    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=interval))
                    await wait_for(lambda expected=expected: attempts() >= expected, 120)
                    cycles.append(time.monotonic() - fired)
                    await wait_for(idle, 60)

            if real_time:
                await asyncio.sleep(polling_seconds)
                await wait_for(idle, 120)
            else:
                await advance(int(polling_seconds // interval))
            if reload_all:
                for unsubscribe in unsubscribes:
                    unsubscribe()
                collect()
                reloaded = time.monotonic()
                await asyncio.gather(*(hass.config_entries.async_reload(entry.entry_id) for entry in entries))
                await hass.async_block_till_done()
                reload_seconds = time.monotonic() - reloaded
                not_loaded = [entry.title for entry in entries if entry.state is not ConfigEntryState.LOADED]
                assert not not_loaded, f"not loaded after the reload: {not_loaded}"
                bus = hass.data[BUSES][next(iter(hass.data[BUSES]))]
                unsubscribes = note_reads()
                await wait_for(idle, 60)
                await advance(1 if polling_seconds else 0)
            wall = time.monotonic() - started
            for unsubscribe in unsubscribes:
                unsubscribe()
            collect()
            if real_time:
                for times in read_at.values():
                    cycles.extend(later - earlier for earlier, later in itertools.pairwise(times))
            report = BusReport(
                meters=meters,
                interval=interval,
                real_time=real_time,
                polling_seconds=polling_seconds,
                wall_seconds=wall,
                single_reads=single,
                cycles=cycles,
                reads=totals["reads"],
                failures=totals["failures"],
                errors_by_key=dict(errors),
                link_opens=sum(counter.opens.values()),
                reused_connections=bus.stats.reused,
                peak_links=max(counter.peak.values(), default=0),
                collisions=line.collisions,
                overlaps=line.overlaps + bus.stats.overlaps,
                incomplete_sessions=sum(m.sessions - m.readouts_sent for m in line.meters),
                reads_per_meter=[len(times) for times in read_at.values()],
                longest_wait=bus.stats.longest_wait,
                reload_seconds=reload_seconds,
                meter_errors=[repr(error) for error in line.meter_errors],
            )
            del reads_before
            for entry in entries:
                assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            assert BUSES not in hass.data or not hass.data[BUSES]
    return report


def bus_table(report: BusReport) -> str:
    """Return the report as Markdown."""
    clock = "real time" if report.real_time else "Home Assistant's timers advanced one interval at a time"
    cycle = f"{statistics.median(report.cycles):.2f} / {max(report.cycles):.2f}" if report.cycles else "-"
    singles = report.single_reads
    single_sum = f"{report.single_sum:.2f}" if singles else "-"
    reload = "-" if report.reload_seconds is None else f"{report.reload_seconds:.1f} s"
    rows = [
        (
            "| meters on one line | rate | poll interval | polled for | reads | failed reads "
            "| sum of single reads s | poll cycle s (median / max) | collisions | overlapping sessions "
            "| incomplete sessions | peak links on the port | link opens | simulator errors |"
        ),
        "|" + "---|" * 14,
        (
            f"| {report.meters} | {DATA_RATE} Bd | {report.interval} s | {report.polling_seconds:.0f} s ({clock}) "
            f"| {report.reads} | {report.failures} | {single_sum} | {cycle} | {report.collisions} "
            f"| {report.overlaps} | {report.incomplete_sessions} | {report.peak_links} | {report.link_opens} "
            f"| {len(report.meter_errors)} |"
        ),
        "",
        (
            f"Single reads (each meter alone, s): {', '.join(f'{t:.2f}' for t in singles) or 'not measured'}. "
            f"The cycle adds a rest of {RETRY_PAUSE} s of silence after each read (the IEC 62056-21 "
            f"inter-character timeout, so every meter that heard the others' sessions has dropped them): "
            f"one after each of the {report.meters} reads. Connections reused between turns: "
            f"{report.reused_connections}. Longest wait of a read for the line: {report.longest_wait:.1f} s. "
            f"Reads per meter: {report.reads_per_meter}. Reload of every entry at once: {reload}. "
            f"Failed reads by error: {report.errors_by_key or 'none'}."
        ),
    ]
    return "\n".join(rows)
