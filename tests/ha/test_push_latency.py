"""Push latency: from the last byte of a push on the line to the entity's new state.

A mode D meter (P1 style, 2400 Bd) and a DLMS/COSEM meter (HDLC UI frames with GBT blocks,
9600 Bd) push through the real coordinator of a real config entry. Each push carries an
import total one step higher than the last, so every push after the confirming second one
changes the state of the import entity. The simulator notes the monotonic time at which it
wrote the last byte of each push (it writes bytes when their wire time has passed); the
``state_changed`` event's time is taken on the same clock. ``scripts/bench`` runs this
module with ``-s`` and quotes the printed figures in docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from decimal import Decimal
import statistics
import time
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import CONF_MAX_POWER_KW, CONF_PORT, CONF_PROTOCOL, DOMAIN
from custom_components.landis_gyr_optical.meter.line import LineSettings, wire_time
from tests.simulator import Faults, MeterProfile, PtyMeter, load_profile
from tests.simulator.dlms import PUSH_VALUES, SERIAL, PtyPushMeter, gbt_push_frames, push_apdu
from tests.simulator.meter import TICK

PUSHES = 12
"""Pushes measured, after the first two (the second confirms the first total)."""
LATENCY_LIMIT = 0.100
MODE_D_START = Decimal("896.020")
DLMS_START = 482939
"""Wh of the DLMS meter's import register in its first push."""
STEP = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class Latency:
    """Latencies of one meter, seconds."""

    variant: str
    values: list[float]

    @property
    def line(self) -> str:
        """One printed line with the figures."""
        median, worst = statistics.median(self.values), max(self.values)
        return (
            f"push latency: {self.variant}: median {median * 1000:.1f} ms, max {worst * 1000:.1f} ms "
            f"over {len(self.values)} pushes"
        )


class TimedModeDMeter(PtyMeter):
    """A mode D meter that notes when each push's last byte was written and counts its total up.

    A P1 telegram ends in its CRC and CR LF; the client has what it needs after the CRC, so
    the moment its last character was written is noted too (``checksum_ends``).
    """

    def __init__(self, profile: MeterProfile) -> None:
        """Start at ``MODE_D_START`` kWh; every completed push adds ``STEP``."""
        super().__init__(profile, reset_termios=False)
        self.base_block = profile.data_block
        self.push_ends: dict[Decimal, float] = {}
        self.checksum_ends: dict[Decimal, float] = {}
        self.total = MODE_D_START
        self._last_write = 0.0
        self._written = 0
        self._checksum_at = 0
        self._checksum_written = 0.0
        self.profile = self._with_total(self.total)

    def _with_total(self, total: Decimal) -> MeterProfile:
        line = f"1-0:1.8.0({total:012.3f}*kWh)".encode()
        return replace(self.profile, data_block=self.base_block.replace(b"1-0:1.8.0(00000896.020*kWh)", line))

    def _write_raw(self, data: bytes) -> None:
        super()._write_raw(data)
        self._last_write = asyncio.get_running_loop().time()
        if self._written < self._checksum_at <= self._written + len(data):
            self._checksum_written = self._last_write
        self._written += len(data)

    async def _send_message(self, message: bytes, line: LineSettings, faults: Faults, what: str) -> None:
        sent = self.readouts_sent
        self._written, self._checksum_at = 0, len(message) - len(b"\r\n")
        await super()._send_message(message, line, faults, what)
        if self.readouts_sent > sent:
            self.push_ends[self.total] = self._last_write
            self.checksum_ends[self.total] = self._checksum_written
            self.total += STEP
            self.profile = self._with_total(self.total)


class TimedDlmsMeter(PtyPushMeter):
    """A DLMS push meter whose import register grows by 1 Wh per push; notes each push's end."""

    def __init__(self, period: float) -> None:
        """Push every ``period`` seconds at 9600 Bd."""
        super().__init__(self._frames, period=period)
        self.push_ends: dict[Decimal, float] = {}
        self.checksum_ends = self.push_ends
        """The last byte, the closing flag of the last frame, is also the one the client needs."""
        self._last_write = 0.0

    @staticmethod
    def _frames(number: int) -> list[bytes]:
        values = [
            (class_id, obis, replace(value, value=DLMS_START + number) if obis == "1-1:1.8.0" else value)
            for class_id, obis, value in PUSH_VALUES
        ]
        return gbt_push_frames(push_apdu(number, values))

    def _write_raw(self, data: bytes) -> None:
        super()._write_raw(data)
        self._last_write = asyncio.get_running_loop().time()

    def _pushed(self) -> None:
        self.push_ends[Decimal(DLMS_START + self.pushes) / 1000] = self._last_write


