"""Fill the hours Home Assistant missed from the meter's own load profile.

When the energy totals come back after a gap (Home Assistant was down, reads failed), the
long-term statistics lack the hours in between and the Energy dashboard would show the
whole consumption in the hour reads came back. Here the meter's load profile for those
hours is read (IEC 62056-21 programming mode, or the DLMS/COSEM Profile Generic
``1-0:99.1.0.255`` of a pull meter, both read only) and imported into the totals'
own statistics: each missed hour gets what the meter recorded in it. The rows continue
the last hour that was recorded live, and end at or below the total just confirmed by
the spike guard, so the sums join the live ones without a step and never decrease.

A new entry imports the meter's stored history (option ``import_history``, on by default)
so the dashboard starts full.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from homeassistant.components.recorder.models import StatisticData, StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    async_import_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter

from .const import CONF_IMPORT_HISTORY, DOMAIN, LOGGER
from .meter.backfill import Anchor, Backfill, history_anchor, hourly_backfill
from .meter.dlms.profile_client import read_dlms_profile
from .meter.errors import MeterError, ProfileUnavailableError
from .meter.guard import ENERGY_UNITS_IN_KILO
from .meter.iec62056_21.profile_client import read_profile
from .meter.iec62056_21.programming import ProfileRequest
from .meter.load_profile import LoadProfile
from .meter.obis import ObisCode
from .meter.variants import DLMS_PULL_VARIANTS, PROFILE_VARIANTS, Variant

if TYPE_CHECKING:
    from .coordinator import LandisGyrCoordinator, MeterData

HOUR = timedelta(hours=1)
TOTALS = (ObisCode.parse("1.8.0"), ObisCode.parse("2.8.0"))
"""Energy totals whose statistics are filled: import and export."""
PROFILE_GROUPS = ("29", "9", "5")
"""Profile channels of a total, in order of preference: energy per period, then mean demand."""
COMPILE_GRACE = timedelta(minutes=1)
"""Time after the top of an hour during which no backfill runs (the recorder compiles then)."""
MAX_ATTEMPTS = 3
"""Reads after which a gap whose profile cannot be read is given up."""
_CLOCK_TIME = ObisCode.parse("0.9.1")
_CLOCK_DATE = ObisCode.parse("0.9.2")


def profile_channel(total: ObisCode, profile: LoadProfile) -> ObisCode | None:
    """Return the profile channel that records ``total``'s quantity (``1.29``, ``1.9``, ``1.5`` for ``1.8.0``)."""
    for group in PROFILE_GROUPS:
        for channel in profile.channels:
            if channel.c == total.c and channel.d == group:
                return channel
    return None


def clock_offset(data: MeterData) -> timedelta:
    """Return the meter's clock minus true time, from its ``0.9.1``/``0.9.2`` registers (zero without them)."""
    current = data.readout.current
    time_register, date_register = current.get(_CLOCK_TIME), current.get(_CLOCK_DATE)
    if time_register is None or date_register is None:
        return timedelta(0)
    try:
        meter_now = datetime.strptime("20" + date_register.text + time_register.text, "%Y%m%d%H%M%S")
    except ValueError:
        return timedelta(0)
    local_now = dt_util.as_local(data.read_at).replace(tzinfo=None)
    return timedelta(seconds=round((meter_now - local_now).total_seconds()))


@dataclass(slots=True)
class _Gap:
    """A total that came back after missed hours (``previous`` is ``None`` for a new entry)."""

    previous_at: datetime | None
    attempts: int = 0


@dataclass(slots=True)
class BackfillReport:
    """The last backfill, for diagnostics."""

    at: str
    kind: str
    profile_intervals: int
    totals: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None


