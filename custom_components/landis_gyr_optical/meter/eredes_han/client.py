"""Polling an E-Redes HAN port (RS-485, Modbus RTU, DEF-C44-509) over the serialx link.

One poll reads the registers of ``poll_addresses`` with function 0x04, in blocks of
consecutive addresses, and returns a ``Readout`` of normalised registers. Timing follows
what deployed readers found the meters need rather than the bare RTU minimum:
- a reply may take a long time to start (``response_timeout``, 2 s by default);
- requests are spaced by a pause (``request_pause``, about 1 s), which the community
  drivers keep because some meters stop answering when polled back to back.

Access: E-Redes sets which registers the HAN port may give out. A refused register answers
0x81; a block holding one fails as a whole, so the block is read again split along the
access groups (thresholds, reactive energy, per-phase values), and a refused group register
by register. What a read learned (refused and absent registers, phases) is a ``HanMap``:
later polls plan their blocks around it, and the config entry keeps it, so neither the
first poll after set-up nor one after a restart learns it again. When the active energy
import itself is refused the poll raises ``RegisterNotEnabledError``, whose message names
the registers to ask E-Redes to enable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
import logging
import time
from typing import Final

from ..errors import ChecksumError, MeterError, NoAnswerError, ProtocolError
from ..identity import MeterIdentity, printable_text
from ..line import Framing, LineSettings, wire_time
from ..link import Link, can_switch_rate, describe_port
from ..readout import Direction, Readout, TraceEntry
from ..registers import Register
from .learned import HanMap
from .modbus import (
    MAX_DATA,
    MAX_QUANTITY,
    ExceptionCode,
    ExceptionReply,
    Reply,
    ReplyReader,
    read_request,
)
from .registers import (
    BY_ADDRESS,
    ENERGY_IMPORT,
    MODELS,
    PROTOCOL,
    THREE_PHASE_PROBE,
    UNKNOWN_FLAG_ID,
    HanRegister,
    Phases,
    access_group,
    decode_block,
    lookup,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_BAUD: Final = 9600
DEFAULT_SLAVE: Final = 1
RESPONSE_TIMEOUT: Final = 2.0
"""Seconds a meter may take to start its reply (community readers settled on 1.5 to 2 s)."""
REQUEST_PAUSE: Final = 1.0
"""Silence between two requests, as the deployed community readers keep."""
FRAME_SLACK: Final = 0.5
"""Extra seconds for a reply to finish once started (gaps added by network bridges)."""
DRAIN_WINDOW: Final = 0.05
"""Silence that ends the discarding of a late reply after a failed request."""
RECHECK_POLLS: Final = 120
"""Polls after which refused and absent registers are asked for again (access may change)."""
FRAMINGS: Final = (Framing.EIGHT_N_ONE, Framing.EIGHT_N_TWO)
"""8N1 is the SPEC's framing; some ZIV and 2017-edition meters need two stop bits."""
BAUDS: Final = (9600, 19200)
"""9600 Bd is the SPEC's default; the meter can be configured to 19200 Bd (SPEC §4.3)."""

_COMMON: Final = (
    range(0x0001, 0x0007),  # clock, serial, model, firmware
    range(0x000B, 0x0012),  # active tariff, demand-control thresholds T1..T6
    range(0x0016, 0x001C),  # total +A/-A, reactive QI..QIV
    range(0x0026, 0x0034),  # +A and -A per rate 1..6 (with the rate totals between)
    (0x006C, 0x006D),  # voltage and current L1
    range(0x0079, 0x007C),  # active power +P/-P, power factor
    (0x007F,),  # frequency
    (0x00B4, 0x00B5),  # power-failure counters
)
_THREE_PHASE: Final = (
    range(0x001C, 0x0022),  # +A/-A per phase
    range(0x006E, 0x0079),  # V/I L2, L3, current sum, +P/-P per phase
    range(0x007C, 0x007F),  # power factor per phase
)


