"""The serialx differences the link bridges, on the serialx installed (scripts/test runs each pinned one)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import os
import termios
from typing import Any

import pytest
import serialx

from custom_components.landis_gyr_optical.meter import serialx_compat
from custom_components.landis_gyr_optical.meter.serialx_compat import (
    RateSwitchUnsupportedError,
    reconfigure,
    redact_uri,
    tty_switch,
    write,
)

ESPHOME = "esphome://host:6053/?port_name=uart&key=c2VjcmV0&baudrate=9600#meter"


@pytest.fixture(params=["serialx", "own"])
def redaction(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Redact with serialx's function where this release has it, and with the fallback."""
    if request.param == "own":
        monkeypatch.delattr(serialx, "redact_uri", raising=False)
    elif not hasattr(serialx, "redact_uri"):
        pytest.skip(f"serialx {serialx_compat.SERIALX_VERSION} has no redact_uri")
    return str(request.param)


def test_redaction_hides_credentials_and_keeps_the_rest(redaction: str) -> None:
    """Key, password and noise_psk values are replaced; host, other parameters and fragment stay."""
    assert redact_uri(ESPHOME) == "esphome://host:6053/?port_name=uart&key=REDACTED&baudrate=9600#meter"
    assert redact_uri("rfc2217://bridge:2217?password=hunter2") == "rfc2217://bridge:2217?password=REDACTED"
    assert redact_uri("esphome://h/?noise_psk=abc") == "esphome://h/?noise_psk=REDACTED"
    assert redact_uri("socket://bridge:8899") == "socket://bridge:8899"
    assert redact_uri("socket://bridge:8899?timeout=3") == "socket://bridge:8899?timeout=3"


class QueueingSerial:
    """serialx 1.7's AsyncSerial: write() only queues, drain() waits."""

    def __init__(self) -> None:
        """Nothing queued yet."""
        self.queued = b""
        self.drained = False

    def write(self, data: bytes) -> None:
        """Queue."""
        self.queued += data

    async def drain(self) -> None:
        """Wait for the buffer (here: note that it was asked)."""
        self.drained = True


class AwaitedSerial(QueueingSerial):
    """serialx 1.8+: write() is a coroutine that drains itself."""

    async def write(self, data: bytes) -> None:  # type: ignore[override]
        """Queue and drain."""
        self.queued += data


async def test_write_drains_where_write_only_queues() -> None:
    """Both shapes of write() end with the bytes handed to the port."""
    old, new = QueueingSerial(), AwaitedSerial()
    await write(old, b"/?!\r\n")  # type: ignore[arg-type]
    await write(new, b"/?!\r\n")  # type: ignore[arg-type]
    assert old.queued == new.queued == b"/?!\r\n"
    assert old.drained
    assert not new.drained


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    """A pty pair: the master's descriptor and the slave's path."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    yield master, path
    os.close(master)


async def test_the_installed_serialx_switches_a_tty(pty: tuple[int, str]) -> None:
    """The real switch on the installed serialx: the tty's rate follows (a pty keeps CS8)."""
    master, path = pty
    serial = serialx.async_serial_for_url(
        path, baudrate=9600, byte_size=8, parity=serialx.Parity.NONE, stopbits=serialx.StopBits.ONE
    )
    await serial.open()
    try:
        assert termios.tcgetattr(master)[4] == termios.B9600
        await reconfigure(
            serial, baudrate=19200, byte_size=8, parity=serialx.Parity.NONE, stopbits=serialx.StopBits.TWO
        )
        attributes = termios.tcgetattr(master)
        assert attributes[4] == attributes[5] == termios.B19200
        assert attributes[2] & termios.CSTOPB
        await write(serial, b"ACK")
        assert os.read(master, 16) == b"ACK"
    finally:
        await serial.close()


