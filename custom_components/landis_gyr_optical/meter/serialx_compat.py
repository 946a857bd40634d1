"""What the link needs from serialx, on every release a supported Home Assistant pins.

Home Assistant installs requirements under its own constraints, and from 2026.5 on it pins
serialx: 1.7.0 (2026.5), 1.8.0 (2026.6), 1.9.0 (2026.9), 1.11.0 (2026.10), 1.15.1 (2026.11).
Three things the link uses arrived after 1.7.0:

- ``AsyncSerial.write`` is a coroutine from 1.8.0 on; in 1.7.0 it only queues the bytes.
- ``AsyncSerial.reconfigure_port`` exists from 1.11.0 on. Before it, a port's settings live
  on the transport's serial object and are applied by its ``configure_port`` (a local tty:
  one ``tcsetattr`` and a flush, the same calls 1.11's ``reconfigure_port`` makes) or, for
  ``rfc2217://``, by the transport's ``_configure_port`` coroutine. Those releases are frozen,
  so the names used here cannot move under us; the serialx matrix in ``scripts/test`` runs the
  link tests on each of them.
- ``serialx.redact_uri`` exists from 1.12.0 on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import functools
from importlib.metadata import PackageNotFoundError, version
import inspect
from typing import Any, Final
from urllib.parse import unquote_plus

import serialx


def _installed_version() -> str:
    try:
        return version("serialx")
    except PackageNotFoundError:  # pragma: no cover - serialx imported from a source tree
        return "unknown"


SERIALX_VERSION: Final = _installed_version()

_SECRET_QUERY_NAMES: Final = frozenset({"key", "password", "noise_psk"})
"""URL parameters that carry credentials (an ESPHome API key, a bridge password)."""

_BRIDGE_REPLY_TIMEOUT: Final = 5.0
"""How long an access server may take to confirm new settings (serialx's own connect timeout)."""


class RateSwitchUnsupportedError(serialx.SerialException):
    """This serialx cannot change the settings of an open port of this kind."""


def redact_uri(port: str) -> str:
    """Return ``port`` with the values of credential parameters replaced."""
    redact = getattr(serialx, "redact_uri", None)
    if redact is not None:
        return str(redact(port))
    rest, hash_sign, fragment = port.partition("#")
    base, question_mark, query = rest.partition("?")
    if not query:
        return port
    pairs = []
    for pair in query.split("&"):
        name = pair.partition("=")[0]
        pairs.append(f"{name}=REDACTED" if unquote_plus(name.strip()) in _SECRET_QUERY_NAMES else pair)
    return f"{base}{question_mark}{'&'.join(pairs)}{hash_sign}{fragment}"


async def write(serial: serialx.AsyncSerial, data: bytes) -> None:
    """Hand ``data`` to the port and wait until serialx's write buffer has taken it."""
    queued: Awaitable[None] | None = serial.write(data)
    if inspect.isawaitable(queued):
        await queued
    else:  # serialx 1.7: write() only queues
        await serial.drain()


def tty_switch(
    serial: serialx.AsyncSerial,
    *,
    baudrate: int,
    byte_size: int,
    parity: serialx.Parity,
    stopbits: serialx.StopBits,
) -> Callable[[], None]:
    """Return the blocking call that gives an open local tty new settings (one ``tcsetattr``).

    The caller chooses where it runs: the link makes a rate switch in the event loop, at
    its moment (``Link.switch``); ``reconfigure`` runs it in the executor.
    """
    port: Any = serial.transport.serial
    if hasattr(port, "reconfigure_port"):  # 1.11 and newer: the serial object's own call
        return functools.partial(
            port.reconfigure_port, baudrate=baudrate, byte_size=byte_size, parity=parity, stopbits=stopbits
        )

    def apply() -> None:
        _store_settings(port, baudrate=baudrate, byte_size=byte_size, parity=parity, stopbits=stopbits)
        port.configure_port()

    return apply


async def reconfigure(
    serial: serialx.AsyncSerial,
    *,
    baudrate: int,
    byte_size: int,
    parity: serialx.Parity,
    stopbits: serialx.StopBits,
) -> None:
    """Change rate and framing of the open port."""
    if hasattr(serial, "reconfigure_port"):
        await serial.reconfigure_port(
            baudrate=baudrate, byte_size=byte_size, parity=parity, stopbits=stopbits
        )
        return
    transport: Any = serial.transport
    settings: Any = transport.serial
    bridge_configure = getattr(transport, "_configure_port", None)  # rfc2217:// before 1.11
    if isinstance(getattr(settings, "_fileno", None), int):
        apply = tty_switch(serial, baudrate=baudrate, byte_size=byte_size, parity=parity, stopbits=stopbits)
        await asyncio.get_running_loop().run_in_executor(None, apply)
        return
    if bridge_configure is None or not inspect.iscoroutinefunction(bridge_configure):
        raise RateSwitchUnsupportedError(
            f"serialx {SERIALX_VERSION} cannot change the rate of an open {type(settings).__name__}"
            " port; serialx 1.11.0 or newer can (Home Assistant 2026.10 or newer)"
        )
    _store_settings(settings, baudrate=baudrate, byte_size=byte_size, parity=parity, stopbits=stopbits)
    # serialx before 1.11 waits for each reply of the access server without a bound.
    async with asyncio.timeout(_BRIDGE_REPLY_TIMEOUT):
        await bridge_configure()


def _store_settings(
    settings: Any, *, baudrate: int, byte_size: int, parity: serialx.Parity, stopbits: serialx.StopBits
) -> None:
    """Where the releases before 1.11 keep the settings that ``configure_port`` applies."""
    settings._baudrate = baudrate  # noqa: SLF001
    settings._byte_size = byte_size  # noqa: SLF001
    settings._parity = parity  # noqa: SLF001
    settings._stopbits = stopbits  # noqa: SLF001
