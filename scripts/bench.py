"""Benchmarks: read time against the wire-time floor, side by side with a peer library.

A mode C read through the simulator (line-time emulation at the current rate) at meter
reaction times of 20 ms, 200 ms and 1500 ms. The floor is what the line itself needs:
sign-on and identification at 300 Bd, the meter's reaction twice, the client's mandatory
reaction before the option select, the option select at 300 Bd and the data message at the
negotiated rate. The ratio measured / floor says how much the client itself costs. The
300 Bd readout is cut to its first lines (the whole one would take 25 s per read); ours and
the peer read the same one.

Then the parse CPU time of a 4 KB readout, and the push latency (mode D and DLMS/COSEM,
last byte on the line to the entity's new state) measured by tests/ha/test_push_latency.py
inside Home Assistant's test harness.

Run: scripts/bench [--rounds N] [--markdown]
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
import statistics
import sys
import time
from typing import Any

from custom_components.landis_gyr_optical.meter.iec62056_21.client import read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    BAUD_MODE_C,
    CRLF,
    Identification,
    encode_data_message,
    option_select,
    sign_on,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import Session, SessionSettings
from custom_components.landis_gyr_optical.meter.line import wire_time
from tests.simulator import MeterProfile, PtyMeter, load_profile

REACTION_TIMES = (0.020, 0.200, 1.500)
RATES = (300, 2400, 9600, 19200)
BAUD = 9600
"""Rate of the parse CPU benchmark's session."""
SHORT_LINES = 12
"""Data lines of the 300 Bd readout (the full 700 bytes would take 25 s per read)."""


def floor_seconds(profile: MeterProfile, baud: int) -> float:
    """Wire-time floor of one mode C read of ``profile`` at ``baud``."""
    identification = profile.identification
    message = encode_data_message(profile.data_block)
    return (
        wire_time(len(sign_on()), 300)
        + profile.reaction_time
        + wire_time(len(identification.encode()), 300)
        + identification.reaction_time
        + wire_time(len(option_select(baud)), 300)
        + profile.reaction_time
        + wire_time(len(message), baud)
    )


def bench_profile(reaction_time: float, baud: int = BAUD) -> MeterProfile:
    """Return the ~700-byte readout (shorter at 300 Bd) offering ``baud``.

    A 20 ms meter announces itself with a lower-case third letter of its flag.
    """
    profile = load_profile("bench_700")
    flag = profile.identification.flag_id
    flag = flag[:2] + (flag[2].lower() if reaction_time < 0.2 else flag[2].upper())
    baud_char = next(char for char, rate in BAUD_MODE_C.items() if rate == baud)
    identification = replace(profile.identification, flag_id=flag, baud_char=baud_char)
    block = profile.data_block
    if baud == 300:
        block = b"".join(line + CRLF for line in block.split(CRLF)[:SHORT_LINES])
    return replace(profile, identification=identification, reaction_time=reaction_time, data_block=block)


async def ours(port: str, baud: int = BAUD) -> float:
    """Time one read with this project's client."""
    started = time.monotonic()
    readout = await read_meter(port, SessionSettings(max_baud=baud), retries=0)
    elapsed = time.monotonic() - started
    if readout.baud != baud:
        raise RuntimeError(f"negotiated {readout.baud} Bd instead of {baud}")
    return elapsed


def peer_read(port: str) -> float:
    """Time one read with the iec62056-21 library (synchronous; runs in a thread)."""
    from iec62056_21.client import Iec6205621Client  # noqa: PLC0415 - optional peer

    client = Iec6205621Client.with_serial_transport(port=port)
    started = time.monotonic()
    client.connect()
    try:
        client.standard_readout()
    finally:
        client.disconnect()
    return time.monotonic() - started


