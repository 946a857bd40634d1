"""Parts (a) and (b) of the soak: the real coordinator and guard fed by a corrupting line.

The coordinator of a real config entry polls as in production; only its IEC reader is
replaced by ``ScriptedMeter.read``, which transmits a readout of the simulated meter's
current truth over a corrupting line and decodes it with the client's sans-IO session
(retries as the client does them: a rejected attempt is sent again, freshly corrupted).
Home Assistant's clock is moved forward one poll interval per readout, so the guard's
power bound sees real elapsed times while thousands of readouts take seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
import gc
import os
import random
import resource
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import (
    DOMAIN,
)
from custom_components.landis_gyr_optical.meter.errors import MeterError
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Readout
from scripts.soak_lib.entries import mode_c_entry

from .readouts import ALL_TOTALS, SERIAL, LineFault, MeterTruth, Transmission, attempt

POLL_SECONDS = 10
MAX_POWER_KW = 60.0
DIGIT = Decimal("0.001")
_NEVER = 10_000_000
"""Scan interval of the soak entry: the soak triggers every poll itself."""


def poll_bound(seconds: float) -> Decimal:
    """Return the plausibility bound: the most the meter can count in ``seconds``, plus one digit."""
    return Decimal(str(MAX_POWER_KW)) * Decimal(str(seconds)) / 3600 + DIGIT


@dataclass(slots=True)
class LineReport:
    """What one run of a line fault did, attempt by attempt and poll by poll."""

    fault: str
    parity: bool
    polls: int = 0
    polls_failed: int = 0
    attempts: int = 0
    attempts_ok: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    corrupted_attempts: int = 0
    slipped: int = 0
    """Corrupted data messages that passed the BCC (and the parity check, when on)."""
    slipped_value_changed: int = 0
    """...of which a total differed from the truth."""
    guard_on_slips: Counter[str] = field(default_factory=Counter)
    published: int = 0
    published_not_truth: int = 0
    violations_decrease: int = 0
    violations_exceed: int = 0
    violations_off: int = 0
    unguarded_totals: int = 0
    """Totals the coordinator passed on without the guard (a corrupted unit or number)."""
    phantom_published: int = 0
    """Values of total registers the meter does not have (a corrupted address) that went out."""
    max_overshoot: Decimal = Decimal(0)
    max_error_published: Decimal = Decimal(0)
    state_mismatches: int = 0
    findings: list[str] = field(default_factory=list)
    entity_write_errors: Counter[str] = field(default_factory=Counter)
    """Entities whose state write raised on a value that slipped through (per entity)."""
    seconds: float = 0.0
    fds: tuple[int, ...] = ()
    """Open file descriptors: after the first polls, at the end, after unloading."""
    tasks: tuple[int, ...] = ()
    """asyncio tasks at the same moments."""
    peak_rss_kib: int = 0

    @property
    def violations(self) -> int:
        """Every breach of the must-be rules of parts (a) and (b)."""
        return self.violations_decrease + self.violations_exceed + self.violations_off + self.unguarded_totals


class ScriptedMeter:
    """Stands in for ``read_meter``: one attempt per retry, each over the corrupting line."""

    def __init__(self, fault: LineFault, *, parity: bool, seed: int, report: LineReport) -> None:
        """Prepare the meter's truth and the line's random source."""
        self.fault = fault
        self.parity = parity
        self.truth = MeterTruth()
        self.rng = random.Random(seed)
        self.report = report
        self.last: tuple[Transmission, Readout] | None = None

    async def read(self, port: str, settings: Any = None, *, retries: int = 2, **_: Any) -> Readout:
        """Read like the client: up to ``retries`` more attempts after a rejected one."""
        del port, settings
        report = self.report
        error: MeterError | None = None
        for _attempt in range(retries + 1):
            transmission, outcome = attempt(self.fault, self.truth, self.rng, parity=self.parity)
            report.attempts += 1
            report.corrupted_attempts += transmission.corrupted
            if isinstance(outcome, Readout):
                report.attempts_ok += 1
                self.last = (transmission, outcome)
                if transmission.corrupted:
                    report.slipped += 1
                return outcome
            report.rejected[type(outcome).__name__] += 1
            error = outcome
        assert error is not None
        raise error


WARM_UP = 10
"""Polls before the resource counts are taken as the baseline."""


def wall_clock() -> float:
    """Real elapsed seconds (``os.times`` is not moved by the frozen test clock)."""
    return os.times().elapsed


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _task_count() -> int:
    import asyncio  # noqa: PLC0415

    return len(asyncio.all_tasks())


def soak_entry(port: str = "/dev/soak-line") -> MockConfigEntry:
    """Return a mode C meter polled by the soak (no scheduled polls; the soak triggers them)."""
    return mode_c_entry(
        port, title="Soak meter", unique_id=SERIAL, scan_interval=_NEVER, max_power_kw=MAX_POWER_KW
    )


async def run_line_soak(
    hass: HomeAssistant,
    tick: Callable[[float], None],
    fault: LineFault,
    *,
    parity: bool,
    polls: int,
    seed: int = 1,
) -> LineReport:
    """Poll the real coordinator ``polls`` times over ``fault``; check every published total."""
    report = LineReport(fault.name, parity)
    meter = ScriptedMeter(fault, parity=parity, seed=seed, report=report)
    started = wall_clock()
    entry = soak_entry()
    entry.add_to_hass(hass)
    with patch("custom_components.landis_gyr_optical.coordinator.read_meter", meter.read):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        while entry.state is ConfigEntryState.SETUP_RETRY:
            # The set-up's own read failed: Home Assistant would retry it later; do it now.
            report.polls += 1
            report.polls_failed += 1
            tick(POLL_SECONDS)
            await hass.config_entries.async_reload(entry.entry_id)
            await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED, (entry.state, entry.reason)
        coordinator = entry.runtime_data
        registry = er.async_get(hass)
        entity_ids = {
            key: registry.async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_{key}") for key in ALL_TOTALS
        }
        shown: dict[str, Decimal] = {}
        last_published_at: dict[str, float] = {}
        obis = {key: ObisCode.parse(key) for key in ALL_TOTALS}
        for index in range(polls):
            if index:
                tick(POLL_SECONDS)
                meter.truth.advance(POLL_SECONDS, meter.rng, MAX_POWER_KW)
                before = coordinator.guard.counts()
                meter.last = None
                try:
                    await coordinator.async_refresh()
                except ValueError as err:
                    # An entity refused the value while the coordinator notified its listeners.
                    report.entity_write_errors[str(err)[:300]] += 1
                await hass.async_block_till_done()
            else:
                before = {}
            report.polls += 1
            if index == WARM_UP:
                gc.collect()
                report.fds, report.tasks = (_fd_count(),), (_task_count(),)
            if not coordinator.last_update_success or coordinator.data is None:
                report.polls_failed += 1
                continue
            _check_poll(report, coordinator, meter, obis, shown, last_published_at, before)
            _check_states(report, hass, entity_ids, coordinator.data.values, obis)
        gc.collect()
        report.fds += (_fd_count(),)
        report.tasks += (_task_count(),)
        assert await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
    gc.collect()
    report.fds += (_fd_count(),)
    report.tasks += (_task_count(),)
    report.peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report.seconds = wall_clock() - started
    return report


def _check_poll(
    report: LineReport,
    coordinator: Any,
    meter: ScriptedMeter,
    obis: dict[str, ObisCode],
    shown: dict[str, Decimal],
    last_published_at: dict[str, float],
    counts_before: dict[str, dict[str, int]],
) -> None:
    data = coordinator.data
    at = data.read_at.timestamp()
    truth = meter.truth.snapshot()
    read = meter.last[1] if meter.last is not None else None
    transmission = meter.last[0] if meter.last is not None else None
    counts_after = coordinator.guard.counts()
    for key in ALL_TOTALS:
        value = data.values.get(obis[key])
        if value is None:
            continue
        if not isinstance(value, Decimal):
            report.unguarded_totals += 1
            continue
        true_value = truth[key]
        overshoot = value - true_value
        report.max_overshoot = max(report.max_overshoot, overshoot)
        # The bound is the maximum power over the time since the previous publication: after
        # failed polls the meter may have counted for longer than one poll interval.
        elapsed = at - last_published_at.get(key, at - POLL_SECONDS)
        if overshoot > poll_bound(elapsed):
            report.violations_exceed += 1
            report.findings.append(
                f"{key} shows {value}, truth {true_value}: {overshoot} over, {elapsed:.0f} s after its "
                "previous publication"
            )
        shown_before = shown.get(key)
        if key in shown and value < shown[key]:
            report.violations_decrease += 1
            register = read.current.get(obis[key]) if read is not None else None
            report.findings.append(
                f"{key} went from {shown[key]} to {value} (unit read: {register.unit if register else None!r})"
            )
        shown[key] = value
        sample = coordinator.guard.published(key)
        if sample is not None and sample.at == at:
            report.published += 1
            error = abs(value - true_value)
            report.max_error_published = max(report.max_error_published, error)
            if value != true_value:
                report.published_not_truth += 1
            since = at - last_published_at.get(key, at - POLL_SECONDS)
            if error > poll_bound(since):
                report.violations_off += 1
                report.findings.append(
                    f"{key} published {value} at {at:.0f}, truth {true_value}: off by {error} after {since:.0f} s"
                    f" (previous shown {shown_before})"
                )
            last_published_at[key] = at
    if read is not None and transmission is not None and transmission.corrupted:
        changed = [
            key
            for key in ALL_TOTALS
            if (register := read.current.get(obis[key])) is None or register.value != truth[key]
        ]
        if changed:
            report.slipped_value_changed += 1
            for key in changed:
                before = counts_before.get(key, {})
                after = counts_after.get(key, {})
                verdicts = [verdict for verdict, count in after.items() if count > before.get(verdict, 0)]
                report.guard_on_slips["missing register" if not verdicts else ",".join(verdicts)] += 1
    for code, value in data.values.items():
        if code.d == "8" and str(code) not in ALL_TOTALS and not code.is_history and value is not None:
            report.phantom_published += 1
            report.findings.append(f"a register the meter does not have was published: {code} = {value!r}")


def _check_states(
    report: LineReport,
    hass: HomeAssistant,
    entity_ids: dict[str, str | None],
    values: dict[ObisCode, object],
    obis: dict[str, ObisCode],
) -> None:
    for key, entity_id in entity_ids.items():
        if entity_id is None:
            continue
        state = hass.states.get(entity_id)
        value = values.get(obis[key])
        if state is None or value is None or state.state in ("unknown", "unavailable"):
            continue
        if Decimal(state.state) != value:
            report.state_mismatches += 1
