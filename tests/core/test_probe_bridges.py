"""Probe verdicts on network bridges, and the evidence of every attempt, whatever its family."""

from __future__ import annotations

import importlib

import pytest

from custom_components.landis_gyr_optical.meter.errors import NoAnswerError, ParityError
from custom_components.landis_gyr_optical.meter.iec62056_21.session import SessionSettings
from custom_components.landis_gyr_optical.meter.link import Recording
from custom_components.landis_gyr_optical.meter.probe import probe
from tests.simulator import Faults, PtyMeter, TcpMeter, quick_profile

probe_module = importlib.import_module("custom_components.landis_gyr_optical.meter.probe")


@pytest.mark.usefixtures("socket_enabled")
async def test_8n1_bridge_is_found_and_the_silent_attempt_says_why() -> None:
    async with TcpMeter(quick_profile("lgz_zmd120", lines=3), eight_bit_bridge=True) as meter:
        report = await probe(meter.port, listen_time=1.0)
    assert report.ok
    first, found = report.attempts[0], report.attempts[-1]
    assert first.sent == b"/?!\r\n"
    assert "8N1" in first.verdict
    assert "parity bits added here" in found.name
    assert report.settings is not None
    assert report.settings.software_parity


async def test_binary_attempts_record_what_they_sent() -> None:
    async with PtyMeter(quick_profile("lgz_zmd120", faults=Faults(silent=True))) as meter:
        hdlc, _ = await probe_module._try_dlms_optical(meter.port, mode_e=False)
        han, _ = await probe_module._try_han(meter.port)
    assert hdlc.sent.startswith(b"\x7e")
    assert han.sent
    assert hdlc.verdict == han.verdict == "silent: nothing came back"


def test_parity_bits_added_on_a_7e1_bridge_is_not_called_noise() -> None:
    context = probe_module._Context(
        "socket://bridge:23", SessionSettings(software_parity=True), Recording(received=bytearray(b"/LGZ"))
    )
    verdict = probe_module._verdict(ParityError("parity error in character 0"), b"", context)
    assert "already runs 7E1" in verdict
    noisy = probe_module._Context(
        "socket://bridge:23", SessionSettings(software_parity=True), Recording(received=bytearray(b"\xafLGZ"))
    )
    assert "already runs 7E1" not in probe_module._verdict(ParityError("bad"), b"/LGZ", noisy)


def test_garbage_through_a_raw_bridge_points_at_its_settings() -> None:
    context = probe_module._Context(
        "socket://bridge:23", SessionSettings(), Recording(received=bytearray(b"\x80\x81"))
    )
    verdict = probe_module._verdict(NoAnswerError("no identification"), b"\x80\x81", context)
    assert "bridge's serial side" in verdict
