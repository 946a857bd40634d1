"""Probe verdicts on network bridges, and the evidence of every attempt, whatever its family."""

from __future__ import annotations

import importlib

import pytest

from custom_components.landis_gyr_optical.meter.errors import (
    BridgeRefusedError,
    NoAnswerError,
    ParityError,
    PortError,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import SessionSettings
from custom_components.landis_gyr_optical.meter.link import Recording
from custom_components.landis_gyr_optical.meter.probe import ProbeAttempt, ProbeReport, probe
from custom_components.landis_gyr_optical.meter.verdicts import AttemptName, FindingKey, Verdict, VerdictKey
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
    assert verdict.key is FindingKey.PARITY_STRIPPED
    assert "already runs 7E1" in verdict.text
    noisy = probe_module._Context(
        "socket://bridge:23", SessionSettings(software_parity=True), Recording(received=bytearray(b"\xafLGZ"))
    )
    assert probe_module._verdict(ParityError("bad"), b"/LGZ", noisy).key is FindingKey.NO_READOUT


def test_garbage_through_a_raw_bridge_points_at_its_settings() -> None:
    context = probe_module._Context(
        "socket://bridge:23", SessionSettings(), Recording(received=bytearray(b"\x80\x81"))
    )
    verdict = probe_module._verdict(NoAnswerError("no identification"), b"\x80\x81", context)
    assert verdict.key is FindingKey.GARBLED_BRIDGE
    assert verdict.placeholders == {"count": "2", "error": "no identification"}
    assert "bridge's serial side" in verdict.text
    local = probe_module._Context("/dev/ttyUSB0", SessionSettings(), Recording(received=bytearray(b"\x80")))
    assert probe_module._verdict(NoAnswerError("x"), b"\x80", local).key is FindingKey.GARBLED


def test_silence_through_a_raw_bridge_hints_at_8n1_without_parity() -> None:
    plain = probe_module._Context("socket://bridge:23", SessionSettings(), Recording())
    assert probe_module._verdict(NoAnswerError("x"), b"", plain).key is FindingKey.SILENT_8N1_BRIDGE
    added = probe_module._Context("socket://bridge:23", SessionSettings(software_parity=True), Recording())
    assert probe_module._verdict(NoAnswerError("x"), b"", added).key is FindingKey.SILENT
    local = probe_module._Context("/dev/ttyUSB0", SessionSettings(), Recording())
    assert probe_module._verdict(NoAnswerError("x"), b"", local).key is FindingKey.SILENT


def test_a_bridge_that_cannot_open_its_device_is_named_in_its_words() -> None:
    context = probe_module._Context("socket://bridge:23", SessionSettings(), Recording())
    refusal = BridgeRefusedError("socket://bridge:23", "Device open failure: No such file or directory")
    verdict = probe_module._verdict(refusal, b"", context)
    assert verdict == Verdict(
        FindingKey.BRIDGE_REFUSED, {"error": "Device open failure: No such file or directory"}
    )
    other = probe_module._verdict(PortError("socket://bridge:23", "Connection refused"), b"", context)
    assert other == Verdict(FindingKey.PORT_ERROR, {"error": "Connection refused"})


def silent(name: AttemptName, sent: bytes = b"/?!\r\n", received: bytes = b"") -> ProbeAttempt:
    return ProbeAttempt(
        Verdict(name), None, sent, received, Verdict(FindingKey.SILENT), False, NoAnswerError("silent")
    )


@pytest.mark.parametrize("received", [b"", b"\x80\xfe\x13"], ids=["silent everywhere", "garbage everywhere"])
def test_a_raw_bridge_without_an_answer_gets_the_bridge_settings_verdict(received: bytes) -> None:
    attempts = (silent(AttemptName.SIGN_ON, received=received), silent(AttemptName.HAN, b"\x01\x03"))
    report = ProbeReport("socket://bridge:23", attempts, None, None)
    assert report.verdict == Verdict(VerdictKey.RAW_BRIDGE, {"port": "socket://bridge:23"})
    assert "rfc2217://" in report.summary and "300 Bd 7E1" in report.summary
    # The same through a port whose rate can be switched, or with the head's echo only.
    local = ProbeReport("/dev/ttyUSB0", attempts, None, None).verdict.key
    assert local is (VerdictKey.GARBLED if received else VerdictKey.NOTHING_BACK)
    rfc2217 = ProbeReport("rfc2217://bridge:2217", attempts, None, None).verdict.key
    assert rfc2217 is local
    echo = ProbeReport("socket://bridge:23", (silent(AttemptName.SIGN_ON, received=b"/?!"),), None, None)
    assert echo.verdict.key is VerdictKey.ONLY_ECHO


def test_a_bridge_refusal_is_the_probes_verdict() -> None:
    refusal = BridgeRefusedError("socket://bridge:23", "Device open failure: No such file or directory")
    attempt = ProbeAttempt(
        Verdict(AttemptName.SIGN_ON), None, b"", b"", Verdict(FindingKey.BRIDGE_REFUSED), False, refusal
    )
    verdict = ProbeReport("socket://bridge:23", (attempt,), None, None).verdict
    assert verdict.key is VerdictKey.BRIDGE_REFUSED
    assert verdict.placeholders == {
        "port": "socket://bridge:23",
        "error": "Device open failure: No such file or directory",
    }
    assert "Device open failure" in verdict.text
