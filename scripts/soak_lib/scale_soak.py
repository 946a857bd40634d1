"""Concurrency and scale: many meters on their own ports, polled by one Home Assistant.

Eight config entries (by default), each polling its own simulated meter on a pty: mode C,
sign-on at 300 Bd, data at 19200 Bd, 200 ms reaction time. Every link the client opens is
counted per port, so two reads of one port at the same time would show as an overlap (the
port is opened exclusively, so the second read would also fail). The simulator's log
says whether every session it started was completed.

Two clocks: ``real_time=False`` advances Home Assistant's timers one poll interval at a
time as soon as every meter is idle (all meters are polled at the same moment, the worst
case; CI runs this), ``real_time=True`` leaves the polling to the coordinators for the
given number of seconds (``scripts/soak --scale-minutes M``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
from dataclasses import dataclass, field, replace
from datetime import timedelta
import resource
import statistics
import time
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.landis_gyr_optical.const import (
    DOMAIN,
)
from custom_components.landis_gyr_optical.coordinator import LandisGyrCoordinator
from custom_components.landis_gyr_optical.meter.link import Link
from scripts.soak_lib.entries import mode_c_entry
from tests.simulator import MeterProfile, MeterState, PtyMeter, quick_profile

from .port_soak import load_manifest_dependencies

METERS = 8
POLL_SECONDS = 10
REACTION_TIME = 0.2
DATA_RATE = 19200
PROFILE_LINES = 12


@dataclass(slots=True)
class LinkCounter:
    """Links open at the same time, per port, and the largest number seen."""

    open_now: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    opens: Counter[str] = field(default_factory=Counter)
    _holding: set[int] = field(default_factory=set)

    @property
    def overlaps(self) -> int:
        """Ports that had two links open at once."""
        return sum(1 for peak in self.peak.values() if peak > 1)

    @contextlib.contextmanager
    def watching(self) -> Iterator[LinkCounter]:
        """Count every ``Link`` opened and closed while the context is active."""
        original_open, original_close = Link.open, Link.close
        counter = self

        async def counted_open(link: Link) -> None:
            counter.open_now[link.port] += 1
            counter.opens[link.port] += 1
            counter.peak[link.port] = max(counter.peak[link.port], counter.open_now[link.port])
            counter._holding.add(id(link))
            try:
                await original_open(link)
            except BaseException:
                counter._release(link)
                raise

        async def counted_close(link: Link) -> None:
            try:
                await original_close(link)
            finally:
                counter._release(link)

        with patch.object(Link, "open", counted_open), patch.object(Link, "close", counted_close):
            yield self

    def _release(self, link: Link) -> None:
        if id(link) in self._holding:
            self._holding.discard(id(link))
            self.open_now[link.port] -= 1


@dataclass(slots=True)
class ScaleReport:
    """What the polling of all meters gave."""

    meters: int
    interval: int
    real_time: bool
    polling_seconds: float
    wall_seconds: float
    reads: int
    failures: int
    errors_by_key: dict[str, int]
    link_opens: int
    overlaps: int
    peak_links_per_port: int
    sessions: int
    incomplete_sessions: int
    cpu_seconds: float
    read_seconds: list[float]
    peak_rss_kib: int
    meter_errors: list[str]

    @property
    def cpu_per_read_ms(self) -> float:
        """Process CPU time per read (Home Assistant, the client and the simulated meters)."""
        return self.cpu_seconds / self.reads * 1000 if self.reads else float("nan")


def scale_profile(index: int) -> MeterProfile:
    """Meter ``index``: an E350 readout with its own serial, offering 19200 Bd, 200 ms reaction.

    The lower-case third letter of the flag lets the client answer after 20 ms too.
    """
    profile = quick_profile("lgz_e350", lines=PROFILE_LINES, reaction_time=REACTION_TIME)
    serial = f"{90000000 + index}".encode()
    identification = replace(profile.identification, flag_id="LGz", baud_char="6")
    return replace(
        profile, identification=identification, data_block=profile.data_block.replace(b"18438636", serial)
    )


def _entry(port: str, index: int, interval: int) -> MockConfigEntry:
    return mode_c_entry(
        port,
        title=f"meter {index}",
        unique_id=f"SCALE{index:02d}",
        scan_interval=interval,
        max_baud=DATA_RATE,
    )


async def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    """Return once ``condition()`` holds; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached within {timeout} s")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _meters(count: int) -> AsyncIterator[list[PtyMeter]]:
    meters = [PtyMeter(scale_profile(index)) for index in range(count)]
    try:
        for meter in meters:
            await meter.start()
        yield meters
    finally:
        for meter in meters:
            await meter.close()


def _incomplete_sessions(meter: PtyMeter) -> int:
    """Sessions the meter started (sign-ons it answered) without sending the whole data message."""
    return meter.sessions - meter.readouts_sent


