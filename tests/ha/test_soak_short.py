"""The reliability soak in short: line faults and port faults through the real coordinator.

``scripts/soak`` runs the same tests with more readouts (``SOAK_READOUTS``) and fault cycles
(``SOAK_CYCLES``) and prints the report; see docs/reliability.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from scripts.soak_lib import report
from scripts.soak_lib.line_soak import run_line_soak
from scripts.soak_lib.port_soak import POLL_SECONDS, run_port_soak
from scripts.soak_lib.readouts import LineFault

READOUTS = int(os.environ.get("SOAK_READOUTS", "400"))
CYCLES = int(os.environ.get("SOAK_CYCLES", "1"))
HA_SCHEDULING_JITTER = 1.0
"""Home Assistant starts a poll up to one second after its interval (it spreads polls)."""


@pytest.mark.parametrize(
    ("fault", "parity"),
    [
        (LineFault("one flipped bit in 10 %", single_flip_share=0.10), False),
        (LineFault("one flipped bit in 50 %", single_flip_share=0.50), False),
        (LineFault("one flipped bit in 50 %", single_flip_share=0.50), True),
    ],
    ids=["flip10", "flip50", "flip50-parity"],
)
async def test_single_flipped_bit_never_publishes_a_wrong_value(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fault: LineFault, parity: bool
) -> None:
    """(a) The BCC (and the parity check) reject every readout with one flipped bit."""
    result = await run_line_soak(hass, freezer.tick, fault, parity=parity, polls=READOUTS)
    report.append(report.line_table([result]))
    assert result.polls >= READOUTS
    assert result.corrupted_attempts > READOUTS * fault.single_flip_share * 0.5
    assert result.slipped == 0
    assert result.published_not_truth == 0
    assert result.violations == 0
    assert result.published > 0
    assert result.fds[0] == result.fds[1] and result.tasks[0] == result.tasks[1]


@pytest.mark.parametrize("parity", [False, True], ids=["no-parity", "software-parity"])
@pytest.mark.parametrize("per_byte", [1e-3, 1e-2])
async def test_noise_never_reaches_the_energy_dashboard(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, per_byte: float, parity: bool
) -> None:
    """(b) Noisy lines: no published total decreases or strays beyond the power bound."""
    fault = LineFault(f"noise {per_byte:g}/byte", noise_per_byte=per_byte)
    result = await run_line_soak(hass, freezer.tick, fault, parity=parity, polls=READOUTS, seed=7)
    report.append(report.line_table([result]))
    report.append("\n".join(f"- {finding}" for finding in result.findings))
    assert result.polls >= READOUTS
    assert result.corrupted_attempts > 0
    assert (
        result.violations_decrease,
        result.violations_exceed,
        result.violations_off,
        result.unguarded_totals,
    ) == (0, 0, 0, 0)
    assert result.phantom_published == 0
    assert result.state_mismatches == 0
    if parity:
        assert result.slipped == 0
    assert result.fds[0] == result.fds[1] and result.tasks[0] == result.tasks[1]


async def test_port_faults_recover_within_one_poll(hass: HomeAssistant, tmp_path: Path) -> None:
    """(c) Truncation, bad BCC, echo, silence, wrong rate, a vanished or held port, on ptys."""
    result = await run_port_soak(hass, tmp_path, cycles=CYCLES)
    report.append(report.port_table(result))
    assert not result.meter_errors
    for fault in result.faults:
        assert not fault.detail, (fault.name, fault.detail)
        assert fault.wrong_values == 0, fault.name
        assert fault.cycles == CYCLES
        if fault.name == "echo":
            assert fault.polls_failed == 0
            continue
        assert fault.polls_failed >= CYCLES, fault.name
        assert fault.failed_polls_after_clear == 0, fault.name
        assert len(fault.recovery_seconds) == CYCLES
        slowest_read = max(fault.read_seconds) + 1.0  # the sign-on and identification at 300 Bd
        assert max(fault.recovery_seconds) <= POLL_SECONDS + HA_SCHEDULING_JITTER + slowest_read, fault
    assert result.fds[0] == result.fds[1]
    assert result.tasks[0] == result.tasks[1]