async def peer(port: str) -> float | str:
    """Time the peer, or say why it failed."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(peer_read, port), timeout=90)
    except ImportError:
        return "not installed"
    except Exception as err:  # noqa: BLE001 - any failure of the peer is a result to report
        return f"failed ({type(err).__name__}: {str(err)[:60]})"


def parse_cpu(size: int = 4096, rounds: int = 200) -> float:
    """CPU milliseconds to parse a framed readout of about ``size`` bytes through a Session."""
    profile = load_profile("bench_4k")
    block = profile.data_block
    while len(block) < size:
        block += profile.data_block
    message = encode_data_message(block)
    identification = Identification.parse(b"/LGZ5ZMD4104407.B31").encode()
    best = float("inf")
    for _ in range(rounds):
        session = Session(SessionSettings(max_baud=BAUD))
        session.next_command()
        session.next_command()
        started = time.process_time()
        session.receive_data(identification)
        while not session.needs_data:
            session.next_command()
        session.receive_data(message)
        best = min(best, time.process_time() - started)
    return best * 1000


async def main(rounds: int, markdown: bool) -> int:
    """Run the benchmark and print the table."""
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    for baud in RATES:
        for reaction_time in REACTION_TIMES:
            rows.append(await bench_row(baud, reaction_time, rounds))
            print(
                f"{baud} Bd, {reaction_time * 1000:.0f} ms done after {time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
    cpu = parse_cpu()
    latency_ok, latency_lines = await push_latency()
    print(f"push latency done after {time.monotonic() - started:.0f} s", file=sys.stderr)
    print_table(rows, cpu, rounds, markdown)
    print()
    print(
        "Push latency, from the moment the simulated meter wrote the last byte of a push to the `state_changed` "
        "event of the import-energy entity (real coordinator, real config entry, in-process Home Assistant; "
        f"`{' '.join(PUSH_LATENCY_TEST)}`):"
    )
    print()
    for line in latency_lines:
        print(f"- {line}")
    failed = [row for row in rows if row["ratio"] > 1.05]
    return 1 if failed or cpu >= 2.0 or not latency_ok else 0


PUSH_LATENCY_TEST = (
    "python",
    "-m",
    "pytest",
    "tests/ha/test_push_latency.py",
    "-q",
    "-s",
    "-p",
    "no:cacheprovider",
)


async def push_latency() -> tuple[bool, list[str]]:
    """Run the push latency test (it needs Home Assistant's test fixtures) and collect its figures."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *PUSH_LATENCY_TEST[1:],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    lines = [
        line.removeprefix("push latency: ") for line in text.splitlines() if line.startswith("push latency:")
    ]
    if process.returncode:
        lines.append(f"the test failed: {text.strip().splitlines()[-1] if text.strip() else 'no output'}")
    return process.returncode == 0, lines


async def bench_row(baud: int, reaction_time: float, rounds: int) -> dict[str, Any]:
    """Measure ours (best and median of ``rounds``) and the peer once on the same meter."""
    profile = bench_profile(reaction_time, baud)
    floor = floor_seconds(profile, baud)
    async with PtyMeter(profile) as meter:
        measured = [await ours(meter.port, baud) for _ in range(rounds if baud > 300 else 1)]
        peer_result = await peer(meter.port)
    best = min(measured)
    return {
        "baud": baud,
        "reaction": reaction_time,
        "bytes": len(encode_data_message(profile.data_block)),
        "floor": floor,
        "ours": best,
        "median": statistics.median(measured),
        "ratio": best / floor,
        "peer": peer_result,
    }


def print_table(rows: list[dict[str, Any]], cpu: float, rounds: int, markdown: bool) -> None:
    """Print the results (as Markdown for docs/benchmarks.md with ``--markdown``)."""
    header = "| rate | reaction | data bytes | floor s | ours s (best) | ours s (median) | ratio | peer iec62056-21 s | peer / floor |"
    print(header)
    print("|" + "---|" * 9)
    for row in rows:
        peer_value = row["peer"]
        peer_text = f"{peer_value:.3f}" if isinstance(peer_value, float) else peer_value
        peer_ratio = f"{peer_value / row['floor']:.2f}" if isinstance(peer_value, float) else "-"
        print(
            f"| {row['baud']} Bd | {row['reaction'] * 1000:.0f} ms | {row['bytes']} | {row['floor']:.3f} | {row['ours']:.3f} | "
            f"{row['median']:.3f} | {row['ratio']:.3f} | {peer_text} | {peer_ratio} |"
        )
    print()
    print(
        f"Parse CPU time of a 4 KB readout (identification + framed data message, best of 200): {cpu:.3f} ms"
    )
    print(
        f"Rounds per row: {rounds} (1 at 300 Bd, whose readout has {SHORT_LINES} data lines); mode C, sign-on at "
        "300 Bd, data at the rate shown, through a pty with line-time emulation. The peer reads once per row."
    )
    if not markdown:
        sys.stdout.flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.rounds, arguments.markdown)))
