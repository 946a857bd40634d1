"""Reads the meter (polled variants) or listens to it (push variants) and guards what reaches entities."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
import logging
import math
import os
import time
from typing import Any, Final

from homeassistant.components import usb
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .backfill import ProfileBackfill
from .bus import Bus, Member, async_join, async_leave
from .const import (
    CONF_MAX_POWER_KW,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONFIRM_PAUSE,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SCAN_INTERVALS,
    DOMAIN,
    FAILURES_BEFORE_ISSUE,
    ISSUE_READ_FAILURES,
    ISSUE_REGISTER_NOT_ENABLED,
    LOGGER,
    MIN_SCAN_INTERVAL,
    PUSH_BACKOFF,
    PUSH_ERROR_PAUSE,
    SAVE_DELAY,
    STORAGE_VERSION,
)
from .entry_data import config_from_entry, with_han_map
from .meter.dlms.association import AssociationError
from .meter.dlms.ciphering import DecryptionError
from .meter.eredes_han.client import RegisterNotEnabledError
from .meter.eredes_han.registers import BY_ADDRESS
from .meter.errors import ChecksumError, MeterError, PortError
from .meter.guard import TotalGuard, Verdict, is_energy_unit, is_volume_unit
from .meter.iec62056_21.client import read_meter, run_session
from .meter.link import Link, describe_port
from .meter.obis import HEAT, ObisCode
from .meter.readout import Readout, TraceEntry
from .meter.submeters import is_sub_meter_reading
from .meter.variants import MeterReader

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


SCANNED_PORT_SCHEMES: Final = ("esphome-hass://",)
"""Ports that Home Assistant's own scan lists (ESPHome serial proxies it knows)."""
REAUTH_ERRORS: frozenset[str] = frozenset({DecryptionError.key, AssociationError.key})
"""Errors only new credentials fix: a DLMS key that does not decrypt, a password the meter refuses."""


@dataclass(frozen=True, slots=True)
class MeterData:
    """One accepted readout and the values entities show (totals after the guard)."""

    readout: Readout
    values: dict[ObisCode, Decimal | str | None]
    read_at: datetime
    duration: float


FAILURE_TRACE_BYTES: Final = 8 * 1024
"""Bytes (data and notes) kept of the last failed read's trace: its end, where it went wrong."""
FAILURE_TRACE_ENTRIES: Final = 400
"""Entries kept of the last failed read's trace."""


@dataclass(frozen=True, slots=True)
class FailedRead:
    """The last read that failed: its error and the end of what went over the line."""

    at: datetime
    key: str
    error: str
    trace: tuple[TraceEntry, ...]
    left_out: int
    """Entries of the trace's start not kept (see ``FAILURE_TRACE_BYTES``)."""

    @classmethod
    def of(cls, err: MeterError, at: datetime) -> FailedRead:
        """Keep the error and as much of its trace's end as the bounds allow."""
        kept: list[TraceEntry] = []
        size = 0
        for entry in reversed(err.trace):
            size += len(entry.data) + len(entry.note)
            if size > FAILURE_TRACE_BYTES or len(kept) == FAILURE_TRACE_ENTRIES:
                break
            kept.append(entry)
        return cls(at, err.key, str(err), tuple(reversed(kept)), len(err.trace) - len(kept))


@dataclass(slots=True)
class ReadStats:
    """Counters for diagnostics and the diagnostic sensors."""

    reads: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    checksum_errors: int = 0
    malformed_totals: int = 0
    last_error: str | None = None
    errors_by_key: dict[str, int] = field(default_factory=dict)
    last_failure: FailedRead | None = None


def default_scan_interval(variant: str) -> int:
    """Seconds between polls unless the user chose otherwise."""
    return DEFAULT_SCAN_INTERVALS.get(variant, DEFAULT_SCAN_INTERVAL)


def is_total(obis: ObisCode, value: object, unit: str | None) -> bool:
    """Whether a register is a cumulative total the guard watches.

    Energy totals (``C.8.E``), an M-Bus sub-meter's reading (gas, water, heat) and a heat
    meter's volume: none of them may ever be published lower than before.
    """
    if not isinstance(value, Decimal):
        return False
    if obis.d == "8":
        return unit is None or is_energy_unit(unit)
    volume = is_sub_meter_reading(obis) or (obis.a == HEAT and obis.short == "6.26.0")
    return volume and (is_energy_unit(unit) or is_volume_unit(unit))


def readout_duration(readout: Readout, fallback: float) -> float:
    """Seconds the readout occupied the line, from its first answer to its end."""
    timings = readout.timings
    starts = [at for name, at in timings.items() if name.endswith("started")]
    end = timings.get("done")
    if starts and end is not None:
        return max(end - min(starts), 0.0)
    return fallback


