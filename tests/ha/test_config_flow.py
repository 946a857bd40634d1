"""Config flow: every step, every error, discovery, reconfigure and options."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
import dataclasses
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_USB, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.usb import UsbServiceInfo
from homeassistant.loader import async_get_usb
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import serialx

from custom_components.landis_gyr_optical.const import (
    CONF_ADVANCED,
    CONF_IMPORT_HISTORY,
    CONF_KEY,
    CONF_MAX_BAUD,
    CONF_MAX_POWER_KW,
    CONF_PORT,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    CONF_USB_ID,
    DOMAIN,
    EXPECTED_READOUT_CHARACTERS,
    MANUAL_PORT,
)
from custom_components.landis_gyr_optical.detection import estimated_line_time, read_timeout
from custom_components.landis_gyr_optical.meter.errors import (
    ChecksumError,
    NoAnswerError,
    PortError,
    ProtocolError,
    UnsupportedModeError,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Protocol,
    Receive,
    Session,
    SessionSettings,
    Transmit,
    first_byte_allowance,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.probe import ProbeAttempt, ProbeReport
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, Variant
from custom_components.landis_gyr_optical.meter.verdicts import AttemptName, FindingKey, Verdict
from custom_components.landis_gyr_optical.ports import port_label, valid_port

from .conftest import METER_SERIAL, PORT, entry_data, make_readout

OTHER_PORT = "/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0"


def _port_info(
    device: str, resolved: str, serial: str, product: str | None = "Optical Head"
) -> serialx.SerialPortInfo:
    return serialx.SerialPortInfo(
        device=device,
        resolved_device=resolved,
        vid=0x0403,
        pid=0x6001,
        serial_number=serial,
        manufacturer="FTDI",
        product=product,
        bcd_device=None,
        interface_description=None,
        interface_num=None,
    )


@pytest.fixture
def mock_ports() -> Generator[list[serialx.SerialPortInfo]]:
    """Two USB heads on the system."""
    ports = [_port_info(PORT, "/dev/ttyUSB0", "A1B2C3"), _port_info(OTHER_PORT, "/dev/ttyUSB1", "0001", None)]
    with patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=ports):
        yield ports


def _protocol_input(protocol: str = "mode_c", **advanced: Any) -> dict[str, Any]:
    values = {CONF_MAX_BAUD: "9600", "address": "", "wake_up": False, CONF_SCAN_INTERVAL: 120}
    values.update(advanced)
    return {CONF_PROTOCOL: protocol, CONF_ADVANCED: values}


async def _read(hass: HomeAssistant, result: dict[str, Any], user_input: dict[str, Any]) -> dict[str, Any]:
    """Submit the protocol step and wait for the test read behind the progress step."""
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "read"
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def _start_at_protocol(hass: HomeAssistant, port: str = PORT) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: port})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "protocol"
    return result


async def test_user_flow_mode_c(
    hass: HomeAssistant, mock_ports: list[Any], mock_read_meter: AsyncMock
) -> None:
    """A listed head, mode C: the meter is read once and the entry is keyed by its serial."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert [option["value"] for option in options] == [PORT, OTHER_PORT, MANUAL_PORT]
    assert options[0]["label"].startswith("Optical Head - " + PORT)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: PORT})
    result = await _read(hass, result, _protocol_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Landis+Gyr ZMF100AC.M27"
    assert result["result"].unique_id == METER_SERIAL
    assert result["data"] == entry_data(max_baud=9600, usb_id="0403:6001_A1B2C3")
    assert result["options"] == {CONF_SCAN_INTERVAL: 120, CONF_MAX_POWER_KW: 60.0}
    settings: SessionSettings = mock_read_meter.call_args_list[0].args[1]
    assert (settings.protocol, settings.max_baud) == (Protocol.MODE_C, 9600)


async def test_configured_ports_offered_as_bus(
    hass: HomeAssistant, mock_ports: list[Any], mock_config_entry: MockConfigEntry
) -> None:
    """A port another entry uses is offered again, marked, to add another meter on that bus."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert [option["value"] for option in options] == [PORT, OTHER_PORT, MANUAL_PORT]
    assert options[0]["label"].startswith("+ Optical Head - " + PORT)
    assert options[0]["label"].endswith("(Landis+Gyr ZMF100AC.M27)")
    assert not options[1]["label"].startswith("+")
    assert result["description_placeholders"] == {"mark": "+"}


async def test_manual_port_and_detection(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """No port found: manual entry (validated), then detection shows what it found."""
    report = ProbeReport(
        port="socket://192.0.2.1:8888",
        attempts=(
            ProbeAttempt(
                Verdict(AttemptName.SIGN_ON),
                MeterConfig(Variant.MODE_C),
                b"/?!\r\n",
                b"/LGZ4",
                Verdict(FindingKey.READOUT, {"identification": "LGZ4", "baud": "300"}),
                True,
            ),
        ),
        readout=make_readout(baud=300),
        settings=MeterConfig(Variant.MODE_C, framing=Framing.SEVEN_E_ONE, fixed_baud=300),
    )
    with (
        patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=[]),
        patch(
            "custom_components.landis_gyr_optical.detection.probe", AsyncMock(return_value=report)
        ) as probe,
    ):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        assert result["step_id"] == "manual"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: "http://nope"})
        assert result["errors"] == {CONF_PORT: "invalid_port"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: "socket://192.0.2.1:8888"}
        )
        assert result["step_id"] == "protocol"
        result = await _read(hass, result, _protocol_input("auto", address="42"))
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "found"
        assert result["description_placeholders"]["identification"] == "LGZ4ZMF100AC.M27"
        assert result["description_placeholders"]["attempts"] == (
            "\n\nWhat the detection tried\n- sign-on at 300 Bd 7E1 (modes A, B, C): identification /LGZ4; "
            "verified readout () at 300 Bd with  data sets"
        )
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert probe.call_args.kwargs == {"address": "42", "max_baud": 9600, "listen_time": 12.0}
    data = result["data"]
    assert (data[CONF_PORT], data[CONF_PROTOCOL], data["address"], data["fixed_baud"]) == (
        "socket://192.0.2.1:8888",
        "mode_c",
        "42",
        None,
    )


async def test_manual_choice_from_list(hass: HomeAssistant, mock_ports: list[Any]) -> None:
    """The list's last choice leads to the manual step."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: MANUAL_PORT})
    assert result["step_id"] == "manual"


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (PortError(PORT, "No such file or directory"), "cannot_open_port"),
        (NoAnswerError("silent"), "no_answer"),
        (ChecksumError("bad bcc"), "checksum_error"),
        (ProtocolError("garbage"), "unsupported_response"),
        (UnsupportedModeError("mode B at 19200"), "unsupported_mode"),
        (TimeoutError(), "no_answer"),
        (RuntimeError("bug"), "unknown"),
    ],
)
async def test_read_errors(
    hass: HomeAssistant, mock_ports: list[Any], mock_read_meter: AsyncMock, error: Exception, key: str
) -> None:
    """Every failure of the test read is a translated error on the protocol step; a retry works."""
    mock_read_meter.side_effect = error
    result = await _start_at_protocol(hass)
    result = await _read(hass, result, _protocol_input())
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "protocol"
    assert result["errors"] == {"base": key}
    mock_read_meter.side_effect = None
    result = await _read(hass, result, _protocol_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("attempts", "key", "shown"),
    [
        (((NoAnswerError("silent"), b""), (PortError(PORT, "busy"), b"")), "cannot_open_port", {}),
        (((NoAnswerError("silent"), b""), (ProtocolError("garbage"), b"\x00\xff")), "garbled", {}),
        (((NoAnswerError("silent"), b"/?!\r\n"), (None, b"")), "only_echo", {}),
        (((NoAnswerError("silent"), b""), (None, b"")), "nothing_back", {}),
        (
            ((NoAnswerError("no readout"), b"/?!\r\n/ISK5MT174-0001\r\n"), (None, b"")),
            "identification_no_readout",
            {
                "identification": "ISK5MT174-0001",
                "tried": "E-Redes HAN (Modbus RTU) at 9600 Bd 8N1 and 8N2, then at 19200 Bd",
            },
        ),
    ],
    ids=["port", "garbled", "echo", "nothing", "identification"],
)
async def test_detection_fails(
    hass: HomeAssistant,
    mock_ports: list[Any],
    attempts: tuple[tuple[Exception | None, bytes], ...],
    key: str,
    shown: dict[str, str],
) -> None:
    """A failed detection shows its verdict, translated, with the details as placeholders."""
    report = ProbeReport(
        PORT,
        tuple(
            ProbeAttempt(Verdict(name), None, b"/?!\r\n", received, Verdict(FindingKey.SILENT), False, error)
            for name, (error, received) in zip((AttemptName.SIGN_ON, AttemptName.HAN), attempts, strict=True)
        ),
        None,
        None,
    )
    with patch("custom_components.landis_gyr_optical.detection.probe", AsyncMock(return_value=report)):
        result = await _start_at_protocol(hass)
        result = await _read(hass, result, _protocol_input("auto"))
    assert result["errors"] == {"base": key}
    placeholders = result["description_placeholders"]
    assert {name: placeholders[name] for name in shown} == shown
    assert set(placeholders) == {
        "port",
        "error",
        "identification",
        "diagnostic",
        "tried",
        "variant",
        "attempts",
    }
    lines = placeholders["attempts"].split("\n")
    if key == "cannot_open_port":
        assert lines == [""]  # a port error is the step's own error; the attempts are not shown
    else:
        assert lines[-2:] == [
            "- sign-on at 300 Bd 7E1 (modes A, B, C): silent: nothing came back",
            "- E-Redes HAN (Modbus RTU) at 9600 Bd 8N1 and 8N2, then at 19200 Bd: silent: nothing came back",
        ]