async def test_the_installed_serialx_switches_a_tty_from_the_event_loop(pty: tuple[int, str]) -> None:
    """``tty_switch`` gives the link one blocking call that changes the rate at once."""
    master, path = pty
    serial = serialx.async_serial_for_url(
        path, baudrate=9600, byte_size=8, parity=serialx.Parity.NONE, stopbits=serialx.StopBits.ONE
    )
    await serial.open()
    try:
        apply = tty_switch(
            serial, baudrate=4800, byte_size=8, parity=serialx.Parity.NONE, stopbits=serialx.StopBits.ONE
        )
        assert termios.tcgetattr(master)[4] == termios.B9600, "nothing happens before the call"
        apply()
        assert termios.tcgetattr(master)[4] == termios.B4800
    finally:
        await serial.close()


class OldSettings:
    """The serial object of a serialx before 1.11: settings in attributes, ``configure_port`` applies."""

    def __init__(self, fileno: int | None) -> None:
        """A tty (``fileno``) or a network port (``None``)."""
        self._fileno = fileno
        self.applied: list[tuple[Any, ...]] = []

    def configure_port(self) -> None:
        """Apply the stored settings."""
        self.applied.append((self._baudrate, self._byte_size, self._parity, self._stopbits))  # type: ignore[attr-defined]


class OldTransport:
    """A transport of a serialx before 1.11."""

    def __init__(self, settings: OldSettings) -> None:
        """Around ``settings``."""
        self.serial = settings


class OldBridgeTransport(OldTransport):
    """rfc2217:// before 1.11: the transport sends the settings to the access server."""

    def __init__(self, settings: OldSettings, reply_after: float) -> None:
        """The server confirms after ``reply_after`` seconds."""
        super().__init__(settings)
        self.reply_after = reply_after

    async def _configure_port(self) -> None:
        await asyncio.sleep(self.reply_after)
        self.serial.configure_port()


class OldSerial:
    """AsyncSerial before 1.11: no ``reconfigure_port``."""

    def __init__(self, transport: OldTransport) -> None:
        """Around ``transport``."""
        self.transport = transport


SETTINGS = {"baudrate": 9600, "byte_size": 7, "parity": serialx.Parity.EVEN, "stopbits": serialx.StopBits.ONE}
APPLIED = (9600, 7, serialx.Parity.EVEN, serialx.StopBits.ONE)


async def test_before_1_11_a_tty_is_configured_in_the_executor() -> None:
    """The stored settings are replaced and applied once, off the event loop."""
    settings = OldSettings(fileno=7)
    await reconfigure(OldSerial(OldTransport(settings)), **SETTINGS)  # type: ignore[arg-type]
    assert settings.applied == [APPLIED]


async def test_before_1_11_a_bridge_gets_the_settings_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """rfc2217:// awaits the server's confirmation, but not for ever."""
    settings = OldSettings(fileno=None)
    await reconfigure(OldSerial(OldBridgeTransport(settings, 0)), **SETTINGS)  # type: ignore[arg-type]
    assert settings.applied == [APPLIED]
    monkeypatch.setattr(serialx_compat, "_BRIDGE_REPLY_TIMEOUT", 0.05)
    with pytest.raises(TimeoutError):
        await reconfigure(OldSerial(OldBridgeTransport(OldSettings(None), 5)), **SETTINGS)  # type: ignore[arg-type]


async def test_before_1_11_other_ports_say_which_serialx_can() -> None:
    """An ESPHome proxy on an old serialx: a typed error naming the version that can, nothing changed."""
    settings = OldSettings(fileno=None)
    with pytest.raises(RateSwitchUnsupportedError, match=r"serialx .* cannot change .*1\.11\.0 or newer"):
        await reconfigure(OldSerial(OldTransport(settings)), **SETTINGS)  # type: ignore[arg-type]
    assert not hasattr(settings, "_baudrate")
    assert isinstance(RateSwitchUnsupportedError("x"), serialx.SerialException)
