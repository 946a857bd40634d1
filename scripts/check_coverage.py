"""Fail when a module of the integration is below its coverage floor.

Reads the JSON report written by ``coverage json`` (default ``coverage.json``). Every module under
custom_components/landis_gyr_optical must reach 95 % line coverage; the config flow must reach 100 %.
Modules that do not exist (yet) are not checked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys

PACKAGE = Path("custom_components/landis_gyr_optical")
DEFAULT_FLOOR = 95.0
FLOORS: dict[str, float] = {
    # The config flow and the modules it is made of.
    "config_flow.py": 100.0,
    "detection.py": 100.0,
    "entry_data.py": 100.0,
    "options_flow.py": 100.0,
    "ports.py": 100.0,
    "probe_record.py": 100.0,
}


def floor_for(path: Path) -> float:
    """Return the required percentage for a module path relative to the package."""
    return FLOORS.get(path.as_posix(), DEFAULT_FLOOR)


def ranges(lines: list[int]) -> str:
    """Return line numbers as compact ranges, e.g. ``3-7, 12``."""
    parts: list[str] = []
    for line in sorted(lines):
        if parts and parts[-1].split("-")[-1] == str(line - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{line}"
        else:
            parts.append(str(line))
    return ", ".join(parts)


def check(report: dict[str, object], root: Path) -> list[str]:
    """Return one line per module below its floor."""
    files = report.get("files")
    if not isinstance(files, dict):
        return ["coverage report has no 'files' section"]
    failures: list[str] = []
    for name, data in sorted(files.items()):
        path = Path(name)
        try:
            relative = path.relative_to(PACKAGE)
        except ValueError:
            continue
        if not (root / path).exists():
            continue
        percent = float(data["summary"]["percent_covered"])
        floor = floor_for(relative)
        if percent < floor:
            missing = ranges(data.get("missing_lines", []))
            failures.append(f"{name}: {percent:.1f} % < {floor:.0f} % (missing lines: {missing})")
    for floored in FLOORS:
        module = PACKAGE / floored
        if (root / module).exists() and module.as_posix() not in files:
            failures.append(f"{module}: not measured (no test imports it)")
    return failures


def main() -> int:
    """Check the report and print the modules below their floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", default="coverage.json", type=Path)
    args = parser.parse_args()
    root = Path.cwd()
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"cannot read coverage report {args.report}: {err}", file=sys.stderr)
        return 1
    failures = check(report, root)
    for line in failures:
        print(f"coverage too low: {line}", file=sys.stderr)
    if failures:
        return 1
    print(f"coverage: every module under {PACKAGE} meets its floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
