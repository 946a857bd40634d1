"""The async client end to end over a raw TCP bridge (``socket://``), against the simulated meter.

The bridge's serial side has a fixed rate (300 Bd for modes A-C, 2400 Bd for mode D), so
the client must stay at that rate and ask the meter for it in the option select.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
import socket

import pytest

from custom_components.landis_gyr_optical.meter.errors import PortError, UnsupportedModeError
from custom_components.landis_gyr_optical.meter.iec62056_21 import client
from custom_components.landis_gyr_optical.meter.iec62056_21.client import read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import option_select, sign_on
from custom_components.landis_gyr_optical.meter.iec62056_21.session import Protocol, SessionSettings
from tests.simulator import Faults, MeterProfile, TcpMeter, quick_profile

pytestmark = pytest.mark.usefixtures("socket_enabled")

ACK_FOR_300 = b"\x06000\r\n"


@asynccontextmanager
async def serve(profile: MeterProfile) -> AsyncIterator[TcpMeter]:
    async with TcpMeter(profile) as meter:
        yield meter
        assert meter.errors == []


async def test_mode_c_stays_at_300_and_a_retry_does_not_step_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "RETRY_PAUSE", 0.3)
    profile = quick_profile("lgz_e350", lines=1, faults=Faults(bad_bcc=True, sessions=1))
    async with serve(profile) as meter:
        readout = await read_meter(meter.port, SessionSettings(max_baud=9600))
        await meter.wait_until(lambda: meter.closes == 1)
    assert option_select(300) == ACK_FOR_300
    assert meter.requests == [sign_on(), ACK_FOR_300, sign_on(), ACK_FOR_300]
    assert meter.data_bauds == [300, 300]
    assert readout.baud == 300
    assert readout.protocol == "mode_c"
    assert [(str(register.obis), register.value) for register in readout.registers] == [
        ("0-0:F.F.0", Decimal(0))
    ]
    failures = [entry.note for entry in readout.trace if entry.note.startswith("attempt 1 failed")]
    assert "block check character" in failures[0]


async def test_mode_d_listens_at_2400() -> None:
    profile = quick_profile("lgf_e360_mode_d", lines=4, push_interval=0.1)
    async with serve(profile) as meter:
        assert meter.baud == 2400
        readout = await read_meter(meter.port, SessionSettings(protocol=Protocol.MODE_D))
    assert readout.baud == 2400
    assert readout.checksum == "crc16"
    assert meter.requests == []
    values = {str(code): register.value for code, register in readout.current.items()}
    assert values["1-0:2.8.0"] == Decimal("48.792")


async def test_mode_b_cannot_be_followed_through_a_fixed_rate_bridge() -> None:
    async with serve(quick_profile("lug_uh50_mode_b", lines=1)) as meter:
        with pytest.raises(UnsupportedModeError, match="2400"):
            await read_meter(meter.port, retries=0)
    assert meter.requests == [sign_on()]


async def test_bridge_not_listening_is_a_port_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    port = f"socket://127.0.0.1:{free_port}"
    with pytest.raises(PortError, match=f"127.0.0.1:{free_port}"):
        await read_meter(port)


async def test_bridge_vanishing_mid_session_is_a_port_error() -> None:
    async with serve(quick_profile("lgz_e350", lines=4)) as meter:
        task = asyncio.create_task(read_meter(meter.port, retries=0))
        await meter.wait_until(lambda: meter.sessions == 1)
        await meter.vanish()
        with pytest.raises(PortError):
            await task
