"""The load profile fills the hours a real Home Assistant missed, read from the simulated meter.

Home Assistant's own clock cannot be moved, so the downtime is placed in the past instead:
the entry is stopped, its stored last total is set to seven hours ago (the value the meter
had then, by its load profile), and that hour's statistics row is what the recorder would
have compiled. Started again, the entry sees the total seven hours on, reads the meter's
profile over the pty (programming mode of a mode C meter; the Profile Generic of a DLMS
meter read by direct HDLC) and imports the hours in between.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
import json
from pathlib import Path
import shutil
import tempfile
from typing import Any

import pytest

from tests.simulator.recording import pattern_power

from .conftest import HEAD_NAME, HassInstance
from .flows import FlowDriver
from .hass_client import HassClient, HassWebSocket, wait_for
from .optical_head import DLMS_PROFILE, OpticalHeadProcess
from .test_real_hass import ENERGY_IMPORT, Phases, entry_entities, protocol_input, start_flow_on_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

METERS = {
    "mode_c": ("lgz_e350_profile", Decimal("219.252")),
    "dlms_hdlc": (DLMS_PROFILE, Decimal("123456.78")),
}
"""The simulated meter of each protocol and its import total in kWh (its registers do not move)."""
DOWN_HOURS = 7
HOUR = timedelta(hours=1)
PERIOD = timedelta(minutes=15)


@pytest.fixture
async def profile_head(tmp_path: Path, protocol: str) -> AsyncIterator[OpticalHeadProcess]:
    """A head on a meter that keeps a twelve-hour 15-minute load profile (an E350, or a DLMS meter)."""
    devices = Path(tempfile.mkdtemp(prefix="head-"))
    head = OpticalHeadProcess(
        devices / "serial" / "by-id" / HEAD_NAME,
        profile=METERS[protocol][0],
        log=tmp_path / "optical-head.log",
    )
    try:
        await head.start()
        yield head
    finally:
        final = await head.stop()
        shutil.rmtree(devices, ignore_errors=True)
    assert not final.get("errors"), f"the simulated meter failed inside: {final['errors']}"


def energy_between(start: datetime, end: datetime) -> Decimal:
    """What the simulated meter recorded in the intervals ending in ``(start, end]`` (UTC = its clock)."""
    moment = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0) + PERIOD
    total = Decimal(0)
    while moment <= end:
        if moment > start:
            total += pattern_power(moment.replace(tzinfo=None)) * 900 / 3600
        moment += PERIOD
    return total


def hour_of(moment: datetime) -> datetime:
    """The start of the hour."""
    return moment.replace(minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("protocol", list(METERS))
async def test_missed_hours_are_filled_from_the_load_profile(
    hass_instance: HassInstance,
    hass_client: HassClient,
    websocket: HassWebSocket,
    profile_head: OpticalHeadProcess,
    protocol: str,
) -> None:
    """Hours missed, hours filled, largest hourly error; the Energy dashboard stays clean."""
    process = hass_instance.process
    log_start = process.log_offset()
    total = METERS[protocol][1]
    phases = Phases("backfill" if protocol == "mode_c" else f"backfill_{protocol}")
    flows = FlowDriver(hass_client, websocket)
    step = await start_flow_on_port(flows, str(profile_head.link))
    result = await flows.submit(step, protocol_input(protocol))
    if protocol == "dlms_hdlc":
        assert (result["type"], result["step_id"]) == ("form", "dlms_pull"), flows.history()
        result = await flows.submit(result, {"slave": 1})
    assert result["type"] == "create_entry", flows.history()
    entry_id = result["result"]["entry_id"]
    entities = await wait_for(
        lambda: _entities(websocket, entry_id), timeout=30, what="the entities", details=process.log_tail
    )
    statistic_id = entities[ENERGY_IMPORT]["entity_id"]
    phases.done("config_flow")

    # The new entry imported the meter's stored history (on by default).
    history = await wait_for(
        lambda: _backfill(hass_client, entry_id, "history"),
        timeout=90,
        what="the history import",
        details=process.log_tail,
    )
    imported = history["totals"][ENERGY_IMPORT]
    assert imported["hours_filled"] >= 10, history
    assert imported["coverage"] == 1.0, history
    phases.done("history_import")

    # --- the downtime, placed seven hours back -----------------------------------------------
    now = datetime.now(UTC)
    last_live = hour_of(now - DOWN_HOURS * HOUR) + HOUR - timedelta(seconds=1)
    anchor_hour = hour_of(last_live)
    anchor_state = total - energy_between(anchor_hour + HOUR, now)
    await websocket.command("recorder/clear_statistics", statistic_ids=[statistic_id])
    await websocket.command("config_entries/disable", entry_id=entry_id, disabled_by="user")
    await websocket.command(
        "recorder/import_statistics",
        metadata={
            "has_sum": True,
            "mean_type": 0,
            "name": None,
            "source": "recorder",
            "statistic_id": statistic_id,
            "unit_class": "energy",
            "unit_of_measurement": "kWh",
        },
        stats=[{"start": anchor_hour.isoformat(), "state": float(anchor_state), "sum": 100.0}],
    )
    store = process.config_dir / ".storage" / f"landis_gyr_optical.{entry_id}"
    stored = json.loads(store.read_text(encoding="utf-8"))
    stored["data"]["references"][ENERGY_IMPORT] = [str(anchor_state), last_live.timestamp()]
    store.write_text(json.dumps(stored), encoding="utf-8")
    await websocket.command("config_entries/disable", entry_id=entry_id, disabled_by=None)
    phases.done("downtime")

    gap = await wait_for(
        lambda: _backfill(hass_client, entry_id, "gap"),
        timeout=120,
        what="the gap backfill",
        details=process.log_tail,
    )
    filled = gap["totals"][ENERGY_IMPORT]
    live_hour = hour_of(datetime.fromisoformat(gap["at"]))
    missed = int((live_hour - anchor_hour - HOUR) / HOUR)
    assert filled["hours_missing"] == missed, gap
    assert filled["hours_filled"] == missed, gap
    rows = (
        await websocket.command(
            "recorder/statistics_during_period",
            start_time=anchor_hour.isoformat(),
            end_time=live_hour.isoformat(),
            statistic_ids=[statistic_id],
            period="hour",
            types=["state", "sum"],
        )
    )[statistic_id]
    assert len(rows) == missed + 1, rows
    errors: list[float] = []
    for previous, row in pairwise(rows):
        start = datetime.fromtimestamp(row["start"] / 1000, UTC)
        truth = energy_between(start, start + HOUR)
        errors.append(abs(float(Decimal(str(row["sum"])) - Decimal(str(previous["sum"])) - truth)))
        assert row["state"] >= previous["state"], rows
    assert rows[-1]["state"] <= float(total), rows
    assert max(errors) < 1e-6, errors

    await websocket.command(
        "energy/save_prefs",
        energy_sources=[
            {
                "type": "grid",
                "flow_from": [
                    {
                        "stat_energy_from": statistic_id,
                        "stat_cost": None,
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "flow_to": [],
                "cost_adjustment_day": 0,
            }
        ],
    )
    validation = await websocket.command("energy/validate")
    assert validation == {"energy_sources": [[]], "device_consumption": [], "device_consumption_water": []}, (
        validation
    )
    phases.done("gap_backfill")
    assert not process.errors(log_start, about=None)
    phases.save(
        hours_missed=missed, hours_filled=filled["hours_filled"], largest_hourly_error_kwh=max(errors)
    )


async def _entities(websocket: HassWebSocket, entry_id: str) -> dict[str, dict[str, Any]] | None:
    entities = await entry_entities(websocket, entry_id)
    return entities if ENERGY_IMPORT in entities else None


async def _backfill(client: HassClient, entry_id: str, kind: str) -> dict[str, Any] | None:
    # 404 while the entry is (re)loading.
    diagnostics = await client.rest("GET", f"/api/diagnostics/config_entry/{entry_id}", expect=None)
    if not isinstance(diagnostics, dict) or "data" not in diagnostics:
        return None
    backfill = diagnostics["data"].get("backfill")
    if backfill is None or backfill["kind"] != kind or ENERGY_IMPORT not in backfill["totals"]:
        return None
    return backfill
