"""The reliability soak: line faults and port faults through the real coordinator, with a report.

Runs tests/test_soak_short.py with more readouts per line fault and more port fault cycles,
then prints the Markdown report (also the source of the numbers in docs/reliability.md).

Run: scripts/soak [--readouts N] [--minutes M]
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


def main() -> int:
    """Run the soak tests with the requested size and print their report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--readouts", type=int, default=10_000, help="polls per line fault (default 10000)")
    parser.add_argument("--minutes", type=float, default=2.0, help="time for the port fault cycles (default 2)")
    arguments = parser.parse_args()
    cycles = max(1, int(arguments.minutes * 60 / SECONDS_PER_PORT_CYCLE))
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "soak.md"
        environment = {
            **os.environ,
            "SOAK_READOUTS": str(arguments.readouts),
            "SOAK_CYCLES": str(cycles),
            "SOAK_REPORT": str(report),
        }
        command = [sys.executable, "-m", "pytest", "tests/test_soak_short.py", "-q", "-p", "no:cacheprovider"]
        print(f"soak: {arguments.readouts} polls per line fault, {cycles} cycles of every port fault")
        result = subprocess.run(command, env=environment, check=False, capture_output=True, text=True)
        print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:])
        if report.exists():
            print(report.read_text(encoding="utf-8"))
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