async def test_already_configured(
    hass: HomeAssistant, mock_ports: list[Any], mock_read_meter: AsyncMock, mock_config_entry: MockConfigEntry
) -> None:
    """The same meter through another head is not set up twice."""
    mock_config_entry.add_to_hass(hass)
    result = await _start_at_protocol(hass, OTHER_PORT)
    result = await _read(hass, result, _protocol_input())
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_mode_d_has_no_poll_interval(
    hass: HomeAssistant, mock_ports: list[Any], mock_read_meter: AsyncMock
) -> None:
    """A pushing meter is stored without a poll interval."""
    mock_read_meter.return_value = make_readout(protocol="mode_d", baud=2400, checksum="none")
    result = await _start_at_protocol(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _protocol_input("mode_d"))
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "p1_keys"
    with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
        result = await _read(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PROTOCOL] == "mode_d"
    assert result["data"][CONF_KEY] is None
    assert result["options"] == {CONF_MAX_POWER_KW: 60.0}


USB_INFO = UsbServiceInfo(
    device=PORT, vid="0403", pid="6001", serial_number="A1B2C3", manufacturer="FTDI", description="IR head"
)


async def test_usb_discovery(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """A discovered head is confirmed, then set up like a chosen one."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USB}, data=USB_INFO)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "usb_confirm"
    assert result["description_placeholders"] == {"name": "IR head", "port": PORT}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "protocol"
    result = await _read(hass, result, _protocol_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == METER_SERIAL
    assert result["data"][CONF_USB_ID] == "0403:6001_A1B2C3"


async def test_home_assistant_matches_only_the_probes_with_ids_of_their_own(hass: HomeAssistant) -> None:
    """The manifest's USB matchers reach Home Assistant's discovery: two probes, no bare chip."""
    matchers = [matcher for matcher in await async_get_usb(hass) if matcher["domain"] == DOMAIN]
    assert {(matcher["vid"], matcher["pid"]) for matcher in matchers} == {("0403", "E700"), ("0403", "F458")}
    assert all(set(matcher) == {"domain", "vid", "pid"} for matcher in matchers)


async def test_usb_discovery_updates_path(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """A known head that shows up under a new path gets its stored path updated."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(port="/dev/ttyUSB3", usb_id="0403:6001_A1B2C3")
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USB}, data=USB_INFO)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert entry.data[CONF_PORT] == PORT
    # The same path again: nothing to change.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USB}, data=USB_INFO)
    assert result["reason"] == "already_configured"
    await hass.async_block_till_done()


