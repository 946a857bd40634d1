"""DLMS/COSEM, SML and E-Redes HAN meters in Home Assistant: config flow, entities, repairs, unload."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from decimal import Decimal
import json
from typing import Any
from unittest.mock import patch

from homeassistant.components.sensor import ATTR_OPTIONS, SensorDeviceClass
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.landis_gyr_optical.const import (
    CONF_ADVANCED,
    CONF_AUTHENTICATION_KEY,
    CONF_HAN_MAP,
    CONF_KEY,
    CONF_MAX_POWER_KW,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    CONF_SLAVE,
    DOMAIN,
)
from custom_components.landis_gyr_optical.meter.dlms.axdr import DataType, integer, structure
from custom_components.landis_gyr_optical.meter.dlms.notification import DataNotification
from custom_components.landis_gyr_optical.meter.eredes_han.client import HanSettings
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.simulator.dlms import (
    PtyPushMeter,
    PullMeter,
    encrypted_push_frames,
    gbt_push_frames,
    locked_zcx_meter,
    push_apdu,
    single_push_frame,
    standard_objects,
)
from tests.simulator.eredes import (
    PARTLY_REFUSED,
    PtyHanMeter,
    all_registers,
    partly_refused_profile,
    single_phase_profile,
    three_phase_profile,
)
from tests.simulator.sml import sml_push_frames
from tests.vectors import own_vector

from .conftest import fds_on

KEY = "101112131415161718191A1B1C1D1E1F"
WRONG_KEY = "00112233445566778899AABBCCDDEEFF"
FAST_HAN = HanSettings(request_pause=0.01, response_timeout=0.3)
PUSH_SERIAL = "LGZ1030653520967"
HAN_SERIAL = "0123456789"


@pytest.fixture(autouse=True)
def _fast_han_and_no_ports() -> Generator[None]:
    """HAN polls without the 1 s pause; no USB ports, so the flow starts at the manual step."""
    with (
        patch("custom_components.landis_gyr_optical.meter.variants.HAN_TIMING", FAST_HAN),
        patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=[]),
    ):
        yield


def _protocol(protocol: str) -> dict[str, Any]:
    return {
        CONF_PROTOCOL: protocol,
        CONF_ADVANCED: {"max_baud": "19200", "address": "", "wake_up": False, CONF_SCAN_INTERVAL: 60},
    }


async def _start(hass: HomeAssistant, port: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["step_id"] == "manual"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: port})
    assert result["step_id"] == "protocol"
    return result


async def _submit(hass: HomeAssistant, result: dict[str, Any], user_input: dict[str, Any]) -> dict[str, Any]:
    """Submit a step; when it starts the test read, wait for it and return the next step."""
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    return result


async def _wait_for(predicate: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def _state(hass: HomeAssistant, entry: MockConfigEntry | Any, serial: str, code: str) -> Any:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{serial}_{code}")
    assert entity_id is not None, f"no entity for {code}"
    return hass.states.get(entity_id)


def _published(hass: HomeAssistant, serial: str, code: str) -> bool:
    """Whether the register's entity exists and shows a value."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{serial}_{code}")
    state = hass.states.get(entity_id) if entity_id else None
    return state is not None and state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)


async def _unload_closes(hass: HomeAssistant, entry: Any, port: str) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert fds_on(port) == 0


# --- DLMS/COSEM push ------------------------------------------------------------------------------


