"""Part (c) of the soak: port and meter faults through the real coordinator, read on ptys.

One config entry per fault, each polling its own simulated meter on a pty through a
``/dev/serial/by-id``-like symbolic link (so the port can vanish and come back under the
same name). All meters run at once. A cycle: the meter answers, the fault is switched on
until the coordinator has seen a failed poll, the fault is cleared, and the time until the
next successful read is measured. Nothing is mocked: scheduling, reads, retries and the
guard are the integration's own.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import gc
import json
import os
from pathlib import Path
import resource
import sys
import time

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.landis_gyr_optical
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from scripts.soak_lib.entries import mode_c_entry
from tests.simulator import Faults, PtyMeter, quick_profile

POLL_SECONDS = 2
"""A short real poll interval: recovery is measured in polls and in seconds."""
FAULT_NAMES = ("truncated", "bad_bcc", "echo", "silent", "wrong_baud", "vanished", "held")
TOLERATED = frozenset({"echo"})
"""Faults the client copes with: no poll may fail while they are on."""
_HOLDER = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)
"""Another program holding the port the way serial programs do (an exclusive lock)."""


@dataclass(slots=True)
class FaultReport:
    """Outcome of one fault over its cycles."""

    name: str
    cycles: int = 0
    polls_ok: int = 0
    polls_failed: int = 0
    errors_by_key: dict[str, int] = field(default_factory=dict)
    failed_polls_after_clear: int = 0
    recovery_seconds: list[float] = field(default_factory=list)
    read_seconds: list[float] = field(default_factory=list)
    wrong_values: int = 0
    detail: str = ""


@dataclass(slots=True)
class PortSoakReport:
    """Every fault, and the resources of the whole run."""

    faults: list[FaultReport]
    seconds: float
    fds: tuple[int, int]
    tasks: tuple[int, int]
    peak_rss_kib: int
    meter_errors: list[str]

    @property
    def attempted(self) -> int:
        """Polls made, over all faults."""
        return sum(f.polls_ok + f.polls_failed for f in self.faults)


def _entry(port: str, serial: str) -> MockConfigEntry:
    return mode_c_entry(port, title=f"meter {serial}", unique_id=serial, scan_interval=POLL_SECONDS)


class _FaultDriver:
    """Switches one fault on and off on one meter."""

    def __init__(self, name: str, meter: PtyMeter, link: Path) -> None:
        self.name = name
        self.meter = meter
        self.link = link
        self._holder: asyncio.subprocess.Process | None = None

    async def on(self) -> None:
        meter = self.meter
        match self.name:
            case "truncated":
                meter.set_faults(Faults(truncate_after=40))
            case "bad_bcc":
                meter.set_faults(Faults(bad_bcc=True))
            case "echo":
                meter.set_faults(Faults(echo=True))
            case "silent":
                meter.set_faults(Faults(silent=True))
            case "wrong_baud":
                meter.set_faults(Faults(wrong_baud=1200))
            case "vanished":
                await meter.vanish()
            case "held":
                self._holder = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    _HOLDER,
                    str(self.link),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                assert self._holder.stdout is not None
                await asyncio.wait_for(self._holder.stdout.readline(), 5)

    async def off(self) -> None:
        meter = self.meter
        if self.name == "vanished":
            port = await meter.reappear()
            temporary = self.link.with_suffix(".new")
            temporary.symlink_to(port)
            temporary.replace(self.link)
        elif self.name == "held" and self._holder is not None:
            holder, self._holder = self._holder, None
            assert holder.stdin is not None
            holder.stdin.close()
            await holder.wait()
        else:
            meter.set_faults(Faults())


async def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _soak_fault(
    hass: HomeAssistant, name: str, directory: Path, serial: str, cycles: int, meters: list[PtyMeter]
) -> FaultReport:
    report = FaultReport(name)
    profile = quick_profile("lgz_e350", lines=10)
    truth = {register.obis: register.value for register in parse_data_block(profile.data_block)}
    total = ObisCode.parse("1-0:1.8.0")
    meter = PtyMeter(profile)
    await meter.start()
    meters.append(meter)
    link = directory / f"meter-{name}"
    link.symlink_to(meter.port)
    driver = _FaultDriver(name, meter, link)
    entry = _entry(str(link), serial)
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.LOADED
        coordinator = entry.runtime_data

        def check_values() -> None:
            data = coordinator.data
            if data is None:
                return
            for code, value in data.values.items():
                if code in truth and value is not None and value != truth[code]:
                    report.wrong_values += 1

        unsubscribe = coordinator.async_add_listener(check_values)
        stats = coordinator.stats
        # The second read confirms the first total; from then on the meter is healthy.
        if not await _wait_for(
            lambda: stats.reads >= 2 and coordinator.data.values.get(total) is not None, 30
        ):
            report.detail = "no healthy start"
            return report
        for _ in range(cycles):
            report.cycles += 1
            failures, reads = stats.failures, stats.reads
            await driver.on()
            if name in TOLERATED:
                await _wait_for(
                    lambda reads=reads, failures=failures: (
                        stats.reads >= reads + 2 or stats.failures > failures
                    ),
                    30,
                )
                await driver.off()
                continue
            if not await _wait_for(lambda failures=failures: stats.failures > failures, 40):
                report.detail = "the fault caused no failed poll"
                await driver.off()
                continue
            await driver.off()
            cleared, failures, reads = time.monotonic(), stats.failures, stats.reads
            if not await _wait_for(lambda reads=reads: stats.reads > reads, 4 * POLL_SECONDS + 30):
                report.detail = "did not recover"
                continue
            report.recovery_seconds.append(time.monotonic() - cleared)
            report.failed_polls_after_clear += stats.failures - failures
            report.read_seconds.append(coordinator.data.duration)
        unsubscribe()
        report.polls_ok, report.polls_failed = stats.reads, stats.failures
        report.errors_by_key = dict(stats.errors_by_key)
    finally:
        if name == "held":
            await driver.off()
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
        await meter.close()
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
    return report


def load_manifest_dependencies() -> list[str]:
    """Return the integration's manifest dependencies."""
    manifest = Path(custom_components.landis_gyr_optical.__file__).with_name("manifest.json")
    return list(json.loads(manifest.read_text()).get("dependencies", []))


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