async def test_usb_discovery_ignored(hass: HomeAssistant) -> None:
    """A head the user ignored is not offered again."""
    MockConfigEntry(domain=DOMAIN, unique_id="0403:6001_A1B2C3", source=SOURCE_IGNORE, data={}).add_to_hass(
        hass
    )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USB}, data=USB_INFO)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_reconfigure(
    hass: HomeAssistant, mock_ports: list[Any], mock_read_meter: AsyncMock, mock_config_entry: MockConfigEntry
) -> None:
    """The port of a loaded entry changes; the meter answering there must be the same one."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    options = result["data_schema"].schema[CONF_PORT].config["options"]
    assert [option["value"] for option in options] == [PORT, OTHER_PORT, MANUAL_PORT]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: OTHER_PORT})
    assert result["step_id"] == "protocol"
    result = await _read(hass, result, _protocol_input(address="7", **{CONF_SCAN_INTERVAL: 300}))
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_PORT] == OTHER_PORT
    assert mock_config_entry.data["address"] == "7"
    assert mock_config_entry.options[CONF_SCAN_INTERVAL] == 300
    await hass.async_block_till_done()


async def test_reconfigure_manual_url_not_listed(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """A URL port is offered as the current choice; another meter is refused."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(port="socket://192.0.2.1:1")
    )
    entry.add_to_hass(hass)
    with patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=[]):
        result = await entry.start_reconfigure_flow(hass)
        options = result["data_schema"].schema[CONF_PORT].config["options"]
        assert [option["value"] for option in options] == ["socket://192.0.2.1:1", MANUAL_PORT]
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PORT: "socket://192.0.2.1:1"}
        )
    mock_read_meter.return_value = make_readout(
        make_readout().registers and "C.1.0(99999999)\r\n1.8.0(1.0*kWh)\r\n"
    )
    result = await _read(hass, result, _protocol_input())
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "unique_id_mismatch"
    assert entry.data[CONF_PORT] == "socket://192.0.2.1:1"


