"""The CLI's ``profile`` contract: JSON shape, the range, and exit 4 for a refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
import json

import pytest

from custom_components.landis_gyr_optical.meter.iec62056_21.profile import parse_profile
from tests.core.test_cli import run_cli
from tests.simulator import PtyMeter, quick_profile
from tests.simulator.dlms_profile import ProfilePullMeter
from tests.simulator.recording import Recording

NOW = datetime(2026, 11, 30, 6, 0)
RECORDING = Recording(
    start=datetime(2026, 11, 29, 22, 15),
    outages=((datetime(2026, 11, 30, 1, 10), datetime(2026, 11, 30, 2, 20)),),
    clock=lambda: NOW,
)


async def test_profile_json_contract() -> None:
    """One object: the meter and one entry per interval inside the range, ends in the meter's clock."""
    meter_profile = quick_profile("lgz_e350", programming_mode=True, recording=RECORDING)
    async with PtyMeter(meter_profile) as meter:
        code, out, err = await run_cli(
            "profile", "--port", meter.port, "--protocol", "mode_c", "--from", "2026-11-30T00:00",
            "--to", "2026-11-30T03:00", "--json",
        )  # fmt: skip
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    assert set(document) == {"meter", "profile"}
    assert document["meter"] == {
        "manufacturer": "Landis+Gyr",
        "flag_id": "LGZ",
        "identification": "LGZ4ZMF100AC.M27",
        "protocol": "mode_c",
        "baud": 4800,
    }
    intervals = document["profile"]
    assert intervals[0] == {
        "end": "2026-11-30T00:15:00",
        "period": 900,
        "status": "00",
        "values": {
            "1-0:1.5.0": {"value": float(RECORDING.power(datetime(2026, 11, 30, 0, 15))), "unit": "kW"},
            "1-0:2.5.0": {"value": 0.0, "unit": "kW"},
        },
    }
    ends = [interval["end"] for interval in intervals]
    # The power failure (01:10 to 02:20) stays a gap; nothing outside 00:00-03:00.
    assert ends == [
        "2026-11-30T00:15:00", "2026-11-30T00:30:00", "2026-11-30T00:45:00", "2026-11-30T01:00:00",
        "2026-11-30T02:30:00", "2026-11-30T02:45:00", "2026-11-30T03:00:00",
    ]  # fmt: skip
    assert [message[1:3] for message in meter.commands] == [b"R5"]


async def test_profile_text_output() -> None:
    """Without ``--json`` a table for people; R6 and the open end work through the CLI too."""
    meter_profile = quick_profile(
        "lgz_e350", programming_mode=True, recording=RECORDING, partial_block_size=80
    )
    async with PtyMeter(meter_profile) as meter:
        code, out, err = await run_cli(
            "profile", "--port", meter.port, "--from", "2026-11-30T05:00", "--command", "R6"
        )
    assert code == 0, err
    assert "4 intervals, 0 gaps" in out
    assert "2026-11-30T06:00:00   15 min  00  1.5.0 " in out
    assert [message[1:3] for message in meter.commands] == [b"R6"]


async def test_refused_programming_mode_exits_4() -> None:
    """A readout-only meter: a clear error object and exit code 4."""
    async with PtyMeter(quick_profile("lgz_e350")) as meter:
        code, out, err = await run_cli("profile", "--port", meter.port, "--json", "--baud-max", "9600")
    assert code == 4
    error = json.loads(out)["error"]
    assert error["key"] == "profile_unavailable"
    assert "did not enter programming mode" in error["message"]
    assert "error:" in err


async def test_no_profile_exits_4() -> None:
    """A meter without a load profile answers ``(ERROR)``: exit 4."""
    async with PtyMeter(quick_profile("lgz_e350", programming_mode=True)) as meter:
        code, out, _ = await run_cli("profile", "--port", meter.port, "--json", "--baud-max", "9600")
    assert code == 4
    assert json.loads(out)["error"]["key"] == "profile_unavailable"


async def test_timeout_and_port_errors() -> None:
    """``--timeout`` ends a silent read (exit 3); a missing port is exit 5."""
    async with PtyMeter(quick_profile("lgz_e350", reaction_time=5.0)) as meter:
        code, out, _ = await run_cli("profile", "--port", meter.port, "--json", "--timeout", "0.5")
    assert code == 3
    assert "no complete load profile within 0.5 s" in out
    code, _, _ = await run_cli("profile", "--port", "/dev/does-not-exist", "--json")
    assert code == 5


@pytest.mark.parametrize(
    "arguments",
    [
        ["--from", "yesterday"],
        ["--from", "2026-11-30T00:00+01:00"],
        ["--from", "2026-11-30T03:00", "--to", "2026-11-30T00:00"],
        ["--protocol", "sml"],
    ],
)
async def test_usage_errors(arguments: list[str]) -> None:
    """Bad ranges and variants without a profile reader are usage errors (exit 2)."""
    code, out, _ = await run_cli("profile", "--port", "/dev/null", *arguments)
    assert code == 2
    assert out == ""


def test_json_matches_the_parser() -> None:
    """The simulated meter renders what the parser reads back (one truth for the tests)."""
    text = RECORDING.render(datetime(2026, 11, 30, 0, 0), datetime(2026, 11, 30, 3, 0))
    profile = parse_profile(text)
    assert len(profile.gaps()) == 1
    assert all(
        interval.values[profile.channels[0]].value == RECORDING.power(interval.end) for interval in profile
    )
    assert replace(RECORDING, outages=()).energy(datetime(2026, 11, 30, 1, 15)) > 0
    assert RECORDING.energy(datetime(2026, 11, 30, 1, 15)) == 0


async def test_dlms_profile_json_contract() -> None:
    """The same contract for a DLMS meter (mode E): demand in the meter's unit (W)."""
    async with ProfilePullMeter(RECORDING) as meter:
        code, out, err = await run_cli(
            "profile", "--port", meter.port, "--protocol", "dlms_mode_e", "--from", "2026-11-30T00:00",
            "--to", "2026-11-30T03:00", "--json",
        )  # fmt: skip
    assert code == 0, err
    document = json.loads(out)
    assert document["meter"]["protocol"] == "dlms_mode_e"
    assert document["meter"]["baud"] == 9600
    intervals = document["profile"]
    assert [interval["end"] for interval in intervals] == [
        "2026-11-30T00:15:00", "2026-11-30T00:30:00", "2026-11-30T00:45:00", "2026-11-30T01:00:00",
        "2026-11-30T02:30:00", "2026-11-30T02:45:00", "2026-11-30T03:00:00",
    ]  # fmt: skip
    assert intervals[0]["period"] == 900
    assert intervals[0]["status"] == "00"
    watts = RECORDING.power(datetime(2026, 11, 30, 0, 15)) * 1000
    assert intervals[0]["values"]["1-0:1.5.0"] == {"value": int(watts), "unit": "W"}


async def test_dlms_meter_without_profile_exits_4() -> None:
    """A DLMS meter without Profile Generic: exit 4 and the error object."""
    async with ProfilePullMeter(None, mode_e=False) as meter:
        code, out, _ = await run_cli(
            "profile", "--port", meter.port, "--protocol", "dlms_hdlc", "--json", "--slave", "1"
        )
    assert code == 4
    assert json.loads(out)["error"]["key"] == "profile_unavailable"
