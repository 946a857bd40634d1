"""What lies between the client and the meter's line: network latency, jitter, a late UART.

``latency`` and ``jitter`` act on everything that travels (bytes both ways, and the client's
rate changes, which a bridge gets in-band as RFC 2217 commands): each item is delayed by
``latency`` plus a random share of ``jitter``, and items keep their order. ``switch_jitter``
is the client's own side: its bytes leave its UART up to that much later than the client
computed (kernel and USB buffering, a loaded host) while its rate switch is not delayed with
them, so a switch too close to the end of a request garbles the request's tail.
"""

from __future__ import annotations

from dataclasses import dataclass
import random


@dataclass(frozen=True, slots=True)
class Transport:
    """Delays between the client and the meter; all zero is a direct line."""

    latency: float = 0.0
    """Seconds each way."""
    jitter: float = 0.0
    """Up to this many seconds more, drawn per item, each way (the order is kept)."""
    switch_jitter: float = 0.0
    """Up to this many seconds by which the client's bytes leave its UART late."""
    seed: int = 0

    @property
    def delays_line(self) -> bool:
        """Whether the client's rate changes reach the meter late (so they must be watched)."""
        return bool(self.latency or self.jitter)

    @property
    def direct(self) -> bool:
        """Whether nothing is delayed."""
        return not (self.latency or self.jitter or self.switch_jitter)


class Delays:
    """Draws the delivery moments of one connection, keeping each direction in order."""

    def __init__(self, transport: Transport) -> None:
        """Start with nothing in flight."""
        self.transport = transport
        self._rng = random.Random(transport.seed)
        self._to_meter = 0.0
        self._to_meter_late = 0.0
        self._to_client = 0.0

    def _path(self, now: float) -> float:
        return now + self.transport.latency + self._rng.uniform(0.0, self.transport.jitter)

    def to_meter(self, now: float) -> float:
        """When bytes the client wrote at ``now`` reach the meter's UART."""
        self._to_meter = max(self._to_meter, self._path(now))
        late = self._to_meter + self._rng.uniform(0.0, self.transport.switch_jitter)
        self._to_meter_late = max(self._to_meter_late, late)
        return self._to_meter_late

    def switch_to_meter(self, now: float) -> float:
        """When a rate change the client made at ``now`` takes effect at the meter's UART."""
        self._to_meter = max(self._to_meter, self._path(now))
        return self._to_meter

    def to_client(self, now: float) -> float:
        """When bytes the meter wrote at ``now`` reach the client."""
        self._to_client = max(self._to_client, self._path(now))
        return self._to_client
