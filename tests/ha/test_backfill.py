"""Backfill in Home Assistant: missed hours imported from the load profile into the statistics.

The meter is simulated by its recording (the truth of every 15-minute interval); the
register reads are mocked at the coordinator's and the variants' imports. A mode C meter's
profile read is mocked at the backfill's import (its exchange is tested against the
simulated meter in ``tests/iec62056_21``); a DLMS pull meter's profile (mode E, direct HDLC)
is read from the simulated pull meter over a pty. The recorder is real (SQLite in memory)
and compiles the statistics as it would live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
import threading
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory, real_monotonic
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.landis_gyr_optical.backfill import clock_offset, profile_channel
from custom_components.landis_gyr_optical.const import CONF_IMPORT_HISTORY, CONF_SCAN_INTERVAL, DOMAIN
from custom_components.landis_gyr_optical.meter.dlms.profile_client import read_dlms_profile
from custom_components.landis_gyr_optical.meter.errors import NoAnswerError, ProfileUnavailableError
from custom_components.landis_gyr_optical.meter.iec62056_21.profile import parse_profile
from custom_components.landis_gyr_optical.meter.load_profile import LoadProfile
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.simulator.dlms_profile import ProfilePullMeter
from tests.simulator.recording import Recording

from .conftest import METER_SERIAL, PORT, entry_data, make_readout

ZONE = "Europe/Berlin"
BASE = Decimal("1000.000")
START = datetime(2026, 11, 30, 1, 40, tzinfo=UTC)
BACK = datetime(2026, 11, 30, 9, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)


def local(moment: datetime) -> datetime:
    """The meter's clock: local time of the zone, without it."""
    return dt_util.as_local(moment).replace(tzinfo=None)


RECORDING = Recording(start=datetime(2026, 11, 29, 0, 15), clock=lambda: local(dt_util.utcnow()))


def exact_total(moment: datetime) -> Decimal:
    """The meter's import total at ``moment``: what its completed intervals recorded."""
    ends = RECORDING.ends(local(moment))
    return BASE + sum((RECORDING.energy(end) for end in ends), Decimal(0))


def total(moment: datetime) -> Decimal:
    """The total as the meter prints it (three decimals, cut off)."""
    return exact_total(moment).quantize(Decimal("0.001"), rounding=ROUND_DOWN)


def readout(moment: datetime) -> Any:
    """A mode C readout at ``moment`` with the meter's clock in step."""
    clock = local(moment)
    block = (
        f"0.0({METER_SERIAL})\r\n"
        f"1.8.0({total(moment):010.3f}*kWh)\r\n"
        "2.8.0(000000.000*kWh)\r\n"
        f"0.9.1({clock:%H%M%S})\r\n"
        f"0.9.2({clock:%y%m%d})\r\n"
    )
    return make_readout(block)


def answered_profile(requests: list[datetime | None]) -> Callable[..., Any]:
    """The mocked profile read: the recording from the requested start, as the meter answers it."""

    async def read(port: str, settings: object, request: Any) -> LoadProfile:
        requests.append(request.start)
        return parse_profile(RECORDING.render(request.start, None))

    return read


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: datetime) -> None:
    """Move the clock, let the coordinator poll and the recorder record."""
    freezer.move_to(to)
    async_fire_time_changed(hass, to)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def compile_until(hass: HomeAssistant, start: datetime, end: datetime) -> None:
    """Compile every 5-minute period in ``[start, end)`` (and the hours they complete)."""
    period = start
    while period < end:
        do_adhoc_statistics(hass, start=period)
        period += timedelta(minutes=5)
    await async_wait_recording_done(hass)


