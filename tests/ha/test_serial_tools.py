"""Home Assistant's serial tools where the running version has them, our own scan where it does not.

``usb.async_scan_serial_ports`` and ``selector.SerialPortSelector`` arrived in 2026.5,
``usb.async_is_serial_port_present`` and ``usb.async_find_moved_serial_port`` in 2026.11. The
tests put stand-ins with the same signatures where this Home Assistant lacks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from unittest.mock import AsyncMock

from homeassistant.components import usb
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir, selector
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import CONF_PORT, DOMAIN, MANUAL_PORT
from custom_components.landis_gyr_optical.meter.errors import PortError
from custom_components.landis_gyr_optical.ports import valid_port

from .conftest import METER_SERIAL, PORT, entry_data

PROXY = "esphome-hass://01JABCDEF/?port_name=IR%20head"
MOVED = "/dev/serial/by-id/usb-FTDI_Optical_Head_A1B2C3-if00-port1"


@dataclass(frozen=True, kw_only=True)
class ScannedSerialDevice:
    """``usb.SerialDevice``: a port without USB ids (an ESPHome serial proxy)."""

    device: str
    serial_number: str | None
    manufacturer: str | None
    description: str | None
    resolved_device: str | None = None


@dataclass(frozen=True, kw_only=True)
class ScannedUsbDevice(ScannedSerialDevice):
    """``usb.USBDevice``."""

    vid: str
    pid: str


SCANNED = [
    ScannedUsbDevice(
        device=PORT,
        resolved_device="/dev/ttyUSB0",
        vid="0403",
        pid="6001",
        serial_number="A1B2C3",
        manufacturer="FTDI",
        description="Optical Head",
    ),
    ScannedSerialDevice(device=PROXY, serial_number=None, manufacturer="ESPHome", description="IR head"),
    ScannedSerialDevice(device="/dev/ttyS0", serial_number=None, manufacturer=None, description=None),
]


@pytest.fixture
def home_assistant_scan(monkeypatch: pytest.MonkeyPatch) -> AsyncMock:
    """Home Assistant's port scan, listing a USB head, an ESPHome proxy and a bare UART."""
    scan = AsyncMock(return_value=SCANNED)
    monkeypatch.setattr(usb, "async_scan_serial_ports", scan, raising=False)
    return scan


async def test_ports_come_from_home_assistants_scan(
    hass: HomeAssistant, home_assistant_scan: AsyncMock
) -> None:
    """Every scanned port is offered with a label; an ESPHome proxy can be chosen like a tty."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["step_id"] == "user"
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert options == [
        {"value": PORT, "label": f"Optical Head - {PORT}, s/n: A1B2C3 - FTDI - 0403:6001"},
        {"value": PROXY, "label": f"IR head - {PROXY}, s/n: n/a - ESPHome"},
        {"value": "/dev/ttyS0", "label": "/dev/ttyS0, s/n: n/a"},
        {"value": MANUAL_PORT, "label": MANUAL_PORT},
    ]
    home_assistant_scan.assert_awaited_once_with(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: PROXY})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "protocol"
    assert result["description_placeholders"]["port"] == PROXY


async def test_a_port_used_by_an_entry_is_found_by_its_resolved_path(
    hass: HomeAssistant, home_assistant_scan: AsyncMock
) -> None:
    """An entry stored with /dev/ttyUSB0 is on the line of the head listed by its by-id path.

    That head is offered once, marked as the entry's bus (choose it to add another meter there).
    """
    MockConfigEntry(
        domain=DOMAIN, unique_id=METER_SERIAL, title="Kitchen meter", data=entry_data(port="/dev/ttyUSB0")
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert [option["value"] for option in options] == [PORT, PROXY, "/dev/ttyS0", MANUAL_PORT]
    assert options[0]["label"] == f"+ Optical Head - {PORT}, s/n: A1B2C3 - FTDI - 0403:6001 (Kitchen meter)"
    assert not options[1]["label"].startswith("+")


def test_esphome_proxy_urls_are_accepted_when_typed() -> None:
    """A typed ``esphome-hass://`` port passes like the other URL schemes; a bare scheme does not."""
    assert valid_port(PROXY)
    assert valid_port("ESPHOME-HASS://device/?port_name=uart")
    assert not valid_port("esphome-hass://")


async def test_typed_ports_use_home_assistants_serial_port_picker(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Home Assistant has SerialPortSelector, the manual step offers it instead of a text field."""

    class SerialPortSelector(selector.TextSelector):
        """Stand-in with the same call signature as 2026.5's selector."""

    monkeypatch.setattr(selector, "SerialPortSelector", SerialPortSelector, raising=False)
    monkeypatch.setattr(usb, "async_scan_serial_ports", AsyncMock(return_value=[]), raising=False)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["step_id"] == "manual"
    assert isinstance(result["data_schema"].schema[CONF_PORT], SerialPortSelector)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: PROXY})
    assert result["step_id"] == "protocol"


async def _fail_with_vanished_port(
    hass: HomeAssistant, entry: MockConfigEntry, mock_read_meter: AsyncMock
) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    mock_read_meter.side_effect = PortError(entry.data[CONF_PORT], "No such file or directory")
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()


async def test_a_head_that_moved_is_followed(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_read_meter: AsyncMock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2026.11+: the head vanished from its by-id path and is now at another: the entry follows it."""
    present = AsyncMock(return_value=False)
    monkeypatch.setattr(usb, "async_is_serial_port_present", present, raising=False)
    monkeypatch.setattr(
        usb,
        "async_find_moved_serial_port",
        lambda _hass, path: MOVED if path == PORT else None,
        raising=False,
    )
    good = mock_read_meter.return_value
    entry = mock_config_entry
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    mock_read_meter.side_effect = [PortError(PORT, "No such file or directory"), good, good]
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    present.assert_awaited_with(hass, PORT)
    assert entry.data[CONF_PORT] == MOVED
    assert entry.runtime_data.port == MOVED  # reloaded on the new path
    assert mock_read_meter.await_args is not None
    assert mock_read_meter.await_args.args[0] == MOVED


async def test_a_vanished_proxy_is_reported_at_once(
    hass: HomeAssistant,
    mock_read_meter: AsyncMock,
    monkeypatch: pytest.MonkeyPatch,
    issue_registry: ir.IssueRegistry,
) -> None:
    """2026.11+: an ESPHome proxy no longer in Home Assistant's scan counts as unplugged."""
    present = AsyncMock(return_value=False)
    monkeypatch.setattr(usb, "async_is_serial_port_present", present, raising=False)
    monkeypatch.setattr(usb, "async_find_moved_serial_port", lambda *_: None, raising=False)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(port=PROXY))
    await _fail_with_vanished_port(hass, entry, mock_read_meter)
    present.assert_awaited_with(hass, PROXY)
    assert entry.data[CONF_PORT] == PROXY
    assert issue_registry.async_get_issue(DOMAIN, f"read_failures_{entry.entry_id}") is not None


async def test_a_network_bridge_is_not_looked_up(
    hass: HomeAssistant,
    mock_read_meter: AsyncMock,
    monkeypatch: pytest.MonkeyPatch,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A refusing socket:// bridge is no vanished device, whatever Home Assistant's scan lists."""
    present = AsyncMock(return_value=False)
    monkeypatch.setattr(usb, "async_is_serial_port_present", present, raising=False)
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(port="socket://192.0.2.1:1")
    )
    await _fail_with_vanished_port(hass, entry, mock_read_meter)
    present.assert_not_awaited()
    assert issue_registry.async_get_issue(DOMAIN, f"read_failures_{entry.entry_id}") is None
