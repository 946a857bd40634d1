"""Fixtures of the end-to-end tests: a real ``hass`` process, its owner, clients, a meter on a pty.

One Home Assistant process per test session (per xdist worker); every test removes the
entries it created, so the tests do not depend on each other or on their order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
import shutil
import tempfile
import time

import aiohttp
import pytest
import pytest_socket

from .hass_client import HassClient, HassWebSocket, Owner, onboard_owner
from .hass_process import DOMAIN, REPO_ROOT, HassProcess
from .optical_head import OpticalHeadProcess

ARTIFACTS = REPO_ROOT / "artifacts" / "e2e"
HEAD_NAME = "usb-IEC_62056-21_optical_head-if00-port0"
"""File name of the simulated head's stable path, like a USB head's ``/dev/serial/by-id`` link."""
OWNER_PASSWORD = "optical-head-e2e"  # noqa: S105 - a throwaway account of a throwaway instance


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``e2e`` marker (deselect with ``-m 'not e2e'``)."""
    config.addinivalue_line("markers", "e2e: end-to-end test against a real Home Assistant process")


class HassInstance:
    """The running process and the owner account created by onboarding."""

    def __init__(self, process: HassProcess, owner: Owner, onboarded_in: float) -> None:
        """Bundle the process with its owner."""
        self.process = process
        self.owner = owner
        self.onboarded_in = onboarded_in

    @property
    def url(self) -> str:
        """Base URL."""
        return self.process.url

    def details(self) -> str:
        """The log tail, for failure messages."""
        return self.process.log_tail()


@pytest.fixture(scope="session")
def hass_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HassInstance]:
    """Start Home Assistant, onboard the owner over REST, stop it at the end of the session."""
    # pytest-homeassistant-custom-component blocks sockets for every test; this process is real.
    pytest_socket.enable_socket()
    process = HassProcess(tmp_path_factory.mktemp("hass-config"))
    process.start()
    started = time.monotonic()
    try:
        owner = onboard_owner(process.url, name="Meter Owner", username="owner", password=OWNER_PASSWORD)
    except Exception as err:
        process.stop()
        raise AssertionError(f"onboarding failed: {err!r}\n{process.log_tail()}") from err
    instance = HassInstance(process, owner, time.monotonic() - started)
    yield instance
    offset = 0
    code = process.stop()
    errors = process.errors(offset)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"hass-{process.port}.log").write_text(process.log_text(), encoding="utf-8")
    assert code == 0, f"Home Assistant exited with {code}\n{process.log_tail()}"
    assert not errors, "errors about the integration in the Home Assistant log:\n" + "\n".join(
        e.text for e in errors
    )


@pytest.fixture(autouse=True)
def _real_sockets(socket_enabled: None) -> None:
    """Let the tests talk to the Home Assistant process."""


@pytest.fixture
async def hass_client(hass_instance: HassInstance) -> AsyncIterator[HassClient]:
    """An authenticated client; entries of the integration left by the test are removed afterwards."""
    async with aiohttp.ClientSession() as session:
        client = HassClient(hass_instance.url, hass_instance.owner, session)
        yield client
        for entry in await client.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}"):
            await client.rest("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")


@pytest.fixture
async def websocket(hass_client: HassClient) -> AsyncIterator[HassWebSocket]:
    """An authenticated websocket connection; energy preferences are cleared afterwards."""
    async with hass_client.websocket() as connection:
        yield connection
        await connection.command("energy/save_prefs", energy_sources=[], device_consumption=[])


@pytest.fixture
async def optical_head(tmp_path: Path) -> AsyncIterator[OpticalHeadProcess]:
    """A plugged-in optical head on a meter (profile ``lgz_e350``) with a stable by-id path.

    The path is kept short (it shows in the flow and in the docs' screenshots).
    """
    devices = Path(tempfile.mkdtemp(prefix="head-"))
    head = OpticalHeadProcess(devices / "serial" / "by-id" / HEAD_NAME, log=tmp_path / "optical-head.log")
    try:
        await head.start()
        yield head
    finally:
        final = await head.stop()
        shutil.rmtree(devices, ignore_errors=True)
    assert not final.get("errors"), f"the simulated meter failed inside: {final['errors']}"
