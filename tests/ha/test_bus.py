"""The bus of a line: one read at a time, rests, one kept connection, members and conflicts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import itertools
import os
from pathlib import Path
import time
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.bus import (
    BUSES,
    Bus,
    BusConflictError,
    Member,
    async_find,
    async_join,
    async_leave,
    resolve_port,
)
from custom_components.landis_gyr_optical.const import DOMAIN
from custom_components.landis_gyr_optical.diagnostics import async_get_config_entry_diagnostics
from custom_components.landis_gyr_optical.meter.errors import NoAnswerError, PortError
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.readout import Readout
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, Variant
from tests.simulator import PtyMeter, quick_profile

from .conftest import entry_data, make_readout

IEC = MeterConfig(Variant.MODE_C, address="1")
HDLC = MeterConfig(Variant.DLMS_HDLC)
LINE = LineSettings(300, Framing.SEVEN_E_ONE)


def _member(entry_id: str, config: MeterConfig = IEC) -> Member:
    return Member(entry_id, f"meter {entry_id}", "/dev/ttyUSB0", config)


def test_resolve_port(tmp_path: Path) -> None:
    """A by-id link and its device are one line; URLs keep their host and lose a trailing slash."""
    device = tmp_path / "ttyUSB0"
    device.touch()
    link = tmp_path / "by-id"
    link.symlink_to(device)
    assert resolve_port(str(link)) == str(device)
    assert resolve_port("SOCKET://host:1/") == "socket://host:1"


def test_push_meter_owns_its_line() -> None:
    """A pushing meter joins only an empty line, and nothing joins its line."""
    bus = Bus("/dev/ttyUSB0")
    bus.join(_member("a"))
    with pytest.raises(
        BusConflictError,
        match="meter p pushes on /dev/ttyUSB0, which meter a also use: a listening meter needs",
    ):
        bus.join(_member("p", MeterConfig(Variant.SML)))
    alone = Bus("/dev/ttyUSB1")
    alone.join(_member("p", MeterConfig(Variant.DLMS_PUSH)))
    alone.join(_member("p", MeterConfig(Variant.DLMS_PUSH)))  # the same entry again (a reload)
    with pytest.raises(BusConflictError, match="meter p pushes"):
        alone.join(_member("b"))
    assert [member.entry_id for member in bus.others("x")] == ["a"]
    assert repr(bus) == "Bus('/dev/ttyUSB0', 1 meters)"


def test_line_rest_per_protocol() -> None:
    """IEC sessions (mode E too) rest 1.5 s, HAN its request pause, HDLC a frame gap."""
    assert IEC.line_rest == MeterConfig(Variant.DLMS_MODE_E).line_rest == 1.5
    assert MeterConfig(Variant.EREDES_HAN).line_rest == 1.0
    assert HDLC.line_rest == 0.1


async def test_reads_run_one_after_the_other_with_the_rest_between() -> None:
    """Reads queued at once run first come first served, never together, a rest apart."""
    bus = Bus("/dev/ttyUSB0")
    for name in "abc":
        bus.join(_member(name, HDLC))
    spans: list[tuple[str, float, float]] = []
    running = 0

    def reader(name: str) -> Any:
        async def read() -> Readout:
            nonlocal running
            running += 1
            assert running == 1
            started = time.monotonic()
            await asyncio.sleep(0.02)
            running -= 1
            spans.append((name, started, time.monotonic()))
            return make_readout()

        return read

    await asyncio.gather(*(bus.read(HDLC, reader(name)) for name in "abcab"))
    assert [name for name, _, _ in spans] == list("abcab")
    gaps = [later[1] - earlier[2] for earlier, later in itertools.pairwise(spans)]
    assert min(gaps) >= HDLC.line_rest - 0.005
    assert bus.stats.turns == 5 and bus.stats.overlaps == 0
    assert bus.stats.longest_wait >= 4 * 0.02


async def test_a_meter_alone_on_its_line_needs_no_rest() -> None:
    """Nobody else heard it: the same meter is read again at once (a confirming read, say)."""
    bus = Bus("/dev/ttyUSB0")
    bus.join(_member("a"))
    started = time.monotonic()
    for _ in range(3):
        await bus.read(IEC, AsyncMock(return_value=make_readout()))
    assert time.monotonic() - started < IEC.line_rest


async def test_a_meters_own_exclusive_read_after_its_poll_needs_no_rest() -> None:
    """The backfill's profile read right after the meter's poll; a stranger's test read rests first."""
    bus = Bus("/dev/ttyUSB0")
    bus.join(_member("a"))
    started = time.monotonic()
    await bus.read(IEC, AsyncMock(return_value=make_readout()))
    async with bus.exclusive(IEC):
        assert time.monotonic() - started < IEC.line_rest
    await bus.read(IEC, AsyncMock(return_value=make_readout()))
    assert time.monotonic() - started < IEC.line_rest
    async with bus.exclusive():
        assert time.monotonic() - started >= IEC.line_rest - 0.01


