"""A person's first contact with the integration, in a real browser on a real Home Assistant.

Log in, add the integration through Settings -> Devices & services -> Add integration, run the
flow, open the meter's device page and the energy configuration. Screenshots go to
``artifacts/browser``; with ``E2E_UPDATE_DOCS=1`` scaled-down copies replace ``docs/*.png``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
from typing import Any

from playwright.async_api import Page, expect
import pytest

from .browser import VIEWPORT, chromium, chromium_path, shrink_for_docs
from .conftest import OWNER_PASSWORD, HassInstance
from .hass_client import HassClient, HassWebSocket, wait_for
from .hass_process import DOMAIN, REPO_ROOT
from .optical_head import OpticalHeadProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SHOTS = REPO_ROOT / "artifacts" / "browser"
DOCS = REPO_ROOT / "docs"
UI_TIMEOUT = 30_000
"""Milliseconds for the frontend to show something (first load compiles nothing, but is large)."""
DOCS_SHOTS = frozenset(
    {"config_flow_port", "config_flow_protocol", "config_flow_found", "device_page", "energy_configuration"}
)
"""Screenshots the README shows (``docs/<name>.png``)."""
INTEGRATION_NAME = "Landis+Gyr Optical"
ENTITY_NAMES = ("Energy import", "Energy export", "Net power")
POLL_INTERVAL = 5
VALUE_TIMEOUT = 30.0


async def shoot(page: Page, name: str, *, dialog: bool = False) -> Path:
    """Screenshot the page (or only the open dialog); also refresh the docs copy when asked to."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    if dialog:
        await page.locator("dialog-data-entry-flow .mdc-dialog__surface").screenshot(path=path)
    else:
        await page.screenshot(path=path)
    if name in DOCS_SHOTS and os.environ.get("E2E_UPDATE_DOCS") == "1":
        size = shrink_for_docs(path, DOCS / f"{name}.png")
        assert size < 150_000, f"docs/{name}.png is {size} bytes"
    return path


async def assert_no_error_shown(page: Page) -> None:
    """No "Unknown error" (or any failed-flow text) anywhere on the page, shadow roots included."""
    await expect(
        page.get_by_text(
            re.compile("Unknown error|Unexpected error|Config flow could not be loaded", re.IGNORECASE)
        )
    ).to_have_count(0)


async def log_in(page: Page, instance: HassInstance) -> None:
    """The login page of a fresh browser: username, password, "Log in"."""
    await page.goto(instance.url, wait_until="domcontentloaded")
    await page.get_by_label("Username").fill(instance.owner.username)
    await page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
    await page.get_by_role("button", name=re.compile("^Log in$", re.IGNORECASE)).click()
    await expect(page.get_by_text("Overview").first).to_be_visible(timeout=UI_TIMEOUT)