async def test_reconfigure_push_entry_pauses_listener(
    hass: HomeAssistant, mock_read_meter: AsyncMock
) -> None:
    """A loaded push entry releases its port for the test read and takes it back after."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(protocol="mode_d"))
    entry.add_to_hass(hass)

    async def _listen(*_: Any) -> Any:
        await asyncio.Event().wait()

    with (
        patch("custom_components.landis_gyr_optical.coordinator.Link.open", AsyncMock()),
        patch("custom_components.landis_gyr_optical.coordinator.Link.close", AsyncMock()),
        patch("custom_components.landis_gyr_optical.coordinator.run_session", _listen),
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = entry.runtime_data
        assert coordinator._push_task is not None
        with patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=[]):
            result = await entry.start_reconfigure_flow(hass)
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: PORT})
        mock_read_meter.return_value = make_readout(protocol="mode_d", checksum="none")

        async def _read_while_paused(*_: Any, **__: Any) -> Any:
            assert coordinator._push_task is None
            return make_readout(protocol="mode_d", checksum="none")

        mock_read_meter.side_effect = _read_while_paused
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _protocol_input("mode_d"))
        assert result["step_id"] == "p1_keys"
        result = await _read(hass, result, {})
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_polled(
    hass: HomeAssistant, mock_read_meter: AsyncMock, mock_config_entry: MockConfigEntry
) -> None:
    """The poll interval cannot be shorter than the last readout's line time."""
    slow = make_readout()
    mock_read_meter.return_value = dataclasses.replace(
        slow, timings={"identification started": 0.5, "done": 40.2}
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"] == {"minimum": "40"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30, CONF_MAX_BAUD: "300", CONF_MAX_POWER_KW: 30}
    )
    assert result["errors"] == {CONF_SCAN_INTERVAL: "interval_too_short"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 45, CONF_MAX_BAUD: "2400", CONF_MAX_POWER_KW: 30}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        CONF_SCAN_INTERVAL: 45,
        CONF_MAX_BAUD: 2400,
        CONF_MAX_POWER_KW: 30,
        CONF_IMPORT_HISTORY: True,
    }
    await hass.async_block_till_done()


async def test_options_estimated_and_push(hass: HomeAssistant) -> None:
    """Without a readout the line time is estimated from the rate; push entries have no interval."""
    slow = MockConfigEntry(domain=DOMAIN, unique_id="a", data=entry_data(max_baud=300))
    slow.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(slow.entry_id)
    assert int(result["description_placeholders"]["minimum"]) == int(estimated_line_time(300)) + 1
    push = MockConfigEntry(domain=DOMAIN, unique_id="b", data=entry_data(protocol="mode_d"))
    push.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(push.entry_id)
    assert list(result["data_schema"].schema) == [CONF_MAX_POWER_KW]
    with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
        result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_MAX_POWER_KW: 20})
    assert push.options == {CONF_MAX_POWER_KW: 20}


def test_helpers() -> None:
    """Port labels, port validation and the read ceiling."""
    info = _port_info(PORT, "/dev/ttyUSB0", "A1B2C3")
    assert port_label(info) == f"Optical Head - {PORT}, s/n: A1B2C3 - FTDI - 0403:6001"
    bare = serialx.SerialPortInfo("/dev/ttyS0", "/dev/ttyS0", None, None, None, None, None, None, None, None)
    assert port_label(bare) == "/dev/ttyS0, s/n: n/a"
    assert (
        valid_port("/dev/ttyUSB0")
        and valid_port("COM3")
        and valid_port("esphome://head.local:6053/?port_name=x")
    )
    assert not valid_port("socket://") and not valid_port("ttyUSB0")
    plain = read_timeout(SessionSettings(), attempts=1)
    assert plain > 100  # a 300 Bd readout takes minutes at worst, never a fixed 10 s
    assert read_timeout(SessionSettings(wake_up=True), attempts=1) > plain
    assert read_timeout(SessionSettings(protocol=Protocol.MODE_D), attempts=1) == pytest.approx(plain + 30.0)


