"""The troubleshooting CLI's contract: JSON shape, registers, exit codes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
import io
import json
import os
from pathlib import Path
import runpy
import sys

import pytest

from custom_components.landis_gyr_optical import cli
from custom_components.landis_gyr_optical.meter import variants
from custom_components.landis_gyr_optical.meter.eredes_han.client import HanSettings
from tests.simulator import Faults, MeterProfile, PtyMeter, TcpMeter, load_profile
from tests.simulator.dlms import (
    PtyPushMeter,
    PullMeter,
    encrypted_push_frames,
    gbt_push_frames,
    push_apdu,
    standard_objects,
)
from tests.simulator.eredes import PtyHanMeter, single_phase_profile
from tests.simulator.sml import sml_push_frames

REPO = Path(__file__).resolve().parents[2]


def fast(name: str, **changes: object) -> MeterProfile:
    """A built-in profile answering after the shortest reaction time its identification allows."""
    return replace(load_profile(name), reaction_time=0.2, **changes)  # type: ignore[arg-type]


async def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI in a thread (it runs its own event loop) while the simulator serves here."""
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(cli.main, list(args), out=out, errout=err)
    return code, out.getvalue(), err.getvalue()


async def test_module_entry_point() -> None:
    """``python -m custom_components.landis_gyr_optical`` is the documented way to run it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    async with PtyMeter(fast("lgz_zmd120")) as meter:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "custom_components.landis_gyr_optical",
            "read",
            "--port",
            meter.port,
            "--json",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert json.loads(stdout)["registers"]["1-0:1.8.1"] == {"value": 1846.0, "unit": "kWh"}


async def test_read_json_contract() -> None:
    """``read --json`` prints exactly one object with the meter and its registers."""
    async with PtyMeter(fast("lgz_zmd405")) as meter:
        code, out, err = await run_cli(
            "read", "--port", meter.port, "--json", "--baud-max", "9600", "--trace"
        )
    assert code == 0, err
    assert "<ACK>050" in err, "--trace prints the wire trace to stderr"
    lines = out.strip().splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    assert set(document) == {"meter", "registers"}
    assert document["meter"] == {
        "manufacturer": "Landis+Gyr",
        "flag_id": "LGZ",
        "identification": "LGZ5\\2ZMD4054459.B40",
        "serial": "54800102",
        "protocol": "mode_c",
        "baud": 9600,
    }
    registers = document["registers"]
    assert registers["1-0:1.8.0"] == {"value": 302.826, "unit": "kWh"}
    assert registers["1-0:1.8.0*12"] == {"value": 75.5341, "unit": "kWh"}
    assert registers["1-0:1.8.0&12"] == {"value": 0.0, "unit": "kWh"}
    assert registers["0-0:0.9.1"] == {"value": "23:16:43", "unit": None}
    assert all(set(entry) == {"value", "unit"} for entry in registers.values())


async def test_read_text_output_lists_registers() -> None:
    """Without ``--json`` the registers are printed one per line."""
    async with PtyMeter(fast("lgz_e350")) as meter:
        code, out, _ = await run_cli("read", "--port", meter.port)
    assert code == 0
    assert "Landis+Gyr (LGZ)" in out
    assert "1-0:1.8.0" in out and "219.252 kWh" in out
    assert "at 4800 Bd, checksum bcc" in out


@pytest.mark.usefixtures("socket_enabled")
async def test_read_over_tcp_stays_at_300() -> None:
    """A raw TCP bridge cannot switch rates: the read asks the meter to stay at 300 Bd."""
    async with TcpMeter(fast("lgz_zmd120")) as meter:
        code, out, err = await run_cli("read", "--port", meter.port, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["meter"]["baud"] == 300
    assert document["registers"]["1-0:2.8.0"] == {"value": 4329.6, "unit": "kWh"}


async def test_bad_checksum_exits_4_without_registers() -> None:
    """A readout whose BCC never verifies: exit 4, an error object, no registers."""
    async with PtyMeter(fast("lgz_zmd120", faults=Faults(bad_bcc=True))) as meter:
        code, out, err = await run_cli(
            "read", "--port", meter.port, "--json", "--baud-max", "9600", "--retries", "0"
        )
    assert code == 4
    document = json.loads(out)
    assert set(document) == {"error"}
    assert document["error"]["key"] == "checksum_error"
    assert "block check character" in err


async def test_silent_meter_exits_3() -> None:
    """No answer at all: exit 3 with a message saying what was awaited."""
    async with PtyMeter(fast("lgz_zmd120", faults=Faults(silent=True))) as meter:
        code, out, err = await run_cli("read", "--port", meter.port, "--json", "--retries", "0")
    assert code == 3
    assert json.loads(out)["error"]["key"] == "no_answer"
    assert "identification" in err


async def test_timeout_option_exits_3() -> None:
    """``--timeout`` bounds the whole read."""
    async with PtyMeter(fast("lgz_zmd120", faults=Faults(silent=True))) as meter:
        code, _, err = await run_cli("read", "--port", meter.port, "--timeout", "0.5")
    assert code == 3
    assert "within 0.5 s" in err


async def test_missing_port_exits_5_naming_the_port() -> None:
    """A port that does not exist: exit 5, the message names it and the OS error."""
    code, out, _ = await run_cli("read", "--port", "/dev/ttyNOPE", "--json")
    assert code == 5
    document = json.loads(out)
    assert document["error"]["key"] == "cannot_open_port"
    assert "/dev/ttyNOPE" in document["error"]["message"]
    assert "No such file or directory" in document["error"]["message"]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["read"],
        ["read", "--port", "x", "--protocol", "mode_x"],
        ["read", "--port", "x", "--baud-max", "1234"],
        ["read", "--port", "x", "--address", "a!b"],
        ["frobnicate"],
    ],
)
async def test_usage_errors_exit_2(argv: list[str]) -> None:
    """Bad arguments exit 2 (argparse's usage code)."""
    assert (await run_cli(*argv))[0] == 2


async def test_help_exits_0() -> None:
    """``--help`` is not an error."""
    assert (await run_cli("--help"))[0] == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("000219.252"), 219.252),
        (Decimal(1240007670003202), 1240007670003202),
        (Decimal(12345678901234567890), 12345678901234567890),
        (Decimal("0.000"), 0.0),
        ("V01.69#EEA3546C", "V01.69#EEA3546C"),
        (None, None),
    ],
)
def test_json_values(value: Decimal | str | None, expected: object) -> None:
    """Integers stay exact (serial-like numbers), decimals become JSON numbers."""
    converted = cli.json_value(value)
    assert converted == expected
    assert type(converted) is type(expected)


