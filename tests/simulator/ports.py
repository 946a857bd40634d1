"""The simulated meter behind a pseudo terminal or a raw TCP bridge."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import termios

from custom_components.landis_gyr_optical.meter.iec62056_21.messages import INITIAL_BAUD, MODE_D_BAUD, Mode
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings

from .meter import ClientLine, SimulatedMeter
from .profile import MeterProfile
from .transport import Transport

POLL_INTERVAL = 0.02
"""How often a pty without a client is checked for one opening it."""
_READ_SIZE = 4096
_SPEEDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
}


class _EightBitBridge(SimulatedMeter):
    """A bridge whose UART runs 8N1 on the meter's 7E1 line (``eight_bit_bridge=True``).

    Each character's parity bit reaches the client as bit 7, and the client must send its
    own parity bits (a character with wrong parity is garbage to the meter).
    """

    eight_bit_bridge = False

    def _from_bridge(self, data: bytes) -> bytes:
        """Characters as the meter's 7E1 receiver gets them from an 8N1 bridge."""
        if not self.eight_bit_bridge:
            return data
        return bytes(byte & 0x7F if byte.bit_count() % 2 == 0 else 0x7F for byte in data)

    def _for_client(self, sent: bytes, arrived: bytes, line: LineSettings) -> bytes:
        """On an 8N1 bridge the parity bit the meter computed travels as bit 7."""
        if not self.eight_bit_bridge:
            return arrived
        return bytes(
            (byte & 0x7F) | (0x80 if (original & 0x7F).bit_count() % 2 else 0)
            for original, byte in zip(sent, arrived, strict=True)
        )


class PtyMeter(_EightBitBridge):
    """The meter on the master side of a pseudo terminal; clients open ``port``.

    The client's rate is read from the pty (termios calls on a Linux pty master act on
    the slave's settings). When the client closes the slave the meter counts a close,
    resets the pty to 9600 8N1 (a Linux pty refuses to be opened again at the same rate
    with 7 data bits or parity) and waits for the next client.

    ``vanish()`` closes the master: the client's next read or write fails as if the USB
    head had been unplugged. ``reappear()`` plugs it back in, as a new pty with a new
    ``port`` path (ptys cannot be re-created under an old name).
    """

    def __init__(
        self,
        profile: MeterProfile,
        *,
        reset_termios: bool = True,
        transport: Transport | None = None,
        eight_bit_bridge: bool = False,
    ) -> None:
        """Prepare the meter; ``reset_termios=False`` leaves the pty as the client left it.

        ``eight_bit_bridge``: an 8N1 bridge (ser2net at ``300n81``) opens the pty in front
        of the meter's 7E1 line; a pty cannot tell the two framings apart by itself.
        """
        super().__init__(profile, transport=transport)
        self.eight_bit_bridge = eight_bit_bridge
        self.reset_termios = reset_termios
        self.port = ""
        self._master: int | None = None
        self._attached = False
        self._poll_handle: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Create the pty and wait for a client."""
        master, slave = os.openpty()
        self.port = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self._attached = False
        self._reset_pty()
        self._poll()

    async def close(self) -> None:
        """Stop serving and remove the pty."""
        await self._stop_activity()
        self._close_master()

    async def vanish(self) -> None:
        """Pull the plug: close the master so the client's I/O fails."""
        was_attached = self._attached
        await self._stop_activity()
        self._close_master()
        if was_attached:
            self._connected = False
            self.closes += 1
            self._event("vanished")

    async def reappear(self) -> str:
        """Come back as a new pty after ``vanish``; returns the new port path."""
        if self._master is not None:
            raise RuntimeError("the pty has not vanished")
        await self.start()
        return self.port

    # --- the pty -------------------------------------------------------------------------

    def _poll(self) -> None:
        """Check whether a client has opened the slave (reading the master gives EIO until then)."""
        self._poll_handle = None
        if self._master is None:
            return
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            data = b""
        except OSError as err:
            if err.errno != errno.EIO:
                raise
            self._poll_handle = asyncio.get_running_loop().call_later(POLL_INTERVAL, self._poll)
            return
        self._attached = True
        asyncio.get_running_loop().add_reader(self._master, self._readable)
        self._on_connect()
        if data:
            self._on_receive(self._from_bridge(data))

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno != errno.EIO:
                self.errors.append(err)
            self._detach()
            return
        if data:
            self._on_receive(self._from_bridge(data))

    def _detach(self) -> None:
        assert self._master is not None
        asyncio.get_running_loop().remove_reader(self._master)
        self._attached = False
        self._reset_pty()
        self._on_disconnect()
        self._poll_handle = asyncio.get_running_loop().call_later(POLL_INTERVAL, self._poll)

    def _reset_pty(self) -> None:
        if self._master is None or not self.reset_termios:
            return
        attributes = termios.tcgetattr(self._master)
        attributes[2] = (attributes[2] & ~(termios.CSIZE | termios.PARENB | termios.CSTOPB)) | termios.CS8
        attributes[4] = attributes[5] = termios.B9600
        termios.tcsetattr(self._master, termios.TCSANOW, attributes)

    def _close_master(self) -> None:
        if self._poll_handle is not None:
            self._poll_handle.cancel()
            self._poll_handle = None
        master, self._master = self._master, None
        if master is None:
            return
        if self._attached:
            asyncio.get_running_loop().remove_reader(master)
            self._attached = False
        os.close(master)

    def _client_line(self) -> ClientLine | None:
        if self._master is None or not self._attached:
            return None
        try:
            attributes = termios.tcgetattr(self._master)
        except termios.error:
            return None
        baud = _SPEEDS.get(attributes[4])
        if baud is None:
            return None
        cflag = attributes[2]
        framing: Framing | None = None
        if cflag & termios.CSIZE == termios.CS7 and cflag & termios.PARENB:
            framing = Framing.SEVEN_E_TWO if cflag & termios.CSTOPB else Framing.SEVEN_E_ONE
        # 8N1 is also what a Linux pty reports whatever the client asked for: unknown.
        return ClientLine(baud, framing)

    def _write_raw(self, data: bytes) -> None:
        if self._master is None:
            raise OSError(errno.EBADF, "the pty is closed")
        written = os.write(self._master, data)
        if written < len(data):
            self._event("overrun", f"{len(data) - written} bytes dropped")


