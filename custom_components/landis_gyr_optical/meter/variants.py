"""Every way a meter can be read, as one typed description, and one reader for all of them.

``Variant`` names the protocol (IEC 62056-21 modes, DLMS/COSEM push or pull, SML push,
E-Redes HAN, M-Bus heat meters); ``MeterConfig`` holds the variant and the settings that variant needs. The
config flow, the coordinator, the probe and the CLI all speak ``MeterConfig``, and
``MeterReader`` maps a variant onto its reader through two small tables (polled variants,
push variants), so no caller branches on the protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import ClassVar, Final

from .dlms.association import PUBLIC_CLIENT, AssociationError, Referencing
from .dlms.client import DLMS_BAUD, PullSettings, read_dlms_hdlc, read_dlms_mode_e, read_dlms_push
from .dlms.hdlc import HdlcAddress
from .dlms.optical import Association
from .eredes_han.client import BAUDS as HAN_BAUDS, HanReader, HanSettings
from .eredes_han.learned import HanMap
from .iec62056_21.client import RETRY_PAUSE, effective_settings, read_meter, run_session
from .iec62056_21.session import Protocol, SessionSettings
from .line import Framing, LineSettings
from .link import Link
from .mbus.client import read_mbus
from .mbus.session import BAUDS as MBUS_BAUDS, DEFAULT_BAUD as MBUS_BAUD, MbusSettings
from .readout import Readout
from .sml.client import SML_BAUD, read_sml_push

KEY_LENGTH: Final = 16
"""Bytes of an AES-128 key (32 hex digits)."""
DEFAULT_PUSH_TIMEOUT: Final = 30.0
"""Seconds to wait for one push before the meter counts as silent (pushes come every 1-15 s)."""
P1_BAUD: Final = 115200
"""Rate of a DSMR 4/5 P1 port (8N1), where the encrypted Smarty telegrams come."""
HAN_TIMING: Final = HanSettings()
"""Timing of HAN polls (response timeout, pause between requests, retries)."""
HDLC_REST: Final = 0.1
"""Silence after a DLMS/COSEM HDLC read before the next request on a shared line (after DISC)."""


class Variant(StrEnum):
    """The protocol a meter is read with."""

    MODE_A = "mode_a"
    MODE_B = "mode_b"
    MODE_C = "mode_c"
    MODE_D = "mode_d"
    DLMS_PUSH = "dlms_push"
    DLMS_MODE_E = "dlms_mode_e"
    DLMS_HDLC = "dlms_hdlc"
    SML = "sml"
    EREDES_HAN = "eredes_han"
    MBUS = "mbus"

    @property
    def push(self) -> bool:
        """Whether the meter sends by itself (the port is held open and listened to)."""
        return self in PUSH_VARIANTS

    @property
    def iec(self) -> bool:
        """Whether the variant is an IEC 62056-21 session (sign-on, or mode D push)."""
        return self in IEC_VARIANTS


IEC_VARIANTS: Final = frozenset({Variant.MODE_A, Variant.MODE_B, Variant.MODE_C, Variant.MODE_D})
PUSH_VARIANTS: Final = frozenset({Variant.MODE_D, Variant.DLMS_PUSH, Variant.SML})
DLMS_PULL_VARIANTS: Final = frozenset({Variant.DLMS_MODE_E, Variant.DLMS_HDLC})
PROFILE_VARIANTS: Final = frozenset({Variant.MODE_C, *DLMS_PULL_VARIANTS})
"""Variants whose load profile is read: mode C programming mode, the DLMS Profile Generic (pull)."""


class KeyFormatError(ValueError):
    """A key is not 32 hexadecimal digits."""


def parse_key(text: str | None) -> bytes | None:
    """Return the key given as 32 hex digits (spaces and colons allowed), ``None`` for none."""
    if text is None:
        return None
    cleaned = "".join(text.split()).replace(":", "").replace("-", "")
    if not cleaned:
        return None
    if len(cleaned) != 2 * KEY_LENGTH:
        raise KeyFormatError(f"a key has {2 * KEY_LENGTH} hexadecimal digits, not {len(cleaned)}")
    try:
        return bytes.fromhex(cleaned)
    except ValueError as err:
        raise KeyFormatError("a key holds only the digits 0-9 and A-F") from err


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """A variant and its settings: everything needed to read one meter again.

    Fields a variant does not use keep their defaults. ``framing`` is the sign-on framing
    of the IEC modes and the line framing of the HAN port (8N1 or 8N2); ``fixed_baud`` is a
    raw bridge's rate for the IEC modes and the HAN line's rate (9600 or 19200); ``slave`` is
    the HAN slave id, the DLMS server's logical address or the M-Bus primary address (254:
    whichever meter answers, the address of an optical head); ``han_map`` is what reads of a HAN
    meter learned (refused and absent registers, phases); ``server_physical``, ``dlms_client``
    and ``short_names`` complete the DLMS pull association (the server's physical address,
    the client SAP, short-name referencing). Secrets are kept out of ``repr``.
    """

    variant: Variant
    address: str = ""
    max_baud: int = 19200
    wake_up: bool = False
    framing: Framing = Framing.SEVEN_E_ONE
    fixed_baud: int | None = None
    software_parity: bool = False
    key: bytes | None = field(default=None, repr=False)
    authentication_key: bytes | None = field(default=None, repr=False)
    password: bytes | None = field(default=None, repr=False)
    slave: int = 1
    push_timeout: float = DEFAULT_PUSH_TIMEOUT
    han_map: HanMap | None = None
    server_physical: int | None = None
    dlms_client: int = PUBLIC_CLIENT
    short_names: bool = False

    @classmethod
    def for_association(cls, variant: Variant, association: Association, **fields: object) -> MeterConfig:
        """Describe a DLMS pull meter read with ``association`` (as found by the probe)."""
        return cls(
            variant,
            slave=association.server.logical,
            server_physical=association.server.physical,
            dlms_client=association.client,
            short_names=association.referencing is Referencing.SHORT_NAMES,
            password=association.password,
            **fields,  # type: ignore[arg-type]
        )

    @classmethod
    def from_session(cls, settings: SessionSettings, variant: Variant | None = None) -> MeterConfig:
        """Describe an IEC session's settings (the variant defaults to the session's protocol)."""
        if variant is None:
            variant = Variant(settings.protocol) if settings.protocol is not Protocol.AUTO else Variant.MODE_C
        return cls(
            variant=variant,
            address=settings.address,
            max_baud=settings.max_baud,
            wake_up=settings.wake_up,
            framing=settings.framing,
            fixed_baud=settings.fixed_baud,
            software_parity=settings.software_parity,
            push_timeout=settings.push_timeout,
        )

    @property
    def push(self) -> bool:
        """Whether the meter pushes."""
        return self.variant.push

    @property
    def ciphered_p1(self) -> bool:
        """Whether this is an encrypted P1 port (mode D with a key: Luxembourg Smarty)."""
        return self.variant is Variant.MODE_D and self.key is not None

    def session_settings(self) -> SessionSettings:
        """Return the IEC 62056-21 session settings of an IEC variant.

        An encrypted P1 port is a DSMR 5 port: 115200 Bd 8N1 unless a rate was chosen.
        """
        p1 = self.ciphered_p1 and self.fixed_baud is None
        return SessionSettings(
            protocol=Protocol(self.variant),
            address=self.address,
            max_baud=self.max_baud,
            wake_up=self.wake_up,
            framing=Framing.EIGHT_N_ONE if p1 else self.framing,
            fixed_baud=P1_BAUD if p1 else self.fixed_baud,
            software_parity=self.software_parity,
            push_timeout=self.push_timeout,
            key=self.key if self.ciphered_p1 else None,
            authentication_key=self.authentication_key if self.ciphered_p1 else None,
        )

    def han_settings(self) -> HanSettings:
        """Return the HAN poll settings (rate, framing, slave id) on top of ``HAN_TIMING``."""
        framing = (
            self.framing
            if self.framing in (Framing.EIGHT_N_ONE, Framing.EIGHT_N_TWO)
            else Framing.EIGHT_N_ONE
        )
        baud = self.fixed_baud if self.fixed_baud in HAN_BAUDS else HAN_TIMING.baud
        return replace(HAN_TIMING, baud=baud, framing=framing, slave=self.slave)

    def mbus_settings(self) -> MbusSettings:
        """Return how an M-Bus meter is read: primary address, rate (2400 Bd unless set), wake-up."""
        baud = self.fixed_baud if self.fixed_baud in MBUS_BAUDS else MBUS_BAUD
        return MbusSettings(address=self.slave, baud=baud, wake_up=self.wake_up)

    def pull_settings(self) -> PullSettings:
        """Return the DLMS pull client's settings (server and client address, referencing, password)."""
        return PullSettings(
            server=HdlcAddress.server(self.slave, self.server_physical),
            client=HdlcAddress(self.dlms_client),
            password=self.password,
            referencing=Referencing.SHORT_NAMES if self.short_names else Referencing.LOGICAL_NAMES,
        )

    def push_line(self, port: str) -> LineSettings:
        """Return the line a push variant listens on."""
        if self.variant is Variant.MODE_D:
            return effective_settings(port, self.session_settings()).initial_line
        return LineSettings(SML_BAUD if self.variant is Variant.SML else DLMS_BAUD, Framing.EIGHT_N_ONE)

    @property
    def line_rest(self) -> float:
        """Seconds the line stays silent after a read of this meter before the next request on it.

        Meters sharing a bus hear every other session, mostly at a rate they do not listen at.
        An IEC 62056-21 receiver drops what it collected after the inter-character timeout
        (1.5 s, the same silence as after a failed attempt, mode E included); a HAN meter
        keeps its pause between requests; an HDLC server is idle after DISC.
        """
        if self.variant is Variant.EREDES_HAN:
            return HAN_TIMING.request_pause
        if self.variant is Variant.DLMS_HDLC:
            return HDLC_REST
        return RETRY_PAUSE

    def describe(self) -> str:
        """Describe the variant neutrally: ``DLMS/COSEM push at 9600 Bd 8N1 (encrypted)``."""
        return _DESCRIPTIONS[self.variant](self)

    def cli_arguments(self) -> list[str]:
        """Return the CLI options that read the meter this way (secrets as placeholders)."""
        arguments = ["--protocol", str(self.variant)]
        if self.variant is Variant.MBUS:
            settings = self.mbus_settings()
            arguments += ["--slave", str(settings.address)]
            if settings.wake_up:
                arguments.append("--wake-up")
            if settings.baud != MBUS_BAUD:
                arguments += ["--baud", str(settings.baud)]
        if self.variant.iec:
            if self.address:
                arguments += ["--address", self.address]
            if self.wake_up:
                arguments.append("--wake-up")
            if self.software_parity:
                arguments.append("--software-parity")
        if self.key is not None:
            arguments += ["--key", "<key>"]
        if self.authentication_key is not None:
            arguments += ["--auth-key", "<key>"]
        if self.password is not None:
            arguments += ["--password", "<password>"]
        if (self.variant is Variant.EREDES_HAN or self.variant in DLMS_PULL_VARIANTS) and self.slave != 1:
            arguments += ["--slave", str(self.slave)]
        if self.variant is Variant.EREDES_HAN and self.framing is not Framing.EIGHT_N_ONE:
            arguments += ["--framing", str(self.framing)]
        if self.variant in DLMS_PULL_VARIANTS:
            if self.server_physical is not None:
                arguments += ["--physical", str(self.server_physical)]
            if self.dlms_client != PUBLIC_CLIENT:
                arguments += ["--client", str(self.dlms_client)]
            if self.short_names:
                arguments.append("--short-names")
        if self.variant is Variant.EREDES_HAN and self.han_settings().baud != HAN_TIMING.baud:
            arguments += ["--baud", str(self.han_settings().baud)]
        return arguments


