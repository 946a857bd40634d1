"""The probe beyond IEC 62056-21: pushes at 9600 Bd, mode E, direct HDLC, and its reports."""

from __future__ import annotations

import time

import pytest

from custom_components.landis_gyr_optical.meter.errors import PortError
from custom_components.landis_gyr_optical.meter.line import Framing
from custom_components.landis_gyr_optical.meter.probe import ProbeAttempt, ProbeReport, probe
from custom_components.landis_gyr_optical.meter.variants import (
    KeyFormatError,
    MeterConfig,
    Variant,
    parse_key,
)
from custom_components.landis_gyr_optical.meter.verdicts import AttemptName, FindingKey, Verdict
from tests.simulator.dlms import PtyPushMeter, PullMeter, standard_objects
from tests.simulator.sml import sml_push_frames


async def test_sml_push_found_second() -> None:
    """An SML meter is found by the 3 s listen right after the first sign-on."""
    async with PtyPushMeter(sml_push_frames, period=0.05) as meter:
        started = time.monotonic()
        report = await probe(meter.port, listen_time=2)
    assert report.ok and report.settings is not None
    assert report.settings.variant is Variant.SML
    assert [attempt.ok for attempt in report.attempts] == [False, True]
    assert time.monotonic() - started < 5
    assert "--" not in report.summary
    assert "SML push at 9600 Bd 8N1" in report.summary


async def test_direct_hdlc_found() -> None:
    """A meter that only speaks HDLC is found after the optical variants stayed silent."""
    async with PullMeter(standard_objects(), mode_e=False) as meter:
        report = await probe(meter.port, listen_time=0.2)
    assert report.ok and report.settings is not None
    assert report.settings.variant is Variant.DLMS_HDLC
    assert report.attempts[-1].name.startswith("DLMS/COSEM over HDLC")
    assert report.readout is not None and report.readout.serial == "LGZ0093121456"


async def test_port_error_stops_the_probe() -> None:
    report = await probe("/dev/ttyNOPE", listen_time=0.2)
    assert len(report.attempts) == 1
    assert isinstance(report.attempts[0].error, PortError)
    assert report.summary.startswith("The port could not be used")


def test_summary_of_garbled_attempts() -> None:
    attempt = ProbeAttempt(
        Verdict(AttemptName.SIGN_ON), None, b"", b"\x00\x01", Verdict(FindingKey.GARBLED), False, None
    )
    assert ProbeReport("p", (attempt,), None, None).summary.startswith("Bytes came back")


def test_keys_and_descriptions() -> None:
    """Keys are 32 hex digits (spaces allowed); descriptions and CLI options never hold secrets."""
    assert parse_key("") is None and parse_key(None) is None
    assert parse_key("10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f") == bytes(range(16, 32))
    for bad in ("1234", "zz" * 16):
        with pytest.raises(KeyFormatError):
            parse_key(bad)
    secret = MeterConfig(Variant.DLMS_PUSH, key=b"k" * 16, authentication_key=b"a" * 16)
    assert "k" * 16 not in repr(secret)
    assert secret.describe() == "DLMS/COSEM push at 9600 Bd 8N1 (encrypted)"
    assert secret.cli_arguments() == ["--protocol", "dlms_push", "--key", "<key>", "--auth-key", "<key>"]
    pull = MeterConfig(Variant.DLMS_MODE_E, password=b"x", slave=17)
    assert pull.cli_arguments() == ["--protocol", "dlms_mode_e", "--password", "<password>", "--slave", "17"]
    han = MeterConfig(Variant.EREDES_HAN, framing=Framing.EIGHT_N_TWO)
    assert han.cli_arguments() == ["--protocol", "eredes_han", "--framing", "8N2"]
    assert han.describe() == "E-Redes HAN (Modbus RTU) at 9600 Bd 8N2, slave 1"
    iec = MeterConfig(Variant.MODE_C, address="42", wake_up=True)
    assert iec.cli_arguments() == ["--protocol", "mode_c", "--address", "42", "--wake-up"]
    assert MeterConfig(Variant.MODE_D).describe() == "IEC 62056-21 mode D push at 2400 Bd 7E1"
    assert MeterConfig(Variant.EREDES_HAN).han_settings().framing is Framing.EIGHT_N_ONE
