"""Reauthentication: a DLMS meter that refuses the stored key or password asks for the new one."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import (
    CONF_AUTHENTICATION_KEY,
    CONF_KEY,
    CONF_PASSWORD,
    CONF_PROBE,
    CONF_SLAVE,
    DOMAIN,
)
from custom_components.landis_gyr_optical.detection import FoundMeter
from custom_components.landis_gyr_optical.entry_data import config_from_entry
from tests.simulator.dlms import PtyPushMeter, PullMeter, encrypted_push_frames, push_apdu, standard_objects

from .conftest import METER_SERIAL, entry_data, make_readout

KEY = "101112131415161718191A1B1C1D1E1F"
WRONG_KEY = "00112233445566778899AABBCCDDEEFF"
PASSWORD = "12345678"  # noqa: S105 - the simulated meter's password
PULL_SERIAL = "LGZ0093121456"
"""Serial numbers the simulated meters report (``standard_objects()``, ``push_apdu()``)."""
PUSH_SERIAL = "LGZ1030653520967"
DETECTION = {"summary": {"key": "found", "placeholders": {"baud": "9600"}}, "attempts": []}
"""What the entry kept of the detection that found the meter (``probe_record``)."""


def _reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH and flow["context"]["entry_id"] == entry.entry_id
    ]


async def _submit(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    """Submit the credentials and wait for the test read behind the progress step."""
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(flow_id)
    return result


async def _wait_for_reauth(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    for _ in range(250):
        if flows := _reauth_flows(hass, entry):
            return flows[0]
        await asyncio.sleep(0.02)
    raise AssertionError("no reauthentication flow started")


async def test_refused_password_starts_reauth_and_the_new_one_is_stored(hass: HomeAssistant) -> None:
    """Mode E with a changed password: set-up fails as an auth error, the flow stores the right one."""
    async with PullMeter(standard_objects(), password=PASSWORD.encode()) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Landis+Gyr ZMD",
            unique_id=PULL_SERIAL,
            data=entry_data(
                port=meter.port,
                protocol="dlms_mode_e",
                **{CONF_PASSWORD: "nope", CONF_SLAVE: 1, CONF_PROBE: DETECTION},
            ),
            options={"scan_interval": 60, "max_power_kw": 60.0},
        )
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.SETUP_ERROR
        (flow,) = _reauth_flows(hass, entry)
        result = await hass.config_entries.flow.async_configure(flow["flow_id"])
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "reauth_confirm"
        assert list(result["data_schema"].schema) == [CONF_PASSWORD]
        assert (
            result["description_placeholders"].items()
            >= {"title": "Landis+Gyr ZMD", "port": meter.port}.items()
        )

        result = await _submit(hass, flow["flow_id"], {CONF_PASSWORD: "still wrong"})
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "reauth_confirm"
        assert result["errors"] == {"base": "association_rejected"}
        assert result["data_schema"]({})[CONF_PASSWORD] == "still wrong"

        result = await _submit(hass, flow["flow_id"], {CONF_PASSWORD: PASSWORD})
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_successful"
        assert entry.data[CONF_PASSWORD] == PASSWORD
        assert entry.data[CONF_PROBE] == DETECTION  # new credentials, same meter: the record stays
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert not _reauth_flows(hass, entry)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_push_with_a_changed_key_asks_for_it_while_listening(hass: HomeAssistant) -> None:
    """An encrypted push the stored key cannot open starts reauth; the new key is tried and stored."""
    async with PtyPushMeter(
        lambda n: encrypted_push_frames(push_apdu(n), bytes.fromhex(KEY)), period=0.05
    ) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Landis+Gyr E570",
            unique_id=PUSH_SERIAL,
            data=entry_data(
                port=meter.port, protocol="dlms_push", **{CONF_KEY: WRONG_KEY, CONF_AUTHENTICATION_KEY: None}
            ),
            options={"max_power_kw": 60.0},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        flow = await _wait_for_reauth(hass, entry)
        result = await hass.config_entries.flow.async_configure(flow["flow_id"])
        assert list(result["data_schema"].schema) == [CONF_KEY, CONF_AUTHENTICATION_KEY]

        result = await _submit(hass, flow["flow_id"], {CONF_KEY: "12345"})
        assert result["errors"] == {CONF_KEY: "invalid_key_format"}
        result = await _submit(hass, flow["flow_id"], {CONF_KEY: WRONG_KEY})
        assert result["step_id"] == "reauth_confirm" and result["errors"] == {"base": "invalid_key"}
        result = await _submit(hass, flow["flow_id"], {CONF_KEY: KEY.lower()})
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_successful"
        assert (entry.data[CONF_KEY], entry.data[CONF_AUTHENTICATION_KEY]) == (KEY, None)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_another_meter_on_the_port_is_refused(hass: HomeAssistant) -> None:
    """The new password must open the same meter: another serial aborts and changes nothing."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="another-meter",
        data=entry_data(protocol="dlms_hdlc", **{CONF_PASSWORD: "old", CONF_SLAVE: 1}),
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    with patch(
        "custom_components.landis_gyr_optical.config_flow.read_for_flow",
        AsyncMock(return_value=FoundMeter(make_readout(), config_from_entry(entry))),
    ) as read:
        result = await _submit(hass, result["flow_id"], {CONF_PASSWORD: "new"})
    assert read.await_args is not None
    assert read.await_args.args[1].password == b"new"
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "unique_id_mismatch"
    assert entry.data[CONF_PASSWORD] == "old"


@pytest.mark.parametrize("protocol", ["mode_c", "sml", "eredes_han"])
async def test_meters_without_credentials_have_nothing_to_reenter(hass: HomeAssistant, protocol: str) -> None:
    """Reauthentication of a meter read without key or password ends at once, saying why."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(protocol=protocol))
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_not_supported"
