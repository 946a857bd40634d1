"""Reads the meter (polled) or listens to it (mode D push) and guards what reaches entities."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
import logging
import os
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ADDRESS,
    CONF_FIXED_BAUD,
    CONF_FRAMING,
    CONF_MAX_BAUD,
    CONF_MAX_POWER_KW,
    CONF_PORT,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    CONF_WAKE_UP,
    DEFAULT_MAX_BAUD,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    FAILURES_BEFORE_ISSUE,
    ISSUE_READ_FAILURES,
    LOGGER,
    PUSH_BACKOFF,
    PUSH_ERROR_PAUSE,
    SAVE_DELAY,
    STORAGE_VERSION,
)
from .meter.client import effective_settings, read_meter, run_session
from .meter.errors import ChecksumError, MeterError, PortError
from .meter.guard import TotalGuard, is_energy_unit
from .meter.link import Link, describe_port
from .meter.obis import ObisCode
from .meter.readout import Readout
from .meter.session import Framing, Protocol, SessionSettings

type LandisGyrConfigEntry = ConfigEntry[LandisGyrCoordinator]

DEFAULT_TOTAL_UNIT = "kWh"
"""Unit assumed for a cumulative register printed without one."""


class _QuietCoordinatorLog(logging.Filter):
    """Move the coordinator's own failure/recovery messages to debug.

    A failed optical read is an expected event (someone stands in front of the meter, the
    head slipped), so this integration logs it once at info itself, with what to check.
    """

    _PREFIXES = ("Error fetching", "Error requesting", "Fetching %s data recovered")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(self._PREFIXES):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return LOGGER.isEnabledFor(logging.DEBUG)
        return True


_COORDINATOR_LOGGER = LOGGER.getChild("coordinator")
_COORDINATOR_LOGGER.addFilter(_QuietCoordinatorLog())


@dataclass(frozen=True, slots=True)
class MeterData:
    """One accepted readout and the values entities show (totals after the guard)."""

    readout: Readout
    values: dict[ObisCode, Decimal | str | None]
    read_at: datetime
    duration: float


@dataclass(slots=True)
class ReadStats:
    """Counters for diagnostics and the diagnostic sensors."""

    reads: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    checksum_errors: int = 0
    last_error: str | None = None
    errors_by_key: dict[str, int] = field(default_factory=dict)


def settings_from_entry(entry: ConfigEntry) -> SessionSettings:
    """Map the entry's data and options onto the session settings."""
    data, options = entry.data, entry.options
    fixed = data.get(CONF_FIXED_BAUD)
    return SessionSettings(
        protocol=Protocol(data.get(CONF_PROTOCOL, Protocol.AUTO)),
        address=data.get(CONF_ADDRESS, ""),
        max_baud=int(options.get(CONF_MAX_BAUD, data.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))),
        wake_up=bool(data.get(CONF_WAKE_UP, False)),
        framing=Framing(data.get(CONF_FRAMING, Framing.SEVEN_E_ONE)),
        fixed_baud=int(fixed) if fixed else None,
    )


def is_total(obis: ObisCode, value: object, unit: str | None) -> bool:
    """Whether a register is a cumulative energy total (``C.8.E``) that the guard watches."""
    return obis.d == "8" and isinstance(value, Decimal) and (unit is None or is_energy_unit(unit))


def readout_duration(readout: Readout, fallback: float) -> float:
    """Seconds the readout occupied the line, from its first answer to its end."""
    timings = readout.timings
    starts = [at for name, at in timings.items() if name.endswith("started")]
    end = timings.get("done")
    if starts and end is not None:
        return max(end - min(starts), 0.0)
    return fallback


