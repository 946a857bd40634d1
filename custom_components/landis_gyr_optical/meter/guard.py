"""The spike guard: which energy totals may be published.

A readout's block check character is a 7-bit column XOR, so two flipped bits in the same
column cancel and a corrupted readout can pass the check. Home Assistant's statistics take
a drop of a ``TOTAL_INCREASING`` sensor as a meter reset and keep a wrong jump forever, so
a checksum alone is not enough before a total reaches an entity.

The guard keeps, per register, the last published value and the time it was read, and a
held candidate. For a reading ``v`` at time ``t``, with ``P`` the largest power the
installation can draw (the physical bound) and ``p`` the last published value read at
``t_p``:

- ``v < p``: held back (the meter never counts backwards). A lower value is never published.
- ``p <= v <= p + P·(t - t_p) + one digit``: published, if the readout was checksum-verified.
- otherwise (a jump beyond the bound, the first value of a meter without reference, or a
  reading without a checksum): held as candidate, and published only when the next reading
  confirms it: the next value is ``>=`` the candidate and within ``P·Δt`` (plus one digit)
  of it, and not below ``p``. The confirming (newer) value is the one published.

Guarantee: every published total of a register is ``>=`` every value published before it
(monotonic), and it lies within ``P·Δt`` of the truth: either it is within the bound of the
previous published value (which the true total cannot have exceeded by more than ``P·Δt``,
since the meter cannot count faster than ``P``), or two consecutive readings agreed, which a
single corrupted readout cannot achieve. A meter that is new to the guard (no stored
reference) is confirmed the same way, so its first value is published with the second
consistent reading. ``0`` is published only in that case (a brand-new meter reading 0 twice),
never after a larger value.

The module is pure (no Home Assistant, no I/O) so that it can be soak-tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final

ENERGY_UNITS_IN_KILO: Final[Mapping[str, Decimal]] = {
    "Wh": Decimal("0.001"),
    "kWh": Decimal(1),
    "MWh": Decimal(1000),
    "varh": Decimal("0.001"),
    "kvarh": Decimal(1),
    "Mvarh": Decimal(1000),
    "VAh": Decimal("0.001"),
    "kVAh": Decimal(1),
    # Heat meters count in joules: 1 GJ = 1000/3.6 kWh.
    "MJ": Decimal(1) / Decimal("3.6"),
    "GJ": Decimal(1000) / Decimal("3.6"),
}
"""Energy units and their factor to the kilo unit the power bound is expressed in."""
MAX_FLOW_PER_HOUR: Final[Mapping[str, Decimal]] = {"m³": Decimal(40)}
"""The largest volume a household gas, water or heat meter counts in an hour (a G25 gas
meter's maximum flow, ten times a household water meter's): the bound of volume totals."""

_SECONDS_PER_HOUR: Final = Decimal(3600)


class Verdict(StrEnum):
    """What the guard did with a reading."""

    PUBLISHED = "published"
    CONFIRMED = "confirmed"
    """Published after the previous reading agreed with it."""
    HELD_FIRST = "held_first"
    """No reference yet: waiting for a second reading to agree."""
    HELD_LOWER = "held_lower"
    HELD_JUMP = "held_jump"
    HELD_UNVERIFIED = "held_unverified"
    """The readout carried no checksum: waiting for the next reading to agree."""

    @property
    def published(self) -> bool:
        """Whether the value went out."""
        return self in (Verdict.PUBLISHED, Verdict.CONFIRMED)


@dataclass(frozen=True, slots=True)
class Sample:
    """A total as read, in the register's unit, with the time it was read (epoch seconds)."""

    value: Decimal
    at: float


@dataclass(slots=True)
class _Track:
    published: Sample | None = None
    candidate: Sample | None = None
    counts: dict[Verdict, int] = field(default_factory=dict)


def is_energy_unit(unit: str | None) -> bool:
    """Whether a unit is one of the energy units the guard understands."""
    return unit in ENERGY_UNITS_IN_KILO


def is_volume_unit(unit: str | None) -> bool:
    """Whether a unit is a volume the guard bounds by a flow (gas, water)."""
    return unit in MAX_FLOW_PER_HOUR