def hourly(hass: HomeAssistant, statistic_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The long-term rows of ``[start, end)``."""
    rows = statistics_during_period(hass, start, end, {statistic_id}, "hour", None, {"state", "sum"})
    return [dict(row) for row in rows.get(statistic_id, [])]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder first: it must be set up before Home Assistant starts."""


BACKFILL = "custom_components.landis_gyr_optical.backfill.read_profile"
READS = {
    "mode_c": "custom_components.landis_gyr_optical.coordinator.read_meter",
    "dlms_mode_e": "custom_components.landis_gyr_optical.meter.variants.read_dlms_mode_e",
    "dlms_hdlc": "custom_components.landis_gyr_optical.meter.variants.read_dlms_hdlc",
}
"""Where each variant's register read is mocked."""
PROFILE_VARIANTS = ["mode_c", "dlms_mode_e", "dlms_hdlc"]

DLMS_BACKFILL = "custom_components.landis_gyr_optical.backfill.read_dlms_profile"


@contextmanager
def following_real_time(freezer: FrozenDateTimeFactory) -> Iterator[None]:
    """Let the frozen clock run with real time for a while.

    The harness freezes the event loop's clock with the wall clock, and a serial exchange
    waits on it (the port's settling pause, reply deadlines, the simulated meter's
    character times): a thread moves the frozen clock on by the real time that passed.
    """
    stop = threading.Event()

    def run() -> None:
        last = real_monotonic()
        while not stop.wait(0.002):
            now = real_monotonic()
            freezer.tick(timedelta(seconds=now - last))
            last = now

    thread = threading.Thread(target=run, name="frozen clock follower")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def clocked_dlms_read(freezer: FrozenDateTimeFactory) -> Callable[..., Any]:
    """The backfill's real DLMS profile read, with the clock following real time while it runs."""

    async def read(*args: Any, **kwargs: Any) -> LoadProfile:
        with following_real_time(freezer):
            return await read_dlms_profile(*args, **kwargs)

    return read


@dataclass
class Meter:
    """The meter of one variant: where its reads are answered and which profile starts it was asked."""

    protocol: str
    freezer: FrozenDateTimeFactory
    port: str = PORT
    simulated: ProfilePullMeter | None = None
    asked: list[datetime | None] = field(default_factory=list)

    @property
    def requests(self) -> list[datetime | None]:
        """The start of every profile read (``None``: the whole profile)."""
        if self.simulated is not None:
            return [start for start, _ in self.simulated.ranges]
        return self.asked

    @contextmanager
    def serving(self, read: AsyncMock) -> Iterator[None]:
        """Answer the register reads with ``read`` and the profile reads from the recording."""
        with ExitStack() as stack:
            stack.enter_context(patch(READS[self.protocol], read))
            if self.simulated is None:
                stack.enter_context(patch(BACKFILL, side_effect=answered_profile(self.asked)))
            else:
                stack.enter_context(patch(DLMS_BACKFILL, clocked_dlms_read(self.freezer)))
            yield

    def entry_data(self) -> dict[str, object]:
        """The config entry data of this meter."""
        return entry_data(protocol=self.protocol, port=self.port)


@pytest.fixture
async def meter(request: pytest.FixtureRequest, freezer: FrozenDateTimeFactory) -> AsyncIterator[Meter]:
    """A mode C meter (mocked profile), or a simulated DLMS pull meter keeping ``RECORDING``."""
    protocol = getattr(request, "param", "mode_c")
    if protocol == "mode_c":
        yield Meter(protocol, freezer)
        return
    # The tests start at START: a clock moved back after the simulated meter scheduled its
    # port polls would leave them due days later.
    freezer.move_to(START)
    async with ProfilePullMeter(RECORDING, mode_e=protocol == "dlms_mode_e", max_info=128) as simulated:
        yield Meter(protocol, freezer, simulated.port, simulated)
        assert simulated.errors == []


@pytest.fixture
async def entry(hass: HomeAssistant, meter: Meter) -> MockConfigEntry:
    """A meter in Berlin time, the history import off (the gap tests)."""
    await hass.config.async_set_time_zone(ZONE)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=METER_SERIAL,
        data=meter.entry_data(),
        options={CONF_SCAN_INTERVAL: 60, CONF_IMPORT_HISTORY: False},
    )
    entry.add_to_hass(hass)
    return entry


