"""The probe's verdicts in the config flow: every attempt in the user's language, bridges, the stored record."""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.landis_gyr_optical.const import CONF_PORT, CONF_PROBE, DOMAIN
from custom_components.landis_gyr_optical.meter.errors import BridgeRefusedError, MeterError, NoAnswerError
from custom_components.landis_gyr_optical.meter.probe import ProbeAttempt, ProbeReport
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, Variant
from custom_components.landis_gyr_optical.meter.verdicts import AttemptName, FindingKey, Verdict
from custom_components.landis_gyr_optical.probe_record import probe_record

from .conftest import make_readout
from .test_config_flow import _protocol_input, _read

BRIDGE = "socket://192.0.2.1:8888"
WORDS = "Device open failure: Unable to open /dev/ttyUSB0: No such file or directory"
ZCX = b"/?!\r\n/LGZ5\\2ZCXe110CRU0L3D2.03\r\n"


def attempt(
    name: AttemptName,
    finding: Verdict,
    received: bytes = b"",
    error: MeterError | None = None,
    ok: bool = False,
) -> ProbeAttempt:
    label = Verdict(name, {"baud": "9600"})
    return ProbeAttempt(label, MeterConfig(Variant.MODE_C), b"/?!\r\n", received, finding, ok, error, 1.0)


async def _start_at_bridge(hass: HomeAssistant, language: str) -> dict[str, Any]:
    """No local port: the bridge's URL typed in, up to the protocol step, in ``language``."""
    hass.config.language = language
    with patch("custom_components.landis_gyr_optical.ports.serialx.list_serial_ports", return_value=[]):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["step_id"] == "manual"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: BRIDGE})
    assert result["step_id"] == "protocol"
    assert result["description_placeholders"]["attempts"] == ""
    return result


async def _detect(hass: HomeAssistant, report: ProbeReport, language: str) -> dict[str, Any]:
    result = await _start_at_bridge(hass, language)
    with patch("custom_components.landis_gyr_optical.detection.probe", AsyncMock(return_value=report)):
        return await _read(hass, result, _protocol_input("auto"))


async def test_a_raw_bridge_silent_everywhere_says_what_to_set_on_the_bridge(hass: HomeAssistant) -> None:
    """Portuguese: the summary is the bridge's, each attempt is one line with its own verdict."""
    silent = NoAnswerError("silent")
    report = ProbeReport(
        BRIDGE,
        (
            attempt(AttemptName.SIGN_ON, Verdict(FindingKey.SILENT_8N1_BRIDGE), error=silent),
            attempt(AttemptName.SIGN_ON_SOFTWARE_PARITY, Verdict(FindingKey.SILENT), error=silent),
            attempt(
                AttemptName.LISTEN_PUSH,
                Verdict(FindingKey.UNKNOWN_DATA, {"count": "3"}),
                received=b"\x80\xfe\x13",
            ),
        ),
        None,
        None,
    )
    result = await _detect(hass, report, "pt")
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "protocol"
    assert result["errors"] == {"base": "raw_bridge_settings"}
    shown = result["description_placeholders"]
    assert shown["port"] == BRIDGE
    assert shown["attempts"].split("\n") == [
        "",
        "",
        "O que a deteção experimentou",
        (
            "- início de sessão a 300 Bd 7E1 (modos A, B, C): em silêncio: não voltou nada (uma ponte cujo "
            "lado série funciona a 8N1 envia caracteres sem bits de paridade, que um contador 7E1 ignora: a "
            "tentativa com bits de paridade acrescentados aqui testa isso)"
        ),
        (
            "- início de sessão a 300 Bd através de uma ponte a 8N1 (bits de paridade acrescentados aqui): "
            "em silêncio: não voltou nada"
        ),
        "- escutar envios a 9600 Bd 8N1 (DLMS/COSEM, SML): 3 bytes de dados desconhecidos",
    ]
    # Shown once: the next visit of the step starts clean.
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["description_placeholders"]["attempts"] == ""