async def test_a_silent_meter_delays_the_others_once_per_turn() -> None:
    """A read that times out gives the line back; the next meter reads right after its rest."""
    bus = Bus("/dev/ttyUSB0")
    bus.join(_member("silent", HDLC))
    bus.join(_member("ok", HDLC))

    async def silent() -> Readout:
        await asyncio.sleep(0.05)
        raise NoAnswerError("no answer")

    async def answers() -> Readout:
        return make_readout()

    results = await asyncio.gather(
        bus.read(HDLC, silent),
        bus.read(HDLC, answers),
        bus.read(HDLC, silent),
        bus.read(HDLC, answers),
        return_exceptions=True,
    )
    assert [type(result).__name__ for result in results] == [
        "NoAnswerError",
        "Readout",
        "NoAnswerError",
        "Readout",
    ]


@contextlib.asynccontextmanager
async def _pty() -> AsyncIterator[PtyMeter]:
    async with PtyMeter(quick_profile("lgz_e350", lines=2)) as meter:
        yield meter


async def test_connection_kept_between_turns_while_shared() -> None:
    """Two meters: one connection for both reads; one meter: closed after its read."""
    async with _pty() as meter:
        bus = Bus(meter.port)
        bus.join(_member("a", HDLC))
        bus.join(_member("b", HDLC))

        async def read() -> Readout:
            link = bus.link_factory(meter.port, LineSettings(9600, Framing.EIGHT_N_ONE))
            async with link:
                await link.write(b"x")
            return make_readout()

        await bus.read(HDLC, read)
        await bus.read(HDLC, read)
        assert (bus.stats.opens, bus.stats.reused) == (1, 1)
        assert await bus.leave("b") is False
        await bus.read(HDLC, read)
        assert (bus.stats.opens, bus.stats.reused) == (1, 2)
        await meter.wait_until(lambda: meter.closes == 1)
        await bus.read(HDLC, read)
        assert bus.stats.opens == 2
        await meter.wait_until(lambda: meter.closes == 2)
        assert await bus.leave("a") is True


async def test_kept_connection_reopened_for_other_parity_settings() -> None:
    """A member with software parity gets a fresh connection (the decoder depends on it)."""
    async with _pty() as meter:
        bus = Bus(meter.port)
        bus.join(_member("a", HDLC))
        bus.join(_member("b", HDLC))

        def read(parity: bool) -> Any:
            async def run() -> Readout:
                link = bus.link_factory(meter.port, LINE)
                link.software_parity = parity
                await link.open()
                await link.close()
                return make_readout()

            return run

        await bus.read(HDLC, read(False))
        await bus.read(HDLC, read(True))
        assert (bus.stats.opens, bus.stats.reused) == (2, 0)
        await bus.close()


async def test_failed_kept_connection_retried_once_on_a_new_one() -> None:
    """A connection dropped while idle costs no read: the read runs again on a new connection."""
    bus = Bus("/dev/ttyUSB0")
    bus.join(_member("a", HDLC))
    bus.join(_member("b", HDLC))
    calls: list[str] = []

    async def first() -> Readout:
        bus.link_factory("/dev/ttyUSB0", LINE)  # the connection the next turn finds
        return make_readout()

    async def dropped() -> Readout:
        calls.append("read")
        if len(calls) == 1:
            raise PortError("/dev/ttyUSB0", "the connection was closed")
        return make_readout()

    with patch("custom_components.landis_gyr_optical.bus._HeldLink.release", AsyncMock()):
        await bus.read(HDLC, first)
        await bus.read(HDLC, dropped)
        assert calls == ["read", "read"]
    # On a connection opened for this very read, a port error is the read's outcome.
    alone = Bus("/dev/ttyUSB1")
    calls.clear()
    with pytest.raises(PortError):
        await alone.read(HDLC, dropped)
    assert calls == ["read"]