async def run_scale_soak(
    hass: HomeAssistant,
    *,
    meters: int = METERS,
    interval: int = POLL_SECONDS,
    polling_seconds: float = 60.0,
    real_time: bool = False,
) -> ScaleReport:
    """Poll ``meters`` meters every ``interval`` s for ``polling_seconds`` of (Home Assistant) time."""
    for dependency in load_manifest_dependencies():
        assert await async_setup_component(hass, dependency, {})
    counter = LinkCounter()
    async with _meters(meters) as simulated:
        entries = [_entry(meter.port, index, interval) for index, meter in enumerate(simulated)]
        with counter.watching():
            for entry in entries:
                entry.add_to_hass(hass)
            assert await async_setup_component(hass, DOMAIN, {})
            await hass.async_block_till_done()
            not_loaded = [entry.title for entry in entries if entry.state is not ConfigEntryState.LOADED]
            assert not not_loaded, f"not loaded: {not_loaded}"
            coordinators: list[LandisGyrCoordinator] = [entry.runtime_data for entry in entries]
            read_seconds: list[float] = []

            def note_read(coordinator: LandisGyrCoordinator) -> Callable[[], None]:
                last = [coordinator.data.read_at if coordinator.data else None]

                def listener() -> None:
                    data = coordinator.data
                    if data is not None and data.read_at != last[0]:
                        last[0] = data.read_at
                        read_seconds.append(data.duration)

                return listener

            unsubscribes = [
                coordinator.async_add_listener(note_read(coordinator)) for coordinator in coordinators
            ]

            def idle() -> bool:
                return not any(counter.open_now.values()) and all(
                    meter.state is MeterState.IDLE for meter in simulated
                )

            def attempts() -> int:
                return sum(c.stats.reads + c.stats.failures for c in coordinators)

            reads_before = sum(c.stats.reads for c in coordinators)
            failures_before = sum(c.stats.failures for c in coordinators)
            started, cpu_started = time.monotonic(), time.process_time()
            if real_time:
                await asyncio.sleep(polling_seconds)
                await wait_for(idle, 30)
            else:
                await wait_for(idle, 30)
                for _ in range(int(polling_seconds // interval)):
                    expected = attempts() + meters
                    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=interval))
                    await wait_for(lambda expected=expected: attempts() >= expected, 30)
                    await wait_for(idle, 30)
            cpu_seconds, wall_seconds = time.process_time() - cpu_started, time.monotonic() - started
            for unsubscribe in unsubscribes:
                unsubscribe()
            stats = [c.stats for c in coordinators]
            errors: Counter[str] = Counter()
            for item in stats:
                errors.update(item.errors_by_key)
            report = ScaleReport(
                meters=meters,
                interval=interval,
                real_time=real_time,
                polling_seconds=polling_seconds,
                wall_seconds=wall_seconds,
                reads=sum(item.reads for item in stats) - reads_before,
                failures=sum(item.failures for item in stats) - failures_before,
                errors_by_key=dict(errors),
                link_opens=sum(counter.opens.values()),
                overlaps=counter.overlaps,
                peak_links_per_port=max(counter.peak.values(), default=0),
                sessions=sum(meter.sessions for meter in simulated),
                incomplete_sessions=sum(_incomplete_sessions(meter) for meter in simulated),
                cpu_seconds=cpu_seconds,
                read_seconds=read_seconds,
                peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                meter_errors=[repr(error) for meter in simulated for error in meter.errors],
            )
            for entry in entries:
                assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
    return report


def scale_table(report: ScaleReport) -> str:
    """Return the report as Markdown."""
    clock = "real time" if report.real_time else "Home Assistant's timers advanced one interval at a time"
    reads = report.read_seconds
    read_text = f"{statistics.median(reads):.2f} / {max(reads):.2f}" if reads else "-"
    rows = [
        (
            "| meters | poll interval | polled for | wall s | reads | failed reads | link opens "
            "| overlapping reads on a port | incomplete meter sessions | read s (median / max) | CPU ms per read "
            "| simulator errors |"
        ),
        "|" + "---|" * 12,
        (
            f"| {report.meters} | {report.interval} s | {report.polling_seconds:.0f} s ({clock}) | "
            f"{report.wall_seconds:.1f} | {report.reads} | {report.failures} | {report.link_opens} | "
            f"{report.overlaps} | {report.incomplete_sessions} | {read_text} | {report.cpu_per_read_ms:.1f} | "
            f"{len(report.meter_errors)} |"
        ),
        "",
        (
            f"Failed reads by error: {report.errors_by_key or 'none'}. Peak links open on one port: "
            f"{report.peak_links_per_port}. CPU time is the whole process ({report.cpu_seconds:.2f} s: Home "
            f"Assistant, the client and the {report.meters} simulated meters with their line-time pacing). "
            f"Peak RSS {report.peak_rss_kib / 1024:.0f} MiB."
        ),
    ]
    return "\n".join(rows)