@pytest.mark.parametrize("meter", PROFILE_VARIANTS, indirect=True)
async def test_failed_reads_gap_is_filled(
    hass: HomeAssistant, entry: MockConfigEntry, meter: Meter, freezer: FrozenDateTimeFactory
) -> None:
    """Reads fail from 02:00 to 09:20: hours 02-08 get the meter's consumption, joining without a step."""
    freezer.move_to(START)
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    with meter.serving(read):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await advance(hass, freezer, START + timedelta(seconds=6))  # the guard's confirming read
        statistic_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{METER_SERIAL}_1-0:1.8.0")
        assert statistic_id is not None
        assert hass.states.get(statistic_id).state == str(total(START))
        for minute in range(41, 60):
            await advance(hass, freezer, START.replace(minute=minute, second=5))
        read.side_effect = NoAnswerError("the head slipped off")
        await advance(hass, freezer, datetime(2026, 11, 30, 2, 0, 5, tzinfo=UTC))
        assert hass.states.get(statistic_id).state == "unavailable"
        await compile_until(hass, START.replace(minute=40), datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
        anchor = hourly(hass, statistic_id, START.replace(minute=0), START.replace(minute=0) + HOUR)
        assert len(anchor) == 1
        read.side_effect = lambda *args, **kwargs: readout(dt_util.utcnow())
        await advance(hass, freezer, BACK)
    assert meter.requests == [local(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))], (
        entry.runtime_data.backfill.diagnostics()
    )
    rows = hourly(hass, statistic_id, datetime(2026, 11, 30, 2, 0, tzinfo=UTC), BACK.replace(minute=0))
    assert [dt_util.utc_from_timestamp(row["start"]).hour for row in rows] == list(range(2, 9))
    previous_sum, previous_state = anchor[0]["sum"], anchor[0]["state"]
    errors = []
    for row in rows:
        start = dt_util.utc_from_timestamp(row["start"])
        truth = exact_total(start + HOUR) - exact_total(start)
        errors.append(abs(Decimal(str(row["sum"] - previous_sum)) - truth))
        assert row["state"] >= previous_state
        previous_sum, previous_state = row["sum"], row["state"]
    assert max(errors) < Decimal("0.000001")
    assert previous_state <= float(total(BACK))
    diagnostics = entry.runtime_data.backfill.diagnostics()
    assert diagnostics["kind"] == "gap"
    # A demand profile (mean kW; the DLMS meter's in W, scaler 0): integrated over its 15 minutes.
    assert diagnostics["totals"]["1-0:1.8.0"]["channel"] == "1-0:1.5.0"
    assert diagnostics["totals"]["1-0:1.8.0"]["hours_missing"] == 7
    assert diagnostics["totals"]["1-0:1.8.0"]["hours_filled"] == 7
    assert diagnostics["totals"]["1-0:1.8.0"]["coverage"] == 1.0
    # The hour reads came back: Home Assistant's own row continues the imported sums.
    with meter.serving(read):
        for minute in range(21, 60, 5):
            await advance(hass, freezer, BACK.replace(minute=minute, second=5))
        await compile_until(hass, BACK.replace(minute=20), BACK.replace(minute=0) + HOUR)
    live = hourly(hass, statistic_id, BACK.replace(minute=0), BACK.replace(minute=0) + HOUR)
    assert len(live) == 1
    assert live[0]["sum"] >= previous_sum
    # Hour 09 holds its own consumption and what the profile could not place: the rest of
    # the anchor hour 01 after its last live read (the interval 01:45-02:00).
    step = Decimal(str(live[0]["sum"] - previous_sum))
    last_live = datetime(2026, 11, 30, 1, 59, 5, tzinfo=UTC)
    truth = (
        exact_total(BACK.replace(minute=55, second=5))
        - exact_total(BACK.replace(minute=0))
        + exact_total(last_live + timedelta(minutes=1))
        - exact_total(last_live)
    )
    assert abs(step - truth) < Decimal("0.01")


