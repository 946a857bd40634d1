"""The probe on simulated meters, one per verdict that needs the whole probe to be reached."""

from __future__ import annotations

from dataclasses import replace
import importlib

import pytest

from custom_components.landis_gyr_optical.meter import variants
from custom_components.landis_gyr_optical.meter.dlms.optical import PublicClientRefusedError
from custom_components.landis_gyr_optical.meter.eredes_han.client import HanSettings
from custom_components.landis_gyr_optical.meter.probe import probe
from custom_components.landis_gyr_optical.meter.verdicts import VerdictKey
from tests.core.test_cli import run_cli
from tests.dlms.test_optical import ZCX_AARE_FRAME
from tests.simulator.dlms import locked_zcx_meter
from tests.simulator.ports import PtyMeter
from tests.simulator.profile import Faults, load_profile

probe_module = importlib.import_module("custom_components.landis_gyr_optical.meter.probe")


@pytest.fixture
def quick_binary_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Silent HDLC and HAN attempts give up quickly (a simulated line answers in milliseconds)."""
    monkeypatch.setattr(probe_module, "HDLC_FRAME_TIMEOUT", 0.3)
    monkeypatch.setattr(variants, "HAN_TIMING", HanSettings(request_pause=0.01, response_timeout=0.3))


async def test_locked_zcx_port() -> None:
    """Identification, no mode C readout, mode E refused: stop, say locked, point to the HAN port."""
    async with locked_zcx_meter() as meter:
        report = await probe(meter.port, listen_time=0.5)
        requests = meter.requests
    assert [attempt.name for attempt in report.attempts] == [
        "sign-on at 300 Bd 7E1 (modes A, B, C)",
        "sign-on for mode E, then DLMS/COSEM over HDLC",
    ]
    # Mode C is signed on at most twice (its one retry after an option select without a readout),
    # mode E once, and nothing is sent after the refusal.
    assert requests.count(b"/?!\r\n") <= 3
    assert requests.count(b"\x06252\r\n") == 1 and requests[-1] == b"\x06252\r\n"
    mode_e = report.attempts[1]
    assert isinstance(mode_e.error, PublicClientRefusedError)
    assert mode_e.sent.startswith(b"/?!\r\n\x06252\r\n~")
    assert ZCX_AARE_FRAME in mode_e.received
    verdict = report.verdict
    assert verdict.key is VerdictKey.PORT_LOCKED_EREDES
    assert verdict.placeholders["variant"] == "DLMS/COSEM, IEC 62056-21 mode E, HDLC, server 1/0"
    assert report.summary == verdict.text
    assert "locked by the grid operator" in report.summary and "HAN port" in report.summary


async def test_locked_zcx_port_on_the_command_line() -> None:
    async with locked_zcx_meter() as meter:
        code, out, _ = await run_cli("probe", "--port", meter.port, "--listen", "0.5")
    assert code != 0
    assert "received: /LGZ5\\2ZCXe110CRU0L3D2.03\\r\\n~" in out
    assert "this optical port is locked by the grid operator" in out


async def test_locked_port_of_a_meter_outside_e_redes() -> None:
    async with locked_zcx_meter(identification=b"/LGZ5\\2ZMD4104407.B23") as meter:
        report = await probe(meter.port, listen_time=0.5)
    assert report.verdict.key is VerdictKey.PORT_LOCKED
    assert "HAN" not in report.summary


@pytest.mark.usefixtures("quick_binary_attempts")
async def test_only_the_echo_of_a_silent_meter() -> None:
    """A half-duplex head echoes every request; the meter never answers."""
    profile = replace(load_profile("lgz_e350"), reaction_time=0.02, faults=Faults(silent=True, echo=True))
    async with PtyMeter(profile) as meter:
        report = await probe(meter.port, listen_time=0.2)
    assert report.attempts[0].received == b"/?!\r\n"
    assert report.verdict.key is VerdictKey.ONLY_ECHO
    assert "the head works, but the meter stays silent" in report.summary