class TcpMeter(_EightBitBridge):
    """The meter behind a raw TCP serial bridge on 127.0.0.1 (``socket://127.0.0.1:N``).

    The bridge's serial side runs at a fixed rate (300 Bd, or 2400 Bd for a mode D
    meter, unless ``baud`` says otherwise): a meter that switches its rate is garbage to
    it. One client at a time; a second connection is closed at once. ``vanish()`` drops the
    connection and stops listening; ``reappear()`` listens again on a new port.
    """

    def __init__(
        self,
        profile: MeterProfile,
        *,
        port: int = 0,
        baud: int | None = None,
        eight_bit_bridge: bool = False,
        transport: Transport | None = None,
    ) -> None:
        """Prepare the bridge; ``port=0`` picks a free TCP port.

        ``eight_bit_bridge``: the bridge's UART runs 8N1 on the meter's 7E1 line, so each
        character's parity bit reaches the client as bit 7 and the client must send its own
        parity bits (a character with wrong parity is garbage to the meter).
        """
        super().__init__(profile, transport=transport)
        self.eight_bit_bridge = eight_bit_bridge
        self.baud = baud or (MODE_D_BAUD if profile.mode is Mode.D else INITIAL_BAUD)
        self.port = ""
        self._tcp_port = port
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._handler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen for the client."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._tcp_port)
        number = self._server.sockets[0].getsockname()[1]
        self.port = f"socket://127.0.0.1:{number}"

    async def close(self) -> None:
        """Stop listening and drop the client."""
        await self._stop_activity()
        await self._shut_down()

    async def vanish(self) -> None:
        """Take the bridge away: the connection is dropped and nobody listens any more."""
        await self._stop_activity()
        await self._shut_down()
        self._event("vanished")

    async def reappear(self) -> str:
        """Listen again after ``vanish`` (on a new TCP port); returns the new ``socket://`` URL."""
        if self._server is not None:
            raise RuntimeError("the bridge has not vanished")
        self._tcp_port = 0
        await self.start()
        return self.port

    async def _shut_down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if self._writer is not None:
            self._writer.close()
        if self._handler is not None:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._handler), 1.0)
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None or self._server is None:
            writer.close()
            return
        self._writer = writer
        self._handler = asyncio.current_task()
        self._on_connect()
        try:
            while data := await reader.read(_READ_SIZE):
                self._on_receive(self._from_bridge(data))
        except ConnectionError:
            pass
        finally:
            self._writer = None
            self._handler = None
            self._on_disconnect()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _client_line(self) -> ClientLine | None:
        if self._writer is None or self._writer.is_closing():
            return None
        return ClientLine(self.baud, self.profile.framing)

    def _write_raw(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            raise OSError(errno.EPIPE, "the TCP client is gone")
        self._writer.write(data)