async def add_integration(page: Page, instance: HassInstance, port: str) -> None:
    """Settings -> Devices & services -> Add integration -> the flow, as a person clicks it."""
    await page.goto(f"{instance.url}/config/integrations/dashboard", wait_until="domcontentloaded")
    await page.get_by_role("button", name=re.compile("Add integration", re.IGNORECASE)).click()
    await page.get_by_role("textbox", name="Search for a brand name").fill("Landis")
    await page.get_by_text(INTEGRATION_NAME, exact=True).click()

    dialog = page.locator("dialog-data-entry-flow")
    choose = dialog.get_by_title("Choose the optical head")
    enter = dialog.get_by_title("Enter the port")
    await expect(choose.or_(enter)).to_be_visible(timeout=UI_TIMEOUT)
    if await choose.is_visible():
        # The machine's serial ports are listed first; the head is typed in, like a network URL.
        await shoot(page, "config_flow_ports", dialog=True)
        await dialog.get_by_role("radio", name="Enter manually").check()
        await dialog.get_by_role("button", name="Submit").click()
        await expect(enter).to_be_visible()
    await dialog.get_by_role("textbox", name="Port").fill(port)
    await shoot(page, "config_flow_port", dialog=True)
    await dialog.get_by_role("button", name="Submit").click()

    await expect(dialog.get_by_text(re.compile("Detect automatically", re.IGNORECASE)).first).to_be_visible(
        timeout=UI_TIMEOUT
    )
    await shoot(page, "config_flow_protocol", dialog=True)
    # A short poll interval, so the totals are confirmed by a second read within seconds.
    await dialog.get_by_text("Advanced settings").click()
    await dialog.get_by_role("spinbutton", name="Poll interval").fill(str(POLL_INTERVAL))
    await dialog.get_by_role("button", name="Submit").click()
    # Detection reads the meter; then the dialog shows what it found.
    await expect(dialog.get_by_title("Meter detected")).to_be_visible(timeout=UI_TIMEOUT)
    await expect(dialog.get_by_text(re.compile("Landis\\+Gyr meter /LGZ")).first).to_be_visible()
    await shoot(page, "config_flow_found", dialog=True)
    await assert_no_error_shown(page)
    await dialog.get_by_role("button", name="Submit").click()
    await expect(dialog.get_by_title("Device created")).to_be_visible(timeout=UI_TIMEOUT)
    await expect(dialog.get_by_text("ZMF100AC.M27").first).to_be_visible()
    await shoot(page, "config_flow_done", dialog=True)
    await dialog.get_by_role("button", name=re.compile("finish", re.IGNORECASE)).click()
    await expect(dialog.get_by_title("Device created")).to_have_count(0)


