"""Data sets of an IEC 62056-21 data block: ``address(value*unit)(value)...``.

One line may hold several data sets (heat meters), one data set several values
(maximum demand with its time stamp; ``&``-joined flow and return temperatures).
Values become ``Decimal`` where they are numbers, units are normalised here, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import re

from ..errors import ProtocolError
from ..obis import ELECTRICITY, ObisCode
from ..registers import Register, Value

_ADDRESS = re.compile(r"[0-9A-Za-z][0-9A-Za-z.:*&-]*")
_MAX_VALUE_LENGTH = 128


def parse_data_block(block: bytes | str, *, medium: int = ELECTRICITY) -> list[Register]:
    """Parse every data set of a data block, in order.

    Line ends and padding are ignored, and so is everything from the end mark ``!`` on;
    anything else that is not a data
    set raises ``ProtocolError`` naming the offending text, since a readout that is only
    partly understood must not be taken for a complete one.
    """
    registers: list[Register] = []
    for line in _text(block).splitlines():
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
    end = len(line)
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
        values = tuple(Value.parse(part) for group in groups for part in group.split("&"))
        yield Register(obis=obis, raw=")(".join(groups), values=values)
        position = _skip_blanks(line, position)
    if position < end:
        yield None


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
