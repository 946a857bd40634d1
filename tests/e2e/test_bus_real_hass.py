"""Several meters on one line in a real Home Assistant: two, then eight entries on one port.

The line is an RS-485 adapter with eight addressed meters behind it (``optical_head --bus
8``). The second meter is added through the port list's "add another meter on this bus"
choice, which asks for its address; the other six are added at once, in six flows side by side. Every entry reads
through the line's bus: each meter is polled every interval (5 s, while a cycle of eight
takes about 24 s) without a failed read, the line never carries two sessions at once, and
reloading every entry at once loses no read. About 110 s, nearly all of it line time: a mode C
read of each meter starts with its sign-on at 300 Bd and the line rests 1.5 s after it, so a
cycle of eight takes about 24 s; the six meters added side by side (about 40 s) take their test
reads, first reads and confirming reads in turn with the others' polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
import shutil
import tempfile
from typing import Any

import pytest

from .conftest import HassInstance
from .flows import FlowDriver, field
from .hass_client import HassClient, HassWebSocket, wait_for
from .hass_process import DOMAIN
from .optical_head import OpticalHeadProcess
from .test_real_hass import SCAN_INTERVAL, Phases, start_flow_on_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

METERS = 8
FIRST_ADDRESS = 10001
CYCLE_TIMEOUT = 90.0
"""Seconds allowed for every meter to be read once more (a cycle of eight takes about 24 s)."""


@pytest.fixture
async def line(tmp_path: Path) -> AsyncIterator[OpticalHeadProcess]:
    """An RS-485 adapter with eight meters behind it, each answering its own address."""
    devices = Path(tempfile.mkdtemp(prefix="bus-"))
    head = OpticalHeadProcess(
        devices / "serial" / "by-id" / "usb-RS485_adapter-if00-port0",
        log=tmp_path / "line.log",
        reaction=None,
        bus=METERS,
    )
    try:
        await head.start()
        yield head
    finally:
        final = await head.stop()
        shutil.rmtree(devices, ignore_errors=True)
    assert not final.get("errors"), f"a simulated meter failed inside: {final['errors']}"
    assert (final.get("collisions"), final.get("overlaps")) == (0, 0), final


def bus_input(address: str) -> dict[str, Any]:
    """The protocol step's answer for a meter on the line: mode C, its address, 9600 Bd."""
    return {
        "protocol": "mode_c",
        "advanced": {
            "max_baud": "9600",
            "address": address,
            "wake_up": False,
            "scan_interval": SCAN_INTERVAL,
        },
    }


async def add_meter(flows: FlowDriver, port: str, address: str) -> dict[str, Any]:
    """Add a meter through the port list's bus choice; returns the created entry."""
    step = await flows.start(DOMAIN)
    assert (step["type"], step["step_id"]) == ("form", "user"), flows.history()
    options = field(step, "port")["selector"]["select"]["options"]
    labels = {option["value"]: option["label"] for option in options}
    assert labels[port].startswith("+ "), labels
    step = await flows.submit(step, {"port": port})
    assert (step["type"], step["step_id"]) == ("form", "protocol"), flows.history()
    result = await flows.submit(step, bus_input(address))
    assert result["type"] == "create_entry", flows.history()
    return result["result"]


async def test_meters_on_one_line(
    hass_instance: HassInstance, hass_client: HassClient, websocket: HassWebSocket, line: OpticalHeadProcess
) -> None:
    """Two, then eight meters on one port: every poll succeeds, one session at a time, reload of all."""
    process = hass_instance.process
    log_start = process.log_offset()
    port = str(line.link)
    phases = Phases("meters_on_one_line")

    async def diagnostics(entry_id: str) -> dict[str, Any]:
        return (await hass_client.rest("GET", f"/api/diagnostics/config_entry/{entry_id}"))["data"]

    async def statistics(entry_ids: list[str]) -> list[dict[str, Any]]:
        return [(await diagnostics(entry_id))["statistics"] for entry_id in entry_ids]

    async def each_read_again(entry_ids: list[str], what: str) -> list[dict[str, Any]]:
        before = [item["reads"] for item in await statistics(entry_ids)]

        async def check() -> list[dict[str, Any]] | None:
            now = await statistics(entry_ids)
            return now if all(item["reads"] > done for item, done in zip(now, before, strict=True)) else None

        return await wait_for(check, timeout=CYCLE_TIMEOUT, what=what, details=process.log_tail)

    # --- the first meter, typed; the second through "add another meter on this bus" -------------
    flows = FlowDriver(hass_client, websocket, timeout=CYCLE_TIMEOUT)
    step = await start_flow_on_port(flows, port)
    result = await flows.submit(step, bus_input(str(FIRST_ADDRESS)))
    assert result["type"] == "create_entry", flows.history()
    entry_ids = [result["result"]["entry_id"]]
    step = await flows.start(DOMAIN)
    step = await flows.submit(step, {"port": port})
    step = await flows.submit(step, bus_input(""))
    assert step["errors"] == {"address": "address_required_on_bus"}, flows.history()
    step = await flows.submit(step, bus_input(str(FIRST_ADDRESS)))
    assert step["errors"] == {"address": "address_in_use"}, flows.history()
    result = await flows.submit(step, bus_input(str(FIRST_ADDRESS + 1)))
    assert result["type"] == "create_entry", flows.history()
    entry_ids.append(result["result"]["entry_id"])
    phases.done("two_meters_added")

    # --- two meters polled for several intervals -------------------------------------------------
    for _ in range(2):
        stats = await each_read_again(entry_ids, "both meters to be read again")
    assert [item["failures"] for item in stats] == [0, 0], stats
    phases.done("two_meters_two_cycles")

    # --- six more at once, then eight polled ------------------------------------------------------
    # Six flows side by side, as six browser tabs would: their test reads and the new entries'
    # first reads take their turns on the line with the polls of the meters already there.
    created = await asyncio.gather(
        *(
            add_meter(
                FlowDriver(hass_client, websocket, timeout=CYCLE_TIMEOUT), port, str(FIRST_ADDRESS + index)
            )
            for index in range(2, METERS)
        )
    )
    entry_ids += [entry["entry_id"] for entry in created]
    assert all(entry["state"] == "loaded" for entry in created), created
    phases.done("six_meters_added")
    stats = await each_read_again(entry_ids, "every meter on the line to be read again")
    assert [item["failures"] for item in stats] == [0] * METERS, stats
    phases.done("eight_meters_one_cycle")
    line_info = (await diagnostics(entry_ids[0]))["line"]
    assert line_info["meters"] == METERS and len(line_info["other_meters"]) == METERS - 1, line_info

    # --- reload every entry at once -----------------------------------------------------------------
    await asyncio.gather(
        *(
            hass_client.rest(
                "POST", f"/api/config/config_entries/entry/{entry_id}/reload", timeout=CYCLE_TIMEOUT
            )
            for entry_id in entry_ids
        )
    )
    entries = await hass_client.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    assert {entry["entry_id"]: entry["state"] for entry in entries} == dict.fromkeys(entry_ids, "loaded")
    # Every entry's set-up read is a read of its meter: the reload itself was a cycle of eight.
    stats = await statistics(entry_ids)
    assert all(item["reads"] >= 1 for item in stats), stats
    assert [item["failures"] for item in stats] == [0] * METERS, stats
    phases.done("reload_of_all_entries")
    phases.save()
    await line.wait(lambda: line.sessions > 0, "the line's counters")
    assert (line.collisions, line.overlaps) == (0, 0)
    errors = process.errors(log_start)
    assert not errors, "\n".join(error.text for error in errors)
