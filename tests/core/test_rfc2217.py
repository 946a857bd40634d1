"""The RFC 2217 transport against a scripted server that answers like ser2net, pyserial or the RFC.

The server answers the telnet options and port settings as both bridges do, and the two
state-mask requests in one of three ways: ``notify`` (ser2net 4.3.11: NOTIFY-MODEMSTATE only),
``silent`` (pyserial 3.5: nothing) or ``echo`` (the confirmation serialx's own transport waits
for). If serialx renames the coroutine the transport overrides, these tests fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import time

import pytest
import serialx
from serialx.platforms.serial_rfc2217 import RFC2217SerialTransport

from custom_components.landis_gyr_optical.meter.rfc2217 import (
    REPLY_TIMEOUT,
    TolerantRfc2217Transport,
    transport_for,
)
from custom_components.landis_gyr_optical.meter.serialx_compat import reconfigure, write

pytestmark = pytest.mark.usefixtures("socket_enabled")

IAC, SB, SE, WILL, WONT, DO, DONT = 255, 250, 240, 251, 252, 253, 254
BINARY, COM_PORT = 0, 44
SET_PARITY, SET_LINESTATE_MASK, SET_MODEMSTATE_MASK, NOTIFY_MODEMSTATE = 3, 10, 11, 7


@dataclass
class FakeServer:
    masks: str  # "notify" | "silent" | "echo"
    ignore_parity_after_open: bool = False
    subnegotiations: list[tuple[int, bytes]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(bytes([IAC, DO, BINARY, IAC, WILL, BINARY, IAC, DO, COM_PORT]))
        parity_requests = 0
        buffer = bytearray()
        while chunk := await reader.read(1024):
            buffer += chunk
            while buffer:
                if buffer[0] != IAC:
                    self.data.append(buffer.pop(0))
                    continue
                if len(buffer) < 2:
                    break
                if buffer[1] in (WILL, WONT, DO, DONT):
                    if len(buffer) < 3:
                        break
                    command, option = buffer[1], buffer[2]
                    del buffer[:3]
                    if command == WILL and option in (BINARY, COM_PORT):
                        writer.write(bytes([IAC, DO, option]))
                    elif command == DO and option == BINARY:
                        writer.write(bytes([IAC, WILL, BINARY]))
                    continue
                if buffer[1] == SB:
                    end = buffer.find(bytes([IAC, SE]))
                    if end < 0:
                        break
                    body = bytes(buffer[2:end])
                    del buffer[: end + 2]
                    if body[0] != COM_PORT:
                        continue
                    code, payload = body[1], body[2:]
                    self.subnegotiations.append((code, payload))
                    if code in (SET_LINESTATE_MASK, SET_MODEMSTATE_MASK):
                        if self.masks == "echo":
                            writer.write(bytes([IAC, SB, COM_PORT, code + 100, *payload, IAC, SE]))
                        elif self.masks == "notify" and code == SET_MODEMSTATE_MASK:
                            writer.write(bytes([IAC, SB, COM_PORT, NOTIFY_MODEMSTATE + 100, 0, IAC, SE]))
                        continue
                    if code == SET_PARITY:
                        parity_requests += 1
                        if self.ignore_parity_after_open and parity_requests > 1:
                            continue
                    writer.write(bytes([IAC, SB, COM_PORT, code + 100, *payload, IAC, SE]))
                    continue
                if buffer[1] == IAC:
                    self.data.append(IAC)
                del buffer[:2]
            if b"PING" in self.data:
                self.data.clear()
                writer.write(b"PONG\xff\xff\r\n")  # one 0xFF data byte, escaped on the wire
            await writer.drain()
        writer.close()


@asynccontextmanager
async def fake_server(server: FakeServer) -> AsyncIterator[FakeServer]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


def open_port(
    server: FakeServer, transport: type[serialx.BaseSerialTransport] | None, timeout: float = 1.0
) -> serialx.AsyncSerial:
    return serialx.async_serial_for_url(
        f"rfc2217://127.0.0.1:{server.port}",
        transport_cls=transport,
        baudrate=300,
        byte_size=7,
        parity=serialx.Parity.EVEN,
        stopbits=serialx.StopBits.ONE,
        connect_timeout=timeout,
    )


async def test_serialx_alone_waits_out_its_connect_timeout() -> None:
    """Why the transport exists: serialx's own waits for mask confirmations that never come."""
    async with fake_server(FakeServer("notify")) as server:
        serial = open_port(server, RFC2217SerialTransport, timeout=0.3)
        with pytest.raises(TimeoutError):
            await serial.open()


@pytest.mark.parametrize("masks", ["notify", "silent", "echo"])
async def test_opens_switches_and_reads(masks: str) -> None:
    async with fake_server(FakeServer(masks)) as server:
        serial = open_port(server, transport_for(f"RFC2217://127.0.0.1:{server.port}"))
        started = time.monotonic()
        await serial.open()
        assert time.monotonic() - started < 0.5
        await write(serial, b"PING")
        async with asyncio.timeout(1):
            assert await serial.readuntil(b"\n") == b"PONG\xff\r\n"
        await reconfigure(
            serial, baudrate=9600, byte_size=7, parity=serialx.Parity.EVEN, stopbits=serialx.StopBits.ONE
        )
        await serial.close()
    codes = [code for code, _ in server.subnegotiations]
    assert SET_MODEMSTATE_MASK not in codes
    assert SET_LINESTATE_MASK not in codes
    assert (1, (9600).to_bytes(4, "big")) in server.subnegotiations


async def test_a_confirmation_that_never_comes_is_an_error_in_bounded_time() -> None:
    async with fake_server(FakeServer("silent", ignore_parity_after_open=True)) as server:
        serial = open_port(server, TolerantRfc2217Transport, timeout=0.3)
        await serial.open()
        started = time.monotonic()
        with pytest.raises(serialx.SerialException, match="SetParityCmd"):
            await reconfigure(
                serial, baudrate=9600, byte_size=7, parity=serialx.Parity.EVEN, stopbits=serialx.StopBits.ONE
            )
        assert time.monotonic() - started < 1.0
        serial.abort()
        await serial.wait_closed()


def test_reply_timeout_without_a_connect_timeout() -> None:
    transport = TolerantRfc2217Transport.__new__(TolerantRfc2217Transport)
    transport._serial = None
    assert transport._reply_timeout() == REPLY_TIMEOUT


def test_only_rfc2217_urls_get_the_transport() -> None:
    assert transport_for("rfc2217://bridge:2217") is TolerantRfc2217Transport
    assert transport_for("RFC2217://bridge:2217") is TolerantRfc2217Transport
    assert transport_for("socket://bridge:23") is None
    assert transport_for("/dev/ttyUSB0") is None