class TotalGuard:
    """Decides per register whether a total may be published (see the module docstring)."""

    def __init__(self, max_power_kw: float) -> None:
        """Set the physical bound: the largest power the meter can count, in kW (or kvar)."""
        if max_power_kw <= 0:
            raise ValueError("the power bound must be positive")
        self.max_power_kw = Decimal(str(max_power_kw))
        self._tracks: dict[str, _Track] = {}
        self._readout_at: float | None = None
        self._previous_readout_at: float | None = None

    def bound(self, unit: str, elapsed: float) -> Decimal:
        """Return the largest increase of a total in ``unit`` within ``elapsed`` seconds."""
        seconds = Decimal(str(max(elapsed, 0.0)))
        if unit in MAX_FLOW_PER_HOUR:
            return MAX_FLOW_PER_HOUR[unit] * seconds / _SECONDS_PER_HOUR
        return self.max_power_kw * seconds / _SECONDS_PER_HOUR / ENERGY_UNITS_IN_KILO[unit]

    def check(self, key: str, value: Decimal, unit: str, at: float, *, verified: bool = True) -> Verdict:
        """Judge one reading of register ``key``; remember it as published or held."""
        if at != self._readout_at:
            # Every register of one readout shares its time: a new time is the next readout.
            self._previous_readout_at, self._readout_at = self._readout_at, at
        track = self._tracks.setdefault(key, _Track())
        if track.candidate is not None and track.candidate.at != self._previous_readout_at:
            # Only the very next readout may confirm a held reading: a corrupted address that
            # recurs hours later must not confirm a phantom register.
            track.candidate = None
        verdict = self._judge(track, value, unit, at, verified)
        sample = Sample(value, at)
        if verdict.published:
            track.published = sample
            track.candidate = None
        else:
            track.candidate = sample
        track.counts[verdict] = track.counts.get(verdict, 0) + 1
        return verdict

    def _judge(self, track: _Track, value: Decimal, unit: str, at: float, verified: bool) -> Verdict:
        published = track.published
        if published is not None and value < published.value:
            return Verdict.HELD_LOWER
        if verified and published is not None and self._within(published, value, unit, at):
            return Verdict.PUBLISHED
        candidate = track.candidate
        if candidate is not None and candidate.value <= value and self._within(candidate, value, unit, at):
            return Verdict.CONFIRMED
        if published is None:
            return Verdict.HELD_FIRST
        return (
            Verdict.HELD_UNVERIFIED
            if not verified and self._within(published, value, unit, at)
            else Verdict.HELD_JUMP
        )

    def _within(self, reference: Sample, value: Decimal, unit: str, at: float) -> bool:
        return value - reference.value <= self.bound(unit, at - reference.at) + _last_digit(
            value, reference.value
        )

    def published(self, key: str) -> Sample | None:
        """Return the last published reading of a register."""
        track = self._tracks.get(key)
        return track.published if track else None

    def held(self, key: str) -> Sample | None:
        """Return the reading held back for a register, if any."""
        track = self._tracks.get(key)
        return track.candidate if track else None

    def counts(self) -> dict[str, dict[str, int]]:
        """How often each verdict was given, per register (for diagnostics)."""
        return {
            key: {str(verdict): count for verdict, count in sorted(track.counts.items())}
            for key, track in sorted(self._tracks.items())
        }

    def rejected(self) -> int:
        """Count the readings held back so far, over all registers."""
        return sum(
            count
            for track in self._tracks.values()
            for verdict, count in track.counts.items()
            if not verdict.published
        )

    def references(self) -> dict[str, tuple[str, float]]:
        """Return the published readings, to be stored across restarts."""
        return {
            key: (str(track.published.value), track.published.at)
            for key, track in sorted(self._tracks.items())
            if track.published is not None
        }

    def restore(self, references: Mapping[str, tuple[str, float] | list[object]]) -> None:
        """Take stored published readings as references; malformed entries are skipped."""
        for key, stored in references.items():
            try:
                value, at = stored
                sample = Sample(Decimal(str(value)), float(str(at)))
            except (ValueError, TypeError, ArithmeticError):
                continue
            if not sample.value.is_finite():
                continue
            self._tracks.setdefault(key, _Track()).published = sample


def _last_digit(*values: Decimal) -> Decimal:
    """One unit of the least significant digit printed (a meter's own rounding step)."""
    exponents = [e for e in (v.as_tuple().exponent for v in values) if isinstance(e, int)]
    return Decimal(1).scaleb(min(exponents, default=0))