async def test_probe_finds_mode_c_and_says_how() -> None:
    """``probe`` reports the working settings after the first successful attempt."""
    async with PtyMeter(fast("lgz_e350")) as meter:
        code, out, err = await run_cli("probe", "--port", meter.port, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["result"]["protocol"] == "mode_c"
    assert report["result"]["baud"] == 4800
    assert report["attempts"][0]["ok"] is True
    assert report["attempts"][0]["sent"].startswith("/?!\\r\\n")
    assert "/LGZ4ZMF100AC.M27" in report["attempts"][0]["received"]
    assert "--protocol mode_c" in report["summary"]


async def test_probe_of_silent_port_explains_what_to_check() -> None:
    """Every attempt silent: exit 3 and a summary that tells the user what to check."""
    async with PtyMeter(fast("lgz_e350", faults=Faults(silent=True))) as meter:
        code, out, _ = await run_cli("probe", "--port", meter.port, "--listen", "0.3")
    assert code == 3
    assert out.count("[FAIL]") >= 5
    assert "silent: nothing came back" in out
    assert "Nothing came back on" in out and "not even the echo of what was sent" in out


# --- DLMS/COSEM, SML and E-Redes HAN through the CLI -------------------------------------------------

KEY = "101112131415161718191A1B1C1D1E1F"


async def test_read_dlms_push_with_key() -> None:
    """``--protocol dlms_push --key``: the encrypted push decodes; the JSON shape is unchanged."""
    async with PtyPushMeter(
        lambda n: encrypted_push_frames(push_apdu(n), bytes.fromhex(KEY)), period=0.05
    ) as meter:
        code, out, err = await run_cli(
            "read", "--port", meter.port, "--protocol", "dlms_push", "--key", KEY, "--json", "--timeout", "5"
        )
        assert code == 0, err
        document = json.loads(out)
        assert set(document) == {"meter", "registers"}
        assert document["meter"]["protocol"] == "dlms_push"
        assert document["registers"]["1-0:1.8.0"] == {"value": 482.939, "unit": "kWh"}
        code, out, _ = await run_cli(
            "read", "--port", meter.port, "--protocol", "dlms_push", "--json", "--timeout", "5"
        )
    assert code == 4
    assert json.loads(out)["error"]["key"] == "invalid_key"


async def test_read_sml_and_mode_e_and_hdlc() -> None:
    """SML push, mode E with a password and direct HDLC with a server address."""
    async with PtyPushMeter(sml_push_frames, period=0.05) as meter:
        code, out, err = await run_cli("read", "--port", meter.port, "--protocol", "sml", "--json")
    assert code == 0, err
    assert json.loads(out)["meter"]["serial"] == "1LGZ0054541129"
    async with PullMeter(standard_objects(), password=b"secret") as meter:
        code, out, err = await run_cli(
            "read", "--port", meter.port, "--protocol", "dlms_mode_e", "--password", "secret", "--json"
        )
    assert code == 0, err
    assert json.loads(out)["registers"]["1-0:1.8.0"] == {"value": 123456.78, "unit": "kWh"}
    async with PullMeter(standard_objects(), mode_e=False) as meter:
        code, out, err = await run_cli(
            "read", "--port", meter.port, "--protocol", "dlms_hdlc", "--slave", "1"
        )
    assert code == 0, err
    assert "dlms_hdlc at 9600 Bd, checksum crc16" in out


async def test_read_eredes_framing_detected_or_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--protocol eredes_han`` detects 8N2 when ``--framing`` is left out; a wrong one fails."""
    monkeypatch.setattr(variants, "HAN_TIMING", HanSettings(request_pause=0.01, response_timeout=0.3))
    async with PtyHanMeter(single_phase_profile(two_stop_bits=True)) as meter:
        code, out, err = await run_cli("read", "--port", meter.port, "--protocol", "eredes_han", "--json")
        assert code == 0, err
        assert json.loads(out)["registers"]["0-0:96.14.0"] == {"value": "ponta", "unit": None}
        code, _, _ = await run_cli(
            "read", "--port", meter.port, "--protocol", "eredes_han", "--framing", "8N1", "--retries", "0"
        )
    assert code == 3


async def test_probe_finds_dlms_push_and_suggests_options() -> None:
    """``probe`` reports a DLMS push; only the CLI's summary carries the options to use."""
    async with PtyPushMeter(lambda n: gbt_push_frames(push_apdu(n)), period=0.05) as meter:
        code, out, err = await run_cli("probe", "--port", meter.port, "--json", "--listen", "2")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) == {"port", "attempts", "result", "summary"}
    assert report["result"]["protocol"] == "dlms_push"
    assert report["summary"].endswith("Use --protocol dlms_push.")


