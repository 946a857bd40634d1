"""The reliability soak: line faults and port faults through the real coordinator, with a report.

Runs tests/ha/test_soak_short.py with more readouts per line fault and more port fault cycles,
then prints the Markdown report (also the source of the numbers in docs/reliability.md).

With ``--scale-minutes M`` it runs tests/ha/test_scale_short.py instead: eight meters on eight
ptys, polled every 10 s in real time for M minutes (reads, failures, overlaps, CPU per read).

With ``--switch-reads N`` it runs the rate-switch soak of tests/iec62056_21/test_real_lines.py:
N first attempts on 200 ms meters whose client's bytes leave the UART up to 50 ms late, and N on
20 ms meters with up to 5 ms (ten reads at a time, no retries).

With ``--bus-minutes M`` it runs tests/ha/test_bus_short.py instead: eight meters on one line
(one pty, each answering its own address) polled in real time for M minutes (reads, failures,
poll cycle against the sum of single reads, collisions and overlapping sessions on the line).

Run: scripts/soak [--readouts N] [--minutes M] | scripts/soak --scale-minutes M
     scripts/soak --switch-reads N | scripts/soak --bus-minutes M
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import subprocess
import sys
import tempfile

SECONDS_PER_PORT_CYCLE = 25
"""A cycle of every port fault (they run at once) takes about this long."""
SCALE_SETUP_SECONDS = 300
"""Time allowed on top of the scale soak's polling (set-up, the last reads, unloading)."""


def main() -> int:
    """Run the soak tests with the requested size and print their report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--readouts", type=int, default=10_000, help="polls per line fault (default 10000)")
    parser.add_argument(
        "--minutes", type=float, default=2.0, help="time for the port fault cycles (default 2)"
    )
    parser.add_argument(
        "--scale-minutes",
        type=float,
        help="instead: eight meters polled every 10 s for this many real minutes",
    )
    parser.add_argument(
        "--switch-reads",
        type=int,
        help="instead: this many first attempts each on 200 ms and 20 ms meters with a late UART",
    )
    parser.add_argument(
        "--bus-minutes",
        type=float,
        help="instead: eight meters on one line (one pty, addressed) polled in real time for this many minutes",
    )
    arguments = parser.parse_args()
    if arguments.bus_minutes is not None:
        return run(
            "tests/ha/test_bus_short.py",
            {"BUS_MINUTES": str(arguments.bus_minutes)},
            f"bus soak: 8 meters on one line at 9600 Bd polled for {arguments.bus_minutes:g} minutes",
            timeout=int(arguments.bus_minutes * 60) + SCALE_SETUP_SECONDS,
        )
    if arguments.switch_reads is not None:
        return run(
            "tests/iec62056_21/test_real_lines.py::test_switch_soak_200_ms_meters_never_fail_a_first_attempt",
            {"SWITCH_SOAK_READS": str(arguments.switch_reads)},
            f"switch soak: {arguments.switch_reads} first attempts each on 200 ms and 20 ms meters",
            timeout=arguments.switch_reads + SCALE_SETUP_SECONDS,
        )
    if arguments.scale_minutes is not None:
        return run(
            "tests/ha/test_scale_short.py",
            {"SCALE_MINUTES": str(arguments.scale_minutes)},
            f"scale soak: 8 meters polled every 10 s for {arguments.scale_minutes:g} minutes",
            timeout=int(arguments.scale_minutes * 60) + SCALE_SETUP_SECONDS,
        )
    cycles = max(1, int(arguments.minutes * 60 / SECONDS_PER_PORT_CYCLE))
    return run(
        "tests/ha/test_soak_short.py",
        {"SOAK_READOUTS": str(arguments.readouts), "SOAK_CYCLES": str(cycles)},
        f"soak: {arguments.readouts} polls per line fault, {cycles} cycles of every port fault",
    )


def run(test_file: str, settings: dict[str, str], title: str, *, timeout: int | None = None) -> int:
    """Run ``test_file`` with ``settings`` in its environment and print the report it writes.

    ``timeout`` replaces the per-test limit of pyproject.toml (a long soak is one test).
    """
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "soak.md"
        environment = {**os.environ, **settings, "SOAK_REPORT": str(report)}
        command = [sys.executable, "-m", "pytest", test_file, "-q", "-p", "no:cacheprovider"]
        if timeout is not None:
            command.append(f"--timeout={timeout}")
        print(title, flush=True)
        result = subprocess.run(command, env=environment, check=False, capture_output=True, text=True)
        print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:])
        if result.returncode:
            print(result.stdout[-4000:])
        if report.exists():
            print(report.read_text(encoding="utf-8"))
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
