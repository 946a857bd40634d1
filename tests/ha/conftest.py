"""Fixtures of the Home Assistant layer's tests: a mode C meter, its entry, its readout."""

from __future__ import annotations

from collections.abc import Callable, Generator
import importlib
import os
from pathlib import Path
from unittest.mock import AsyncMock, patch

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
import serialx
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.landis_gyr_optical.const import (
    CONF_ADDRESS,
    CONF_FIXED_BAUD,
    CONF_FRAMING,
    CONF_MAX_BAUD,
    CONF_MAX_POWER_KW,
    CONF_PORT,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    CONF_SOFTWARE_PARITY,
    CONF_USB_ID,
    CONF_WAKE_UP,
    DOMAIN,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    Identification,
    encode_data_message,
)
from custom_components.landis_gyr_optical.meter.readout import Direction, Readout, TraceEntry

# --- Home Assistant layer fixtures -------------------------------------------------------------


METER_SERIAL = "18438636"
IDENTIFICATION = b"/LGZ4ZMF100AC.M27"
DATA_BLOCK = (
    "F.F(00)\r\n"
    f"0.0({METER_SERIAL})\r\n"
    f"C.1.0({METER_SERIAL})\r\n"
    "0.2.0(M27)\r\n"
    "1.8.0(000219.252*kWh)\r\n"
    "1.8.1(000000.000*kWh)\r\n"
    "1.8.2(000219.251*kWh)\r\n"
    "2.8.0(000001.500*kWh)\r\n"
    "1.7.0(00.512*kW)\r\n"
    "16.7.0(-00.120*kW)\r\n"
    "32.7.0(233*V)\r\n"
    "31.7.0(002.30*A)\r\n"
    "14.7.0(49.98*Hz)\r\n"
    "1.6.0(02.150*kW)(2401151230)\r\n"
    "0.9.1(123456)\r\n"
    "0.9.2(240131)\r\n"
    "1.8.0*01(000200.000*kWh)\r\n"
    "C.7.0(0004)\r\n"
)
PORT = "/dev/serial/by-id/usb-FTDI_Optical_Head_A1B2C3-if00-port0"


def make_readout(
    block: str = DATA_BLOCK,
    *,
    identification: bytes = IDENTIFICATION,
    protocol: str = "mode_c",
    baud: int = 4800,
    checksum: str = "bcc",
) -> Readout:
    """A readout as the client returns it, with a trace and timings."""
    ident = Identification.parse(identification)
    raw = encode_data_message(block.encode("ascii"))
    return Readout(
        identity=ident.identity,
        registers=tuple(parse_data_block(block, medium=ident.medium)),
        protocol=protocol,
        baud=baud,
        checksum=checksum,  # type: ignore[arg-type]
        raw=raw,
        trace=(
            TraceEntry(0.0, Direction.SENT, b"/?!\r\n", 300),
            TraceEntry(0.3, Direction.RECEIVED, ident.encode(), 300),
            TraceEntry(1.0, Direction.RECEIVED, raw, baud, "data"),
        ),
        timings={"identification started": 0.25, "data message started": 0.9, "done": 2.5},
    )


def entry_data(**changes: object) -> dict[str, object]:
    """Config entry data of a mode C meter."""
    data: dict[str, object] = {
        CONF_PORT: PORT,
        CONF_PROTOCOL: "mode_c",
        CONF_ADDRESS: "",
        CONF_MAX_BAUD: 19200,
        CONF_WAKE_UP: False,
        CONF_SOFTWARE_PARITY: False,
        CONF_FRAMING: "7E1",
        CONF_FIXED_BAUD: None,
        CONF_USB_ID: None,
    }
    data.update(changes)
    return data


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshots, with a folder of their own for 2026.10 and later.

    2026.10 serialises the same entities differently (registry aliases as a list holding the
    entity's name, state attribute keys as enum members); the values are the same.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """``snapshots/`` beside the test, ``snapshots/ha-2026.10/`` on newer Home Assistant."""
        folder = super().dirname(test_location=test_location)
        return str(Path(folder) / "ha-2026.10") if AwesomeVersion(HA_VERSION) >= "2026.10.0" else folder


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot format and folder, whichever plugin loads last.

    syrupy and pytest-homeassistant-custom-component both define ``snapshot``; the one loaded
    last wins, and newer syrupy releases load after the Home Assistant plugin.
    """
    return snapshot.use_extension(VersionedSnapshotExtension)


def device_with_identifier(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry, identifier: str
) -> dr.DeviceEntry:
    """The entry's device with ``(DOMAIN, identifier)``.

    ``device_registry.async_get_device`` is deprecated from 2026.9 (an error in tests); its
    successor ``async_get_device_by_identifier`` does not exist before 2026.8.
    """
    (device,) = [
        device
        for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        if (DOMAIN, identifier) in device.identifiers
    ]
    return device


@pytest.fixture(autouse=True)
def _home_assistant_scans_through_serialx(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route Home Assistant's own port scan (2026.5+) through ``serialx.list_serial_ports``.

    Its ``usb.utils`` imports the function by name, so the tests' patches of
    ``serialx.list_serial_ports`` would not reach it; with this they apply on every version.
    """
    utils = importlib.import_module("homeassistant.components.usb.utils")
    if hasattr(utils, "list_serial_ports"):
        monkeypatch.setattr(utils, "list_serial_ports", lambda: serialx.list_serial_ports())  # noqa: PLW0108 - looked up per call, so patches apply


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A configured mode C meter."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Landis+Gyr ZMF100AC.M27",
        unique_id=METER_SERIAL,
        data=entry_data(),
        options={CONF_SCAN_INTERVAL: 60, CONF_MAX_POWER_KW: 60.0},
    )


@pytest.fixture
def mock_read_meter() -> Generator[AsyncMock]:
    """``read_meter`` of the coordinator and the config flow, answering with ``make_readout()``."""
    mock = AsyncMock(return_value=make_readout())
    with (
        patch("custom_components.landis_gyr_optical.coordinator.read_meter", mock),
        patch("custom_components.landis_gyr_optical.detection.read_meter", mock),
    ):
        yield mock


ReadoutFactory = Callable[..., Readout]


def fds_on(path: str) -> int:
    """File descriptors of this process open on ``path`` (the pty's slave)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == path:
                count += 1
        except OSError:
            continue
    return count