async def test_probe_encrypted_push_needs_key() -> None:
    """An encrypted push without a key: the probe stops there and says the key is needed."""
    async with PtyPushMeter(
        lambda n: encrypted_push_frames(push_apdu(n), bytes.fromhex(KEY)), period=0.05
    ) as meter:
        code, out, _ = await run_cli("probe", "--port", meter.port, "--listen", "2")
        assert code == 4
        assert "encryption key is needed" in out
        code, out, _ = await run_cli("probe", "--port", meter.port, "--listen", "2", "--key", KEY, "--json")
    assert code == 0
    assert json.loads(out)["summary"].endswith("Use --protocol dlms_push --key <key>.")


@pytest.mark.parametrize("argv", [["--key", "123"], ["--auth-key", ""], ["--framing", "7E1"]])
async def test_new_usage_errors_exit_2(argv: list[str]) -> None:
    """Malformed keys and framings are usage errors."""
    assert (await run_cli("read", "--port", "x", "--protocol", "dlms_push", *argv))[0] == 2


async def test_main_module_exits_with_the_cli_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """``__main__`` hands the CLI's return value to ``sys.exit``."""
    monkeypatch.setattr(sys, "argv", ["landis_gyr_optical", "read", "--port", "/dev/ttyNOPE"])
    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(
            runpy.run_module, "custom_components.landis_gyr_optical.__main__", run_name="__main__"
        )
    assert exited.value.code == 5


async def test_trace_is_printed_when_the_read_fails() -> None:
    """``--trace`` shows what went over the line exactly when it matters: on a failure."""
    async with PtyMeter(fast("lgz_zmd120", faults=Faults(silent=True))) as meter:
        code, _, err = await run_cli(
            "read", "--port", meter.port, "--protocol", "mode_c", "--retries", "0", "--trace"
        )
    assert code == 3
    assert "sent" in err
    assert "/?!\\r\\n" in err


@pytest.mark.parametrize(
    ("protocol", "options", "sent"),
    [
        ("dlms_hdlc", [], "SNRM"),
        ("dlms_mode_e", [], "/?!\\r\\n"),
        ("eredes_han", ["--framing", "8N1"], "read 0x"),
        ("eredes_han", [], "read 0x"),
    ],
)
async def test_trace_is_printed_when_a_read_of_any_protocol_fails(
    protocol: str, options: list[str], sent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DLMS and HAN reads carry their trace on failure too (a HAN probe: every line it tried)."""
    monkeypatch.setattr(
        variants, "HAN_TIMING", HanSettings(request_pause=0.01, response_timeout=0.1, retries=0)
    )
    async with PtyPushMeter(lambda n: [], period=5) as meter:
        code, _, err = await run_cli(
            "read", "--port", meter.port, "--protocol", protocol, *options, "--retries", "0", "--trace"
        )
    assert code == 3, err
    assert any(" sent " in line and sent in line for line in err.splitlines()), err


@pytest.mark.usefixtures("socket_enabled")
async def test_auto_read_adds_parity_bits_for_an_8n1_bridge() -> None:
    """Like the probe, ``read --protocol auto`` tries parity bits added here after silence."""
    async with TcpMeter(fast("lgz_zmd120"), eight_bit_bridge=True) as meter:
        code, out, _ = await run_cli("read", "--port", meter.port, "--json", "--retries", "0")
    assert code == 0, out
    assert json.loads(out)["meter"]["baud"] == 300