async def run_port_soak(
    hass: HomeAssistant, directory: Path, *, cycles: int = 1, faults: tuple[str, ...] = FAULT_NAMES
) -> PortSoakReport:
    """Run every fault ``cycles`` times, all meters at once; count resources before and after.

    The integration's dependencies are set up before the baseline: ``usb`` keeps a watcher
    task and an inotify descriptor for as long as Home Assistant runs.
    """
    for dependency in load_manifest_dependencies():
        assert await async_setup_component(hass, dependency, {})
    await hass.async_block_till_done()
    gc.collect()
    fds_before, tasks_before = _fd_count(), len(asyncio.all_tasks())
    started = time.monotonic()
    meters: list[PtyMeter] = []
    jobs: list[Awaitable[FaultReport]] = [
        _soak_fault(hass, name, directory, f"SOAK{index:04d}", cycles, meters)
        for index, name in enumerate(faults)
    ]
    reports = list(await asyncio.gather(*jobs))
    await hass.async_block_till_done()
    gc.collect()
    await asyncio.sleep(0.1)
    return PortSoakReport(
        faults=reports,
        seconds=time.monotonic() - started,
        fds=(fds_before, _fd_count()),
        tasks=(tasks_before, len(asyncio.all_tasks())),
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        meter_errors=[repr(error) for meter in meters for error in meter.errors],
    )


def errors_total(report: PortSoakReport) -> Counter[str]:
    """Failed polls by error key over all faults."""
    total: Counter[str] = Counter()
    for fault in report.faults:
        total.update(fault.errors_by_key)
    return total
