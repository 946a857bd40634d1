"""Config flow on a line that already carries meters: the bus choice, addresses, slave ids, push."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.bus import BUSES
from custom_components.landis_gyr_optical.config_flow import _normal_address
from custom_components.landis_gyr_optical.const import CONF_PORT, CONF_SLAVE, DOMAIN, MANUAL_PORT
from custom_components.landis_gyr_optical.meter.probe import ProbeAttempt, ProbeReport
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, Variant

from .conftest import PORT, entry_data, make_readout
from .test_config_flow import OTHER_PORT, _protocol_input, _read, _start_at_protocol, mock_ports

__all__ = ["mock_ports"]

URL = "socket://192.0.2.9:4001"


def _entry(serial: str, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(domain=DOMAIN, title=f"meter {serial}", unique_id=serial, data=entry_data(**data))


def _other_meter() -> Any:
    return make_readout(make_readout().registers and "C.1.0(55555555)\r\n1.8.0(000001.000*kWh)\r\n")


async def test_bus_port_listed_with_its_meters(hass: HomeAssistant, mock_ports: list[Any]) -> None:
    """Ports with meters are marked and name them; a bridge URL with meters is listed; a pusher's port is not."""
    _entry("1", address="1").add_to_hass(hass)
    _entry("2", port="/dev/ttyUSB0", address="2").add_to_hass(hass)  # the resolved path of PORT
    _entry("3", port=URL, address="3").add_to_hass(hass)
    _entry("4", port=OTHER_PORT, protocol="sml").add_to_hass(hass)
    _entry("5", port="socket://192.0.2.9:4002", protocol="dlms_push").add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    options = {
        option["value"]: option["label"]
        for option in result["data_schema"].schema[CONF_PORT].config["options"]
    }
    assert list(options) == [PORT, URL, MANUAL_PORT]
    assert options[PORT].startswith("+ Optical Head") and options[PORT].endswith("(meter 1, meter 2)")
    assert options[URL] == f"+ {URL} (meter 3)"


async def test_only_bus_ports_without_scan(hass: HomeAssistant) -> None:
    """Nothing scanned, a bridge with a meter: the list offers that bus and manual entry."""
    _entry("3", port=URL, address="3").add_to_hass(hass)
    with patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=[]):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["step_id"] == "user"
    values = [option["value"] for option in result["data_schema"].schema[CONF_PORT].config["options"]]
    assert values == [URL, MANUAL_PORT]


async def test_push_line_refused_when_typed(hass: HomeAssistant, mock_ports: list[Any]) -> None:
    """A line with a pushing meter takes no other meter: the manual step says so."""
    _entry("4", port=URL, protocol="mode_d").add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: MANUAL_PORT})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: URL})
    assert result["step_id"] == "manual" and result["errors"] == {CONF_PORT: "push_on_shared_line"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: PORT})
    assert result["step_id"] == "protocol"


async def test_reconfigure_onto_a_pushers_line_refused(hass: HomeAssistant, mock_ports: list[Any]) -> None:
    """An entry whose port a pushing meter also uses cannot keep it: the port step says so."""
    pusher = _entry("4", port=URL, protocol="mode_d")
    pusher.add_to_hass(hass)
    polled = _entry("1", port=URL, address="1")
    polled.add_to_hass(hass)
    result = await polled.start_reconfigure_flow(hass)
    values = [option["value"] for option in result["data_schema"].schema[CONF_PORT].config["options"]]
    assert values == [URL, PORT, OTHER_PORT, MANUAL_PORT]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: URL})
    assert result["step_id"] == "reconfigure" and result["errors"] == {CONF_PORT: "push_on_shared_line"}


