"""The clock and trace of a read: when the line was last busy, and what went over it.

Every family's async reader keeps one ``SessionClock`` per read (or per probe attempt
series) so that the trace in diagnostics and the probe report tells the whole story in
one time base, and builds its ``Readout`` through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
import time

from .errors import MeterError
from .identity import MeterIdentity
from .readout import Checksum, Direction, Readout, TraceEntry
from .registers import Register

TRACE_LIMIT = 64 * 1024
"""Bytes of line traffic a trace keeps (twice the largest readout)."""
TRACE_ENTRIES = 4096
_TRACE_NOTES = 64
_TRUNCATED = "trace full: later bytes not kept"


@dataclass(slots=True)
class SessionClock:
    """Where the line stands: when it was last busy, and the trace of what happened.

    One clock may span several sessions (retries, probe attempts) so the trace tells the
    whole story in one time base.
    """

    origin: float = field(default_factory=time.monotonic)
    idle_at: float = field(default_factory=time.monotonic)
    tx_end: float = 0.0
    trace: list[TraceEntry] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    mode: str | None = None
    """The protocol mode the last session's meter announced (IEC 62056-21: ``mode_b`` ...)."""

    traced_bytes: int = 0

    @contextmanager
    def traced(self) -> Iterator[None]:
        """Attach the trace so far to a ``MeterError`` leaving the block (``--trace``, diagnostics)."""
        try:
            yield
        except MeterError as err:
            err.trace = tuple(self.trace)
            raise

    def record(self, direction: Direction, data: bytes, baud: int, note: str = "") -> None:
        """Add a trace entry stamped with the time since the clock started.

        The trace is bounded (``TRACE_LIMIT`` bytes, ``TRACE_ENTRIES`` entries): a meter
        that floods the line must not grow it without end. Notes are always kept.
        """
        if self.traced_bytes + len(data) > TRACE_LIMIT or len(self.trace) >= TRACE_ENTRIES:
            if data:
                self._truncated()
                return
            if len(self.trace) >= TRACE_ENTRIES + _TRACE_NOTES:
                return
        self.traced_bytes += len(data)
        self.trace.append(TraceEntry(time.monotonic() - self.origin, direction, data, baud, note))

    def readout(
        self,
        identity: MeterIdentity,
        registers: Iterable[Register],
        *,
        protocol: str,
        baud: int,
        raw: bytes,
        checksum: Checksum = "crc16",
    ) -> Readout:
        """Return a readout carrying this clock's trace and phase timings."""
        return Readout(
            identity=identity,
            registers=tuple(registers),
            protocol=protocol,
            baud=baud,
            checksum=checksum,
            raw=raw,
            trace=tuple(self.trace),
            timings=dict(self.marks),
        )

    def _truncated(self) -> None:
        if not self.trace or self.trace[-1].note != _TRUNCATED:
            self.trace.append(TraceEntry(time.monotonic() - self.origin, Direction.LINE, b"", 0, _TRUNCATED))

    def mark(self, name: str) -> None:
        """Remember when a phase first happened (``data message started`` ...)."""
        self.marks.setdefault(name, time.monotonic() - self.origin)


__all__ = ["TRACE_ENTRIES", "TRACE_LIMIT", "SessionClock"]
