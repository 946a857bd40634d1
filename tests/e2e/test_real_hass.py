"""The integration in a real Home Assistant process, driven through its REST and websocket APIs.

One meter's whole life: the config flow as the UI runs it, the entities and the device, the
energy dashboard with no issue, unplugging and replugging the head, unloading the entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
import json
import time
from typing import Any
from urllib.parse import quote

import pytest

from .conftest import ARTIFACTS, HassInstance
from .flows import FlowDriver, field_names, select_options
from .hass_client import HassClient, HassWebSocket, wait_for
from .hass_process import DOMAIN
from .optical_head import OpticalHeadProcess, open_descriptors

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SCAN_INTERVAL = 5
"""Seconds between reads in these tests (the integration's minimum)."""
STATE_TIMEOUT = 30.0
ENERGY_IMPORT, ENERGY_EXPORT, NET_POWER = "1-0:1.8.0", "1-0:2.8.0", "1-0:16.7.0"
UNAVAILABLE = "unavailable"

EXPECTED_SENSORS = {
    # OBIS code: (device class, state class, unit, English name, state from the lgz_e350 profile)
    ENERGY_IMPORT: ("energy", "total_increasing", "kWh", "Energy import", "219.252"),
    ENERGY_EXPORT: ("energy", "total_increasing", "kWh", "Energy export", "0.000"),
    NET_POWER: ("power", "measurement", "W", "Net power", "1660"),
}


class Phases:
    """Wall time of each part of a scenario, kept in ``artifacts/e2e``."""

    def __init__(self, name: str) -> None:
        """Start timing."""
        self.name = name
        self.times: dict[str, float] = {}
        self._last = time.monotonic()

    def done(self, phase: str) -> None:
        """Close a phase."""
        now = time.monotonic()
        self.times[phase] = round(now - self._last, 2)
        self._last = now

    def save(self, **extra: float) -> None:
        """Write the times (and ``extra``) as JSON."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{self.name}.json").write_text(
            json.dumps({**extra, **self.times}, indent=2), encoding="utf-8"
        )


async def start_flow_on_port(flows: FlowDriver, port: str) -> dict[str, Any]:
    """Start the config flow and type ``port`` as the UI does; returns the protocol step."""
    step = await flows.start(DOMAIN)
    assert step["type"] == "form", flows.history()
    if step["step_id"] == "user":
        # The port list (real serial ports of this machine, if any) ends with "enter manually".
        assert "manual" in select_options(step, "port"), step
        step = await flows.submit(step, {"port": "manual"})
    assert (step["type"], step["step_id"]) == ("form", "manual"), flows.history()
    step = await flows.submit(step, {"port": port})
    assert (step["type"], step["step_id"]) == ("form", "protocol"), flows.history()
    assert field_names(step) == ["protocol", "advanced"], step["data_schema"]
    assert {"auto", "mode_c"} <= set(select_options(step, "protocol")), step["data_schema"]
    return step


def protocol_input(protocol: str = "mode_c") -> dict[str, Any]:
    """The protocol step's answer: a fixed protocol and the fastest poll interval."""
    return {
        "protocol": protocol,
        "advanced": {"max_baud": "19200", "address": "", "wake_up": False, "scan_interval": SCAN_INTERVAL},
    }


async def entry_entities(websocket: HassWebSocket, entry_id: str) -> dict[str, dict[str, Any]]:
    """The entry's entity registry entries by OBIS code (or diagnostic key)."""
    entities = await websocket.command("config/entity_registry/list")
    mine = [entity for entity in entities if entity["config_entry_id"] == entry_id]
    return {entity["unique_id"].rsplit("_", 1)[-1]: entity for entity in mine}


async def issues_of(websocket: HassWebSocket) -> list[dict[str, Any]]:
    """Repair issues raised by the integration."""
    issues = (await websocket.command("repairs/list_issues"))["issues"]
    return [issue for issue in issues if issue["domain"] == DOMAIN]


def numeric(state: dict[str, Any] | None) -> Decimal | None:
    """A state's value as a number, ``None`` when it is not one (unavailable, unknown, removed)."""
    if state is None or not isinstance(state.get("state"), str):
        return None
    try:
        return Decimal(state["state"])
    except InvalidOperation:
        return None


async def test_wrong_port_shows_translated_error_and_creates_nothing(
    hass_instance: HassInstance, hass_client: HassClient, websocket: HassWebSocket, tmp_path: Any
) -> None:
    """A port with no head behind it: the form comes back with the translated error, no entry."""
    log_start = hass_instance.process.log_offset()
    flows = FlowDriver(hass_client, websocket)
    missing = str(tmp_path / "serial" / "by-id" / "usb-no-such-head-if00-port0")
    step = await start_flow_on_port(flows, missing)
    step = await flows.submit(step, protocol_input())
    assert (step["type"], step["step_id"]) == ("form", "protocol"), flows.history()
    assert step["errors"] == {"base": "cannot_open_port"}, flows.history()

    translations = await websocket.command(
        "frontend/get_translations", language="en", category="config", integration=[DOMAIN]
    )
    message = translations["resources"].get(f"component.{DOMAIN}.config.error.cannot_open_port", "")
    assert "could not be opened" in message, translations["resources"]
    assert "nknown" not in message

    await flows.abort(step)
    entries = await hass_client.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    assert entries == []
    errors = hass_instance.process.errors(log_start)
    assert not errors, "\n".join(error.text for error in errors)


async def test_meter_life_cycle(
    hass_instance: HassInstance,
    hass_client: HassClient,
    websocket: HassWebSocket,
    optical_head: OpticalHeadProcess,
) -> None:
    """Set up, energy dashboard, unplug, replug, unload: every step as a user would see it."""
    process = hass_instance.process
    log_start = process.log_offset()
    phases = Phases("meter_life_cycle")
    details = process.log_tail

    async def states() -> dict[str, dict[str, Any] | None]:
        return {
            code: await hass_client.rest("GET", f"/api/states/{entity_ids[code]}", expect=None)
            for code in EXPECTED_SENSORS
        }

    async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = STATE_TIMEOUT) -> Any:
        return await wait_for(check, timeout=timeout, what=what, details=details)

    started_at = datetime.now(UTC).isoformat()

    # --- config flow: port step -> protocol step -> test read -> entry --------------------------
    flows = FlowDriver(hass_client, websocket)
    step = await start_flow_on_port(flows, str(optical_head.link))
    result = await flows.submit(step, protocol_input())
    assert result["type"] == "create_entry", flows.history()
    entry = result["result"]
    entry_id = entry["entry_id"]
    assert entry["domain"] == DOMAIN
    assert entry["title"] == "Landis+Gyr ZMF100AC.M27", entry
    assert entry["state"] == "loaded", entry
    phases.done("config_flow")

    # --- entities and device ----------------------------------------------------------------
    entities = await until(lambda: _with_codes(websocket, entry_id), "the meter's entities")
    entity_ids = {code: entities[code]["entity_id"] for code in EXPECTED_SENSORS}
    first = await until(lambda: _all_numeric(states), "numeric states")
    for code, (device_class, state_class, unit, name, value) in EXPECTED_SENSORS.items():
        state = first[code]
        attributes = state["attributes"]
        assert attributes.get("device_class") == device_class, (code, state)
        assert attributes.get("state_class") == state_class, (code, state)
        assert attributes.get("unit_of_measurement") == unit, (code, state)
        assert attributes["friendly_name"].endswith(name), (code, state)
        assert Decimal(state["state"]) == Decimal(value), (code, state)
    devices = [
        device
        for device in await websocket.command("config/device_registry/list")
        if entry_id in device["config_entries"]
    ]
    assert len(devices) == 1, devices
    device = devices[0]
    assert device["manufacturer"] == "Landis+Gyr", device
    assert device["model"] == "ZMF100AC.M27", device
    assert device["serial_number"] == "18438636", device
    assert device["sw_version"] == "M27", device
    assert {entities[code]["device_id"] for code in EXPECTED_SENSORS} == {device["id"]}
    phases.done("entities_and_device")

    # --- energy dashboard ----------------------------------------------------------------------
    await websocket.command(
        "energy/save_prefs",
        energy_sources=[
            {
                "type": "grid",
                "flow_from": [
                    {
                        "stat_energy_from": entity_ids[ENERGY_IMPORT],
                        "stat_cost": None,
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "flow_to": [
                    {
                        "stat_energy_to": entity_ids[ENERGY_EXPORT],
                        "stat_compensation": None,
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "power": [{"stat_rate": entity_ids[NET_POWER]}],
                "cost_adjustment_day": 0,
            }
        ],
    )
    listed = {item["statistic_id"]: item for item in await websocket.command("recorder/list_statistic_ids")}
    for code in EXPECTED_SENSORS:
        assert entity_ids[code] in listed, (code, sorted(listed))
    assert listed[entity_ids[ENERGY_IMPORT]]["has_sum"] is True
    assert (
        listed[entity_ids[NET_POWER]]["has_mean"] is True
        or listed[entity_ids[NET_POWER]].get("mean_type") == 1
    )

    before_compile = await websocket.command("energy/validate")
    kinds = {issue["type"] for source in before_compile["energy_sources"] for issue in source}
    assert kinds <= {"statistics_not_defined"}, before_compile
    compiled = await hass_client.rest("POST", "/api/services/statistics_compiler/compile?return_response", {})
    validation = await websocket.command("energy/validate")
    assert validation == {"energy_sources": [[]], "device_consumption": [], "device_consumption_water": []}, (
        validation
    )
    period = compiled["service_response"]
    statistics = await websocket.command(
        "recorder/statistics_during_period",
        start_time=period["start"],
        statistic_ids=[entity_ids[ENERGY_IMPORT]],
        period="5minute",
        types=["state", "sum"],
    )
    rows = statistics[entity_ids[ENERGY_IMPORT]]
    assert rows and Decimal(str(rows[-1]["state"])) == Decimal("219.252"), statistics
    phases.done("energy_dashboard")

    # --- unplug: unavailable, one repair issue --------------------------------------------------
    await optical_head.unplug()
    await until(lambda: _all_state(states, UNAVAILABLE), "the sensors to become unavailable after unplugging")
    issues = await until(lambda: issues_of(websocket), "the repair issue")
    assert len(issues) == 1, issues
    assert issues[0]["translation_key"] == "read_failures", issues
    assert entry_id in issues[0]["issue_id"], issues
    phases.done("unplug")

    # --- replug: values back, the issue gone, no total went backwards -------------------------------
    await optical_head.replug()
    again = await until(lambda: _all_numeric(states), "the sensors to come back after replugging")
    await until(lambda: _none(issues_of(websocket)), "the repair issue to go away")
    for code in (ENERGY_IMPORT, ENERGY_EXPORT):
        assert numeric(again[code]) >= numeric(first[code]), (code, first[code], again[code])
    phases.done("replug")

    async def recorded_totals() -> list[list[Decimal]] | None:
        history = await hass_client.rest(
            "GET",
            f"/api/history/period/{quote(started_at)}?filter_entity_id={entity_ids[ENERGY_IMPORT]},{entity_ids[ENERGY_EXPORT]}"
            "&minimal_response&no_attributes",
        )
        # Complete once the recorder has the replugged value after the unavailable gap.
        if len(history) != 2 or any(series[-1]["state"] == UNAVAILABLE for series in history):
            return None
        numbers = [[numeric(item) for item in series] for series in history]
        return [[number for number in series if number is not None] for series in numbers]

    for totals in await until(recorded_totals, "the recorder to store the values after replugging"):
        assert totals == sorted(totals), totals
        assert len(totals) >= 2, totals

    # --- unload: the port is closed and stays closed ----------------------------------------------
    await websocket.command("config_entries/disable", entry_id=entry_id, disabled_by="user")
    entries = await hass_client.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    assert [item["state"] for item in entries] == ["not_loaded"], entries
    await optical_head.wait(lambda: not optical_head.connected, "the simulator to see the port closed")
    assert open_descriptors(process.pid, optical_head.port) == [], "Home Assistant still holds the pty open"
    sessions, closes = optical_head.sessions, optical_head.closes
    await asyncio.sleep(SCAN_INTERVAL + 1.5)
    assert (optical_head.sessions, optical_head.closes) == (sessions, closes), (
        "the meter is still read after unloading"
    )
    assert not optical_head.connected
    phases.done("unload")

    errors = process.errors(log_start, about=None)
    assert not errors, "errors in the Home Assistant log:\n" + "\n".join(error.text for error in errors)
    phases.save(hass_start=round(process.started_in, 2), onboarding=round(hass_instance.onboarded_in, 2))


async def _with_codes(websocket: HassWebSocket, entry_id: str) -> dict[str, dict[str, Any]] | None:
    entities = await entry_entities(websocket, entry_id)
    return entities if all(code in entities for code in EXPECTED_SENSORS) else None


async def _all_numeric(states: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any] | None:
    current = await states()
    return current if all(numeric(state) is not None for state in current.values()) else None


async def _all_state(states: Callable[[], Awaitable[dict[str, Any]]], value: str) -> dict[str, Any] | None:
    current = await states()
    return (
        current if all(state is not None and state["state"] == value for state in current.values()) else None
    )


async def _none(issues: Awaitable[list[Any]]) -> bool:
    return not await issues
