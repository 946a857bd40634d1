"""Scaler and unit of registers whose push does not carry them (attribute 3), as a table.

L+G E450/E570 pushes (push setup 0-8:25.9.0) send energy in Wh and varh, power in W and
var, voltage in V and current in 10 mA; the E360 (0-6:25.9.0) sends voltage in 100 mV.
The values match the meters' displays in the published captures.

Some HAN lists define their scaling by the list they are, named by the list id that
opens them (``KFM_001``, ``Kamstrup_V0001``): Kaifa sends current in mA and voltage in
100 mV, Kamstrup energy in units of 10 Wh (the Norwegian HAN documentation of both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ...cosem import NO_UNIT, Scaling
from ...obis import ObisCode
from ..axdr import Data, DataType

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


LIST_SCALING: Final[dict[str, tuple[ScalingRule, ...]]] = {
    "KFM_": (
        ScalingRule(CURRENT, _INSTANTANEOUS, Scaling(-3, AMPERE)),
        ScalingRule(VOLTAGE, _INSTANTANEOUS, Scaling(-1, VOLT)),
    ),
    "Kamstrup_": (
        ScalingRule(ACTIVE, _ENERGY, Scaling(1, WH)),
        ScalingRule(REACTIVE, _ENERGY, Scaling(1, VARH)),
    ),
}
"""Rules of the lists that define their own scaling, by the start of their list id."""

_LIST_ID_CODE = ("0.2.129",)
"""Value groups C.D.E of the list id object (the list's version identifier)."""


def list_identifier(items: tuple[Data, ...]) -> str | None:
    """Return the list id a push body opens with (``KFM_001``), ``None`` when it has none.

    The id is the first value, or the value after the code ``x-x:0.2.129`` (named lists).
    """
    if not items:
        return None
    first = items[0]
    if (
        len(items) > 1
        and isinstance(first.value, bytes)
        and len(first.value) == 6
        and f"{first.value[2]}.{first.value[3]}.{first.value[4]}" in _LIST_ID_CODE
    ):
        first = items[1]
    if first.type in (DataType.OCTET_STRING, DataType.VISIBLE_STRING):
        value = first.value
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        if text.isprintable() and any(text.startswith(prefix) for prefix in LIST_SCALING):
            return text
    return None


def default_scaling(obis: ObisCode, *, voltage_scaler: int = 0, list_id: str | None = None) -> Scaling | None:
    """Return the scaler and unit an electricity register has when its push does not say."""
    if obis.a != 1 or not (obis.c.isdigit() and obis.d.isdigit()):
        return None
    c, d = int(obis.c), int(obis.d)
    if list_id is not None:
        for prefix, rules in LIST_SCALING.items():
            if list_id.startswith(prefix):
                for rule in rules:
                    if c in rule.c and d in rule.d:
                        return rule.scaling
    for rule in DEFAULT_SCALING:
        if c in rule.c and d in rule.d:
            if rule.c is VOLTAGE:
                return Scaling(voltage_scaler, rule.scaling.unit)
            return rule.scaling
    return None


__all__ = [
    "DEFAULT_SCALING",
    "LIST_SCALING",
    "VOLTAGE_SCALER",
    "ScalingRule",
    "default_scaling",
    "list_identifier",
]
