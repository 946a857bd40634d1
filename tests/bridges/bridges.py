"""Start ser2net and pyserial's RFC 2217 server in front of a pty, and stop them again.

ser2net runs in the foreground with its own configuration file (``-n -d -u -P PID -c
FILE``), nothing in /etc is read or touched. It opens its device only while a client is
connected, so it can start before the device exists (the "device missing" case). Every
process started here is ended when its context exits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
import shutil
import socket
import sys
import time

import pytest

SER2NET_CANDIDATES = ("ser2net", "/usr/sbin/ser2net", "/usr/local/sbin/ser2net")
REPOSITORY = Path(__file__).resolve().parents[2]
START_TIMEOUT = 5.0
"""Seconds a bridge gets to listen (ser2net takes 6-14 ms, pyserial's server about 125 ms)."""


def ser2net_binary() -> str:
    """Return ser2net's path; fail the test (not skip it) when it is not installed."""
    for candidate in SER2NET_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(
        "ser2net is not installed: the bridge tests need Debian's ser2net 4.x "
        "(scripts/test installs it; by hand: apt-get install ser2net)",
        pytrace=False,
    )


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port, found without connecting to it.

    Connecting would make ser2net open its device, which the meter counts as a client.
    """
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":
            return True
    return False


async def _wait_listening(port: int, process: asyncio.subprocess.Process, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _listening(port):
        if process.returncode is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT} s")
        await asyncio.sleep(0.005)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()


@dataclass
class Ser2net:
    """One ser2net process with one connection (accepter and device) on 127.0.0.1.

    ``kind`` is ``raw`` (``tcp`` accepter, reached as ``socket://``) or ``rfc2217`` (the
    ``telnet(rfc2217)`` accepter, reached as ``rfc2217://``); ``settings`` is ser2net's
    ``300e71`` style. ``restart()`` stops and starts it on the same port.
    """

    device: str
    workdir: Path
    kind: str = "rfc2217"
    settings: str = "300e71"
    port: int = field(default_factory=free_tcp_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """The URL a client opens."""
        scheme = "rfc2217" if self.kind == "rfc2217" else "socket"
        return f"{scheme}://127.0.0.1:{self.port}"

    def config(self) -> str:
        """The YAML configuration (``local``: a pty has no modem lines to wait for)."""
        accepter = "telnet(rfc2217),tcp" if self.kind == "rfc2217" else "tcp"
        return (
            "%YAML 1.1\n---\n"
            "connection: &meter\n"
            f"    accepter: {accepter},127.0.0.1,{self.port}\n"
            f"    connector: serialdev,{self.device},{self.settings},local\n"
        )

    async def start(self) -> None:
        """Write the configuration and start ser2net in the foreground."""
        config = self.workdir / f"ser2net-{self.port}.yaml"
        config.write_text(self.config())
        log = (self.workdir / f"ser2net-{self.port}.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            ser2net_binary(),
            *("-n", "-d", "-u", "-P", str(self.workdir / f"ser2net-{self.port}.pid"), "-c", str(config)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        await _wait_listening(self.port, self.process, "ser2net")

    async def stop(self) -> None:
        """End the process (ser2net exits with 1 on SIGTERM; that is its normal way out)."""
        process, self.process = self.process, None
        if process is not None:
            await _stop(process)

    async def restart(self) -> None:
        """Stop, then start again on the same port."""
        await self.stop()
        await self.start()

    def log(self) -> str:
        """What ser2net printed (for failure messages)."""
        path = self.workdir / f"ser2net-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.asynccontextmanager
async def ser2net(
    device: str, workdir: Path, kind: str = "rfc2217", settings: str = "300e71"
) -> AsyncIterator[Ser2net]:
    """Run ser2net in front of ``device`` for the length of the block."""
    bridge = Ser2net(device, workdir, kind, settings)
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


@contextlib.asynccontextmanager
async def pyserial_rfc2217(device: str) -> AsyncIterator[str]:
    """Run pyserial's RFC 2217 server (``PortManager``) in front of ``device``; yields its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bridges.pyserial_bridge",
        device,
        "0",
        "--lifetime",
        "300",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPOSITORY,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        if not line.startswith(b"LISTENING "):
            raise RuntimeError(f"pyserial's RFC 2217 server did not start: {line!r}")
        yield f"rfc2217://127.0.0.1:{int(line.split()[1])}"
    finally:
        await _stop(process)
