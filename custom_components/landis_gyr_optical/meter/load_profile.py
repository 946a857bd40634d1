"""A meter's load profile in one shape for every protocol: intervals with their values.

A load profile is what the meter stored itself, one interval after the other: the end of
the interval in the meter's own clock, the length of the interval, the meter's status
flags and one value per captured register (a mean demand in kW or an energy in kWh).
IEC 62056-21 ``P.01``, a DLMS/COSEM Profile Generic and the E-Redes HAN load profile all
end up here; where the meter stopped recording (a power failure) there simply are no
intervals: a gap stays a gap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from .identity import MeterIdentity
from .obis import ObisCode
from .registers import Value


class Season(StrEnum):
    """The season flag of a time stamp: which offset the meter's clock ran on."""

    NORMAL = "normal"
    """Standard (winter) time."""
    SUMMER = "summer"
    """Daylight saving time."""
    UTC = "utc"
    """The clock runs on UTC."""


@dataclass(frozen=True, slots=True)
class Interval:
    """One recorded interval: ``end`` in the meter's clock, ``period`` in seconds."""

    end: datetime
    period: int
    status: str
    values: Mapping[ObisCode, Value]
    season: Season | None = None

    @property
    def start(self) -> datetime:
        """The beginning of the interval in the meter's clock."""
        return self.end - timedelta(seconds=self.period)

    def energy(self, obis: ObisCode) -> Decimal | None:
        """Return the energy in kWh the interval holds for ``obis``; ``None`` when it has none.

        An energy channel (kWh, Wh) is used as it is; a demand channel (kW, W) is the mean
        power over the period and is integrated over it.
        """
        value = self.values.get(obis)
        if value is None or not isinstance(value.value, Decimal):
            return None
        number = value.value
        match value.unit:
            case "kWh":
                return number
            case "Wh":
                return number / 1000
            case "MWh":
                return number * 1000
            case "kW":
                return number * self.period / 3600
            case "W":
                return number * self.period / 3600 / 1000
            case "MW":
                return number * self.period / 3600 * 1000
        return None


@dataclass(frozen=True, slots=True)
class LoadProfile:
    """The intervals of one read, in the order the meter sent them."""

    intervals: tuple[Interval, ...]
    identity: MeterIdentity | None = None
    raw: bytes = field(default=b"", repr=False)
    baud: int | None = None
    """The rate the profile was read at."""

    def __iter__(self) -> Iterator[Interval]:
        """Iterate over the intervals."""
        return iter(self.intervals)

    def __len__(self) -> int:
        """Return the number of intervals."""
        return len(self.intervals)

    def between(self, start: datetime | None = None, end: datetime | None = None) -> LoadProfile:
        """Keep the intervals that lie wholly inside ``[start, end]`` (meter clock)."""
        kept = tuple(
            interval
            for interval in self.intervals
            if (start is None or interval.start >= start) and (end is None or interval.end <= end)
        )
        return LoadProfile(kept, self.identity, self.raw, self.baud)

    @property
    def channels(self) -> tuple[ObisCode, ...]:
        """Every captured register, in the order of first appearance."""
        seen: dict[ObisCode, None] = {}
        for interval in self.intervals:
            seen.update(dict.fromkeys(interval.values))
        return tuple(seen)

    def gaps(self) -> list[tuple[datetime, datetime]]:
        """Spans of the meter's clock without an interval, between two recorded ones."""
        found: list[tuple[datetime, datetime]] = []
        ordered = sorted(self.intervals, key=lambda interval: interval.end)
        for previous, current in pairwise(ordered):
            if current.start > previous.end:
                found.append((previous.end, current.start))
        return found


__all__ = ["Interval", "LoadProfile", "Season"]