def _show(*results: Latency) -> None:
    """Print the figures (``scripts/bench`` collects the lines starting with ``push latency:``)."""
    print("\n" + "\n".join(result.line for result in results))  # noqa: T201 - the figures are the output


async def _measure(
    hass: HomeAssistant, meter: Any, entry: MockConfigEntry, unique_id: str
) -> tuple[list[float], list[float]]:
    """Set the entry up, wait for ``PUSHES`` state changes after the first value.

    Returns the latencies from the last byte and from the last checksum byte of each push.
    """
    # time.time() and the loop's monotonic clock, aligned once.
    loop = asyncio.get_running_loop()
    wall_minus_monotonic = time.time() - loop.time()
    changes: dict[Decimal, float] = {}
    registry = er.async_get(hass)

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            return
        if registry.async_get_entity_id("sensor", DOMAIN, unique_id) != state.entity_id:
            return
        changes.setdefault(Decimal(state.state), event.time_fired_timestamp - wall_minus_monotonic)

    # The entities appear with the first push, so listen before the set-up.
    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, _changed)
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        deadline = loop.time() + 60
        # A P1 telegram may show before its trailing CR LF has been written: wait for that too.
        while len(changes) < PUSHES + 1 or not all(value in meter.push_ends for value in changes):
            assert loop.time() < deadline, (len(changes), meter.errors)
            await asyncio.sleep(0.02)
    finally:
        unsubscribe()
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert not meter.errors
    # The first value to show is the confirmed one; from then on every push changes the state.
    measured = sorted(changes)[1:]
    return (
        [changes[value] - meter.push_ends[value] for value in measured],
        [changes[value] - meter.checksum_ends[value] for value in measured],
    )


async def test_mode_d_push_latency(hass: HomeAssistant) -> None:
    """A mode D push reaches the import entity's state within 100 ms of its last byte."""
    profile = load_profile("lgf_e360_mode_d")
    short_block = b"".join(line + b"\r\n" for line in profile.data_block.split(b"\r\n")[:4])
    profile = replace(profile, data_block=short_block, reaction_time=0.02, push_interval=0.15)
    async with TimedModeDMeter(profile) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="E360",
            unique_id="E360",
            data={CONF_PORT: meter.port, CONF_PROTOCOL: "mode_d"},
            options={CONF_MAX_POWER_KW: 60.0},
        )
        latencies, after_checksum = await _measure(hass, meter, entry, "E360_1-0:1.8.0")
    _show(
        Latency("mode D (P1, 2400 Bd), from the last byte", latencies),
        Latency("mode D (P1, 2400 Bd), from the last CRC character", after_checksum),
    )
    assert len(latencies) >= 10
    # The state may change before the trailing CR LF (two characters, 8.3 ms) has been written.
    early = wire_time(2, 2400) + 2 * TICK
    assert all(-early < latency < LATENCY_LIMIT for latency in latencies), latencies
    assert all(0 < latency < LATENCY_LIMIT for latency in after_checksum), after_checksum


async def test_dlms_push_latency(hass: HomeAssistant) -> None:
    """A DLMS/COSEM push reaches the import entity's state within 100 ms of its last byte."""
    async with TimedDlmsMeter(period=0.1) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="E450",
            unique_id=SERIAL,
            data={CONF_PORT: meter.port, CONF_PROTOCOL: "dlms_push"},
            options={CONF_MAX_POWER_KW: 60.0},
        )
        latencies, _ = await _measure(hass, meter, entry, f"{SERIAL}_1-0:1.8.0")
    _show(Latency("DLMS/COSEM (HDLC + GBT, 9600 Bd), from the last byte", latencies))
    assert len(latencies) >= 10
    assert all(0 < latency < LATENCY_LIMIT for latency in latencies), latencies