class LandisGyrCoordinator(DataUpdateCoordinator[MeterData]):
    """Reads one meter: polls through the bus of its line, or listens on a line it owns (push).

    A polled meter shares its line's bus with every other meter on the same port.
    """

    config_entry: LandisGyrConfigEntry

    def __init__(self, hass: HomeAssistant, entry: LandisGyrConfigEntry) -> None:
        """Set up from the entry; nothing is read until the first refresh or ``async_start``."""
        self.port: str = entry.data[CONF_PORT]
        self.config = config_from_entry(entry)
        self.reader = MeterReader(self.port, self.config, read_iec=read_meter, listen_iec=run_session)
        self.push = self.config.push
        self.poll_interval: timedelta | None = None
        if not self.push:
            seconds = entry.options.get(CONF_SCAN_INTERVAL, default_scan_interval(self.config.variant))
            self.poll_interval = timedelta(seconds=seconds)
        super().__init__(
            hass,
            _COORDINATOR_LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {describe_port(self.port)}",
            update_interval=self.poll_interval,
        )
        self.guard = TotalGuard(float(entry.options.get(CONF_MAX_POWER_KW, DEFAULT_MAX_POWER_KW)))
        self.stats = ReadStats()
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}")
        self.bus: Bus | None = None
        self._poll_started = 0.0
        self._push_task: asyncio.Task[None] | None = None
        self._link: Link | None = None
        self._unavailable_logged = False
        self._held_first = False
        self.backfill = ProfileBackfill(hass, self)

    @property
    def issue_id(self) -> str:
        """The repair issue of this entry."""
        return f"{ISSUE_READ_FAILURES}_{self.config_entry.entry_id}"

    @property
    def access_issue_id(self) -> str:
        """The repair issue about HAN registers the meter refuses."""
        return f"{ISSUE_REGISTER_NOT_ENABLED}_{self.config_entry.entry_id}"

    # --- life cycle --------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Take the totals published before the last restart as the guard's references."""
        stored = await self._store.async_load()
        if stored:
            self.guard.restore(stored.get("references", {}))
        self.backfill.async_remember_published()

    async def async_join_bus(self) -> None:
        """Take the meter's place on the bus of its line (raises ``BusConflictError``)."""
        entry = self.config_entry
        member = Member(
            entry.entry_id,
            entry.title,
            self.port,
            self.config,
            pause=self._push_paused if self.push else None,
        )
        self.bus = bus = await async_join(self.hass, member)
        if not self.push:
            self.reader = MeterReader(
                self.port,
                self.config,
                read_iec=read_meter,
                listen_iec=run_session,
                link_factory=bus.link_factory,
            )

    async def async_check_port(self) -> None:
        """Open and close the port once (push set-up must fail early if the port is wrong)."""
        link = self.reader.open_link()
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
        """Stop listening, leave the bus (the last meter on it closes the port), store the references."""
        await self._stop_push()
        await self.backfill.async_stop()
        await self.async_leave_bus()
        await self._store.async_save(self._stored())

    async def async_leave_bus(self) -> None:
        """Give up the meter's place on its bus; the last meter on it closes the port."""
        bus, self.bus = self.bus, None
        if bus is not None:
            await async_leave(self.hass, bus, self.config_entry.entry_id)

    async def _stop_push(self) -> None:
        """Cancel the listener; its own clean-up closes the port."""
        task, self._push_task = self._push_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextlib.asynccontextmanager
    async def exclusive_port(self) -> AsyncIterator[None]:
        """Hold the line for a read of this meter outside its polls (the backfill's profile read).

        The other meters on the line wait, as for a config flow's test read; a listener pauses.
        """
        if self.bus is None:
            raise PortError(describe_port(self.port), "the meter is not set up on its line")
        async with self.bus.exclusive(self.config):
            yield

    @contextlib.asynccontextmanager
    async def _push_paused(self) -> AsyncIterator[None]:
        """Stop listening for the time of someone else's read on the line (a flow's test read)."""
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
        assert self.bus is not None
        han = self.reader.han
        try:
            readout = await self.bus.read(self.config, self._timed_poll)
        except RegisterNotEnabledError as err:
            self._sync_access_issue([register.label for register in err.registers])
            raise await self._failed(err) from err
        except MeterError as err:
            failure = await self._failed(err)
            if err.key in REAUTH_ERRORS:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN,
                    translation_key=err.key,
                    translation_placeholders={"port": describe_port(self.port), "error": str(err)},
                ) from err
            raise failure from err
        if han is not None:
            self._sync_access_issue([BY_ADDRESS[address].label for address in sorted(han.denied)])
            # What this poll learned goes with the entry: a restart starts from it.
            if (stored := with_han_map(self.config_entry.data, han.learned)) is not None:
                self.hass.config_entries.async_update_entry(self.config_entry, data=stored)
        data = self._accepted(readout, time.monotonic() - self._poll_started)
        self.backfill.async_note_read(data)
        self.update_interval = self._next_interval(data.duration)
        return data

    async def _timed_poll(self) -> Readout:
        """Poll once the bus gave the turn: the read's own time, without the wait for the line."""
        self._poll_started = time.monotonic()
        return await self.reader.poll()

    def _next_interval(self, duration: float) -> timedelta | None:
        """Read again soon while a new total awaits its confirming read, else at the interval."""
        interval = self.poll_interval
        if not self._held_first or interval is None:
            return interval
        soon = max(MIN_SCAN_INTERVAL, math.ceil(duration + CONFIRM_PAUSE))
        return min(interval, timedelta(seconds=soon))

    def _sync_access_issue(self, refused: list[str]) -> None:
        """Raise (or clear) the issue naming the HAN registers the meter refuses."""
        if not refused:
            ir.async_delete_issue(self.hass, DOMAIN, self.access_issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.access_issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_REGISTER_NOT_ENABLED,
            translation_placeholders={"title": self.config_entry.title, "registers": ", ".join(refused)},
        )

    # --- push --------------------------------------------------------------------------------

    async def _push_loop(self) -> None:
        backoff = PUSH_BACKOFF[0]
        while True:
            link = self._link = self.reader.open_link()
            try:
                await link.open()
                while True:
                    started = time.monotonic()
                    try:
                        readout = await self.reader.listen(link)
                    except PortError:
                        raise
                    except MeterError as err:
                        self.async_set_update_error(await self._failed(err))
                        if err.key in REAUTH_ERRORS:
                            # A push keeps coming with the old key: ask for the new one once.
                            self.config_entry.async_start_reauth(self.hass)
                        # An error the session raised on bytes already buffered comes back at
                        # once; a short pause keeps a garbled stream from spinning the loop.
                        await asyncio.sleep(PUSH_ERROR_PAUSE)
                        continue
                    except Exception:  # noqa: BLE001 - a bug must not end the listener (a silent stall)
                        LOGGER.exception("%s: unexpected error while listening", self.config_entry.title)
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
        self._held_first = False
        for obis, register in readout.current.items():
            value = register.value
            if is_total(obis, value, register.unit):
                assert isinstance(value, Decimal)
                key = str(obis)
                verdict = self.guard.check(
                    key, value, register.unit or DEFAULT_TOTAL_UNIT, at, verified=verified
                )
                self._held_first |= verdict is Verdict.HELD_FIRST
                if not verdict.published:
                    LOGGER.debug("%s: %s %s held back (%s)", self.name, key, value, verdict)
                    published = self.guard.published(key)
                    value = published.value if published is not None else None
            elif obis.is_time_integral:
                # A total that is no number with an energy unit: the line corrupted it in a
                # way the checksum missed. Keep what was published; never show this value.
                self.stats.malformed_totals += 1
                LOGGER.debug("%s: %s %r %s held back (malformed)", self.name, obis, value, register.unit)
                published = self.guard.published(str(obis))
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
        stats.last_failure = FailedRead.of(err, dt_util.utcnow())
        stats.errors_by_key[err.key] = stats.errors_by_key.get(err.key, 0) + 1
        if isinstance(err, ChecksumError):
            stats.checksum_errors += 1
        if not self._unavailable_logged:
            LOGGER.info("%s cannot be read on %s: %s", self.config_entry.title, describe_port(self.port), err)
            self._unavailable_logged = True
        vanished = isinstance(err, PortError) and not await self._port_exists()
        if vanished and (moved := self._moved_port()) is not None:
            LOGGER.info("%s: the head on %s is now at %s", self.config_entry.title, self.port, moved)
            self.hass.config_entries.async_update_entry(
                self.config_entry, data={**self.config_entry.data, CONF_PORT: moved}
            )
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
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
        """Whether the port is still there: a device path, or a proxy Home Assistant's scan lists."""
        present = getattr(usb, "async_is_serial_port_present", None)  # Home Assistant 2026.11+
        scanned = self.port.lower().startswith(SCANNED_PORT_SCHEMES)
        if "://" in self.port and not (scanned and present is not None):
            return True  # a network bridge is no device that can vanish from this host
        if present is not None:
            return bool(await present(self.hass, self.port))
        return await self.hass.async_add_executor_job(os.path.exists, self.port)

    def _moved_port(self) -> str | None:
        """Where a by-id head (or ESPHome proxy) that vanished is now, by Home Assistant 2026.11+."""
        find_moved = getattr(usb, "async_find_moved_serial_port", None)
        if find_moved is None:
            return None
        moved: str | None = find_moved(self.hass, self.port)
        return moved

    def _stored(self) -> dict[str, Any]:
        return {"references": self.guard.references()}