class LandisGyrCoordinator(DataUpdateCoordinator[MeterData]):
    """Owns the port: one read at a time (polled) or one open link (push)."""

    config_entry: LandisGyrConfigEntry

    def __init__(self, hass: HomeAssistant, entry: LandisGyrConfigEntry) -> None:
        """Set up from the entry; nothing is read until the first refresh or ``async_start``."""
        self.port: str = entry.data[CONF_PORT]
        self.settings = effective_settings(self.port, settings_from_entry(entry))
        self.push = self.settings.protocol is Protocol.MODE_D
        interval = None
        if not self.push:
            interval = timedelta(seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
        super().__init__(
            hass,
            _COORDINATOR_LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {describe_port(self.port)}",
            update_interval=interval,
        )
        self.guard = TotalGuard(float(entry.options.get(CONF_MAX_POWER_KW, DEFAULT_MAX_POWER_KW)))
        self.stats = ReadStats()
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}")
        self._read_lock = asyncio.Lock()
        self._push_task: asyncio.Task[None] | None = None
        self._link: Link | None = None
        self._unavailable_logged = False

    @property
    def issue_id(self) -> str:
        """The repair issue of this entry."""
        return f"{ISSUE_READ_FAILURES}_{self.config_entry.entry_id}"

    # --- life cycle --------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Take the totals published before the last restart as the guard's references."""
        stored = await self._store.async_load()
        if stored:
            self.guard.restore(stored.get("references", {}))

    async def async_check_port(self) -> None:
        """Open and close the port once (push set-up must fail early if the port is wrong)."""
        link = Link(self.port, self.settings.initial_line)
        try:
            await link.open()
        finally:
            await link.close()

    @callback
    def async_start_push(self) -> None:
        """Start listening to the pushing meter in the background."""
        self._push_task = self.config_entry.async_create_background_task(
            self.hass, self._push_loop(), f"{DOMAIN} push listener {describe_port(self.port)}"
        )

    async def async_stop(self) -> None:
        """Stop listening, close the port and store the guard's references."""
        await self._stop_push()
        await self._store.async_save(self._stored())

    async def _stop_push(self) -> None:
        """Cancel the listener; its own clean-up closes the port."""
        task, self._push_task = self._push_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextlib.asynccontextmanager
    async def exclusive_port(self) -> AsyncIterator[None]:
        """Hold the port for someone else (a reconfigure test read): no read runs meanwhile."""
        async with self._read_lock:
            listening = self._push_task is not None
            if listening:
                await self._stop_push()
            try:
                yield
            finally:
                if listening:
                    self.async_start_push()

    # --- polled reads --------------------------------------------------------------------------

    async def _async_update_data(self) -> MeterData:
        if self.push:
            if self.data is None:
                raise UpdateFailed(translation_domain=DOMAIN, translation_key="waiting_for_push")
            return self.data
        async with self._read_lock:
            started = time.monotonic()
            try:
                readout = await read_meter(self.port, self.settings)
            except MeterError as err:
                raise await self._failed(err) from err
            return self._accepted(readout, time.monotonic() - started)

    # --- push --------------------------------------------------------------------------------

    async def _push_loop(self) -> None:
        backoff = PUSH_BACKOFF[0]
        while True:
            link = self._link = Link(self.port, self.settings.initial_line)
            try:
                await link.open()
                while True:
                    started = time.monotonic()
                    try:
                        readout = await run_session(link, self.settings)
                    except PortError:
                        raise
                    except MeterError as err:
                        self.async_set_update_error(await self._failed(err))
                        # An error the session raised on bytes already buffered comes back at
                        # once; a short pause keeps a garbled stream from spinning the loop.
                        await asyncio.sleep(PUSH_ERROR_PAUSE)
                        continue
                    backoff = PUSH_BACKOFF[0]
                    self.async_set_updated_data(self._accepted(readout, time.monotonic() - started))
            except PortError as err:
                self.async_set_update_error(await self._failed(err))
            finally:
                self._link = None
                await link.close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, PUSH_BACKOFF[1])

    # --- outcome of a read ---------------------------------------------------------------------

    def _accepted(self, readout: Readout, elapsed: float) -> MeterData:
        """Run the readout through the guard and note the success."""
        now = dt_util.utcnow()
        at = now.timestamp()
        verified = readout.checksum != "none"
        values: dict[ObisCode, Decimal | str | None] = {}
        for obis, register in readout.current.items():
            value = register.value
            if is_total(obis, value, register.unit):
                assert isinstance(value, Decimal)
                key = str(obis)
                verdict = self.guard.check(key, value, register.unit or DEFAULT_TOTAL_UNIT, at, verified=verified)
                if not verdict.published:
                    LOGGER.debug("%s: %s %s held back (%s)", self.name, key, value, verdict)
                    published = self.guard.published(key)
                    value = published.value if published is not None else None
            values[obis] = value
        self._store.async_delay_save(self._stored, SAVE_DELAY)
        self.stats.reads += 1
        self.stats.consecutive_failures = 0
        if self._unavailable_logged:
            LOGGER.info("%s answers again on %s", self.config_entry.title, describe_port(self.port))
            self._unavailable_logged = False
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        return MeterData(readout, values, now, readout_duration(readout, elapsed))

    async def _failed(self, err: MeterError) -> UpdateFailed:
        """Count the failure, log it once, raise the repair issue when it persists."""
        stats = self.stats
        stats.failures += 1
        stats.consecutive_failures += 1
        stats.last_error = str(err)
        stats.errors_by_key[err.key] = stats.errors_by_key.get(err.key, 0) + 1
        if isinstance(err, ChecksumError):
            stats.checksum_errors += 1
        if not self._unavailable_logged:
            LOGGER.info("%s cannot be read on %s: %s", self.config_entry.title, describe_port(self.port), err)
            self._unavailable_logged = True
        vanished = isinstance(err, PortError) and not await self._port_exists()
        if vanished or stats.consecutive_failures >= FAILURES_BEFORE_ISSUE:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self.issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_READ_FAILURES,
                translation_placeholders={
                    "title": self.config_entry.title,
                    "port": describe_port(self.port),
                    "failures": str(stats.consecutive_failures),
                    "error": str(err),
                },
            )
        self.async_update_listeners()
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key=err.key,
            translation_placeholders={"port": describe_port(self.port), "error": str(err)},
        )

    async def _port_exists(self) -> bool:
        if "://" in self.port:
            return True
        return await self.hass.async_add_executor_job(os.path.exists, self.port)

    def _stored(self) -> dict[str, Any]:
        return {"references": self.guard.references()}
