"""A simulated USB optical head with a meter behind it, in its own process.

Like a real head it has a stable ``/dev/serial/by-id``-style path (a symlink) that points at
the current tty (a pty of the project's simulator). Unplugging closes the pty and removes the
link, so an open port fails and a new open finds nothing; plugging it back in creates a new pty
(a new tty name, as a real replug may give) and points the link at it again.

Run by the end-to-end tests and by ``scripts/develop``::

    python -m tests.e2e.optical_head --link /tmp/by-id/usb-optical-head --profile lgz_e350

``--bus N`` puts N meters on the line instead (an RS-485 adapter rather than a head), each
answering only its own address (10001, 10002, ...; ``tests.simulator.bus``).

Commands on stdin, one per line: ``unplug``, ``replug``, ``quit``. Every change is printed as a
JSON line on stdout: ``{"event": "plugged", "port": "/dev/pts/5", "link": ...}``, ``{"event":
"unplugged"}``, and ``{"event": "counters", "sessions": 3, "closes": 3, "connected": false}``
whenever the meter's counters change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
import signal
import sys
from typing import Any

from tests.simulator import PtyMeter, load_profile, profile_names
from tests.simulator.bus import PtyBus, bus_profiles
from tests.simulator.dlms_profile import ProfilePullMeter
from tests.simulator.recording import Recording

REPO_ROOT = Path(__file__).resolve().parents[2]
DLMS_PROFILE = "dlms_hdlc_profile"
"""Not a profile file: a DLMS meter answering direct HDLC that keeps a twelve-hour load profile."""
PROFILE_HOURS = 12
COUNTER_INTERVAL = 0.05
"""Seconds between two looks at the meter's counters."""
EVENT_TIMEOUT = 15.0


def emit(event: str, **fields: Any) -> None:
    """Print one event line for the controlling process."""
    print(json.dumps({"event": event, **fields}), flush=True)  # noqa: T201


def point_link(link: Path, target: str) -> None:
    """Make ``link`` point at ``target``, atomically (like udev renaming a by-id link)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.new")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target)
    temporary.replace(link)


def remove_link(link: Path) -> None:
    """Remove the link if it is there."""
    with contextlib.suppress(FileNotFoundError):
        link.unlink()


def _line_counters(meter: PtyMeter) -> dict[str, int]:
    """Sessions of every meter on a bus, and what must never happen on it."""
    if not isinstance(meter, PtyBus):
        return {"sessions": meter.sessions}
    return {
        "sessions": sum(item.sessions for item in meter.meters),
        "collisions": meter.collisions,
        "overlaps": meter.overlaps,
    }


def _errors(meter: PtyMeter) -> list[str]:
    errors = meter.meter_errors if isinstance(meter, PtyBus) else meter.errors
    return [repr(error) for error in errors]


async def watch_counters(meter: PtyMeter) -> None:
    """Report the meter's session and close counters whenever they change."""
    last: dict[str, Any] | None = None
    while True:
        current = {**_line_counters(meter), "closes": meter.closes, "connected": meter._connected}
        if current != last:
            emit("counters", **current)
            last = current
        await asyncio.sleep(COUNTER_INTERVAL)


async def read_commands(queue: asyncio.Queue[str]) -> None:
    """Forward stdin lines to ``queue``; end of input counts as ``quit``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        await queue.put(line.decode().strip())
    await queue.put("quit")


def utc_clock() -> datetime:
    """The DLMS meter's clock: UTC, naive (Home Assistant's zone in the end-to-end tests)."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_meter(arguments: argparse.Namespace) -> PtyMeter | PtyBus:
    """The meter behind the head: a profile file's, the DLMS pull meter with its load profile, or a bus."""
    if arguments.bus:
        return PtyBus(bus_profiles(arguments.bus))
    if arguments.profile == DLMS_PROFILE:
        now = utc_clock()
        start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        recording = Recording(start=start - timedelta(hours=PROFILE_HOURS), clock=utc_clock)
        return ProfilePullMeter(recording, mode_e=False)
    profile = load_profile(arguments.profile)
    if arguments.reaction is not None:
        profile = replace(profile, reaction_time=arguments.reaction)
    return PtyMeter(profile)


