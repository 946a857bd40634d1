"""Several simulated IEC 62056-21 meters on one line (an RS-485 bus), behind one pty.

Every meter hears every byte the client sends and answers only a sign-on that carries its
address (``/?ADDRESS!``); an unaddressed sign-on makes all meters that do not require an
address answer at once, as on a real bus. The line counts what must never happen when the
client serializes its reads: two meters talking at the same time (``collisions``) and a
meter starting a session while another one is still in its own (``overlaps``).

```python
async with PtyBus(bus_profiles(8)) as bus:
    readout = await read_meter(bus.port, SessionSettings(address=bus.meters[3].profile.address))
```
"""

from __future__ import annotations

from dataclasses import replace

from custom_components.landis_gyr_optical.meter.line import LineSettings

from .meter import ClientLine, MeterState, SimulatedMeter
from .ports import PtyMeter
from .profile import Faults, MeterProfile, quick_profile

FIRST_ADDRESS = 10001
"""Address (and serial number) of the first meter of ``bus_profiles``."""


def bus_profiles(
    count: int, *, lines: int = 8, reaction_time: float = 0.2, baud_char: str = "5"
) -> list[MeterProfile]:
    """Return ``count`` E350 meters with their own address and serial, each requiring its address.

    ``baud_char`` is the highest rate offered (``5``: 9600 Bd). The meters answer after 200 ms, as
    their identification announces (upper-case third letter of ``LGZ``): the client's rate switch
    then sits in the middle of a wide window, also while the event loop is busy with eight set-ups.
    """
    base = quick_profile("lgz_e350", lines=lines, reaction_time=reaction_time)
    profiles = []
    for index in range(count):
        serial = str(FIRST_ADDRESS + index)
        identification = replace(base.identification, flag_id="LGZ", baud_char=baud_char)
        profiles.append(
            replace(
                base,
                identification=identification,
                address=serial,
                address_required=True,
                data_block=base.data_block.replace(b"18438636", serial.encode()),
            )
        )
    return profiles


class BusMeter(SimulatedMeter):
    """A meter on the bus: it listens and talks through the line of its ``PtyBus``."""

    def __init__(self, profile: MeterProfile, line: PtyBus) -> None:
        """Attach the meter to the line."""
        super().__init__(profile)
        self.bus = line

    @property  # type: ignore[override]
    def port(self) -> str:
        """The line's pty."""
        return self.bus.port

    def _client_line(self) -> ClientLine | None:
        return self.bus.client_line()

    def _write_raw(self, data: bytes) -> None:
        self.bus.write_from(self, data)

    def _on_sign_on(self, request: bytes, end: float) -> None:
        others_busy = [
            meter for meter in self.bus.meters if meter is not self and meter.state is not MeterState.IDLE
        ]
        before = self.sessions
        super()._on_sign_on(request, end)
        if self.sessions > before and others_busy:
            self.bus.overlaps += 1
            self._event("overlap", f"{len(others_busy)} other meters in a session")

    async def _transmit(self, data: bytes, line: LineSettings, faults: Faults, what: str) -> bool:
        self.bus.talking.add(self)
        if len(self.bus.talking) > 1:
            self.bus.collisions += 1
            self._event("collision", f"{len(self.bus.talking)} meters talking")
        try:
            return await super()._transmit(data, line, faults, what)
        finally:
            self.bus.talking.discard(self)


class PtyBus(PtyMeter):
    """A pty with several meters on it; clients open ``port`` as they would a single meter's.

    The pty's own meter never answers: what the pty receives goes to every meter of
    ``meters``, what they send goes out on the pty. ``vanish``/``reappear`` unplug the
    whole line, as pulling the RS-485 adapter would.
    """

    def __init__(self, profiles: list[MeterProfile]) -> None:
        """Put a meter of each profile on the line."""
        super().__init__(profiles[0])
        self.meters = [BusMeter(profile, self) for profile in profiles]
        self.talking: set[BusMeter] = set()
        self.collisions = 0
        """Times a meter started talking while another one was."""
        self.overlaps = 0
        """Sessions a meter started while another meter was in its own."""

    @property
    def meter_errors(self) -> list[BaseException]:
        """Unexpected exceptions inside any meter of the line."""
        return [error for meter in self.meters for error in meter.errors] + self.errors

    def by_address(self, address: str) -> BusMeter:
        """The meter that answers to ``address``."""
        return next(meter for meter in self.meters if meter.profile.address == address)

    def client_line(self) -> ClientLine | None:
        """What the client listens at (shared by every meter of the line)."""
        return self._client_line()

    def write_from(self, meter: BusMeter, data: bytes) -> None:
        """Put a meter's bytes on the line."""
        del meter
        self._write_raw(data)

    def _on_connect(self) -> None:
        self._connected = True
        self._event("connect")
        for meter in self.meters:
            meter._on_connect()

    def _on_disconnect(self) -> None:
        self._connected = False
        self.closes += 1
        self._event("close")
        for meter in self.meters:
            meter._on_disconnect()

    def _on_receive(self, data: bytes) -> None:
        for meter in self.meters:
            meter._on_receive(data)

    async def _stop_activity(self) -> None:
        for meter in self.meters:
            await meter._stop_activity()
        await super()._stop_activity()
