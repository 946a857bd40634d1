"""Character parity: UART marking and software parity on 8N1 bridges, unit and end to end."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import io
import json

import pytest

from custom_components.landis_gyr_optical import cli
from custom_components.landis_gyr_optical.meter.errors import MeterError, ParityError
from custom_components.landis_gyr_optical.meter.iec62056_21.client import read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.session import SessionSettings
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from custom_components.landis_gyr_optical.meter.parity import ParityCheck, ParityDecoder, with_even_parity
from custom_components.landis_gyr_optical.meter.probe import probe
from tests.simulator import Faults, PtyMeter, TcpMeter, load_profile


def test_even_parity_bits() -> None:
    """Bit 7 makes every character's bit count even ('/' = 0x2F has five ones)."""
    assert with_even_parity(b"/?!\r\n") == bytes([0xAF, 0x3F, 0x21, 0x8D, 0x0A])
    assert all(byte.bit_count() % 2 == 0 for byte in with_even_parity(bytes(range(128))))


def test_software_decoder_strips_and_checks() -> None:
    """Good characters lose their parity bit; one flipped bit anywhere is an error."""
    decoder = ParityDecoder(ParityCheck.SOFTWARE)
    assert decoder.decode(with_even_parity(b"/LGZ4\r\n")) == b"/LGZ4\r\n"
    corrupted = bytearray(with_even_parity(b"1.8.0(000219.252*kWh)"))
    corrupted[9] ^= 0x04
    with pytest.raises(ParityError, match=r"character 16 \(0x"):
        decoder.decode(bytes(corrupted))


def test_marked_decoder_splits_markers_across_reads() -> None:
    """``FF FF`` is a real FF, ``FF 00 c`` a flagged character, also when split over reads."""
    decoder = ParityDecoder(ParityCheck.MARKED)
    assert decoder.decode(b"ab\xff") == b"ab"
    assert decoder.decode(b"\xffcd") == b"\xffcd"
    assert decoder.decode(b"e\xff") == b"e"
    assert decoder.decode(b"\x00") == b""
    with pytest.raises(ParityError, match="0x31"):
        decoder.decode(b"1")


def test_no_check_passes_everything() -> None:
    """On 8N1 lines (DLMS, SML) bytes pass unchanged."""
    decoder = ParityDecoder(ParityCheck.NONE)
    assert decoder.decode(b"\xff\x00\x81") == b"\xff\x00\x81"


async def test_uart_parity_marks_are_enabled_on_a_local_tty() -> None:
    """A 7E1 line on a local tty gets the UART's parity check; an 8N1 line does not.

    (A pty cannot produce parity errors, and its line discipline doubles any 0xFF the
    meter side writes, so the marking itself is proven by the decoder tests above.)
    """
    async with PtyMeter(load_profile("lgz_e350")) as meter, Link(meter.port, LineSettings(300)) as link:
        assert link.parity_check is ParityCheck.MARKED
        await link.switch(LineSettings(9600, Framing.EIGHT_N_ONE))
        assert link.parity_check is ParityCheck.NONE


@pytest.mark.usefixtures("socket_enabled")
async def test_software_parity_through_an_8n1_bridge() -> None:
    """An 8N1 bridge passes parity bits through: the client adds and checks them itself."""
    profile = replace(load_profile("lgz_zmd120"), reaction_time=0.05)
    async with TcpMeter(profile, eight_bit_bridge=True) as meter:
        readout = await read_meter(meter.port, SessionSettings(software_parity=True), retries=0)
        assert readout.baud == 300
        assert str(readout.current[next(iter(readout.current))].obis) == "0-0:F.F.0"
        # Without software parity the request reaches the meter with wrong parity bits.
        with pytest.raises(MeterError):
            await read_meter(meter.port, SessionSettings(), retries=0)


@pytest.mark.usefixtures("socket_enabled")
async def test_software_parity_flags_noise_on_the_bridge() -> None:
    """Noise on the optical line shows up as parity errors, never as values.

    Without parity the BCC alone lets two flips in one bit column through (the simulator's
    tests show one); with parity every single flipped bit of a character is caught.
    """
    clean = replace(load_profile("lgz_zmd120"), reaction_time=0.05)
    async with TcpMeter(clean, eight_bit_bridge=True) as meter:
        truth = (await read_meter(meter.port, SessionSettings(software_parity=True), retries=0)).registers
    outcomes: list[str] = []
    for seed in range(6):
        profile = replace(clean, faults=Faults(noise=0.02, seed=seed))
        async with TcpMeter(profile, eight_bit_bridge=True) as meter:
            try:
                readout = await read_meter(meter.port, SessionSettings(software_parity=True), retries=0)
            except ParityError:
                outcomes.append("parity")
                continue
        assert readout.registers == truth
        outcomes.append("exact")
    assert outcomes.count("parity") >= 3, outcomes


@pytest.mark.usefixtures("socket_enabled")
async def test_probe_finds_an_8n1_bridge_and_the_cli_reads_through_it() -> None:
    """The probe tries software parity on raw bridges; the CLI reads with ``--software-parity``."""
    profile = replace(load_profile("lgz_zmd120"), reaction_time=0.05)
    async with TcpMeter(profile, eight_bit_bridge=True) as meter:
        report = await probe(meter.port, listen_time=0.3)
        assert report.ok
        assert report.settings is not None
        assert report.settings.software_parity
        assert report.attempts[0].verdict.startswith("silent: nothing came back"), (
            "7E1 bytes are garbage to it"
        )
        assert "8N1" in report.attempts[0].verdict
        assert report.attempts[-1].ok
        assert "bridge at 8N1" in report.attempts[-1].name
        assert "--software-parity" in report.settings.cli_arguments()
        out, err = io.StringIO(), io.StringIO()
        code = await asyncio.to_thread(
            cli.main, ["read", "--port", meter.port, "--software-parity", "--json"], out=out, errout=err
        )
    assert code == 0, err.getvalue()
    assert json.loads(out.getvalue())["registers"]["1-0:1.8.0"] == {"value": 1846.0, "unit": "kWh"}