@pytest.mark.parametrize(
    ("existing", "protocol", "address", "errors"),
    [
        ("1", "mode_c", "", {"address": "address_required_on_bus"}),
        ("1", "auto", " ", {"address": "address_required_on_bus"}),
        ("1", "mode_c", "0001", {"address": "address_in_use"}),
        ("", "mode_c", "2", {"base": "line_member_without_address"}),
        ("1", "mode_d", "2", {"base": "push_on_shared_line"}),
        ("1", "sml", "", {"base": "push_on_shared_line"}),
    ],
)
async def test_address_checked_against_the_line(
    hass: HomeAssistant,
    mock_ports: list[Any],
    mock_read_meter: AsyncMock,
    existing: str,
    protocol: str,
    address: str,
    errors: dict[str, str],
) -> None:
    """A meter joining a line needs an address of its own, and every meter on it one too."""
    _entry("1", address=existing).add_to_hass(hass)
    result = await _start_at_protocol(hass)
    schema = result["data_schema"].schema
    assert schema["advanced"].options == {"collapsed": False}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _protocol_input(protocol, address=address)
    )
    assert result["step_id"] == "protocol" and result["errors"] == errors
    if not existing:
        return
    mock_read_meter.return_value = _other_meter()
    result = await _read(hass, result, _protocol_input("mode_c", address="2"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["address"] == "2"


async def test_detection_on_a_line_probes_with_the_address_and_refuses_a_pusher(
    hass: HomeAssistant, mock_ports: list[Any]
) -> None:
    """Detection on a shared line sends the address; a pushing meter found there is refused."""
    _entry("1", address="1").add_to_hass(hass)
    report = ProbeReport(
        port=PORT,
        attempts=(ProbeAttempt("listen", MeterConfig(Variant.SML), b"", b"", "ok", True),),
        readout=_other_meter(),
        settings=MeterConfig(Variant.SML),
    )
    with patch(
        "custom_components.landis_gyr_optical.detection.probe", AsyncMock(return_value=report)
    ) as probe:
        result = await _start_at_protocol(hass)
        result = await _read(hass, result, _protocol_input("auto", address="7"))
    assert probe.call_args.kwargs["address"] == "7"
    assert result["step_id"] == "protocol" and result["errors"] == {"base": "push_on_shared_line"}


@pytest.mark.parametrize(("protocol", "step"), [("eredes_han", "han"), ("dlms_hdlc", "dlms_pull")])
async def test_slave_id_checked_against_the_line(
    hass: HomeAssistant, mock_ports: list[Any], protocol: str, step: str
) -> None:
    """HAN slave ids and DLMS server addresses are unique on a line; an IEC meter there does not count."""
    _entry("1", protocol=protocol, slave=1).add_to_hass(hass)
    _entry("2", address="5").add_to_hass(hass)
    result = await _start_at_protocol(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _protocol_input(protocol))
    assert result["step_id"] == step
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_SLAVE: 1})
    assert result["step_id"] == step and result["errors"] == {CONF_SLAVE: "slave_in_use"}


async def test_test_read_takes_a_turn_on_a_loaded_bus(
    hass: HomeAssistant, mock_ports: list[Any], mock_read_meter: AsyncMock
) -> None:
    """The flow's test read waits for the line: it never runs while a meter on it is read."""
    first = _entry("1", address="1")
    first.add_to_hass(hass)
    assert await hass.config_entries.async_setup(first.entry_id)
    bus = next(iter(hass.data[BUSES].values()))
    reading = asyncio.Event()
    release = asyncio.Event()

    async def slow_poll(*_: Any, **__: Any) -> Any:
        reading.set()
        await release.wait()
        return make_readout()

    result = await _start_at_protocol(hass)
    mock_read_meter.side_effect = slow_poll
    hass.async_create_task(first.runtime_data.async_refresh())
    await reading.wait()
    seen_busy: list[bool] = []

    async def flow_read(*_: Any, **__: Any) -> Any:
        seen_busy.append(bus.busy)
        return _other_meter()

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _protocol_input("mode_c", address="2")
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    mock_read_meter.side_effect = flow_read
    release.set()
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The flow's read held the line itself (exclusive), after the poll had given it back; the
    # new entry's first read took its own turn.
    assert seen_busy == [True, True]
    await hass.async_block_till_done()
    second = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert second is not None and second.state is ConfigEntryState.LOADED
    assert set(bus.members) == {first.entry_id, second.entry_id}
    for entry in (first, second):
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert not hass.data[BUSES]


def test_addresses_compare_without_leading_zeros() -> None:
    """``0042`` and ``42`` are one address; ``000`` is address 0, not none."""
    assert _normal_address(" 0042 ") == _normal_address("42") == "42"
    assert _normal_address("000") == "0"
    assert _normal_address("  ") == ""