async def test_meter_without_profile_is_asked_once(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A meter that refuses the profile: the backfill says why and does not ask again for that gap."""
    freezer.move_to(START)
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    refused = AsyncMock(side_effect=ProfileUnavailableError("the meter did not enter programming mode"))
    with (
        patch("custom_components.landis_gyr_optical.coordinator.read_meter", read),
        patch(BACKFILL, refused),
    ):
        await _gap_after_first_hour(hass, entry, freezer)
    assert refused.await_count == 1
    diagnostics = entry.runtime_data.backfill.diagnostics()
    assert "programming mode" in diagnostics["error"]


@pytest.mark.parametrize("mode_e", [True, False], ids=["dlms_mode_e", "dlms_hdlc"])
async def test_dlms_meter_without_profile_is_asked_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, mode_e: bool
) -> None:
    """A DLMS pull meter without a Profile Generic: one association asks, the gap is not asked again."""
    await hass.config.async_set_time_zone(ZONE)
    protocol = "dlms_mode_e" if mode_e else "dlms_hdlc"
    freezer.move_to(START)
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    async with ProfilePullMeter(None, mode_e=mode_e) as simulated:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=METER_SERIAL,
            data=Meter(protocol, freezer, simulated.port).entry_data(),
            options={CONF_SCAN_INTERVAL: 60, CONF_IMPORT_HISTORY: False},
        )
        entry.add_to_hass(hass)
        with patch(READS[protocol], read), patch(DLMS_BACKFILL, clocked_dlms_read(freezer)):
            await _gap_after_first_hour(hass, entry, freezer)
        assert simulated.sessions == (1 if mode_e else 0)
        assert sum(apdu[:1] == b"\x60" for apdu in simulated.apdus) == 1, "one association"
    diagnostics = entry.runtime_data.backfill.diagnostics()
    assert "keeps no load profile 1-0:99.1.0:" in diagnostics["error"]


async def _gap_after_first_hour(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Set up at START, compile hour 01, come back at BACK and read once more a minute later."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await advance(hass, freezer, START + timedelta(seconds=6))
    await compile_until(hass, START.replace(minute=40), datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    await advance(hass, freezer, BACK)
    await advance(hass, freezer, BACK + timedelta(minutes=1))


def test_channels_and_clock() -> None:
    """Energy channels win over demand; the clock offset comes from 0.9.1/0.9.2."""
    profile = parse_profile(
        "P.01(2611300015)(00)(15)(3)(1.5.0)(kW)(1.29.0)(kWh)(2.5.0)(kW)\r\n(1)(0.25)(0)\r\n"
    )
    assert profile_channel(ObisCode.parse("1.8.0"), profile) == ObisCode.parse("1.29.0")
    assert profile_channel(ObisCode.parse("2.8.0"), profile) == ObisCode.parse("2.5.0")
    assert profile_channel(ObisCode.parse("3.8.0"), profile) is None
    data = replace(
        _data(make_readout("0.9.1(120500)\r\n0.9.2(261130)\r\n")),
        read_at=datetime(2026, 11, 30, 12, 0, tzinfo=dt_util.get_default_time_zone()),
    )
    assert clock_offset(data) == timedelta(minutes=5)
    assert clock_offset(_data(make_readout("0.9.1(999999)\r\n0.9.2(261130)\r\n"))) == timedelta(0)
    assert clock_offset(_data(make_readout("1.8.0(1*kWh)\r\n"))) == timedelta(0)


def _data(value: Any) -> Any:
    from custom_components.landis_gyr_optical.coordinator import MeterData

    return MeterData(value, {}, dt_util.utcnow(), 1.0)


@pytest.mark.parametrize("meter", PROFILE_VARIANTS, indirect=True)
async def test_new_entry_imports_the_stored_history(
    hass: HomeAssistant, meter: Meter, freezer: FrozenDateTimeFactory
) -> None:
    """A new entry (history import on by default) starts with the profile's hours; sums end at zero."""
    await hass.config.async_set_time_zone(ZONE)
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=METER_SERIAL, data=meter.entry_data(), options={CONF_SCAN_INTERVAL: 60}
    )
    entry.add_to_hass(hass)
    freezer.move_to(START)
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    with meter.serving(read):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await advance(hass, freezer, START + timedelta(seconds=6))
        await advance(hass, freezer, START + timedelta(seconds=70))
        await async_wait_recording_done(hass)
    assert meter.requests == [None], entry.runtime_data.backfill.diagnostics()
    statistic_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{METER_SERIAL}_1-0:1.8.0")
    assert statistic_id is not None
    rows = hourly(hass, statistic_id, datetime(2026, 11, 28, tzinfo=UTC), START)
    # The recording's first interval is 00:00-00:15 Berlin on the 29th (23:00 UTC): from that
    # hour to 00:00 UTC today, the last whole hour before the first reading (01:40).
    assert dt_util.utc_from_timestamp(rows[0]["start"]) == datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert dt_util.utc_from_timestamp(rows[-1]["start"]) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert len(rows) == 26
    assert rows[-1]["sum"] <= 0
    assert rows[-1]["state"] <= float(total(START))
    sums = [row["sum"] for row in rows]
    assert sums == sorted(sums)
    diagnostics = entry.runtime_data.backfill.diagnostics()
    assert diagnostics["kind"] == "history"
    assert diagnostics["totals"]["1-0:1.8.0"]["hours_filled"] == 26
    # Export is recorded as 2.5.0 (all zero here): its hours are filled with no energy.
    assert diagnostics["totals"]["1-0:2.8.0"]["energy_filled_kwh"] == 0.0