_DESCRIPTIONS: Final[dict[Variant, Callable[[MeterConfig], str]]] = {
    Variant.MODE_A: lambda c: f"IEC 62056-21 mode A, sign-on at 300 Bd {c.framing}",
    Variant.MODE_B: lambda c: f"IEC 62056-21 mode B, sign-on at 300 Bd {c.framing}",
    Variant.MODE_C: lambda c: f"IEC 62056-21 mode C, sign-on at 300 Bd {c.framing}",
    Variant.MODE_D: lambda c: (
        f"IEC 62056-21 mode D push at {c.session_settings().initial_line.baud} Bd "
        f"{c.session_settings().framing}" + (" (encrypted)" if c.ciphered_p1 else "")
    ),
    Variant.DLMS_PUSH: lambda c: (
        f"DLMS/COSEM push at {DLMS_BAUD} Bd 8N1" + (" (encrypted)" if c.key is not None else "")
    ),
    Variant.DLMS_MODE_E: lambda c: "DLMS/COSEM over HDLC after an IEC 62056-21 mode E sign-on",
    Variant.DLMS_HDLC: lambda c: f"DLMS/COSEM over HDLC at {DLMS_BAUD} Bd 8N1",
    Variant.SML: lambda c: f"SML push at {SML_BAUD} Bd 8N1",
    Variant.EREDES_HAN: lambda c: (
        f"E-Redes HAN (Modbus RTU) at {c.han_settings().baud} Bd {c.han_settings().framing}, slave {c.slave}"
    ),
    Variant.MBUS: lambda c: (
        f"M-Bus heat meter at {c.mbus_settings().baud} Bd 8E1, address {c.slave}"
        + (", optical wake-up" if c.wake_up else "")
    ),
}

