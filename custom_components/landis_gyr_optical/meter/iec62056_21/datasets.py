"""Data sets of an IEC 62056-21 data block: ``address(value*unit)(value)...``.

One line may hold several data sets (heat meters), one data set several values
(maximum demand with its time stamp; ``&``-joined flow and return temperatures).
Values become ``Decimal`` where they are numbers, units are normalised here, once.

DSMR P1 adds two shapes: ``(time stamp)(value*unit)`` (an M-Bus sub-meter's reading and
when it was captured, a maximum demand and when it occurred), where the reading is the
value and the time stamp the register's ``timestamp``; and the DSMR 2.2/3 gas profile
``(time stamp)(status)(period)(count)(code)(unit)`` with the reading on the next line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
import re

from ..errors import ProtocolError
from ..obis import ELECTRICITY, HEAT, ObisCode
from ..registers import Register, Value

_ADDRESS = re.compile(r"[0-9A-Za-z][0-9A-Za-z.:*&-]*")
_MAX_VALUE_LENGTH = 1026
"""Longest ``(value)``: a DSMR 4 text message ``0-0:96.13.0`` holds up to 1024 characters."""
_TIME_STAMP = re.compile(r"([0-9]{12})([SW]?)\Z")
"""DSMR time stamp YYMMDDhhmmss, ``S`` summer (UTC+2) or ``W`` winter time (UTC+1)."""
_ZONES = {"S": timezone(timedelta(hours=2)), "W": timezone(timedelta(hours=1))}
_CODE_VALUE = re.compile(r"[0-9]+-[0-9]+:[0-9]+\.[0-9]+\.[0-9]+\Z")
"""A value that is itself an OBIS code (the captured object of a DSMR 2.2 gas profile)."""


def parse_data_block(block: bytes | str, *, medium: int = ELECTRICITY) -> list[Register]:
    """Parse every data set of a data block, in order.

    Line ends and padding are ignored, and so is everything from the end mark ``!`` on;
    anything else that is not a data
    set raises ``ProtocolError`` naming the offending text, since a readout that is only
    partly understood must not be taken for a complete one.
    """
    registers: list[Register] = []
    for line in _logical_lines(_text(block)):
        for register in _data_sets(line, medium):
            if register is None:
                # ``!`` ends the block; what follows (a P1 CRC, BCC remains in a dump) is not data.
                return registers
            registers.append(register)
    return registers


def parse_line(line: str, *, medium: int = ELECTRICITY) -> Iterator[Register]:
    """Parse the data sets of one line, up to a ``!``."""
    for register in _data_sets(line, medium):
        if register is None:
            return
        yield register


def _data_sets(line: str, medium: int) -> Iterator[Register | None]:
    """Yield the data sets of a line, then ``None`` if the line holds the end mark ``!``."""
    # A line may end in a stray backslash (Ultraheat UH50 readouts); it carries nothing.
    end = len(line.rstrip(" \t").removesuffix("\\"))
    position = _skip_blanks(line, 0)
    while position < end and line[position] != "!":
        match = _ADDRESS.match(line, position)
        if match is None or match.end() >= end or line[match.end()] != "(":
            raise ProtocolError(f"not a data set at {line[position : position + 24]!r}")
        obis = ObisCode.parse(match.group(), medium=medium)
        position = match.end()
        groups: list[str] = []
        while position < end and line[position] == "(":
            close = line.find(")", position + 1)
            if close < 0 or close - position > _MAX_VALUE_LENGTH:
                raise ProtocolError(f"unterminated value in {line[match.start() : match.start() + 40]!r}")
            groups.append(line[position + 1 : close])
            position = close + 1
        yield _register(obis, groups)
        position = _skip_blanks(line, position)
    if position < end:
        yield None


HEAT_ENERGY_UNITS = frozenset({"GJ", "MJ", "MWh", "kWh", "Wh"})
"""Units of heat energy (``6.8``); for electricity ``6.8`` would be reactive energy, in varh."""


def infer_medium(block: bytes | str, medium: int) -> int:
    """Return the medium of a readout's short codes: heat when its registers say so.

    The FLAG id tells only for manufacturers that make nothing but heat meters; a heat
    meter of another maker (Siemens 2WR5, Kamstrup Multical) shows itself by what it
    counts: heat energy as ``6.8`` in an energy unit, and the volume of water in m³.
    """
    if medium != ELECTRICITY:
        return medium
    try:
        registers = parse_data_block(block, medium=medium)
    except ProtocolError:
        return medium
    short = [register for register in registers if register.obis.a == ELECTRICITY and register.obis.b == 0]
    energy = any(register.obis.short == "6.8.0" and register.unit in HEAT_ENERGY_UNITS for register in short)
    volume = any(value.unit == "m³" for register in short for value in register.values)
    return HEAT if energy and volume else medium


def _register(obis: ObisCode, groups: list[str]) -> Register:
    """Build the register of one data set from the texts between its brackets."""
    raw = ")(".join(groups)
    stamp = _TIME_STAMP.match(groups[0].strip()) if groups else None
    if stamp is None and len(groups) > 2 and _CODE_VALUE.match(groups[1].strip()):
        return _profile(obis, groups)
    if stamp is None:
        values = tuple(Value.parse(part) for group in groups for part in group.split("&"))
        return Register(obis=obis, raw=raw, values=values)
    timestamp = parse_time_stamp(groups[0])
    if len(groups) >= 7 and _CODE_VALUE.match(groups[4].strip()):
        # DSMR 2.2/3 profile: the readings follow the code and the unit of the captured object.
        unit = groups[5].strip()
        readings = tuple(Value.parse(f"{group}*{unit}" if unit else group) for group in groups[6:])
        return Register(obis=obis, raw=raw, values=readings, timestamp=timestamp)
    rest = groups[1:] if len(groups) > 1 else groups
    values = tuple(Value.parse(part) for group in rest for part in group.split("&"))
    return Register(obis=obis, raw=raw, values=values, timestamp=timestamp)


def _profile(obis: ObisCode, groups: list[str]) -> Register:
    """Read a DSMR buffer ``(count)(code)...(time stamp)(value*unit)...``, newest entry first.

    The power failure log ``1-0:99.97.0`` and the e-MUCS peak history ``0-0:98.1.0`` list
    per entry one or two time stamps and the value: the values become the register's
    values (the first is the newest), its timestamp that of the newest entry.
    """
    entries = groups[1:]
    values = tuple(
        Value.parse(group)
        for group in entries
        if not _CODE_VALUE.match(group.strip()) and not _TIME_STAMP.match(group.strip())
    )
    stamps = [parse_time_stamp(group) for group in entries if _TIME_STAMP.match(group.strip())]
    per_entry = len(stamps) // len(values) if values else 0
    timestamp = stamps[per_entry - 1] if per_entry else None
    return Register(obis=obis, raw=")(".join(groups), values=values, timestamp=timestamp)


def parse_time_stamp(text: str) -> datetime | None:
    """Return a DSMR time stamp ``YYMMDDhhmmss[S|W]`` as a datetime, ``None`` if impossible.

    Meters fill an empty entry with a placeholder such as ``632525252525W``; that is no time.
    """
    match = _TIME_STAMP.match(text.strip())
    if match is None:
        return None
    digits, season = match.groups()
    try:
        moment = datetime.strptime(digits, "%y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=_ZONES[season]) if season else moment


def _logical_lines(text: str) -> Iterator[str]:
    """Yield the lines of a block, a line that starts with ``(`` joined to the one before.

    DSMR 2.2 and 3 meters print the gas reading on a line of its own after its profile.
    """
    pending: str | None = None
    for line in text.splitlines():
        if pending is not None and line.lstrip(" \t").startswith("("):
            pending += line.strip(" \t")
            continue
        if pending is not None:
            yield pending
        pending = line
    if pending is not None:
        yield pending


def _skip_blanks(line: str, position: int) -> int:
    while position < len(line) and line[position] in " \t":
        position += 1
    return position


def encode_data_block(registers: Iterable[tuple[str, str]]) -> bytes:
    """Encode ``(address, raw value)`` pairs as a data block, one data set per line."""
    return b"".join(f"{address}({raw})".encode("ascii") + b"\r\n" for address, raw in registers)


def _text(block: bytes | str) -> str:
    if isinstance(block, str):
        return block
    try:
        return block.decode("ascii")
    except UnicodeDecodeError as err:
        raise ProtocolError(
            f"non-ASCII bytes in the data block: {err.object[err.start : err.end]!r}"
        ) from err