async def setup_and_publish(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    read: AsyncMock,
    protocol: str = "mode_c",
) -> str:
    """Set the entry up at START, confirm the first total, compile hour 01; return the statistic id."""
    freezer.move_to(START)
    with patch(READS[protocol], read):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await advance(hass, freezer, START + timedelta(seconds=6))
        await advance(hass, freezer, START.replace(minute=59, second=5))
        await compile_until(hass, START.replace(minute=40), datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    statistic_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{METER_SERIAL}_1-0:1.8.0")
    assert statistic_id is not None
    return statistic_id


@pytest.mark.parametrize("meter", PROFILE_VARIANTS, indirect=True)
async def test_restart_after_downtime_is_filled(
    hass: HomeAssistant, entry: MockConfigEntry, meter: Meter, freezer: FrozenDateTimeFactory
) -> None:
    """The entry stops at 01:59 and starts again at 09:20: the stored last total anchors the gap."""
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    statistic_id = await setup_and_publish(hass, entry, freezer, read, meter.protocol)
    before = entry.runtime_data.backfill
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert before.diagnostics() is None
    freezer.move_to(BACK)
    with meter.serving(read):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        await async_wait_recording_done(hass)
    assert meter.requests == [local(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))], (
        entry.runtime_data.backfill.diagnostics()
    )
    rows = hourly(hass, statistic_id, datetime(2026, 11, 30, 2, 0, tzinfo=UTC), BACK)
    assert len(rows) == 7
    assert entry.runtime_data.backfill.diagnostics()["totals"]["1-0:1.8.0"]["coverage"] == 1.0


async def test_retries_and_the_hour_boundary(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """No backfill in the first minute of an hour; a silent profile read is retried, then given up."""
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    await setup_and_publish(hass, entry, freezer, read)
    silent = AsyncMock(side_effect=NoAnswerError("no answer from the meter"))
    with (
        patch("custom_components.landis_gyr_optical.coordinator.read_meter", read),
        patch("custom_components.landis_gyr_optical.backfill.read_profile", silent),
    ):
        await advance(hass, freezer, datetime(2026, 11, 30, 9, 0, 20, tzinfo=UTC))
        assert silent.await_count == 0
        for minute in range(1, 6):
            await advance(hass, freezer, datetime(2026, 11, 30, 9, minute, 20, tzinfo=UTC))
    assert silent.await_count == 3
    assert "no answer" in entry.runtime_data.backfill.diagnostics()["error"]


async def test_gap_without_recorded_anchor_is_given_up(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """When the last live hour never reached the statistics, nothing is guessed (three looks)."""
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    freezer.move_to(START)
    profile = AsyncMock()
    with (
        patch("custom_components.landis_gyr_optical.coordinator.read_meter", read),
        patch("custom_components.landis_gyr_optical.backfill.read_profile", profile),
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await advance(hass, freezer, START + timedelta(seconds=6))
        for minute in range(20, 24):
            await advance(hass, freezer, datetime(2026, 11, 30, 9, minute, 20, tzinfo=UTC))
    assert profile.await_count == 0
    assert entry.runtime_data.backfill.diagnostics() is None


async def test_sensor_not_registered_and_other_variants(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A total whose sensor was removed is skipped; a mode A meter never reads a profile."""
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    statistic_id = await setup_and_publish(hass, entry, freezer, read)
    registry = er.async_get(hass)
    registry.async_remove(statistic_id)
    registry.async_remove(registry.async_get_entity_id("sensor", DOMAIN, f"{METER_SERIAL}_1-0:2.8.0") or "")
    profile = AsyncMock()
    with (
        patch("custom_components.landis_gyr_optical.coordinator.read_meter", read),
        patch("custom_components.landis_gyr_optical.backfill.read_profile", profile),
    ):
        await advance(hass, freezer, BACK)
    assert profile.await_count == 0
    # On a port of its own: two meters on one line would rest it between their reads (real time).
    other = MockConfigEntry(
        domain=DOMAIN, unique_id="other", data=entry_data(protocol="mode_a", port="/dev/ttyUSB1")
    )
    other.add_to_hass(hass)
    with (
        patch("custom_components.landis_gyr_optical.coordinator.read_meter", read),
        patch("custom_components.landis_gyr_optical.backfill.read_profile", profile),
    ):
        assert await hass.config_entries.async_setup(other.entry_id)
        await advance(hass, freezer, BACK + timedelta(seconds=6))
    assert not other.runtime_data.backfill.supported
    assert profile.await_count == 0


async def test_unload_cancels_a_running_backfill(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Unloading during a profile read cancels it and closes cleanly."""
    read = AsyncMock(side_effect=lambda *args, **kwargs: readout(dt_util.utcnow()))
    await setup_and_publish(hass, entry, freezer, read)
    started = asyncio.Event()

    async def endless(*args: object) -> LoadProfile:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("never")

    with (
        patch("custom_components.landis_gyr_optical.coordinator.read_meter", read),
        patch("custom_components.landis_gyr_optical.backfill.read_profile", endless),
    ):
        freezer.move_to(BACK)
        async_fire_time_changed(hass, BACK)
        await asyncio.wait_for(started.wait(), 5)
        backfill = entry.runtime_data.backfill
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert backfill.diagnostics() is None
