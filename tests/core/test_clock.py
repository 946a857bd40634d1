"""The session clock's trace: bounded in bytes and entries, notes kept up to their own limit."""

from __future__ import annotations

from custom_components.landis_gyr_optical.meter.clock import TRACE_ENTRIES, TRACE_LIMIT, SessionClock
from custom_components.landis_gyr_optical.meter.identity import MeterIdentity
from custom_components.landis_gyr_optical.meter.readout import Direction


def test_notes_after_a_full_trace_are_kept_up_to_their_limit() -> None:
    clock = SessionClock()
    for _ in range(TRACE_ENTRIES):
        clock.record(Direction.RECEIVED, b"x", 9600)
    for index in range(200):
        clock.record(Direction.LINE, b"", 9600, f"note {index}")
    notes = [entry.note for entry in clock.trace[TRACE_ENTRIES:]]
    assert notes == [f"note {index}" for index in range(len(notes))]
    assert 0 < len(notes) < 200
    clock.record(Direction.RECEIVED, b"late", 9600)
    assert clock.trace[-1].data != b"late"


def test_bytes_beyond_the_limit_leave_one_truncation_note() -> None:
    clock = SessionClock()
    clock.record(Direction.RECEIVED, bytes(TRACE_LIMIT), 9600)
    clock.record(Direction.RECEIVED, b"more", 9600)
    clock.record(Direction.RECEIVED, b"and more", 9600)
    assert [entry.note for entry in clock.trace][1:] == ["trace full: later bytes not kept"]
    assert clock.traced_bytes == TRACE_LIMIT


def test_readout_carries_trace_and_marks() -> None:
    clock = SessionClock()
    clock.record(Direction.SENT, b"/?!\r\n", 300)
    clock.mark("done")
    clock.mark("done")
    readout = clock.readout(MeterIdentity("LGZ", "ZMD"), [], protocol="mode_c", baud=300, raw=b"")
    assert readout.trace == tuple(clock.trace)
    assert list(readout.timings) == ["done"]
    assert readout.identity.manufacturer == "Landis+Gyr"
    assert str(readout.identity) == "ZMD"
