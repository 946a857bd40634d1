"""A loopback-only RFC 2217 server on pyserial 3.5's ``serial.rfc2217.PortManager``, for a pty.

pyserial's ``examples/rfc2217_server.py`` cannot serve a pty: it sets RTS/DTR when a client
connects, and ``TIOCMBIS``/``TIOCMGET`` on a pty fail with ENOTTY ("[Errno 25] Inappropriate
ioctl for device"), after which the example neither serves nor closes the client socket.
pyserial also lets termios.error (not an OSError) out of a settings change, and a pty
answers EINVAL to 7E1 at an unchanged rate, which would end the example's writer loop.
This runner keeps the same PortManager (so the protocol replies are pyserial's own) but
uses a serial class whose modem lines are fixed, binds 127.0.0.1 only, serves one client at
a time, and exits on SIGTERM or after ``--lifetime`` seconds. The tests run it in front of
the simulated meter's pty as the second RFC 2217 implementation beside ser2net.

Usage: python -m tests.bridges.pyserial_bridge DEVICE PORT [--lifetime S] [-v]
Prints "LISTENING <port>" on stdout once it accepts connections (PORT 0 picks a free one).
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sys
import termios
import threading
from types import FrameType

import serial
import serial.rfc2217


class PtySerial(serial.Serial):  # type: ignore[misc]
    """A pyserial port whose modem control and status lines are not touched (a pty has none)."""

    def _reconfigure_port(self, force_update: bool = False) -> None:
        # A Linux pty keeps CS8 without parity whatever is asked, and answers EINVAL when a
        # request changes nothing else (e.g. 7E1 at the rate it already has).
        try:
            super()._reconfigure_port(force_update)
        except termios.error as err:
            if err.args[0] != errno.EINVAL:
                raise

    def _update_dtr_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True


def serve_client(port: PtySerial, client: socket.socket, log: logging.Logger | None) -> None:
    """Copy bytes both ways through PortManager until the client goes away."""
    lock = threading.Lock()
    alive = threading.Event()
    alive.set()
    stopped = threading.Event()

    class _Connection:
        def write(self, data: bytes) -> None:
            with lock:
                client.sendall(data)

    manager = serial.rfc2217.PortManager(port, _Connection(), logger=log)

    def serial_to_socket() -> None:
        while alive.is_set():
            try:
                data = port.read(port.in_waiting or 1)
            except (OSError, serial.SerialException):
                break
            if data:
                try:
                    _Connection().write(b"".join(manager.escape(data)))
                except OSError:
                    break
        alive.clear()

    def poll_lines() -> None:
        while not stopped.wait(1.0):
            manager.check_modem_lines()

    threads = [threading.Thread(target=f, daemon=True) for f in (serial_to_socket, poll_lines)]
    for thread in threads:
        thread.start()
    try:
        while alive.is_set():
            data = client.recv(1024)
            if not data:
                break
            port.write(b"".join(manager.filter(data)))
    except (OSError, serial.SerialException) as err:
        sys.stderr.write(f"client ended: {err}\n")
    finally:
        alive.clear()
        stopped.set()
        for thread in threads:
            thread.join(timeout=2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("device")
    parser.add_argument("port", type=int)
    parser.add_argument("--lifetime", type=float, default=600.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    log = logging.getLogger("rfc2217.server") if args.verbose else None

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, args.lifetime)

    port = PtySerial()
    port.port = args.device
    port.baudrate = 300
    port.bytesize = serial.SEVENBITS
    port.parity = serial.PARITY_EVEN
    port.timeout = 0.05  # lets the reader thread notice a closed client soon
    port.open()
    settings = port.get_settings()

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(1)
    sys.stdout.write(f"LISTENING {server.getsockname()[1]}\n")
    sys.stdout.flush()
    try:
        while True:
            client, _addr = server.accept()
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                serve_client(port, client, log)
            finally:
                client.close()
                try:
                    port.apply_settings(settings)
                except (OSError, serial.SerialException) as err:
                    sys.stderr.write(f"restoring settings: {err}\n")
    finally:
        server.close()
        port.close()


if __name__ == "__main__":
    sys.exit(main())
