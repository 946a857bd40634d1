"""One owner per line: every entry on the same device or URL reads through one ``Bus``.

Meters sharing an RS-485 line (IEC 62056-21 addresses, HAN slave ids, DLMS servers) or one
head cannot be read in parallel: the port is opened exclusively and their answers would
collide. The bus gives each read a turn, first come first served, so a slow or silent
meter delays the others by its own timeouts once per poll and never starves them; it
keeps the line silent between turns for as long as the protocol of the previous read
needs (``MeterConfig.line_rest``); and, while several meters share it, it keeps one
connection open between turns, so the port is not opened and closed for every read (a
network bridge is not reconnected, a tty not reconfigured from scratch).

A pushing meter owns its line alone: a listener holds the port open, so it is never
combined with other meters on one bus (``BusConflictError``).

Buses live in ``hass.data`` under a typed key, keyed by the resolved port: a
``/dev/serial/by-id`` link and the device it points to are one line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import os
import time
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .meter.errors import MeterError, PortError
from .meter.iec62056_21.client import RETRY_PAUSE
from .meter.line import LineSettings
from .meter.link import Link, describe_port
from .meter.readout import Readout
from .meter.variants import MeterConfig

BUSES: Final[HassKey[dict[str, Bus]]] = HassKey(f"{DOMAIN}_buses")

LinkFactory = Callable[[str, LineSettings], Link]


class BusConflictError(MeterError):
    """A pushing meter and another meter were configured on one line."""

    key = "push_on_shared_line"


def resolve_port(port: str) -> str:
    """Return the line a port reaches: the device a path resolves to, a URL as typed (blocking)."""
    if "://" in port:
        scheme, rest = port.split("://", 1)
        return f"{scheme.lower()}://{rest.rstrip('/')}"
    return os.path.realpath(port)


@dataclass(slots=True)
class Member:
    """An entry on a bus: its title (for diagnostics and messages) and its configuration."""

    entry_id: str
    title: str
    port: str
    config: MeterConfig
    pause: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = None
    """For a pushing meter: stops its listener for the time of a test read."""


@dataclass(slots=True)
class BusStats:
    """What the bus did, for diagnostics and the tests."""

    turns: int = 0
    opens: int = 0
    reused: int = 0
    """Turns that found the connection of the previous turn still open."""
    longest_wait: float = 0.0
    """Seconds the longest turn waited for the line (queue and rest)."""
    overlaps: int = 0
    """Turns that found another turn running (never, by construction: checked anyway)."""


class _HeldLink(Link):
    """The bus's connection: ``open`` reuses it when it is still open, ``close`` leaves it open.

    The readers open and close their link as if it were their own; the bus decides when
    the port is really closed (``release``).
    """

    def __init__(self, port: str, line: LineSettings) -> None:
        super().__init__(port, line)
        self.wanted = line
        self.opened_with: bool | None = None
        """``software_parity`` of the open connection; ``None`` while closed."""
        self.stats: BusStats | None = None

    async def open(self) -> None:
        if self.opened_with is not None and self.opened_with != self.software_parity:
            await self.release()
        if self.opened_with is None:
            self.line = self.wanted
            await super().open()
            self.opened_with = self.software_parity
            if self.stats is not None:
                self.stats.opens += 1
            return
        if self.stats is not None:
            self.stats.reused += 1
        await self.switch(self.wanted)

    async def close(self) -> None:
        """Leave the connection open for the next turn (``release`` closes it)."""

    async def release(self) -> None:
        self.opened_with = None
        await super().close()


class Bus:
    """Serializes the reads of every meter on one line and owns its connection."""

    def __init__(self, key: str) -> None:
        """Start empty, for the resolved port ``key``."""
        self.key = key
        self.members: dict[str, Member] = {}
        self.stats = BusStats()
        self._lock = asyncio.Lock()
        self._active = 0
        self._quiet_until = 0.0
        self._last_reader: MeterConfig | None = None
        """Who used the line last (``None``: a read from outside, or nobody yet)."""
        self._link: _HeldLink | None = None

    def __repr__(self) -> str:
        """``Bus('/dev/ttyUSB0', 3 meters)``."""
        return f"Bus({describe_port(self.key)!r}, {len(self.members)} meters)"

    @property
    def busy(self) -> bool:
        """Whether a read (or a flow's test read) holds the line now."""
        return self._lock.locked()

    # --- members -----------------------------------------------------------------------------

    def join(self, member: Member) -> None:
        """Add an entry; a pushing meter must be alone on its line."""
        others = [m for m in self.members.values() if m.entry_id != member.entry_id]
        if others and (member.config.push or any(m.config.push for m in others)):
            pusher = member if member.config.push else next(m for m in others if m.config.push)
            users = ", ".join(m.title for m in (*others, member) if m is not pusher)
            raise BusConflictError(
                f"{pusher.title} pushes on {describe_port(self.key)}, which {users} also use: "
                "a listening meter needs the line to itself"
            )
        self.members[member.entry_id] = member

    def others(self, entry_id: str) -> list[Member]:
        """Return the other meters on the line."""
        return [member for member in self.members.values() if member.entry_id != entry_id]

    async def leave(self, entry_id: str) -> bool:
        """Remove an entry; the last one closes the connection. Whether the bus is now empty."""
        self.members.pop(entry_id, None)
        if self.members:
            return False
        async with self._lock:
            await self._release()
        return not self.members

    # --- turns -------------------------------------------------------------------------------

    async def read(self, config: MeterConfig, read: Callable[[], Awaitable[Readout]]) -> Readout:
        """Wait for the line, then run one read on it (its reader opens links with ``link_factory``).

        A read that fails on a connection kept open from an earlier turn (a bridge that
        dropped an idle connection) runs once more on a fresh one.
        """
        asked = time.monotonic()
        async with self._lock:
            # The same meter read again on a line of its own needs no rest: nobody else heard it.
            if len(self.members) > 1 or config is not self._last_reader:
                await self._rest()
            self._last_reader = config
            self.stats.longest_wait = max(self.stats.longest_wait, time.monotonic() - asked)
            self.stats.turns += 1
            self._active += 1
            if self._active > 1:  # pragma: no cover - the lock makes it impossible
                self.stats.overlaps += 1
            kept = self._link is not None
            try:
                try:
                    return await read()
                except PortError:
                    await self._release()
                    if not kept:
                        raise
                    LOGGER.debug(
                        "the kept connection to %s failed; reading on a new one", describe_port(self.key)
                    )
                    return await read()
            except BaseException:
                await self._release()
                raise
            finally:
                self._active -= 1
                self._quiet_until = time.monotonic() + config.line_rest
                if len(self.members) < 2:
                    await self._release()

    @contextlib.asynccontextmanager
    async def exclusive(self, reader: MeterConfig | None = None) -> AsyncIterator[None]:
        """Hold the line for a read from outside its polls: no poll runs meanwhile.

        ``reader`` is the member the read is for (the backfill's profile read), None for a
        reader the line does not know (a config flow's test read). The connection is closed
        first (the reader opens its own) and a pushing member stops listening. Before, the
        line rests as before any turn (a member alone on its line, read again, needs none);
        afterwards it rests as after the slowest protocol on it.
        """
        async with self._lock:
            await self._release()
            if reader is None or len(self.members) > 1 or reader is not self._last_reader:
                await self._rest()
            try:
                async with contextlib.AsyncExitStack() as stack:
                    for member in list(self.members.values()):
                        if member.pause is not None:
                            await stack.enter_async_context(member.pause())
                    yield
            finally:
                rest = max((m.config.line_rest for m in self.members.values()), default=RETRY_PAUSE)
                self._quiet_until = time.monotonic() + max(rest, RETRY_PAUSE)
                self._last_reader = reader

    async def _rest(self) -> None:
        delay = self._quiet_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def link_factory(self, port: str, line: LineSettings) -> Link:
        """Return the bus's connection, to be opened at ``line`` (kept open if it is)."""
        link = self._link
        if link is None or link.port != port:
            link = self._link = _HeldLink(port, line)
            link.stats = self.stats
        link.wanted = line
        return link

    # --- the connection ----------------------------------------------------------------------

    async def _release(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            await link.release()

    async def close(self) -> None:
        """Close the connection now."""
        async with self._lock:
            await self._release()


def _bus_of(buses: dict[str, Bus], key: str, port: str) -> Bus | None:
    """Return the bus of a resolved port, or of a member with the same stored port.

    A by-id link may point at another device after a replug (``ttyUSB0`` became ``ttyUSB1``):
    the meters still on the bus keyed by the old device share the line with the new one.
    """
    bus = buses.get(key)
    if bus is not None:
        return bus
    return next((bus for bus in buses.values() if any(m.port == port for m in bus.members.values())), None)


async def async_join(hass: HomeAssistant, member: Member) -> Bus:
    """Return the bus of the member's port (created on first use) with the member on it."""
    key = await hass.async_add_executor_job(resolve_port, member.port)
    buses = hass.data.setdefault(BUSES, {})
    bus = _bus_of(buses, key, member.port)
    if bus is None:
        bus = buses[key] = Bus(key)
    bus.join(member)
    LOGGER.debug("%s joined %r", member.title, bus)
    return bus


async def async_leave(hass: HomeAssistant, bus: Bus, entry_id: str) -> None:
    """Take an entry off its bus; an empty bus is forgotten once its connection is closed."""
    if await bus.leave(entry_id):
        buses = hass.data.get(BUSES, {})
        if buses.get(bus.key) is bus:
            del buses[bus.key]


async def async_find(hass: HomeAssistant, port: str) -> Bus | None:
    """Return the bus a port belongs to, if any entry reads through it."""
    buses = hass.data.get(BUSES)
    if not buses:
        return None
    key = await hass.async_add_executor_job(resolve_port, port)
    return _bus_of(buses, key, port)
