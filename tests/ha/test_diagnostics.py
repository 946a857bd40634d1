"""Diagnostics: everything needed to debug a read, with serial numbers and addresses redacted."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from unittest.mock import AsyncMock

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.landis_gyr_optical.const import DOMAIN
from custom_components.landis_gyr_optical.coordinator import (
    FAILURE_TRACE_BYTES,
    FAILURE_TRACE_ENTRIES,
    FailedRead,
)
from custom_components.landis_gyr_optical.diagnostics import _port_kind
from custom_components.landis_gyr_optical.meter.errors import NoAnswerError
from custom_components.landis_gyr_optical.meter.probe import ProbeAttempt, ProbeReport
from custom_components.landis_gyr_optical.meter.readout import Direction, TraceEntry
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, Variant
from custom_components.landis_gyr_optical.meter.verdicts import AttemptName, FindingKey, Verdict
from custom_components.landis_gyr_optical.probe_record import REDACTED, probe_record

from .conftest import METER_SERIAL, PORT, entry_data, make_readout


def detection_record() -> dict[str, object]:
    """What the flow stores of a detection: a silent sign-on with the address, then the readout."""
    readout = make_readout()
    config = MeterConfig(Variant.MODE_C, address="4711")
    silent = ProbeAttempt(
        Verdict(AttemptName.SIGN_ON_ADDRESS, {"address": "4711"}),
        config,
        b"/?4711!\r\n",
        b"",
        Verdict(FindingKey.SILENT),
        False,
        NoAnswerError(f"no answer on {PORT}"),
        2.8,
    )
    found = ProbeAttempt(
        Verdict(AttemptName.SIGN_ON),
        config,
        b"/?!\r\n\x06040\r\n",
        readout.raw,
        Verdict(FindingKey.READOUT, {"identification": "LGZ4ZMF100AC.M27", "checksum": "bcc"}),
        True,
        None,
        9.5,
    )
    return probe_record(ProbeReport(PORT, (silent, found), readout, config))


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_read_meter: AsyncMock,
    snapshot: SnapshotAssertion,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Landis+Gyr ZMF100AC.M27",
        unique_id=METER_SERIAL,
        data=entry_data(address="4711", usb_id="0403:6001_A1B2C3", probe=detection_record()),
        options={"scan_interval": 60, "max_power_kw": 60.0},
        entry_id="01JDIAGNOSTICS",
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "diagnostics", {})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await entry.runtime_data.async_refresh()
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(result)
    assert METER_SERIAL not in text
    assert "4711" not in text and "A1B2C3" not in text
    assert METER_SERIAL.encode().hex() not in text and b"4711".hex() not in text
    probe = result["probe"]
    assert result["entry"]["data"]["probe"] == REDACTED
    assert [attempt["verdict"]["key"] for attempt in probe["attempts"]] == ["silent", "readout"]
    assert probe["attempts"][0]["name"]["placeholders"] == {"address": REDACTED}
    assert probe["attempts"][0]["sent"] == f"2f3f {REDACTED} 210d0a"
    assert REDACTED in probe["attempts"][1]["received"]
    assert probe["summary"]["key"] == "found"
    assert result["guard"]["verdicts"]["1-0:1.8.0"] == {"confirmed": 1, "held_first": 1}
    assert result["last_read"]["readout"]["history"] == {"1-0:1.8.0*1": "000200.000*kWh"}
    assert result["port_kind"] == "serial by-id"
    # The wait for the line depends on when the set-up read ended (the bus rests after it).
    assert result == snapshot(exclude=props("read_at", "longest_wait"))


def test_port_kind() -> None:
    assert _port_kind("esphome://head.local:6053") == "esphome://"
    assert _port_kind("/dev/ttyUSB0") == "serial"


async def test_diagnostics_show_the_last_failed_read(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_read_meter: AsyncMock,
) -> None:
    """A failed read's error and the end of its trace, bounded and with the serial redacted."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=METER_SERIAL, data=entry_data(), entry_id="01JFAILED")
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "diagnostics", {})
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert result["last_failure"] is None
    error = NoAnswerError(f"the data message of {METER_SERIAL} stopped")
    flood = [TraceEntry(0.1 + index / 1000, Direction.RECEIVED, b"\x7f" * 64, 4800) for index in range(1000)]
    error.trace = (
        TraceEntry(0.0, Direction.SENT, b"/?!\r\n", 300),
        *flood,
        TraceEntry(1.2, Direction.RECEIVED, f"0.0.0({METER_SERIAL})\r\n".encode(), 4800),
        TraceEntry(1.3, Direction.LINE, b"", 4800, "attempt 1 failed: no answer"),
    )
    mock_read_meter.side_effect = error
    await entry.runtime_data.async_refresh()
    failure = (await get_diagnostics_for_config_entry(hass, hass_client, entry))["last_failure"]
    assert METER_SERIAL not in json.dumps(failure)
    assert failure["error_key"] == "no_answer"
    assert failure["error"] == "the data message of **REDACTED** stopped"
    assert failure["trace"][-1]["note"] == "attempt 1 failed: no answer"
    assert failure["trace"][-2]["data"] == r"0.0.0(**REDACTED**)\r\n"
    kept = len(failure["trace"])
    assert sum(len(entry.data) + len(entry.note) for entry in error.trace[-kept:]) <= FAILURE_TRACE_BYTES
    assert kept <= FAILURE_TRACE_ENTRIES
    assert failure["entries_left_out"] == len(error.trace) - kept > 0
    assert datetime.fromisoformat(failure["at"]).tzinfo is not None


def test_a_failed_read_keeps_at_most_its_last_entries() -> None:
    """Many small entries: the count bound cuts them, keeping the end."""
    error = NoAnswerError("silent")
    error.trace = tuple(TraceEntry(index, Direction.LINE, b"", 300, "x") for index in range(1000))
    failure = FailedRead.of(error, datetime.now(UTC))
    assert len(failure.trace) == FAILURE_TRACE_ENTRIES
    assert failure.trace[-1].at == 999
    assert failure.left_out == 1000 - FAILURE_TRACE_ENTRIES