async def test_dlms_push_e450_flow_and_entities(hass: HomeAssistant) -> None:
    """An E450 (CFG2026) push: no key; import 482.939 kWh once the second push confirms it."""
    async with PtyPushMeter(lambda n: gbt_push_frames(push_apdu(n)), period=0.05) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("dlms_push"))
        assert result["step_id"] == "dlms_push"
        assert list(result["data_schema"].schema) == [CONF_KEY, CONF_AUTHENTICATION_KEY]
        result = await _submit(hass, result, {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == PUSH_SERIAL
        assert result["data"][CONF_PROTOCOL] == "dlms_push"
        assert result["data"][CONF_KEY] is None
        assert result["options"] == {CONF_MAX_POWER_KW: 60.0}
        entry = result["result"]
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        await _wait_for(lambda: _published(hass, PUSH_SERIAL, "1-0:1.8.0"))
        energy = _state(hass, entry, PUSH_SERIAL, "1-0:1.8.0")
        assert energy.state == "482.939"
        assert energy.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
        assert _state(hass, entry, PUSH_SERIAL, "1-0:31.7.0").state == "0.09"
        assert _state(hass, entry, PUSH_SERIAL, "0-0:1.0.0").state == "2026-05-04T11:39:21+02:00"
        await _unload_closes(hass, entry, meter.port)


async def test_encrypted_push_key_errors_then_correct_key(hass: HomeAssistant) -> None:
    """A malformed key is refused on the form; a wrong key fails the read; the right one is stored."""
    async with PtyPushMeter(
        lambda n: encrypted_push_frames(push_apdu(n), bytes.fromhex(KEY)), period=0.05
    ) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("dlms_push"))
        result = await _submit(hass, result, {CONF_KEY: "12345", CONF_AUTHENTICATION_KEY: "zz" * 16})
        assert result["errors"] == {
            CONF_KEY: "invalid_key_format",
            CONF_AUTHENTICATION_KEY: "invalid_key_format",
        }
        result = await _submit(hass, result, {CONF_KEY: WRONG_KEY})
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "dlms_push"
        assert result["errors"] == {"base": "invalid_key"}
        with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
            result = await _submit(
                hass, result, {CONF_KEY: " ".join(KEY[i : i + 4] for i in range(0, 32, 4))}
            )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_KEY] == KEY
        assert result["data"][CONF_AUTHENTICATION_KEY] is None


SMARTY = "p1_lux_smarty_encrypted_gcm_go-smarty-reader.hex"
SMARTY_KEY = "D491470F47126332B07D1923B3504188"
SMARTY_AUTHENTICATION_KEY = "00112233445566778899AABBCCDDEEFF"


async def test_encrypted_p1_flow_wrong_key_then_entities(hass: HomeAssistant) -> None:
    """A Smarty P1 port: the key step refuses a wrong key; with the right one the totals show."""
    frame = bytes.fromhex("".join(own_vector(SMARTY).decode("ascii").split()))
    async with PtyPushMeter(lambda n: [frame], baud=115200, period=0.05) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("mode_d"))
        assert result["step_id"] == "p1_keys"
        assert list(result["data_schema"].schema) == [CONF_KEY, CONF_AUTHENTICATION_KEY]
        result = await _submit(
            hass, result, {CONF_KEY: WRONG_KEY, CONF_AUTHENTICATION_KEY: SMARTY_AUTHENTICATION_KEY}
        )
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "p1_keys"
        assert result["errors"] == {"base": "invalid_key"}
        result = await _submit(
            hass, result, {CONF_KEY: SMARTY_KEY, CONF_AUTHENTICATION_KEY: SMARTY_AUTHENTICATION_KEY}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert (result["data"][CONF_PROTOCOL], result["data"][CONF_KEY]) == ("mode_d", SMARTY_KEY)
        entry = result["result"]
        serial = entry.unique_id
        await hass.async_block_till_done()
        await _wait_for(lambda: _published(hass, serial, "1-0:1.8.0"))
        energy = _state(hass, entry, serial, "1-0:1.8.0")
        assert (energy.state, energy.attributes[ATTR_UNIT_OF_MEASUREMENT]) == ("6.695", "kWh")
        assert _state(hass, entry, serial, "1-0:2.8.0").state == "0.025"
        await _unload_closes(hass, entry, meter.port)


async def test_detection_of_encrypted_push_asks_for_the_key(hass: HomeAssistant) -> None:
    """Detection recognises an encrypted push and asks for the key instead of failing."""
    async with PtyPushMeter(
        lambda n: encrypted_push_frames(push_apdu(n), bytes.fromhex(KEY)), period=0.05
    ) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("auto"))
        assert result["step_id"] == "dlms_push"
        assert result["errors"] == {"base": "key_required"}
        with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
            result = await _submit(hass, result, {CONF_KEY: KEY})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert (result["data"][CONF_PROTOCOL], result["data"][CONF_KEY]) == ("dlms_push", KEY)