async def test_add_meter_in_the_browser(
    hass_instance: HassInstance,
    hass_client: HassClient,
    websocket: HassWebSocket,
    optical_head: OpticalHeadProcess,
) -> None:
    """Log in, add the integration, see the device and the energy configuration."""
    executable = chromium_path()
    assert executable, "Chromium is missing: install Debian's 'chromium' package (scripts/test does)"
    log_start = hass_instance.process.log_offset()
    async with chromium(executable) as browser:
        page = await browser.new_page(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
        page.set_default_timeout(UI_TIMEOUT)
        try:
            await _scenario(page, hass_instance, hass_client, websocket, optical_head)
        except BaseException:
            await shoot(page, "failure")
            raise

    # The frontend reports its own script errors to the log (a known one in the add-integration
    # search list); only the backend's records, and anything naming the integration, count here.
    errors = [
        error
        for error in hass_instance.process.errors(log_start, about=None)
        if not error.logger.startswith("frontend.js") or DOMAIN in error.text
    ]
    assert not errors, "errors in the Home Assistant log:\n" + "\n".join(error.text for error in errors)


async def _scenario(
    page: Page,
    hass_instance: HassInstance,
    hass_client: HassClient,
    websocket: HassWebSocket,
    optical_head: OpticalHeadProcess,
) -> None:
    validations = watch_energy_validation(page)
    await log_in(page, hass_instance)
    await add_integration(page, hass_instance, str(optical_head.link))

    entries = await hass_client.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    assert [entry["state"] for entry in entries] == ["loaded"], entries
    entry_id = entries[0]["entry_id"]
    device = await _device_of(websocket, entry_id)
    energy_import = (await _entity_ids(websocket, entry_id))["1-0:1.8.0"]

    async def import_known() -> bool:
        state = await hass_client.rest("GET", f"/api/states/{energy_import}")
        return state["state"] not in {"unknown", "unavailable"}

    await wait_for(
        import_known, timeout=VALUE_TIMEOUT, what="the import total", details=hass_instance.details
    )

    # The device page: model, maker, serial number, the sensors by their English names.
    await page.goto(
        f"{hass_instance.url}/config/devices/device/{device['id']}", wait_until="domcontentloaded"
    )
    await expect(page.get_by_text("ZMF100AC.M27").first).to_be_visible(timeout=UI_TIMEOUT)
    await expect(page.get_by_text("by Landis+Gyr")).to_be_visible()
    await expect(page.get_by_text("Serial number: 18438636")).to_be_visible()
    for name in ENTITY_NAMES:
        await expect(page.get_by_text(name, exact=True).first).to_be_visible()
    import_row = (
        page.locator("hui-generic-entity-row").filter(has_text="Energy import").filter(has_text="219.252 kWh")
    )
    await expect(import_row.first).to_be_visible()
    await assert_no_error_shown(page)
    await shoot(page, "device_page")

    # The energy configuration: the warning shows until statistics exist, then none is left.
    await _energy_preferences(websocket, entry_id)
    await page.goto(f"{hass_instance.url}/config/energy", wait_until="domcontentloaded")
    await expect(page.get_by_text("Statistics not defined")).to_be_visible(timeout=UI_TIMEOUT)
    await hass_client.rest("POST", "/api/services/statistics_compiler/compile?return_response", {})
    validations.clear()
    await page.reload(wait_until="domcontentloaded")
    for name in ENTITY_NAMES:
        await expect(page.get_by_text(f"Landis+Gyr ZMF100AC.M27 {name}")).to_be_visible(timeout=UI_TIMEOUT)
    await wait_for(_first(validations), timeout=VALUE_TIMEOUT, what="the page's energy/validate answer")
    assert validations[0]["energy_sources"] == [[]], validations[0]
    await expect(
        page.get_by_text(re.compile("Statistics not defined|Entity unavailable|Unexpected"))
    ).to_have_count(0)
    await assert_no_error_shown(page)
    await shoot(page, "energy_configuration")

    await page.goto(
        f"{hass_instance.url}/config/integrations/integration/{DOMAIN}", wait_until="domcontentloaded"
    )
    await expect(page.get_by_text(INTEGRATION_NAME).first).to_be_visible(timeout=UI_TIMEOUT)
    await expect(page.get_by_text("Landis+Gyr ZMF100AC.M27").first).to_be_visible()
    await assert_no_error_shown(page)
    await shoot(page, "integration_page")


def watch_energy_validation(page: Page) -> list[dict[str, Any]]:
    """Collect the answers to the page's own ``energy/validate`` calls (read off its websocket)."""
    seen: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        for item in message if isinstance(message, list) else [message]:
            result = item.get("result") if isinstance(item, dict) else None
            sources = result.get("energy_sources") if isinstance(result, dict) else None
            if isinstance(sources, list) and all(isinstance(source, list) for source in sources):
                seen.append(result)

    page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
    return seen


def _first(items: list[Any]) -> Any:
    async def check() -> Any:
        return items[0] if items else None

    return check


async def _device_of(websocket: HassWebSocket, entry_id: str) -> dict[str, Any]:
    devices = [
        d for d in await websocket.command("config/device_registry/list") if entry_id in d["config_entries"]
    ]
    assert len(devices) == 1, devices
    return devices[0]


async def _entity_ids(websocket: HassWebSocket, entry_id: str) -> dict[str, str]:
    entities = await websocket.command("config/entity_registry/list")
    return {
        e["unique_id"].rsplit("_", 1)[-1]: e["entity_id"]
        for e in entities
        if e["config_entry_id"] == entry_id
    }


async def _energy_preferences(websocket: HassWebSocket, entry_id: str) -> None:
    by_code = await _entity_ids(websocket, entry_id)
    await websocket.command(
        "energy/save_prefs",
        energy_sources=[
            {
                "type": "grid",
                "flow_from": [
                    {
                        "stat_energy_from": by_code["1-0:1.8.0"],
                        "stat_cost": None,
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "flow_to": [
                    {
                        "stat_energy_to": by_code["1-0:2.8.0"],
                        "stat_compensation": None,
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "power": [{"stat_rate": by_code["1-0:16.7.0"]}],
                "cost_adjustment_day": 0,
            }
        ],
    )