IecReader = Callable[..., Awaitable[Readout]]
LinkFactory = Callable[[str, LineSettings], Link]
IecListener = Callable[[Link, SessionSettings], Awaitable[Readout]]


class MeterReader:
    """Reads one configured meter the way its variant needs.

    Polled variants: ``poll()`` opens the port, reads and closes. A HAN meter keeps one
    ``HanReader`` so the registers it refuses or lacks are remembered between polls.
    Push variants: the caller holds a ``Link`` on ``line`` and calls ``listen(link)`` for
    each push. ``read_once()`` serves both (a test read). ``read_iec`` / ``listen_iec`` are
    the IEC 62056-21 drivers (replaceable, like ``HanReader``'s link factory). A poll gets
    its link from ``link_factory``: meters sharing a bus get one connection kept open
    between their reads.
    """

    def __init__(
        self,
        port: str,
        config: MeterConfig,
        *,
        read_iec: IecReader = read_meter,
        listen_iec: IecListener = run_session,
        retries: int = 2,
        link_factory: LinkFactory = Link,
    ) -> None:
        """Prepare; nothing is opened yet."""
        self.port = port
        self.config = config
        self.han = (
            HanReader(port, config.han_settings(), known=config.han_map, link_factory=link_factory)
            if config.variant is Variant.EREDES_HAN
            else None
        )
        self._link_factory = link_factory
        self._iec_read = read_iec
        self._iec_listen = listen_iec
        self._retries = retries
        self._password_refused: AssociationError | None = None

    @property
    def push(self) -> bool:
        """Whether the meter pushes."""
        return self.config.push

    @property
    def line(self) -> LineSettings:
        """The line a push variant listens on (the first line of a polled one)."""
        if self.push:
            return self.config.push_line(self.port)
        if self.config.variant.iec:
            return effective_settings(self.port, self.config.session_settings()).initial_line
        if self.config.variant is Variant.EREDES_HAN:
            return self.config.han_settings().line
        if self.config.variant is Variant.MBUS:
            return LineSettings(self.config.mbus_settings().baud, Framing.EIGHT_E_ONE)
        return LineSettings(DLMS_BAUD, Framing.EIGHT_N_ONE)

    def open_link(self) -> Link:
        """Return a link on the line the meter listens on (not yet open)."""
        return Link(self.port, self.line, software_parity=self.config.software_parity)

    async def poll(self) -> Readout:
        """Read a polled meter once."""
        return await self._POLLERS[self.config.variant](self)

    async def listen(self, link: Link) -> Readout:
        """Wait on the open ``link`` for the next verified push and return it."""
        return await self._LISTENERS[self.config.variant](self, link)

    async def read_once(self) -> Readout:
        """Poll, or open the port and wait for one push (the IEC driver listens to mode D itself)."""
        if self.config.variant.iec:
            return await self._poll_iec()
        if not self.push:
            return await self.poll()
        async with self.open_link() as link:
            return await self.listen(link)

    async def _poll_iec(self) -> Readout:
        return await self._iec_read(
            self.port, self.config.session_settings(), retries=self._retries, link_factory=self._link_factory
        )

    async def _poll_mode_e(self) -> Readout:
        config = self.config
        return await self._pull(
            read_dlms_mode_e(
                self.port,
                address=config.address,
                max_baud=config.max_baud,
                settings=config.pull_settings(),
                link_factory=self._link_factory,
            )
        )

    async def _poll_hdlc(self) -> Readout:
        return await self._pull(
            read_dlms_hdlc(self.port, settings=self.config.pull_settings(), link_factory=self._link_factory)
        )

    async def _pull(self, read: Awaitable[Readout]) -> Readout:
        """Run a DLMS pull read; a refused password is never sent again by this reader.

        Landis+Gyr optical ports lock out for 60 s or more after a wrong password: polling
        with it again would keep the port locked. The error stays until the entry is set up
        anew (reconfigured, or reloaded with another password).
        """
        if self._password_refused is not None:
            if asyncio.iscoroutine(read):
                read.close()
            raise self._password_refused
        try:
            return await read
        except AssociationError as err:
            if self.config.password is not None and err.authentication:
                self._password_refused = AssociationError(
                    f"{err}; the password is not sent again until the entry is reconfigured",
                    diagnostic=err.diagnostic,
                    client=err.client,
                )
            raise

    async def _poll_han(self) -> Readout:
        assert self.han is not None
        return await self.han.poll()

    async def _poll_mbus(self) -> Readout:
        return await read_mbus(self.port, replace(self.config.mbus_settings(), retries=self._retries))

    async def _listen_iec(self, link: Link) -> Readout:
        return await self._iec_listen(link, effective_settings(self.port, self.config.session_settings()))

    async def _listen_dlms(self, link: Link) -> Readout:
        config = self.config
        return await read_dlms_push(
            link, key=config.key, authentication_key=config.authentication_key, timeout=config.push_timeout
        )

    async def _listen_sml(self, link: Link) -> Readout:
        return await read_sml_push(link, timeout=self.config.push_timeout)

    _POLLERS: ClassVar[dict[Variant, Callable[[MeterReader], Awaitable[Readout]]]] = {
        Variant.MODE_A: _poll_iec,
        Variant.MODE_B: _poll_iec,
        Variant.MODE_C: _poll_iec,
        Variant.DLMS_MODE_E: _poll_mode_e,
        Variant.DLMS_HDLC: _poll_hdlc,
        Variant.EREDES_HAN: _poll_han,
        Variant.MBUS: _poll_mbus,
    }
    _LISTENERS: ClassVar[dict[Variant, Callable[[MeterReader, Link], Awaitable[Readout]]]] = {
        Variant.MODE_D: _listen_iec,
        Variant.DLMS_PUSH: _listen_dlms,
        Variant.SML: _listen_sml,
    }


__all__ = [
    "DLMS_PULL_VARIANTS",
    "IEC_VARIANTS",
    "PUSH_VARIANTS",
    "KeyFormatError",
    "MeterConfig",
    "MeterReader",
    "Variant",
    "parse_key",
]
