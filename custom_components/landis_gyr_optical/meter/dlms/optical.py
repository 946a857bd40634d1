"""What a DLMS optical port is asked, in which order, and what its refusals mean.

Landis+Gyr optical ports (ZMD, ZCX, E350 in DLMS mode) answer a client only at the server
address and in the referencing they were configured for, so a client that knows neither
tries them: server logical device 1 with a one-byte address, then with the physical
addresses 0, 16 and 17; the public client (16) with logical names, then short names.

A refusal of the public client's credentials (AARE diagnostic authentication-failure or
authentication-required) means the port is locked by the operator's access configuration:
nothing else the public client could try helps, so the search stops there. A password is
tried once only, with the management client (1): L+G ports lock out for 60 s or more after
a wrong one (E350 manual), so a second try would only prolong the lockout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..readout import Readout
from .association import (
    MANAGEMENT_CLIENT,
    PUBLIC_CLIENT,
    AssociationError,
    Referencing,
    describe_diagnostic,
)
from .hdlc import HdlcAddress

SERVER_ADDRESSES: Final = (
    HdlcAddress(1),
    HdlcAddress.server(1, 0),
    HdlcAddress.server(1, 16),
    HdlcAddress.server(1, 17),
)
"""Server addresses tried, the one-byte form first (what ZMD meters answer)."""
REFERENCINGS: Final = (Referencing.LOGICAL_NAMES, Referencing.SHORT_NAMES)


@dataclass(frozen=True, slots=True)
class Association:
    """Who asks whom, how: server address, client SAP, referencing, password."""

    server: HdlcAddress
    client: int = PUBLIC_CLIENT
    referencing: Referencing = Referencing.LOGICAL_NAMES
    password: bytes | None = None

    def __str__(self) -> str:
        """``client 16 to server 1/17, short names``."""
        names = "logical names" if self.referencing is Referencing.LOGICAL_NAMES else "short names"
        secret = ", password" if self.password is not None else ""
        return f"client {self.client} to server {self.server}, {names}{secret}"


@dataclass(frozen=True, slots=True)
class Tried:
    """One association tried and what came of it."""

    association: Association
    outcome: str

    def __str__(self) -> str:
        """``client 16 to server 1, logical names: refused (authentication failure (13))``."""
        return f"{self.association}: {self.outcome}"


@dataclass(frozen=True, slots=True)
class OpticalResult:
    """The readout of the association that worked, and everything tried before it."""

    readout: Readout
    association: Association
    tried: tuple[Tried, ...]


def no_connection(server: HdlcAddress) -> str:
    """Outcome of an SNRM nobody answered."""
    return f"no answer to SNRM at server {server}"


def refusal(err: AssociationError) -> str:
    """Outcome of a refused AARQ."""
    return f"refused ({describe_diagnostic(err.diagnostic or 0)})"


class PublicClientRefusedError(AssociationError):
    """DLMS answers on the optical port but refuses the public client.

    With an authentication refusal the port is locked by the grid operator's access
    configuration: it gives no data without the operator's credentials.
    """

    def __init__(
        self, tried: Sequence[Tried], refused: AssociationError, identification: str | None = None
    ) -> None:
        """Keep what was tried and the refusal that ended the search."""
        attempts = "; ".join(str(entry) for entry in tried)
        super().__init__(
            f"the meter refuses the public client ({describe_diagnostic(refused.diagnostic or 0)}); "
            f"tried: {attempts}",
            diagnostic=refused.diagnostic,
            client=refused.client,
        )
        self.tried = tuple(tried)
        self.identification = identification


class PasswordRefusedError(AssociationError):
    """The meter refused the password (tried once; a second try would prolong a lockout)."""

    def __init__(self, tried: Sequence[Tried], refused: AssociationError) -> None:
        """Keep what was tried."""
        super().__init__(
            f"the meter refused the password of client {MANAGEMENT_CLIENT} "
            f"({describe_diagnostic(refused.diagnostic or 0)}); it is not tried again, as the "
            "port may lock out for a minute or more after a wrong password",
            diagnostic=refused.diagnostic,
            client=MANAGEMENT_CLIENT,
        )
        self.tried = tuple(tried)


__all__ = [
    "REFERENCINGS",
    "SERVER_ADDRESSES",
    "Association",
    "OpticalResult",
    "PasswordRefusedError",
    "PublicClientRefusedError",
    "Tried",
    "no_connection",
    "refusal",
]
