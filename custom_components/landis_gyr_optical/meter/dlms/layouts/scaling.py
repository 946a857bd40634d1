"""Scaler and unit of registers whose push does not carry them (attribute 3), as a table.

L+G E450/E570 pushes (push setup 0-8:25.9.0) send energy in Wh and varh, power in W and
var, voltage in V and current in 10 mA; the E360 (0-6:25.9.0) sends voltage in 100 mV.
The values match the meters' displays in the published captures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ...cosem import NO_UNIT, Scaling
from ...obis import ObisCode

_ENERGY = frozenset({8, 9, 29})
"""Value group D of time integrals (totals, per period, per interval)."""
_INSTANTANEOUS = frozenset({4, 5, 6, 7, 24, 25, 26, 27})
"""Value group D of demand and instantaneous values."""
ACTIVE = frozenset({1, 2, 15, 16, 21, 22, 41, 42, 61, 62})
REACTIVE = frozenset({3, 4, 5, 6, 7, 8, 23, 24, 43, 44, 63, 64})
APPARENT = frozenset({9, 10, 29, 30, 49, 50, 69, 70})
VOLTAGE = frozenset({12, 32, 52, 72})
CURRENT = frozenset({11, 31, 51, 71, 91})
POWER_FACTOR = frozenset({13, 33, 53, 73})
FREQUENCY = frozenset({14})

WH, VAH, VARH, W, VA, VAR, VOLT, AMPERE, HERTZ = 30, 31, 32, 27, 28, 29, 35, 33, 44


@dataclass(frozen=True, slots=True)
class ScalingRule:
    """Registers of these value groups C and D come with this scaler and unit."""

    c: frozenset[int]
    d: frozenset[int]
    scaling: Scaling


DEFAULT_SCALING: Final[tuple[ScalingRule, ...]] = (
    ScalingRule(ACTIVE, _ENERGY, Scaling(0, WH)),
    ScalingRule(REACTIVE, _ENERGY, Scaling(0, VARH)),
    ScalingRule(APPARENT, _ENERGY, Scaling(0, VAH)),
    ScalingRule(ACTIVE, _INSTANTANEOUS, Scaling(0, W)),
    ScalingRule(REACTIVE, _INSTANTANEOUS, Scaling(0, VAR)),
    ScalingRule(APPARENT, _INSTANTANEOUS, Scaling(0, VA)),
    ScalingRule(VOLTAGE, _INSTANTANEOUS, Scaling(0, VOLT)),
    ScalingRule(CURRENT, _INSTANTANEOUS, Scaling(-2, AMPERE)),
    ScalingRule(POWER_FACTOR, _INSTANTANEOUS, Scaling(-3, NO_UNIT)),
    ScalingRule(FREQUENCY, _INSTANTANEOUS, Scaling(-2, HERTZ)),
)

VOLTAGE_SCALER: Final[dict[ObisCode, int]] = {ObisCode.parse("0-6:25.9.0"): -1}
"""Push setups whose voltages come with another scaler than 0 (the E360's, in 0.1 V)."""


def default_scaling(obis: ObisCode, *, voltage_scaler: int = 0) -> Scaling | None:
    """Return the scaler and unit an electricity register has when its push does not say."""
    if obis.a != 1 or not (obis.c.isdigit() and obis.d.isdigit()):
        return None
    c, d = int(obis.c), int(obis.d)
    for rule in DEFAULT_SCALING:
        if c in rule.c and d in rule.d:
            if rule.c is VOLTAGE:
                return Scaling(voltage_scaler, rule.scaling.unit)
            return rule.scaling
    return None


__all__ = ["DEFAULT_SCALING", "VOLTAGE_SCALER", "ScalingRule", "default_scaling"]
