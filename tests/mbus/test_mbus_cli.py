"""The libmbus heat meter captures read through the CLI from the simulated M-Bus meter.

``read --protocol mbus`` over a pty and over a raw TCP bridge gives every value libmbus's
tests assert, by the code each one is published with (base units converted: Wh to kWh,
seconds to hours). The maximum return temperature is the second value of ``9.4.0``, which
the JSON does not show; its entity is checked in ``tests/ha``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
import io
import json
from pathlib import Path
import signal
import sys

import pytest

from custom_components.landis_gyr_optical import cli
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, Variant
from tests.simulator.mbus import MbusProfile, PtyMbusMeter, TcpMbusMeter, capture
from tests.vectors import own_expectations

EXPECTATIONS = own_expectations()
_T230 = "mbus_heat_lug_ultraheat_t230_libmbus.hex"
_MULTICAL = "mbus_heat_kamstrup_multical601_libmbus.hex"
PUBLISHED = {
    _T230: {
        "Energy[0]": "6-0:6.8.0",
        "Volume[0]": "6-0:6.26.0",
        "Power[0]": "6-0:8.0.0",
        "VolumeFlow[0]": "6-0:9.0.0",
        "FlowTemperature[0]": "6-0:10.0.0",
        "ReturnTemperature[0]": "6-0:11.0.0",
        "TemperatureDifference[0]": "6-0:12.0.0",
        "FabricationNo": "6-0:9.20.0",
        "OnTime[0]": "6-0:6.31.0",
        "MaxFlowTemperature[0]": "6-0:9.4.0",
        # libmbus names the storage 1 on time in error state OnTime[1]: the fault hours.
        "OnTime[1]": "6-0:6.32.0*1",
    },
    _MULTICAL: {
        "FabricationNo": "6-0:9.20.0",
        "Energy[0]": "6-0:6.8.0",
        "Volume[0]": "6-0:6.26.0",
        "OnTime[0]": "6-0:6.31.0",
        "FlowTemperature[0]": "6-0:10.0.0",
        "ReturnTemperature[0]": "6-0:11.0.0",
        "TemperatureDifference[0]": "6-0:12.0.0",
        "Power[0]": "6-0:8.0.0",
        "MaxPower[0]": "6-0:6.6.0",
        "VolumeFlow[0]": "6-0:9.0.0",
        "MaxVolumeFlow[0]": "6-0:6.33.0",
        "Energy[1]": "6-0:6.8.0*1",
        "Volume[1]": "6-0:6.26.0*1",
        "MaxPower[1]": "6-0:6.6.0*1",
        "MaxVolumeFlow[1]": "6-0:6.33.0*1",
    },
}
_BASE = {"Wh": (Decimal(1000), "kWh"), "s": (Decimal(3600), "h"), "m^3": (Decimal(1), "m³")}
_BASE_UNITS = {"m^3/h": "m³/h"}
ROOT = Path(__file__).resolve().parents[2]


def _expected(value: str, unit: str | None) -> tuple[Decimal | str, str | None]:
    if unit is None:
        return value, None
    divisor, published = _BASE.get(unit, (Decimal(1), _BASE_UNITS.get(unit, unit)))
    return Decimal(value) / divisor, published


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("meter_class", [PtyMbusMeter, TcpMbusMeter], ids=["pty", "tcp"])
@pytest.mark.parametrize("name", sorted(PUBLISHED))
async def test_the_asserted_values_through_the_cli(name: str, meter_class: type[PtyMbusMeter]) -> None:
    frame = capture(name)
    assert set(PUBLISHED[name]) | {"MaxReturnTemperature[0]"} >= set(EXPECTATIONS[name].values)
    async with meter_class(MbusProfile((frame,), asleep=False)) as meter:
        out, err = io.StringIO(), io.StringIO()
        arguments = ["read", "--port", meter.port, "--protocol", "mbus", "--json"]
        code = await asyncio.to_thread(cli.main, arguments, out=out, errout=err)
    assert code == 0, err.getvalue()
    document = json.loads(out.getvalue())
    assert document["meter"]["protocol"] == "mbus"
    registers = document["registers"]
    for key, obis in PUBLISHED[name].items():
        value, unit = EXPECTATIONS[name].values[key]
        assert value is not None
        expected, expected_unit = _expected(value, unit)
        got = registers[obis]
        got_value = got["value"] if isinstance(got["value"], str) else Decimal(str(got["value"]))
        assert (got_value, got["unit"]) == (expected, expected_unit), key


def test_the_options_that_read_it_again() -> None:
    config = MeterConfig(Variant.MBUS, slave=254, wake_up=True)
    assert config.cli_arguments() == ["--protocol", "mbus", "--slave", "254", "--wake-up"]
    assert config.describe() == "M-Bus heat meter at 2400 Bd 8E1, address 254, optical wake-up"
    wired = MeterConfig(Variant.MBUS, slave=3, fixed_baud=9600)
    assert wired.cli_arguments() == ["--protocol", "mbus", "--slave", "3", "--baud", "9600"]
    assert wired.describe() == "M-Bus heat meter at 9600 Bd 8E1, address 3"
    assert MeterConfig(Variant.MBUS, fixed_baud=19200).mbus_settings().baud == 2400


async def test_a_silent_meter_is_exit_3() -> None:
    async with PtyMbusMeter(MbusProfile((), asleep=True)) as meter:
        out, err = io.StringIO(), io.StringIO()
        arguments = ["read", "--port", meter.port, "--protocol", "mbus", "--slave", "0", "--json"]
        arguments += ["--retries", "0"]
        code = await asyncio.to_thread(cli.main, arguments, out=out, errout=err)
    assert code == 3
    assert json.loads(out.getvalue())["error"]["key"] == "no_answer"


@pytest.mark.usefixtures("socket_enabled")
async def test_the_cli_and_the_simulator_as_processes_over_tcp() -> None:
    """``python -m tests.simulator --mbus`` behind TCP, read by ``python -m ... read``: two processes."""
    simulator = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.simulator",
        "--tcp",
        "0",
        "--mbus",
        "t230",
        "--awake",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert simulator.stdout is not None
        port = (await asyncio.wait_for(simulator.stdout.readline(), 30)).decode().strip()
        assert port.startswith("socket://127.0.0.1:")
        reader = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "custom_components.landis_gyr_optical",
            "read",
            *("--port", port, "--protocol", "mbus", "--slave", "0", "--json"),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(reader.communicate(), 60)
        assert reader.returncode == 0, err.decode()
        registers = json.loads(out)["registers"]
        assert registers["6-0:10.0.0"] == {"value": 19.5, "unit": "°C"}
        assert registers["6-0:11.0.0"] == {"value": 19.7, "unit": "°C"}
        assert registers["6-0:6.31.0"] == {"value": 3769, "unit": "h"}
    finally:
        simulator.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(simulator.communicate(), 30)
    assert b"requests=2 ignored=0" in stderr
