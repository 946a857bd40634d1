"""The soak report, as Markdown (printed by ``scripts/soak``, quoted in docs/reliability.md)."""

from __future__ import annotations

import os
from pathlib import Path
import statistics

from .line_soak import POLL_SECONDS, LineReport, poll_bound
from .port_soak import POLL_SECONDS as PORT_POLL_SECONDS, PortSoakReport, errors_total

REPORT_ENV = "SOAK_REPORT"


def line_table(reports: list[LineReport]) -> str:
    """One row per line fault and parity setting."""
    rows = [
        (
            "| line | parity | polls | failed polls | attempts | ok | rejected (by error) | corrupted | slipped past the check "
            "| ...changing a total | guard on those | published | published ≠ truth | max error | violations "
            "| entity write errors | fds | tasks | s |"
        ),
        "|" + "---|" * 19,
    ]
    for r in reports:
        rejected = ", ".join(f"{name} {count}" for name, count in sorted(r.rejected.items())) or "-"
        guard = ", ".join(f"{name} {count}" for name, count in sorted(r.guard_on_slips.items())) or "-"
        writes = sum(r.entity_write_errors.values())
        rows.append(
            f"| {r.fault} | {'software' if r.parity else 'none'} | {r.polls} | {r.polls_failed} | {r.attempts} | "
            f"{r.attempts_ok} | {rejected} | {r.corrupted_attempts} | {r.slipped} | {r.slipped_value_changed} | "
            f"{guard} | {r.published} | {r.published_not_truth} | {r.max_error_published} | {r.violations} | "
            f"{writes} | {'→'.join(map(str, r.fds))} | {'→'.join(map(str, r.tasks))} | {r.seconds:.1f} |"
        )
    rows.append("")
    rows.append(
        f"Plausibility bound: 60 kW times the time since the previous publication, plus one digit "
        f"({poll_bound(POLL_SECONDS)} kWh for one {POLL_SECONDS} s poll). Violations = published totals that "
        "decreased, exceeded the truth or were off from it by more than the bound, or reached an entity "
        "unguarded."
    )
    return "\n".join(rows)


def port_table(report: PortSoakReport) -> str:
    """One row per port fault, then the resources."""
    rows = [
        "| fault | cycles | polls ok | polls failed | errors | failed polls after clearing | recovery s (max) | read s | wrong values |",
        "|" + "---|" * 9,
    ]
    for f in report.faults:
        recovery = f"{max(f.recovery_seconds):.2f}" if f.recovery_seconds else "-"
        read = f"{statistics.median(f.read_seconds):.2f}" if f.read_seconds else "-"
        errors = ", ".join(f"{key} {count}" for key, count in sorted(f.errors_by_key.items())) or "-"
        rows.append(
            f"| {f.name}{' (' + f.detail + ')' if f.detail else ''} | {f.cycles} | {f.polls_ok} | {f.polls_failed} | "
            f"{errors} | {f.failed_polls_after_clear} | {recovery} | {read} | {f.wrong_values} |"
        )
    rows += [
        "",
        (
            f"Poll interval {PORT_POLL_SECONDS} s; {report.attempted} polls in {report.seconds:.0f} s; failed polls by "
            f"error: {dict(errors_total(report))}. Open file descriptors {report.fds[0]} → {report.fds[1]}, "
            f"asyncio tasks {report.tasks[0]} → {report.tasks[1]}, peak RSS {report.peak_rss_kib / 1024:.0f} MiB, "
            f"simulator errors {len(report.meter_errors)}."
        ),
    ]
    return "\n".join(rows)


def append(section: str) -> None:
    """Add a section to the report file named by ``$SOAK_REPORT`` (no file: nothing)."""
    path = os.environ.get(REPORT_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as file:
            file.write(section.rstrip() + "\n\n")