async def test_what_was_tried_after_an_identification_is_in_the_users_language(hass: HomeAssistant) -> None:
    report = ProbeReport(
        BRIDGE,
        (
            attempt(
                AttemptName.SIGN_ON,
                Verdict(FindingKey.NO_READOUT, {"error": "no readout"}),
                ZCX,
                NoAnswerError("no readout"),
            ),
            attempt(AttemptName.HAN, Verdict(FindingKey.SILENT), error=NoAnswerError("silent")),
        ),
        None,
        None,
    )
    result = await _detect(hass, report, "de")
    assert result["errors"] == {"base": "identification_no_readout"}
    shown = result["description_placeholders"]
    assert shown["identification"] == "LGZ5\\2ZCXe110CRU0L3D2.03"
    assert shown["tried"] == "E-Redes HAN (Modbus RTU) mit 9600 Bd 8N1 und 8N2, dann mit 19200 Bd"
    assert (
        "- Anmeldung mit 300 Bd 7E1 (Modi A, B, C): geantwortet, aber die Auslesung ist fehlgeschlagen: "
        in (shown["attempts"])
    )


@pytest.mark.parametrize("detecting", [True, False], ids=["detection", "chosen protocol"])
async def test_a_bridge_that_cannot_open_its_device_is_quoted(
    hass: HomeAssistant, mock_read_meter: AsyncMock, detecting: bool
) -> None:
    """ser2net's own words reach the form, in detection and in a read with the protocol chosen."""
    refusal = BridgeRefusedError(BRIDGE, WORDS)
    if detecting:
        finding = Verdict(FindingKey.BRIDGE_REFUSED, {"error": WORDS})
        report = ProbeReport(BRIDGE, (attempt(AttemptName.SIGN_ON, finding, error=refusal),), None, None)
        result = await _detect(hass, report, "nl")
    else:
        mock_read_meter.side_effect = refusal
        result = await _read(hass, await _start_at_bridge(hass, "nl"), _protocol_input())
    assert result["step_id"] == "protocol"
    assert result["errors"] == {"base": "bridge_refused"}
    shown = result["description_placeholders"]
    assert (shown["port"], shown["error"]) == (BRIDGE, WORDS)


async def test_detection_keeps_its_record_with_the_entry(hass: HomeAssistant) -> None:
    """Dutch: the found step lists the attempts; the entry stores their keys, placeholders and bytes."""
    readout = make_readout(baud=300)
    config = MeterConfig(Variant.MODE_C, software_parity=True)
    found = Verdict(
        FindingKey.READOUT, {"identification": "LGZ4ZMF100AC.M27", "checksum": "bcc", "baud": "300"}
    )
    report = ProbeReport(
        BRIDGE,
        (
            attempt(AttemptName.SIGN_ON, Verdict(FindingKey.SILENT_8N1_BRIDGE), error=NoAnswerError("x")),
            attempt(AttemptName.SIGN_ON_SOFTWARE_PARITY, found, readout.raw, ok=True),
        ),
        readout,
        config,
    )
    result = await _detect(hass, report, "nl")
    assert result["step_id"] == "found"
    lines = result["description_placeholders"]["attempts"].split("\n")
    assert lines[2] == "Wat de detectie heeft geprobeerd"
    assert lines[4] == (
        "- aanmelding op 300 Bd via een brug op 8N1 (pariteitsbits hier toegevoegd): identificatie "
        "/LGZ4ZMF100AC.M27; gecontroleerde uitlezing (bcc) op 300 Bd met  gegevensregels"
    )
    # The stored record is the subject here, not the set-up (which would read the bridge).
    with patch("custom_components.landis_gyr_optical.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = result["data"][CONF_PROBE]
    assert stored == probe_record(report)
    assert stored["summary"]["key"] == "found"
    assert [a["verdict"]["key"] for a in stored["attempts"]] == ["silent_8n1_bridge", "readout"]
    assert bytes.fromhex(stored["attempts"][1]["received"]) == readout.raw[:512]
    assert stored["attempts"][1]["received_bytes"] == len(readout.raw)


async def test_a_chosen_protocol_stores_no_probe(hass: HomeAssistant, mock_read_meter: AsyncMock) -> None:
    result = await _read(hass, await _start_at_bridge(hass, "en"), _protocol_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_PROBE not in result["data"]
