"""``rfc2217://`` through the bridges people run: ser2net and pyserial's RFC 2217 server.

serialx (1.7.0 up to 1.15.1 at least) ends its RFC 2217 handshake with SET-MODEMSTATE-MASK
(255) and SET-LINESTATE-MASK (0) and waits for each to be confirmed. Debian 12's ser2net
4.3.11 answers the first with NOTIFY-MODEMSTATE only, pyserial 3.5's server keeps both masks
and answers nothing, so without help every open waits out serialx's 5 s connect timeout.

``TolerantRfc2217Transport`` leaves the two mask requests out: 255 and 0 are the values the
servers start with, and the link never asks for modem or line state. Every other request
(rate, data bits, parity, stop bits, flow control, purge) is still confirmed, within the
connect timeout; serialx would wait for those without a bound after the open, which would
let a rate switch hang on a bridge that stopped answering.

The transport is chosen per URL through ``transport_cls`` of ``serialx.async_serial_for_url``;
nothing is registered with serialx, so other serialx users in the same process keep its own
``rfc2217://`` handler. It overrides one private coroutine, ``_send_and_wait``; the tests
against a scripted server and against ser2net and pyserial notice when serialx renames it.
"""

from __future__ import annotations

import asyncio
from typing import Final

import serialx
from serialx.platforms.serial_rfc2217 import RFC2217SerialTransport
from serialx.platforms.serial_rfc2217.types import Rfc2217Command, SetLinestateMaskCmd, SetModemstateMaskCmd

SCHEME: Final = "rfc2217://"
REPLY_TIMEOUT: Final = 5.0
"""Seconds a confirmation may take when serialx has no connect timeout to go by."""
_UNCONFIRMED: Final = (SetModemstateMaskCmd, SetLinestateMaskCmd)


class TolerantRfc2217Transport(RFC2217SerialTransport):
    """serialx's RFC 2217 transport without the state-mask requests servers do not confirm."""

    async def _send_and_wait(self, cmd: Rfc2217Command) -> Rfc2217Command:
        if isinstance(cmd, _UNCONFIRMED):
            return cmd
        timeout = self._reply_timeout()
        try:
            async with asyncio.timeout(timeout):
                return await super()._send_and_wait(cmd)
        except TimeoutError as err:
            raise serialx.SerialException(
                f"the RFC 2217 server did not confirm {type(cmd).__name__} within {timeout:g} s"
            ) from err

    def _reply_timeout(self) -> float:
        timeout = getattr(self._serial, "_connect_timeout", None)
        return float(timeout) if isinstance(timeout, int | float) and timeout > 0 else REPLY_TIMEOUT


def transport_for(port: str) -> type[serialx.BaseSerialTransport] | None:
    """Return the transport for ``port``: the tolerant one for ``rfc2217://``, else serialx's choice."""
    return TolerantRfc2217Transport if port.lower().startswith(SCHEME) else None