async def test_push_detected_and_diagnostics_redact_keys(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Detection finds a plain push; an entry holding keys never shows them in diagnostics."""
    assert await async_setup_component(hass, "diagnostics", {})
    async with PtyPushMeter(lambda n: gbt_push_frames(push_apdu(n)), period=0.05) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("auto"))
        assert result["step_id"] == "found"
        assert result["description_placeholders"]["protocol"] == "dlms_push"
        # The variant is the one option of the translated protocol selector.
        assert result["data_schema"]({}) == {CONF_PROTOCOL: "dlms_push"}
        with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
            result = await _submit(hass, result, {})
        assert result["data"][CONF_PROTOCOL] == "dlms_push"
    async with PtyPushMeter(
        lambda n: encrypted_push_frames(push_apdu(n), bytes.fromhex(KEY)), period=0.05
    ) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="E570",
            unique_id="E570-1",
            data={
                CONF_PORT: meter.port,
                CONF_PROTOCOL: "dlms_push",
                CONF_KEY: KEY,
                CONF_AUTHENTICATION_KEY: WRONG_KEY,
            },
            options={CONF_MAX_POWER_KW: 60.0},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await _wait_for(lambda: entry.runtime_data.data is not None)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        text = json.dumps(diagnostics)
        assert KEY not in text and KEY.lower() not in text and WRONG_KEY not in text
        assert diagnostics["entry"]["data"][CONF_KEY] == "**REDACTED**"
        assert diagnostics["push"] is True
        await _unload_closes(hass, entry, meter.port)


def _unknown_layout_push(_: int) -> list[bytes]:
    body = structure(*(integer(DataType.DOUBLE_LONG_UNSIGNED, number) for number in (7, 8, 9)))
    return single_push_frame(DataNotification(1, body).encode())


async def test_unknown_push_layout_in_the_flow_and_in_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """A push that decodes but has no layout: the form says so, diagnostics show its structure."""
    assert await async_setup_component(hass, "diagnostics", {})
    async with PtyPushMeter(_unknown_layout_push, period=0.05) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("dlms_push"))
        result = await _submit(hass, result, {})
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "protocol"
        assert result["errors"] == {"base": "unknown_push_layout"}
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="push",
            unique_id="push-1",
            data={CONF_PORT: meter.port, CONF_PROTOCOL: "dlms_push"},
            options={CONF_MAX_POWER_KW: 60.0},
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await _wait_for(lambda: entry.runtime_data.stats.last_error is not None)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert "structure[double-long-unsigned 7, double-long-unsigned 8" in json.dumps(diagnostics)
        await _unload_closes(hass, entry, meter.port)


# --- SML ------------------------------------------------------------------------------------------


async def test_sml_flow_and_entities(hass: HomeAssistant) -> None:
    """An SML push (E320): chosen explicitly, 1.8.0 shows once confirmed; detection finds it too."""
    async with PtyPushMeter(sml_push_frames, period=0.05) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("sml"))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        serial = entry.unique_id
        assert serial == "1LGZ0054541129"
        await hass.async_block_till_done()
        await _wait_for(lambda: _published(hass, serial, "1-0:1.8.0"))
        assert float(_state(hass, entry, serial, "1-0:1.8.0").state) > 5171.9
        assert _state(hass, entry, serial, "1-0:16.7.0").state == "251"
        await _unload_closes(hass, entry, meter.port)
        # A pushing meter owns its line: the port takes no other entry while this one exists.
        await hass.config_entries.async_remove(entry.entry_id)
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("auto"))
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "found"
        assert result["description_placeholders"]["protocol"] == "sml"


# --- DLMS/COSEM pull ------------------------------------------------------------------------------


async def test_mode_e_password(hass: HomeAssistant) -> None:
    """Mode E: a wrong password is refused on the DLMS step; the right one is stored."""
    async with PullMeter(standard_objects(), password=b"12345678") as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("dlms_mode_e"))
        assert result["step_id"] == "dlms_pull"
        result = await _submit(hass, result, {CONF_PASSWORD: "nope", CONF_SLAVE: 1})
        assert result["step_id"] == "dlms_pull" and result["errors"] == {"base": "association_rejected"}
        result = await _submit(hass, result, {CONF_PASSWORD: "12345678", CONF_SLAVE: 1})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert (result["data"][CONF_PASSWORD], result["data"][CONF_SLAVE]) == ("12345678", 1)
        entry = result["result"]
        await hass.async_block_till_done()
        # The first total awaits its confirming read; instantaneous values show at once.
        assert _state(hass, entry, entry.unique_id, "1-0:1.8.0").state == STATE_UNKNOWN
        assert entry.runtime_data.data.readout.current[ObisCode.parse("1-0:1.8.0")].value == Decimal(
            "123456.78"
        )
        assert _state(hass, entry, entry.unique_id, "1-0:32.7.0").state == "231.4"
        await _unload_closes(hass, entry, meter.port)


async def test_mode_e_detected(hass: HomeAssistant) -> None:
    """Detection tries mode E when the identification announces it and the readout failed."""
    async with PullMeter(standard_objects()) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("auto"))
        assert result["step_id"] == "found"
        assert result["description_placeholders"]["protocol"] == "dlms_mode_e"


async def test_direct_hdlc_chosen(hass: HomeAssistant) -> None:
    """A meter that speaks HDLC from the start, chosen explicitly."""
    async with PullMeter(standard_objects(), mode_e=False) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("dlms_hdlc"))
        with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
            result = await _submit(hass, result, {CONF_SLAVE: 1})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_PROTOCOL] == "dlms_hdlc"
        assert result["options"][CONF_SCAN_INTERVAL] == 60


# --- E-Redes HAN ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "three_phase"),
    [(three_phase_profile(), True), (single_phase_profile(two_stop_bits=True), False)],
    ids=["three_phase_8n1", "single_phase_8n2"],
)
async def test_eredes_flow_and_entities(hass: HomeAssistant, profile: Any, three_phase: bool) -> None:
    """Chosen explicitly: framing detected, 30 s default interval, totals, per-phase values, tariff."""
    async with PtyHanMeter(profile) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("eredes_han"))
        assert result["step_id"] == "han"
        result = await _submit(hass, result, {CONF_SLAVE: 1})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["framing"] == ("8N1" if three_phase else "8N2")
        assert result["options"][CONF_SCAN_INTERVAL] == 30
        entry = result["result"]
        assert entry.unique_id == HAN_SERIAL
        await hass.async_block_till_done()
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done()
        assert _state(hass, entry, HAN_SERIAL, "1-0:1.8.0").state == "1234.567"
        assert _state(hass, entry, HAN_SERIAL, "1-0:2.8.0").state == "89.012"
        assert _state(hass, entry, HAN_SERIAL, "1-0:1.8.3").state == "534.267"
        assert _state(hass, entry, HAN_SERIAL, "1-0:32.7.0").state == "230.1"
        tariff = _state(hass, entry, HAN_SERIAL, "0-0:96.14.0")
        assert tariff.state == "ponta"
        assert tariff.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
        assert tariff.attributes[ATTR_OPTIONS] == ["vazio", "ponta", "cheias"]
        assert _state(hass, entry, HAN_SERIAL, "1-0:13.7.0").state == "0.987"
        threshold = _state(hass, entry, HAN_SERIAL, "0-0:17.0.1")
        assert (threshold.state, threshold.attributes[ATTR_DEVICE_CLASS]) == (
            "6900",
            SensorDeviceClass.APPARENT_POWER,
        )
        if three_phase:
            assert _state(hass, entry, HAN_SERIAL, "1-0:52.7.0").state == "231.5"
            assert _state(hass, entry, HAN_SERIAL, "1-0:71.7.0").state == "1.2"
            assert _state(hass, entry, HAN_SERIAL, "1-0:61.8.0").state == "334.567"
        else:
            assert (
                er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{HAN_SERIAL}_1-0:52.7.0") is None
            )
        await _unload_closes(hass, entry, meter.port)


async def test_eredes_map_learned_in_the_flow_is_kept_with_the_entry(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    """A third of the map refused: the flow's read learns it, no poll (nor a restart) learns it again."""
    async with PtyHanMeter(partly_refused_profile()) as meter:
        result = await _start(hass, meter.port)
        result = await _submit(hass, result, _protocol("eredes_han"))
        before = len(meter.requests)
        result = await _submit(hass, result, {CONF_SLAVE: 1})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        stored = {"three_phase": True, "denied": sorted(PARTLY_REFUSED), "absent": []}
        assert result["data"][CONF_HAN_MAP] == stored
        assert result["data"]["fixed_baud"] == 9600
        entry = result["result"]
        await hass.async_block_till_done()
        # The flow's read learned the map (39 requests); the set-up's first poll asks only for
        # the 7 blocks around what is refused.
        assert len(meter.requests) - before == 39 + 7
        assert [r.quantity for r in meter.requests[-7:]] == [2, 6, 1, 14, 7, 7, 2]
        assert entry.runtime_data.reader.han.requests == 7
        assert _state(hass, entry, HAN_SERIAL, "1-0:52.7.0").state == "231.5"
        issue = issue_registry.async_get_issue(DOMAIN, f"register_not_enabled_{entry.entry_id}")
        assert (
            issue is not None and "reactive energy QI (0x0018)" in issue.translation_placeholders["registers"]
        )
        # A reload (a restart) starts from the stored map as well.
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.reader.han.requests == 7
        # The meter loses another register: the poll learns it and the entry keeps it.
        meter.profile = three_phase_profile(denied=PARTLY_REFUSED | {0x007F})
        await entry.runtime_data.async_refresh()
        assert entry.data[CONF_HAN_MAP]["denied"] == sorted(PARTLY_REFUSED | {0x007F})
        await _unload_closes(hass, entry, meter.port)


async def test_eredes_damaged_stored_map_is_learned_again(hass: HomeAssistant) -> None:
    async with PtyHanMeter(single_phase_profile()) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="E-Redes meter",
            unique_id=HAN_SERIAL,
            data={
                CONF_PORT: meter.port,
                CONF_PROTOCOL: "eredes_han",
                "framing": "8N1",
                CONF_SLAVE: 1,
                CONF_HAN_MAP: {"denied": ["0x16"]},
            },
            options={CONF_SCAN_INTERVAL: 30, CONF_MAX_POWER_KW: 60.0},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        assert entry.data[CONF_HAN_MAP] == {"three_phase": False, "denied": [], "absent": [0x006E]}
        await _unload_closes(hass, entry, meter.port)


async def test_locked_zcx_optical_port_detected(hass: HomeAssistant) -> None:
    """Detection on an E-Redes ZCX optical port: the form says it is locked and names the HAN route."""
    async with locked_zcx_meter() as meter:
        result = await _start(hass, meter.port)
        with patch("custom_components.landis_gyr_optical.detection.DETECT_LISTEN_TIME", 0.5):
            result = await _submit(hass, result, _protocol("auto"))
    assert result["step_id"] == "protocol"
    assert result["errors"] == {"base": "port_locked_eredes"}
    placeholders = result["description_placeholders"]
    assert placeholders["identification"] == "LGZ5\\2ZCXe110CRU0L3D2.03"
    assert placeholders["diagnostic"] == "authentication failure (13)"
    assert placeholders["variant"] == "DLMS/COSEM, IEC 62056-21 mode E, HDLC, server 1/0"


async def test_eredes_detected(hass: HomeAssistant) -> None:
    """Detection reaches the HAN attempt after the optical variants stayed silent."""
    async with PtyHanMeter(single_phase_profile()) as meter:
        result = await _start(hass, meter.port)
        with patch("custom_components.landis_gyr_optical.detection.DETECT_LISTEN_TIME", 0.2):
            result = await _submit(hass, result, _protocol("auto"))
        assert result["step_id"] == "found", result.get("errors")
        assert result["description_placeholders"]["protocol"] == "eredes_han"
        with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
            result = await _submit(hass, result, {})
        assert result["data"][CONF_PROTOCOL] == "eredes_han"
        assert result["options"][CONF_SCAN_INTERVAL] == 30


async def test_eredes_refused_registers_raise_repair_issue(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    """Refused HAN registers raise an issue naming them; it clears once they become readable."""
    async with PtyHanMeter(three_phase_profile()) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="E-Redes meter",
            unique_id=HAN_SERIAL,
            data={CONF_PORT: meter.port, CONF_PROTOCOL: "eredes_han", "framing": "8N1", CONF_SLAVE: 1},
            options={CONF_SCAN_INTERVAL: 30, CONF_MAX_POWER_KW: 60.0},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        issue_id = f"register_not_enabled_{entry.entry_id}"
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
        coordinator = entry.runtime_data
        meter.profile = three_phase_profile(denied=all_registers())
        await coordinator.async_refresh()
        issue = issue_registry.async_get_issue(DOMAIN, issue_id)
        assert issue is not None and issue.translation_key == "register_not_enabled"
        assert "active energy import +A (0x0016)" in issue.translation_placeholders["registers"]
        assert not coordinator.last_update_success
        assert coordinator.stats.errors_by_key == {"register_not_enabled": 1}
        meter.profile = three_phase_profile(denied=frozenset({0x006E}))
        await coordinator.async_refresh()
        issue = issue_registry.async_get_issue(DOMAIN, issue_id)
        assert issue is not None and issue.translation_placeholders["registers"] == "voltage L2 (0x006E)"
        assert coordinator.last_update_success
        meter.profile = three_phase_profile()
        # Refused registers are asked for again every RECHECK_POLLS polls, not every poll.
        await coordinator.async_refresh()
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
        assert coordinator.reader.han is not None
        coordinator.reader.han.recheck()
        await coordinator.async_refresh()
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
        await hass.config_entries.async_remove(entry.entry_id)