class ProfileBackfill:
    """Watches the published totals of one entry and fills their missed hours."""

    def __init__(self, hass: HomeAssistant, coordinator: LandisGyrCoordinator) -> None:
        """Start from the totals published before the last restart (the guard's references)."""
        self.hass = hass
        self.coordinator = coordinator
        self.last: BackfillReport | None = None
        self._published: dict[str, datetime] = {}
        self._gaps: dict[str, _Gap] = {}
        self._task: asyncio.Task[None] | None = None

    @callback
    def async_remember_published(self) -> None:
        """Take the totals restored from before the restart as the last live reads."""
        for key in map(str, TOTALS):
            sample = self.coordinator.guard.published(key)
            if sample is not None:
                self._published[key] = dt_util.utc_from_timestamp(sample.at)

    @property
    def supported(self) -> bool:
        """Whether this entry's meter has a load profile this integration can read."""
        return (
            self.coordinator.config.variant in PROFILE_VARIANTS and "recorder" in self.hass.config.components
        )

    @callback
    def async_note_read(self, data: MeterData) -> None:
        """Look at an accepted read; start a backfill when a total returned after missed hours."""
        if not self.supported:
            return
        new_entry = bool(self.coordinator.config_entry.options.get(CONF_IMPORT_HISTORY, True))
        for obis in TOTALS:
            key = str(obis)
            value = data.values.get(obis)
            sample = self.coordinator.guard.published(key)
            if not isinstance(value, Decimal) or sample is None or sample.at != data.read_at.timestamp():
                continue
            previous = self._published.get(key)
            self._published[key] = data.read_at
            if previous is None and new_entry and key not in self._gaps:
                self._gaps[key] = _Gap(None)
            elif previous is not None and _hour(previous) + HOUR < _hour(data.read_at):
                self._gaps[key] = _Gap(previous)
        if self._gaps and (self._task is None or self._task.done()):
            self._task = self.coordinator.config_entry.async_create_background_task(
                self.hass, self._run(data), f"{DOMAIN} backfill {self.coordinator.name}"
            )

    async def async_stop(self) -> None:
        """Cancel a running backfill."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, data: MeterData) -> None:
        if dt_util.utcnow() - _hour(dt_util.utcnow()) < COMPILE_GRACE:
            # The recorder compiles the hour just ended a few seconds after it: importing
            # that hour before would collide with its own row. The next read tries again.
            return
        wanted: dict[str, Anchor | None] = {}
        for key, gap in list(self._gaps.items()):
            statistic_id = self._statistic_id(key)
            if statistic_id is None:
                continue  # the sensor is not registered yet (first read of a new entry)
            gap.attempts += 1
            found = await self._statistics(statistic_id, gap)
            if gap.previous_at is None:
                # A new entry: import the stored history only where nothing was recorded.
                if found is None:
                    wanted[key] = None
                else:
                    del self._gaps[key]
            elif found is not None:
                wanted[key] = found
            elif gap.attempts >= MAX_ATTEMPTS:
                del self._gaps[key]
        if not wanted:
            return
        kind = "gap" if all(anchor is not None for anchor in wanted.values()) else "history"
        offset = clock_offset(data)
        start: datetime | None = None
        if kind == "gap":
            first = min(anchor.hour for anchor in wanted.values() if anchor is not None) + HOUR
            start = dt_util.as_local(first).replace(tzinfo=None) + offset
        try:
            async with self.coordinator.exclusive_port():
                profile = await self._read_profile(start)
        except MeterError as err:
            LOGGER.info(
                "%s: the load profile could not be read: %s", self.coordinator.config_entry.title, err
            )
            self.last = BackfillReport(dt_util.utcnow().isoformat(), kind, 0, error=str(err))
            for key in list(wanted):
                # A meter without a profile will not grow one: do not ask again for this gap.
                if isinstance(err, ProfileUnavailableError) or self._gaps[key].attempts >= MAX_ATTEMPTS:
                    del self._gaps[key]
            return
        report = BackfillReport(dt_util.utcnow().isoformat(), kind, len(profile))
        zone = dt_util.get_default_time_zone()
        for key, anchor in wanted.items():
            del self._gaps[key]
            result = self._import(key, anchor, profile, data, zone, offset)
            if result is not None:
                report.totals[key] = result
        self.last = report

    async def _read_profile(self, start: datetime | None) -> LoadProfile:
        """Read the profile from ``start`` (meter clock; ``None``: all it holds) the variant's way."""
        config, port = self.coordinator.config, self.coordinator.port
        if config.variant in DLMS_PULL_VARIANTS:
            return await read_dlms_profile(
                port,
                mode_e=config.variant is Variant.DLMS_MODE_E,
                address=config.address,
                max_baud=config.max_baud,
                settings=config.pull_settings(),
                start=start,
            )
        return await read_profile(port, config.session_settings(), ProfileRequest(start=start))

    async def _statistics(self, statistic_id: str, gap: _Gap) -> Anchor | None:
        """Return the row of the last live read's hour in the statistics; for a new entry, any row."""
        instance = get_instance(self.hass)
        if gap.previous_at is None:
            last = await instance.async_add_executor_job(
                get_last_statistics, self.hass, 1, statistic_id, False, {"state", "sum"}
            )
            rows = last.get(statistic_id, [])
        else:
            hour = _hour(gap.previous_at)
            during = await instance.async_add_executor_job(
                statistics_during_period,
                self.hass,
                hour,
                hour + HOUR,
                {statistic_id},
                "hour",
                None,
                {"state", "sum"},
            )
            rows = during.get(statistic_id, [])
        if not rows:
            return None
        row = rows[-1]
        state, total = row.get("state"), row.get("sum")
        if state is None or total is None:
            return None
        return Anchor(dt_util.utc_from_timestamp(row["start"]), Decimal(str(state)), Decimal(str(total)))

    def _statistic_id(self, key: str) -> str | None:
        entry = self.coordinator.config_entry
        unique_id = f"{entry.unique_id or entry.entry_id}_{key}"
        return er.async_get(self.hass).async_get_entity_id("sensor", DOMAIN, unique_id)

    def _import(
        self,
        key: str,
        anchor: Anchor | None,
        profile: LoadProfile,
        data: MeterData,
        zone: Any,
        offset: timedelta,
    ) -> dict[str, Any] | None:
        obis = ObisCode.parse(key)
        statistic_id = self._statistic_id(key)
        register = data.readout.current.get(obis)
        channel = profile_channel(obis, profile)
        value = data.values.get(obis)
        if statistic_id is None or register is None or channel is None or not isinstance(value, Decimal):
            return None
        unit = register.unit or "kWh"
        scale = ENERGY_UNITS_IN_KILO.get(unit)
        if scale is None:
            return None
        total_kwh = value * scale
        if anchor is None:
            anchor = history_anchor(
                profile,
                channel,
                confirmed_total=total_kwh,
                confirmed_at=data.read_at,
                zone=zone,
                clock_offset=offset,
            )
            if anchor is None:
                return None
        else:
            anchor = Anchor(anchor.hour, anchor.state * scale, anchor.sum * scale)
        result = hourly_backfill(
            profile,
            channel,
            anchor=anchor,
            confirmed_total=total_kwh,
            confirmed_at=data.read_at,
            zone=zone,
            clock_offset=offset,
        )
        if result.rows:
            self._write(statistic_id, unit, scale, result)
        return {
            "statistic_id": statistic_id,
            "channel": str(channel),
            "hours_missing": result.hours_missing,
            "hours_filled": result.hours_filled,
            "coverage": round(result.coverage, 3),
            "energy_missing_kwh": float(result.energy_missing),
            "energy_filled_kwh": float(result.energy_filled),
            "first_hour": result.rows[0].start.isoformat() if result.rows else None,
            "last_hour": result.rows[-1].start.isoformat() if result.rows else None,
        }

    def _write(self, statistic_id: str, unit: str, scale: Decimal, result: Backfill) -> None:
        metadata = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=None,
            source="recorder",
            statistic_id=statistic_id,
            unit_class=EnergyConverter.UNIT_CLASS,
            unit_of_measurement=unit,
        )
        statistics = [
            StatisticData(start=row.start, state=float(row.state / scale), sum=float(row.sum / scale))
            for row in result.rows
        ]
        async_import_statistics(self.hass, metadata, statistics)
        LOGGER.info(
            "%s: filled %d of %d missed hours of %s from the meter's load profile",
            self.coordinator.config_entry.title,
            result.hours_filled,
            result.hours_missing,
            statistic_id,
        )

    def diagnostics(self) -> dict[str, Any] | None:
        """Return the last backfill and its coverage."""
        last = self.last
        if last is None:
            return None
        return {
            "at": last.at,
            "kind": last.kind,
            "profile_intervals": last.profile_intervals,
            "totals": last.totals,
            "error": last.error,
        }


def _hour(moment: datetime) -> datetime:
    return dt_util.as_utc(moment).replace(minute=0, second=0, microsecond=0)
