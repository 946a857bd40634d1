"""Hourly energy sums from a load profile, to fill the hours a live reading missed.

When readings stop (the host was down, the head slipped off) and come back, the energy
total jumps by everything consumed meanwhile. The meter's load profile says when that
energy was consumed. This module turns the profile into hourly rows ``(hour, state,
sum)`` that continue an anchor (the last hour that was recorded live) so that:

- every filled hour holds exactly the energy the profile recorded in it (a demand profile
  in kW is integrated over its period, an energy profile is used as it is);
- hours inside a power failure hold no energy (the meter recorded none: a gap stays a gap);
- the state never decreases and never passes the confirmed total of the reading that
  ended the gap, so the rows join that reading without a step; what the profile cannot
  place (the part of the anchor hour after the last live reading, the interval still
  running) stays with the hour of the confirmed reading.

Time: the profile's time stamps are the meter's clock, which may run ahead or behind
(``clock_offset`` = meter clock minus true time) and is local time of ``zone`` unless a
season flag says UTC; the season flag resolves the repeated hour when summer time ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from .load_profile import Interval, LoadProfile, Season
from .obis import ObisCode

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Anchor:
    """The last hour recorded live: its start, and the total (state) and sum at its end."""

    hour: datetime
    state: Decimal
    sum: Decimal


@dataclass(frozen=True, slots=True)
class HourlyRow:
    """One filled hour: its start (UTC, top of the hour), the total and the sum at its end."""

    start: datetime
    state: Decimal
    sum: Decimal
    energy: Decimal
    """Energy the profile recorded in this hour (kWh)."""


@dataclass(frozen=True, slots=True)
class Backfill:
    """The filled hours and how much of the gap the profile covered."""

    rows: tuple[HourlyRow, ...]
    hours_missing: int
    """Complete hours between the anchor and the confirmed reading."""
    energy_missing: Decimal
    """Total growth from the anchor to the confirmed reading (kWh)."""
    energy_filled: Decimal
    """Energy placed into the filled hours (kWh); the rest stays with the reading's hour."""

    @property
    def hours_filled(self) -> int:
        """Number of hours filled."""
        return len(self.rows)

    @property
    def coverage(self) -> float:
        """Share of the missing hours that were filled (1.0 when nothing was missing)."""
        return 1.0 if self.hours_missing == 0 else self.hours_filled / self.hours_missing


def to_utc(
    moment: datetime, season: Season | None, zone: tzinfo, clock_offset: timedelta = timedelta(0)
) -> datetime:
    """Return a meter-clock time stamp as true UTC time.

    A ``summer`` flag picks the first (summer-time) occurrence of the repeated hour, a
    ``normal`` flag the second; ``utc`` means the meter's clock runs on UTC.
    """
    corrected = moment - clock_offset
    if season is Season.UTC:
        return corrected.replace(tzinfo=UTC)
    fold = 1 if season is Season.NORMAL else 0
    return corrected.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _spans(
    profile: LoadProfile, obis: ObisCode, zone: tzinfo, clock_offset: timedelta
) -> list[tuple[datetime, datetime, Decimal | None]]:
    """Every interval as true UTC ``(start, end, energy)``; ``None`` where it has no usable energy."""
    found: list[tuple[datetime, datetime, Decimal | None]] = []
    for interval in profile:
        end = to_utc(interval.end, interval.season, zone, clock_offset)
        found.append((end - timedelta(seconds=interval.period), end, _energy(interval, obis)))
    found.sort(key=lambda span: span[1])
    return found


def _energy(interval: Interval, obis: ObisCode) -> Decimal | None:
    energy = interval.energy(obis)
    # A negative interval energy is corruption, not consumption: it is left out.
    return energy if energy is not None and energy >= 0 else None


def hourly_backfill(
    profile: LoadProfile,
    obis: ObisCode,
    *,
    anchor: Anchor,
    confirmed_total: Decimal,
    confirmed_at: datetime,
    zone: tzinfo,
    clock_offset: timedelta = timedelta(0),
) -> Backfill:
    """Return the hourly rows between ``anchor`` and the reading ``confirmed_total``.

    ``obis`` is the profile channel of the total (``1.5.0`` demand or an energy channel
    for ``1.8.0``); ``confirmed_at`` is when the total was read (aware). Only complete
    hours after the anchor hour and before the hour of the reading are filled, and only
    when the profile reaches back to the first of them: filling later hours while earlier
    ones stay unknown would hide their energy in the reading's hour. An interval that
    straddles an hour boundary (a meter clock off by minutes) is shared by time.
    """
    if anchor.hour.tzinfo is None or confirmed_at.tzinfo is None:
        raise ValueError("the anchor hour and the reading time must carry a time zone")
    first_hour = _hour_of(anchor.hour.astimezone(UTC)) + HOUR
    live_hour = _hour_of(confirmed_at.astimezone(UTC))
    hours_missing = max(0, int((live_hour - first_hour) / HOUR))
    growth = max(Decimal(0), confirmed_total - anchor.state)
    spans = _spans(profile, obis, zone, clock_offset)
    if not spans or hours_missing == 0 or spans[0][0] > first_hour:
        return Backfill((), hours_missing, growth, Decimal(0))
    covered_until = min(live_hour, _hour_of(spans[-1][1]))
    rows: list[HourlyRow] = []
    cumulative = Decimal(0)
    hour = first_hour
    while hour < covered_until:
        energy = Decimal(0)
        for start, end, amount in spans:
            overlap = min(end, hour + HOUR) - max(start, hour)
            if amount is not None and overlap > timedelta(0):
                energy += amount * Decimal(overlap.total_seconds()) / Decimal((end - start).total_seconds())
        energy = min(energy, growth - cumulative)
        cumulative += energy
        rows.append(HourlyRow(hour, anchor.state + cumulative, anchor.sum + cumulative, energy))
        hour += HOUR
    return Backfill(tuple(rows), hours_missing, growth, cumulative)


def history_anchor(
    profile: LoadProfile,
    obis: ObisCode,
    *,
    confirmed_total: Decimal,
    confirmed_at: datetime,
    zone: tzinfo,
    clock_offset: timedelta = timedelta(0),
) -> Anchor | None:
    """Return the anchor that imports a meter's whole stored history before a first reading.

    Nothing was recorded before: the anchor is the hour before the profile's first whole
    hour, its state the confirmed total minus what the profile recorded since, and its
    sum chosen so that the sum reaches zero at the confirmed reading, where the first
    recorded statistics of a new sensor start. ``None`` when the profile holds no hour.
    """
    spans = [span for span in _spans(profile, obis, zone, clock_offset) if span[1] <= confirmed_at]
    if not spans:
        return None
    first = spans[0][0]
    first_hour = _hour_of(first) if _hour_of(first) == first else _hour_of(first) + HOUR
    recorded = sum(
        (amount for start, _, amount in spans if amount is not None and start >= first_hour), Decimal(0)
    )
    recorded = min(recorded, confirmed_total)
    return Anchor(first_hour - HOUR, confirmed_total - recorded, -recorded)


__all__ = ["Anchor", "Backfill", "HourlyRow", "history_anchor", "hourly_backfill", "to_utc"]
