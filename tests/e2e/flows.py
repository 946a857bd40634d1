"""Drive config and options flows over ``/api/config/config_entries/...`` as the frontend does.

The frontend posts each step's form, and while a step shows progress it waits for the
``data_entry_flow_progressed`` event and then fetches the flow again (``GET``), which moves it
on to the next step.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from .hass_client import HassClient, HassWebSocket

FLOW_PATH = "/api/config/config_entries/flow"
OPTIONS_FLOW_PATH = "/api/config/config_entries/options/flow"
PROGRESS_TIMEOUT = 60.0
"""Seconds a progress step (the test read) may take."""


def field_names(step: dict[str, Any]) -> list[str]:
    """Names of a form's fields (a section counts as one field)."""
    return [item["name"] for item in step.get("data_schema") or []]


def field(step: dict[str, Any], name: str) -> dict[str, Any]:
    """One field of a form's serialised schema (looked up inside sections too)."""
    for item in step.get("data_schema") or []:
        if item["name"] == name:
            return item
        if item.get("type") == "expandable":
            for inner in item.get("schema", []):
                if inner["name"] == name:
                    return inner
    raise AssertionError(f"step {step.get('step_id')!r} has no field {name!r}: {field_names(step)}")


def select_options(step: dict[str, Any], name: str) -> list[str]:
    """Values a select field offers."""
    selector = field(step, name).get("selector", {}).get("select", {})
    return [option["value"] if isinstance(option, dict) else option for option in selector.get("options", [])]


class FlowDriver:
    """One flow manager (config entries or options) reached through REST."""

    def __init__(
        self, client: HassClient, websocket: HassWebSocket, path: str = FLOW_PATH, *, timeout: float = 30.0
    ) -> None:
        """Drive flows at ``path`` (``FLOW_PATH`` or ``OPTIONS_FLOW_PATH``); ``timeout`` per request."""
        self.timeout = timeout
        self.client = client
        self.websocket = websocket
        self.path = path
        self.steps: list[dict[str, Any]] = []
        """Every result seen, in order (for failure messages)."""

    async def start(self, handler: str, *, show_advanced_options: bool = False) -> dict[str, Any]:
        """Start a flow (``handler`` is the domain, or the entry id for options)."""
        result = await self.client.rest(
            "POST",
            self.path,
            {"handler": handler, "show_advanced_options": show_advanced_options},
            timeout=self.timeout,
        )
        return await self._settle(result)

    async def submit(self, step: dict[str, Any], user_input: dict[str, Any]) -> dict[str, Any]:
        """Answer a form and return the next result (after any progress step has finished)."""
        assert step["type"] in {"form", "menu"}, f"cannot submit a {step['type']} result: {step}"
        result = await self.client.rest(
            "POST", f"{self.path}/{step['flow_id']}", user_input, timeout=self.timeout
        )
        return await self._settle(result)

    async def abort(self, step: dict[str, Any]) -> None:
        """Close the flow (the dialog's X)."""
        with contextlib.suppress(AssertionError):
            await self.client.rest("DELETE", f"{self.path}/{step['flow_id']}", timeout=self.timeout)

    async def _settle(self, result: dict[str, Any]) -> dict[str, Any]:
        self.steps.append(result)
        while result.get("type") in {"progress", "progress_done"}:
            if result["type"] == "progress":
                result = await self._after_progress(result["flow_id"])
            else:
                result = await self.client.rest(
                    "GET", f"{self.path}/{result['flow_id']}", timeout=self.timeout
                )
            self.steps.append(result)
        return result

    async def _after_progress(self, flow_id: str) -> dict[str, Any]:
        """Wait for the flow's progress event, then fetch the flow (which moves it on)."""
        progressed = asyncio.Event()

        def on_event(event: dict[str, Any]) -> None:
            if event.get("data", {}).get("flow_id") == flow_id:
                progressed.set()

        unsubscribe = await self.websocket.subscribe(
            on_event, "subscribe_events", event_type="data_entry_flow_progressed"
        )
        try:
            # The event may have fired before the subscription existed: look once first.
            current = await self.client.rest("GET", f"{self.path}/{flow_id}", timeout=self.timeout)
            if current.get("type") != "progress":
                return current
            async with asyncio.timeout(PROGRESS_TIMEOUT):
                await progressed.wait()
        finally:
            await unsubscribe()
        return await self.client.rest("GET", f"{self.path}/{flow_id}", timeout=self.timeout)

    def history(self) -> str:
        """The steps seen so far, one per line."""
        return "\n".join(
            f"  {step.get('type')} {step.get('step_id')} errors={step.get('errors')} reason={step.get('reason')}"
            for step in self.steps
        )