async def serve(arguments: argparse.Namespace) -> None:
    """Plug the head in and follow the commands until ``quit`` or a signal."""
    link = Path(arguments.link)
    commands: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, commands.put_nowait, "quit")
    meter = make_meter(arguments)
    await meter.start()
    point_link(link, meter.port)
    emit("plugged", port=meter.port, link=str(link))
    background = [asyncio.create_task(watch_counters(meter)), asyncio.create_task(read_commands(commands))]
    plugged = True
    try:
        while (command := await commands.get()) != "quit":
            if command == "unplug" and plugged:
                remove_link(link)
                await meter.vanish()
                plugged = False
                emit("unplugged", link=str(link))
            elif command == "replug" and not plugged:
                port = await meter.reappear()
                point_link(link, port)
                plugged = True
                emit("plugged", port=port, link=str(link))
            elif command:
                emit("ignored", command=command, plugged=plugged)
    finally:
        for task in background:
            task.cancel()
        remove_link(link)
        await meter.close()
        emit("stopped", **_line_counters(meter), closes=meter.closes, errors=_errors(meter))


class OpticalHeadProcess:
    """Controls ``python -m tests.e2e.optical_head`` from a test (or from ``scripts/develop``)."""

    def __init__(
        self,
        link: Path,
        *,
        profile: str = "lgz_e350",
        reaction: float | None = 0.2,
        log: Path | None = None,
        bus: int = 0,
    ) -> None:
        """Describe the head (``bus``: that many addressed meters on one line); nothing runs before ``start``."""
        self.link = link
        self.bus = bus
        self.collisions = 0
        self.overlaps = 0
        self.profile = profile
        self.reaction = reaction
        self.log = log or link.parent / f"{link.name}.log"
        self.port = ""
        self.plugged = False
        self.sessions = 0
        self.closes = 0
        self.connected = False
        self.final: dict[str, Any] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> str:
        """Start the process and wait until the head is plugged in; returns the pty path."""
        command = [
            sys.executable,
            "-m",
            "tests.e2e.optical_head",
            "--link",
            str(self.link),
            "--profile",
            self.profile,
        ]
        if self.reaction is not None:
            command += ["--reaction", str(self.reaction)]
        if self.bus:
            command += ["--bus", str(self.bus)]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as stderr:
            self._process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                cwd=REPO_ROOT,
                env=env,
            )
        assert self._process.stdout is not None
        self._reader = asyncio.create_task(self._read_events(self._process.stdout))
        await self.wait(lambda: self.plugged, "the head to be plugged in")
        return self.port

    async def _read_events(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            event = json.loads(line)
            kind = event.pop("event")
            if kind == "plugged":
                self.port, self.plugged = event["port"], True
            elif kind == "unplugged":
                self.plugged = False
            elif kind == "counters":
                self.sessions, self.closes, self.connected = (
                    event["sessions"],
                    event["closes"],
                    event["connected"],
                )
                self.collisions = event.get("collisions", 0)
                self.overlaps = event.get("overlaps", 0)
            elif kind == "stopped":
                self.final = event
            async with self._changed:
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, condition: Any, what: str, timeout: float = EVENT_TIMEOUT) -> None:
        """Wait until ``condition()`` holds."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(condition)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what} "
                f"(plugged={self.plugged}, sessions={self.sessions}, closes={self.closes}, connected={self.connected})"
            ) from None

    async def _command(self, command: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(f"{command}\n".encode())
        await self._process.stdin.drain()

    async def unplug(self) -> None:
        """Pull the head out: the pty closes and the stable path disappears."""
        await self._command("unplug")
        await self.wait(lambda: not self.plugged, "the head to be unplugged")

    async def replug(self) -> str:
        """Plug it back in; returns the new pty path."""
        await self._command("replug")
        await self.wait(lambda: self.plugged, "the head to be plugged in again")
        return self.port

    async def stop(self) -> dict[str, Any]:
        """End the process; returns its final counters (and any error inside the meter)."""
        process, self._process = self._process, None
        if process is None:
            return self.final
        if process.returncode is None:
            with contextlib.suppress(ConnectionError):
                assert process.stdin is not None
                process.stdin.write(b"quit\n")
                await process.stdin.drain()
            try:
                async with asyncio.timeout(EVENT_TIMEOUT):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        return self.final


def open_descriptors(pid: int, device: str) -> list[str]:
    """The file descriptors of process ``pid`` that point at ``device`` (``/proc`` on Linux)."""
    target = os.path.realpath(device)
    found = []
    fd_dir = Path(f"/proc/{pid}/fd")
    for entry in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(entry) == target:
                found.append(entry.name)
    return found


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.optical_head", description=__doc__)
    parser.add_argument("--link", required=True, help="stable path of the head (a symlink to its pty)")
    parser.add_argument("--profile", default="lgz_e350", choices=[*profile_names(), DLMS_PROFILE])
    parser.add_argument("--reaction", type=float, metavar="S", help="reaction time of the meter in seconds")
    parser.add_argument(
        "--bus", type=int, default=0, metavar="N", help="N addressed meters on one line instead"
    )
    arguments = parser.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(serve(arguments))


if __name__ == "__main__":
    main()