def poll_addresses(*, three_phase: bool) -> tuple[int, ...]:
    """Return the addresses one poll reads, in order."""
    groups = _COMMON + (_THREE_PHASE if three_phase else ())
    addresses = sorted({address for group in groups for address in group})
    return tuple(address for address in addresses if three_phase or BY_ADDRESS[address].phases is Phases.ANY)


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive objects read with one request."""

    registers: tuple[HanRegister, ...]

    @property
    def address(self) -> int:
        """First address."""
        return self.registers[0].address

    @property
    def quantity(self) -> int:
        """Number of objects (the request's quantity)."""
        return len(self.registers)

    @property
    def reply_size(self) -> int:
        """Data bytes of the reply: the objects, padded to an even length."""
        total = sum(register.size for register in self.registers)
        return total + total % 2

    def __str__(self) -> str:
        """``0x0016x6``."""
        return f"0x{self.address:04X}x{self.quantity}"


def split_refused(block: Block) -> list[Block]:
    """Where to look next when a block fails: its access groups, or its registers one by one.

    A block that spans several access groups is split along them (an access profile closes
    a kind of reading as a whole, so most groups then answer in one request); a refused
    block within one group is read register by register.
    """
    groups: list[list[HanRegister]] = []
    for register in block.registers:
        if groups and access_group(register.address) == access_group(groups[-1][-1].address):
            groups[-1].append(register)
        else:
            groups.append([register])
    if len(groups) == 1:
        return [Block((register,)) for register in block.registers]
    return [Block(tuple(group)) for group in groups]


def worst_case_requests(addresses: Iterable[int]) -> int:
    """Count the requests of a read that learns everything about ``addresses`` the hard way.

    The phase probe, then every block refused, every group of it refused, every register
    of those read alone.
    """
    total = 1
    for block in plan_blocks(addresses):
        total += 1
        if block.quantity > 1:
            parts = split_refused(block)
            total += len(parts) + sum(part.quantity for part in parts if part.quantity > 1)
    return total


def plan_blocks(addresses: Iterable[int]) -> list[Block]:
    """Group addresses into runs of consecutive ones that fit one reply."""
    blocks: list[Block] = []
    run: list[HanRegister] = []
    for register in lookup(sorted(set(addresses))):
        candidate = [*run, register]
        size = sum(item.size for item in candidate)
        if run and (
            register.address != run[-1].address + 1
            or len(candidate) > MAX_QUANTITY
            or size + size % 2 > MAX_DATA
        ):
            blocks.append(Block(tuple(run)))
            candidate = [register]
        run = candidate
    if run:
        blocks.append(Block(tuple(run)))
    return blocks


@dataclass(frozen=True, slots=True)
class HanSettings:
    """Line and timing of a HAN port; the defaults are the SPEC's (9600 8N1, slave 1)."""

    baud: int = DEFAULT_BAUD
    framing: Framing = Framing.EIGHT_N_ONE
    slave: int = DEFAULT_SLAVE
    response_timeout: float = RESPONSE_TIMEOUT
    request_pause: float = REQUEST_PAUSE
    retries: int = 1
    """Repeats of a request that got no answer or a corrupted one."""

    @property
    def line(self) -> LineSettings:
        """The serial line settings."""
        return LineSettings(self.baud, self.framing)

    def request_time(self) -> float:
        """Longest time one request can take: pause, reply start, the longest reply, slack."""
        reply = wire_time(MAX_DATA + 5, self.baud, self.framing.bits_per_character)
        return self.request_pause + self.response_timeout + reply + FRAME_SLACK


def read_time_limit(settings: HanSettings, *, framings: int = 1, bauds: int = 1) -> float:
    """Ceiling of one read that learns a meter's map, with every retry; follows the requests.

    A meter whose access profile refuses part of the map costs a request per refused
    register, so a fixed ceiling would end a slow but working first read. Line settings
    that find no meter fail at their first request; they add that request's retries.
    """
    one = settings.request_time() * (settings.retries + 1)
    requests = worst_case_requests(poll_addresses(three_phase=True))
    return one * (requests + framings * bauds - 1)


class RegisterNotEnabledError(ProtocolError):
    """The meter refuses (0x81) registers the integration needs: E-Redes must enable them."""

    key = "register_not_enabled"

    def __init__(self, registers: Sequence[HanRegister]) -> None:
        """Name the refused registers and what to ask E-Redes for."""
        self.registers = tuple(registers)
        names = ", ".join(register.label for register in self.registers)
        super().__init__(
            f"the meter refuses to give out {names} on its HAN port (exception 0x81, access denied). "
            "Ask E-Redes (Balcão Digital) to enable HAN access to these registers; after a long "
            "power cut or a change of contract holder they may have to enable it again."
        )


class NotHanMeterError(ProtocolError):
    """The device answers Modbus but has no E-Redes HAN energy register (0x02 at 0x0016)."""


LinkFactory = Callable[[str, LineSettings], Link]


class HanReader:
    """Polls one HAN meter; remembers its phases and the registers it refuses between polls."""

    def __init__(
        self,
        port: str,
        settings: HanSettings | None = None,
        *,
        known: HanMap | None = None,
        link_factory: LinkFactory = Link,
    ) -> None:
        """Prepare, starting from what earlier reads learned (``known``); nothing is opened yet."""
        self.port = port
        self.settings = settings or HanSettings()
        known = known or HanMap()
        self.three_phase: bool | None = known.three_phase
        """``None`` until a poll has probed voltage L2."""
        self.denied: set[int] = set(known.denied)
        """Addresses answered with 0x81 (access denied)."""
        self.absent: set[int] = set(known.absent)
        """Addresses answered with 0x02 (not on this meter)."""
        self.requests = 0
        """Requests sent in the last poll (retries included)."""
        self._link_factory = link_factory
        self._polls = 0
        self._idle_at = 0.0
        self._origin = 0.0
        self._trace: list[TraceEntry] = []
        self._raw = bytearray()

    def recheck(self) -> None:
        """Ask for refused and absent registers again at the next poll (access may have changed)."""
        self.denied.clear()
        self.absent.clear()

    @property
    def learned(self) -> HanMap:
        """What the reads so far learned about the meter."""
        return HanMap(self.three_phase, frozenset(self.denied), frozenset(self.absent))

    async def poll(self) -> Readout:
        """Open the port, read every register of the poll, close; return the readout."""
        self._polls += 1
        if self._polls % RECHECK_POLLS == 0:
            # Access profiles change (E-Redes opens registers on request): ask again.
            self.recheck()
        link = self._link_factory(self.port, self.settings.line)
        await link.open()
        try:
            return await self._poll(link)
        except MeterError as err:
            err.trace = tuple(self._trace)
            raise
        finally:
            await link.close()

    async def _poll(self, link: Link) -> Readout:
        self._origin = time.monotonic()
        self._idle_at = 0.0
        self._trace = []
        self._raw = bytearray()
        self.requests = 0
        if self.three_phase is None:
            self.three_phase = await self._detect_phases(link)
        # Energy import is always asked for: without it the readout is useless, and a refusal
        # must keep failing the poll (and keep its repair issue up) until access is granted.
        self.denied.discard(ENERGY_IMPORT)
        wanted = [
            address
            for address in poll_addresses(three_phase=self.three_phase)
            if address == ENERGY_IMPORT or (address not in self.denied and address not in self.absent)
        ]
        # The energy block goes first: if the access profile refuses it, nothing else matters.
        blocks = sorted(plan_blocks(wanted), key=lambda block: ENERGY_IMPORT not in _addresses(block))
        decoded: list[tuple[int, Register]] = []
        for block in blocks:
            decoded.extend(await self._read_block(link, block))
            if ENERGY_IMPORT in _addresses(block):
                self._check_energy_readable()
        decoded.sort(key=lambda item: item[0])
        return self._readout(tuple(register for _, register in decoded))

    def _check_energy_readable(self) -> None:
        if ENERGY_IMPORT in self.denied:
            refused = [BY_ADDRESS[address] for address in sorted(self.denied)]
            # Access as a whole is off (after a power cut, a change of contract holder): what
            # was refused says nothing about the profile to come, so it is all asked again.
            self.denied.clear()
            raise RegisterNotEnabledError(refused)
        if ENERGY_IMPORT in self.absent:
            raise NotHanMeterError(
                f"{describe_port(self.port)}: the device has no register 0x{ENERGY_IMPORT:04X} "
                "(active energy import); it is not an E-Redes HAN meter"
            )

    async def _detect_phases(self, link: Link) -> bool:
        register = BY_ADDRESS[THREE_PHASE_PROBE]
        answer = await self._transact(link, Block((register,)))
        if isinstance(answer, ExceptionReply):
            self._classify(answer, register)
            return False
        voltage = decode_block((register,), answer.data)[0].value
        return voltage is not None and not isinstance(voltage, str) and voltage > 0

    async def _read_block(self, link: Link, block: Block) -> list[tuple[int, Register]]:
        answer = await self._transact(link, block)
        if isinstance(answer, Reply):
            try:
                return self._decode(block, answer.data)
            except ProtocolError:
                if block.quantity == 1:
                    raise
                _LOGGER.debug("block %s did not decode; reading its registers one by one", block)
        elif block.quantity == 1:
            self._classify(answer, block.registers[0])
            return []
        else:
            self._note(f"block {block} refused ({answer.description}); splitting it")
        out: list[tuple[int, Register]] = []
        for part in split_refused(block):
            out.extend(await self._read_block(link, part))
            if ENERGY_IMPORT in _addresses(part):
                self._check_energy_readable()
        return out

    @staticmethod
    def _decode(block: Block, data: bytes) -> list[tuple[int, Register]]:
        out: list[tuple[int, Register]] = []
        registers = decode_block(block.registers, data)
        reported = [register for register in block.registers if register.obis is not None]
        for han, register in zip(reported, registers, strict=True):
            out.append((han.address, register))
        return out

    def _classify(self, answer: ExceptionReply, register: HanRegister) -> None:
        if answer.code == ExceptionCode.ACCESS_DENIED:
            self.denied.add(register.address)
        elif answer.code in (ExceptionCode.ILLEGAL_DATA_ADDRESS, ExceptionCode.ILLEGAL_DATA_VALUE):
            self.absent.add(register.address)
        else:
            raise ProtocolError(f"the meter answered {register.label} with exception {answer.description}")
        self._note(f"{register.label}: {answer.description}")

    async def _transact(self, link: Link, block: Block) -> Reply | ExceptionReply:
        """Send one request and return its reply, repeating it after silence or corruption."""
        request = read_request(self.settings.slave, block.address, block.quantity)
        last_error: MeterError | None = None
        for _attempt in range(self.settings.retries + 1):
            await _sleep_until(self._idle_at + self.settings.request_pause if self._idle_at else 0.0)
            try:
                answer = await self._exchange(link, request, block)
            except (NoAnswerError, ChecksumError, ProtocolError) as err:
                last_error = err
                self._note(f"request {block} failed: {err}")
                await self._drain(link)
                continue
            return answer
        assert last_error is not None
        raise last_error

    async def _exchange(self, link: Link, request: bytes, block: Block) -> Reply | ExceptionReply:
        self.requests += 1
        self._record(Direction.SENT, request, f"read {block}")
        tx_end = await link.write(request)
        self._idle_at = tx_end
        reader = ReplyReader(request)
        bits = link.line.framing.bits_per_character
        deadline = tx_end + self.settings.response_timeout
        started = False
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                got = bytes(reader.received)
                if got:
                    raise NoAnswerError(
                        f"{describe_port(self.port)}: the reply to {block} stopped after {len(got)} bytes "
                        f"({got[:32].hex(' ')})"
                    )
                raise NoAnswerError(
                    f"{describe_port(self.port)}: no answer from slave {self.settings.slave} at "
                    f"{link.line.baud} Bd {link.line.framing} within {self.settings.response_timeout:g} s "
                    f"(request {block})"
                )
            data = await link.read(wait)
            if not data:
                continue
            now = time.monotonic()
            self._idle_at = now
            self._raw += data
            self._record(Direction.RECEIVED, data)
            if not started:
                started = True
                deadline = now + wire_time(block.reply_size + 5, link.line.baud, bits) + FRAME_SLACK
            reader.receive_data(data)
            event = reader.next_event()
            if isinstance(event, (Reply, ExceptionReply)):
                return event

    async def _drain(self, link: Link) -> None:
        """Discard a late or broken reply so it cannot be taken for the next one."""
        limit = time.monotonic() + FRAME_SLACK
        while time.monotonic() < limit:
            data = await link.read(DRAIN_WINDOW)
            if not data:
                break
            self._record(Direction.RECEIVED, data, "discarded")
        self._idle_at = time.monotonic()

    def _record(self, direction: Direction, data: bytes, note: str = "") -> None:
        self._trace.append(
            TraceEntry(time.monotonic() - self._origin, direction, data, self.settings.baud, note)
        )

    def _note(self, note: str) -> None:
        _LOGGER.debug("%s: %s", describe_port(self.port), note)
        self._record(Direction.LINE, b"", note)

    def _readout(self, registers: tuple[Register, ...]) -> Readout:
        by_code = {str(register.obis): register for register in registers}
        model_register = by_code.get("0-0:96.1.1")
        firmware = by_code.get("1-0:0.2.0")
        flag_id = UNKNOWN_FLAG_ID
        model_text = "E-Redes HAN meter"
        model_code: int | None = None
        if model_register is not None and len(model_register.values) >= 2:
            code = model_register.values[1].value
            if isinstance(code, Decimal):
                model_code = int(code)
                info = MODELS.get(model_code)
                if info is not None:
                    flag_id = info.flag_id
            model_text = model_register.text
        identity = MeterIdentity(
            flag_id=flag_id,
            model=printable_text(model_text, replacement="?"),
            firmware=None if firmware is None else printable_text(firmware.text, replacement="?"),
            han_model_code=model_code,
        )
        return Readout(
            identity=identity,
            registers=registers,
            protocol=PROTOCOL,
            baud=self.settings.baud,
            checksum="crc16",
            raw=bytes(self._raw),
            trace=tuple(self._trace),
            timings={"done": time.monotonic() - self._origin},
        )


def _addresses(block: Block) -> set[int]:
    return {register.address for register in block.registers}


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def read_eredes(
    port: str,
    settings: HanSettings | None = None,
    *,
    known: HanMap | None = None,
    link_factory: LinkFactory = Link,
) -> Readout:
    """Poll a HAN meter once (a fresh ``HanReader``, starting from ``known`` if given)."""
    return await HanReader(port, settings, known=known, link_factory=link_factory).poll()


@dataclass(frozen=True, slots=True)
class HanFound:
    """What ``probe_eredes`` found: the line settings that work, the readout, the map learned."""

    settings: HanSettings
    readout: Readout
    learned: HanMap


def line_candidates(port: str, settings: HanSettings) -> list[HanSettings]:
    """Line settings to try, the given ones first: 8N1 and 8N2, at 9600 and 19200 Bd.

    On a raw TCP bridge rate and framing are the bridge's, so only the given ones are tried.
    """
    if not can_switch_rate(port):
        return [settings]
    bauds = [settings.baud, *(baud for baud in BAUDS if baud != settings.baud)]
    framings = [settings.framing, *(framing for framing in FRAMINGS if framing is not settings.framing)]
    return [replace(settings, baud=baud, framing=framing) for baud in bauds for framing in framings]


async def probe_eredes(
    port: str,
    settings: HanSettings | None = None,
    *,
    known: HanMap | None = None,
    link_factory: LinkFactory = Link,
) -> HanFound:
    """Find the line a HAN meter answers on: 8N1 (the SPEC's), then 8N2 (ZIV, 2017 edition), at 9600 Bd, then 19200.

    Returns the settings that worked, the first readout and what it learned. A meter that
    answers but refuses registers raises at once (``RegisterNotEnabledError``); it is the
    right line.
    """
    base = settings or HanSettings()
    candidates = line_candidates(port, base)
    errors: list[MeterError] = []
    for attempt in candidates:
        reader = HanReader(port, attempt, known=known, link_factory=link_factory)
        try:
            readout = await reader.poll()
        except (NoAnswerError, ChecksumError) as err:
            _LOGGER.debug("%s: no HAN meter at %s: %s", describe_port(port), attempt.line, err)
            errors.append(err)
            continue
        return HanFound(attempt, readout, reader.learned)
    garbled = [err for err in errors if not isinstance(err, NoAnswerError)]
    if garbled:
        raise garbled[0]
    tried = ", ".join(f"{candidate.baud} Bd {candidate.framing}" for candidate in candidates)
    silence = NoAnswerError(
        f"{describe_port(port)}: no E-Redes HAN meter answered at {tried} "
        f"(slave {base.slave}); check the RS-485 wiring (A+ and B-) and that the HAN port is active"
    )
    # Every line tried, each with its own requests (their times count from that attempt's start).
    silence.trace = tuple(
        entry
        for candidate, err in zip(candidates, errors, strict=True)
        for entry in (
            *err.trace,
            TraceEntry(
                err.trace[-1].at if err.trace else 0.0,
                Direction.LINE,
                b"",
                candidate.baud,
                f"no HAN meter at {candidate.baud} Bd {candidate.framing}",
            ),
        )
    )
    raise silence from errors[-1]