async def test_exclusive_pauses_a_listener_and_rests_after(hass: HomeAssistant) -> None:
    """A flow's read stops the pushing member's listener and leaves the line at rest afterwards."""
    bus = Bus("/dev/ttyUSB0")
    paused: list[str] = []

    @contextlib.asynccontextmanager
    async def pause() -> AsyncIterator[None]:
        paused.append("stop")
        yield
        paused.append("start")

    bus.join(Member("p", "pusher", "/dev/ttyUSB0", MeterConfig(Variant.SML), pause=pause))
    async with bus.exclusive():
        assert bus.busy and paused == ["stop"]
    assert paused == ["stop", "start"] and not bus.busy
    started = time.monotonic()
    await bus.read(HDLC, AsyncMock(return_value=make_readout()))
    assert time.monotonic() - started >= 1.5 - 0.01


async def test_entries_on_one_port_share_one_bus(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """Two entries on one port: one bus; the second leaving keeps the first reading; a pusher is refused."""
    first = MockConfigEntry(domain=DOMAIN, title="one", unique_id="1", data=entry_data(address="1"))
    second = MockConfigEntry(domain=DOMAIN, title="two", unique_id="2", data=entry_data(address="2"))
    pusher = MockConfigEntry(domain=DOMAIN, title="push", unique_id="3", data=entry_data(protocol="sml"))
    for entry in (first, second, pusher):
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (first.state, second.state) == (ConfigEntryState.LOADED, ConfigEntryState.LOADED)
    assert pusher.state is ConfigEntryState.SETUP_ERROR
    assert pusher.reason is not None and "which one, two also use" in pusher.reason
    bus = await async_find(hass, first.data["port"])
    assert bus is not None and set(bus.members) == {first.entry_id, second.entry_id}
    assert first.runtime_data.bus is second.runtime_data.bus is bus
    line = (await async_get_config_entry_diagnostics(hass, first))["line"]
    assert line["meters"] == 2
    assert line["other_meters"] == [
        {"entry_id": second.entry_id, "protocol": "mode_c", "address_set": True, "slave": 1}
    ]
    assert line["turns"] >= 2
    assert await hass.config_entries.async_remove(second.entry_id)
    await first.runtime_data.async_refresh()
    assert first.runtime_data.last_update_success
    assert set(bus.members) == {first.entry_id}
    assert await hass.config_entries.async_unload(first.entry_id)
    assert not hass.data[BUSES]
    assert await async_find(hass, "/dev/nowhere") is None


async def test_a_link_pointing_elsewhere_finds_its_bus(hass: HomeAssistant, tmp_path: Path) -> None:
    """After a replug the by-id link resolves to another device: the same stored port is the same bus."""
    device = tmp_path / "ttyUSB0"
    device.touch()
    link = tmp_path / "usb-adapter"
    link.symlink_to(device)
    first = await async_join(hass, Member("a", "meter a", str(link), IEC))
    device.rename(tmp_path / "ttyUSB1")
    link.unlink()
    link.symlink_to(tmp_path / "ttyUSB1")
    second = await async_join(
        hass, Member("b", "meter b", str(link), MeterConfig(Variant.MODE_C, address="2"))
    )
    assert second is first and await async_find(hass, str(link)) is first
    await async_leave(hass, first, "a")
    await async_leave(hass, first, "b")
    assert not hass.data[BUSES]


async def test_failed_setup_leaves_the_bus(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """An entry whose first read fails is not left on its bus (set-up is retried later)."""
    mock_read_meter.side_effect = NoAnswerError("silent")
    entry = MockConfigEntry(domain=DOMAIN, title="one", unique_id="1", data=entry_data())
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.data[BUSES]
    assert os.environ is not None
