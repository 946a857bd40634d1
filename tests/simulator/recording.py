"""A simulated meter's load profile: what it recorded, with power failures, and its answers.

The meter records one interval every ``period`` seconds from ``start`` (its own clock) up
to the present of its clock; while the power is off (``outages``) it records nothing and
starts a new ``P.01`` block when the power is back. The consumption is a fixed pattern of
the interval's end, so a test knows the truth of every interval without storing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from custom_components.landis_gyr_optical.meter.iec62056_21.messages import ETX, STX, bcc
from custom_components.landis_gyr_optical.meter.iec62056_21.profile import format_time, parse_time
from custom_components.landis_gyr_optical.meter.load_profile import Season

EOT = 0x04


def pattern_power(end: datetime) -> Decimal:
    """Mean import power in kW of the interval ending at ``end``: a daily shape plus a wobble."""
    daily = (0.25, 0.2, 0.2, 0.2, 0.25, 0.4, 0.9, 1.3, 0.8, 0.5, 0.45, 0.6,
             0.9, 0.7, 0.5, 0.5, 0.6, 1.1, 1.8, 1.6, 1.2, 0.8, 0.5, 0.3)  # fmt: skip
    wobble = ((end.day * 31 + end.hour * 7 + end.minute) % 9) * 0.013
    return Decimal(f"{daily[end.hour] + wobble:.3f}")


@dataclass(frozen=True, slots=True)
class Recording:
    """A meter's load profile: a 15-minute demand profile of import and export power."""

    start: datetime
    """End of the first interval the meter still holds (its profile depth)."""
    period: int = 900
    outages: tuple[tuple[datetime, datetime], ...] = ()
    """Power failures ``(off, on)``: intervals ending in ``(off, on]`` are not recorded."""
    power: Callable[[datetime], Decimal] = pattern_power
    status: str = "00"
    season: Season | None = None
    """Season digit printed in the headers (``None``: the 10-digit L+G form)."""
    channels: tuple[tuple[str, str], ...] = (("1.5.0", "kW"), ("2.5.0", "kW"))
    clock: Callable[[], datetime] = field(default=datetime.now)
    """The meter's clock (naive local time)."""

    def ends(self, until: datetime | None = None) -> list[datetime]:
        """Ends of every recorded interval up to ``until`` (default: the meter's present)."""
        last = until or self.clock()
        found: list[datetime] = []
        end = self.start
        step = timedelta(seconds=self.period)
        while end <= last:
            if not any(off < end <= on for off, on in self.outages):
                found.append(end)
            end += step
        return found

    def values(self, end: datetime) -> tuple[Decimal, ...]:
        """The recorded values of one interval (import power, then zero export)."""
        return (self.power(end), *tuple(Decimal("0.000") for _ in self.channels[1:]))

    def energy(self, end: datetime) -> Decimal:
        """The import energy in kWh of the interval ending at ``end`` (0 during an outage)."""
        if any(off < end <= on for off, on in self.outages):
            return Decimal(0)
        return self.power(end) * self.period / 3600

    def render(self, start: datetime | None, end: datetime | None) -> bytes:
        """Return the ``P.01`` text of the intervals ending in ``[start, end]``, CR LF lines."""
        step = timedelta(seconds=self.period)
        lines: list[str] = []
        previous: datetime | None = None
        for interval_end in self.ends():
            if (start is not None and interval_end < start) or (end is not None and interval_end > end):
                continue
            if previous is None or interval_end - previous != step:
                codes = "".join(f"({code})({unit})" for code, unit in self.channels)
                lines.append(
                    f"P.01({format_time(interval_end, self.season)})({self.status})"
                    f"({self.period // 60})({len(self.channels)}){codes}"
                )
            lines.append("".join(f"({value:f})" for value in self.values(interval_end)))
            previous = interval_end
        return "".join(line + "\r\n" for line in lines).encode("ascii")


def parse_range(data: bytes) -> tuple[datetime | None, datetime | None]:
    """Read ``P.01(from;to)`` of a read command; an empty end is open."""
    text = data.decode("ascii")
    inner = text[text.index("(") + 1 : text.rindex(")")]
    first, _, last = inner.partition(";")
    return (parse_time(first)[0] if first else None, parse_time(last)[0] if last else None)


def frame(data: bytes, end: int = ETX) -> bytes:
    """Frame an answer: ``STX data end BCC``."""
    body = data + bytes([end])
    return bytes([STX]) + body + bytes([bcc(body)])


def blocks(data: bytes, size: int) -> list[bytes]:
    """Split an answer into partial blocks of whole lines (EOT), the last one ending in ETX."""
    lines = data.splitlines(keepends=True) or [b""]
    chunks: list[bytes] = []
    current = b""
    for line in lines:
        if current and len(current) + len(line) > size:
            chunks.append(current)
            current = b""
        current += line
    chunks.append(current)
    return [frame(chunk, EOT) for chunk in chunks[:-1]] + [frame(chunks[-1])]