def test_estimates_allow_for_the_sessions_first_byte_waits() -> None:
    """The shown line time and the read ceiling wait for each answer as long as the session does.

    That is the session's first-byte allowance (2.8 s and a character), not the standard's
    1.5 s: a slower meter, or one behind a network bridge, is read, and the estimate says so.
    """
    session = Session(SessionSettings())
    assert isinstance(session.next_command(), Transmit)
    identification = session.next_command()
    assert isinstance(identification, Receive)
    sign_on = 40 * LineSettings(300).character_time()
    readout = EXPECTED_READOUT_CHARACTERS * LineSettings(9600).character_time()
    waits = estimated_line_time(9600) - sign_on - readout
    assert waits == pytest.approx(
        identification.first_byte_timeout + first_byte_allowance(LineSettings(9600))
    )
    assert waits > 2 * 2.8
    slowest = LineSettings(300, Framing.SEVEN_E_TWO)
    ceiling_waits = (
        read_timeout(SessionSettings(), attempts=1) - EXPECTED_READOUT_CHARACTERS * slowest.character_time()
    )
    assert ceiling_waits == pytest.approx(3 * first_byte_allowance(slowest))


async def test_meter_without_serial(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    """A meter that reports no serial is keyed by its FLAG id and identification; ports without USB ids are listed."""
    mock_read_meter.return_value = make_readout("1.8.0(000001.000*kWh)\r\n")
    bare = serialx.SerialPortInfo("/dev/ttyS0", "/dev/ttyS0", None, None, None, None, None, None, None, None)
    with patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=[bare]):
        result = await _start_at_protocol(hass, "/dev/ttyS0")
        result = await _read(hass, result, _protocol_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "LGZ-ZMF100AC.M27"
    assert result["data"][CONF_USB_ID] is None


async def test_detection_reports_refused_registers(hass: HomeAssistant, mock_ports: list[Any]) -> None:
    """A HAN meter found by detection that refuses its registers: the form says so."""
    from custom_components.landis_gyr_optical.meter.eredes_han.client import RegisterNotEnabledError
    from custom_components.landis_gyr_optical.meter.eredes_han.registers import BY_ADDRESS

    refused = RegisterNotEnabledError([BY_ADDRESS[0x0016]])
    attempts = (
        ProbeAttempt(
            Verdict(AttemptName.SIGN_ON),
            None,
            b"",
            b"",
            Verdict(FindingKey.SILENT),
            False,
            NoAnswerError("x"),
        ),
        ProbeAttempt(
            Verdict(AttemptName.HAN),
            MeterConfig(Variant.EREDES_HAN),
            b"",
            b"",
            Verdict(FindingKey.CREDENTIALS, {"error": str(refused)}),
            False,
            refused,
        ),
    )
    report = ProbeReport(PORT, attempts, None, None)
    assert report.summary.startswith("A meter answered, but: the meter refuses")
    with patch("custom_components.landis_gyr_optical.detection.probe", AsyncMock(return_value=report)):
        result = await _start_at_protocol(hass)
        result = await _read(hass, result, _protocol_input("auto"))
    assert result["step_id"] == "protocol"
    assert result["errors"] == {"base": "register_not_enabled"}


async def test_options_of_han_entry(hass: HomeAssistant) -> None:
    """A HAN entry: 30 s default, no rate, the minimum is the estimated poll time."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="h", data=entry_data(protocol="eredes_han", framing="8N1")
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert list(result["data_schema"].schema) == [CONF_SCAN_INTERVAL, CONF_MAX_POWER_KW]
    assert result["description_placeholders"] == {"minimum": "10"}
    with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 30, CONF_MAX_POWER_KW: 20}
        )
    assert entry.options == {CONF_SCAN_INTERVAL: 30, CONF_MAX_POWER_KW: 20}


@pytest.mark.parametrize("protocol", ["dlms_hdlc", "dlms_mode_e"])
async def test_options_of_dlms_pull_entry(hass: HomeAssistant, protocol: str) -> None:
    """A DLMS pull entry keeps a Profile Generic: the stored history import is offered, on by default."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="p", data=entry_data(protocol=protocol))
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert CONF_IMPORT_HISTORY in result["data_schema"].schema
    with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                **({CONF_MAX_BAUD: "9600"} if protocol == "dlms_mode_e" else {}),
                CONF_SCAN_INTERVAL: 60,
                CONF_MAX_POWER_KW: 20,
                CONF_IMPORT_HISTORY: False,
            },
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_IMPORT_HISTORY] is False
