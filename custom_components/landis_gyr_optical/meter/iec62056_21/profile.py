"""The IEC 62056-21 load profile ``P.01`` as L+G, EMH and Metcom meters print it.

A read answers with blocks. Each block starts with a header line::

    P.01(ZYYMMDDhhmm)(status)(period)(n)(code 1)(unit 1)...(code n)(unit n)

followed by one line per interval, ``(value 1)...(value n)``. The header's time stamp is
the end of the block's first interval; each further line ends ``period`` minutes later.
The meter starts a new block whenever the sequence breaks (power failure, clock set,
season change), so the time between two blocks without lines is a gap and stays one.

The time stamp is ``YYMMDDhhmm`` with an optional leading season digit (``0`` normal
time, ``1`` summer time, ``2`` UTC) and optional seconds: 10 to 13 digits. The status is
the meter's hexadecimal status word (2 digits at L+G and Metcom, 8 at EMH); it is kept
as printed and not interpreted, because its bits are manufacturer specific; it belongs to
the block, so every interval of a block carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
import re

from ..errors import ProfileUnavailableError, ProtocolError
from ..load_profile import Interval, LoadProfile, Season
from ..obis import ELECTRICITY, ObisCode
from ..registers import Value, normalise_unit

PROFILE_CODE = "P.01"
MAX_PERIOD_MINUTES = 1440
_SEASONS = {"0": Season.NORMAL, "1": Season.SUMMER, "2": Season.UTC}
_SEASON_DIGITS = {season: digit for digit, season in _SEASONS.items()}
_FIELDS = re.compile(r"\(([^()]*)\)")
_TIME = re.compile(r"(?P<season>[0-2])?(?P<stamp>[0-9]{10})(?P<seconds>[0-9]{2})?\Z")
_STATUS = re.compile(r"[0-9A-Fa-f]{1,8}\Z")
_ERROR = re.compile(r"^(?:P\.01)?\(\s*(?:ERROR|ER[0-9A-Za-z]*)[^()]*\)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Header:
    first_end: datetime
    season: Season | None
    status: str
    period: int
    channels: tuple[tuple[ObisCode, str | None], ...]


def parse_time(text: str) -> tuple[datetime, Season | None]:
    """Parse ``[Z]YYMMDDhhmm[ss]``; the century is 20xx (IEC 62056-21 clocks print two digits)."""
    match = _TIME.match(text.strip())
    if match is None:
        raise ProtocolError(f"not a load profile time stamp: {text!r}")
    stamp = match["stamp"] + (match["seconds"] or "00")
    try:
        moment = datetime.strptime("20" + stamp, "%Y%m%d%H%M%S")
    except ValueError as err:
        raise ProtocolError(f"not a valid date and time: {text!r}") from err
    season = _SEASONS[match["season"]] if match["season"] is not None else None
    return moment, season


def format_time(moment: datetime, season: Season | None = None) -> str:
    """Return ``[Z]YYMMDDhhmm`` for a request (the season digit only when it is known)."""
    digit = "" if season is None else _SEASON_DIGITS[season]
    return digit + moment.strftime("%y%m%d%H%M")


def profile_request(start: datetime | None, end: datetime | None, season: Season | None = None) -> str:
    """Return the data set of a read: ``P.01(from;to)``; an open end stays empty."""
    first = "" if start is None else format_time(start, season)
    last = "" if end is None else format_time(end, season)
    return f"{PROFILE_CODE}({first};{last})"


def parse_profile(data: bytes | str, *, medium: int = ELECTRICITY) -> LoadProfile:
    """Parse the data of a ``P.01`` answer (the text between STX and ETX).

    Raises ``ProfileUnavailableError`` when the meter answered with an error instead of a
    profile, and ``ProtocolError`` (with the line number) for anything malformed.
    """
    text = data.decode("ascii", "strict") if isinstance(data, bytes) else data
    raw = text.encode("ascii")
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line and line != "!"]
    if lines in (["()"], [f"{PROFILE_CODE}()"]):
        lines = []
    if len(lines) == 1 and _ERROR.match(lines[0]):
        raise ProfileUnavailableError(f"the meter answered the load profile request with {lines[0]}")
    intervals: list[Interval] = []
    header: _Header | None = None
    index = 0
    for number, line in enumerate(lines, start=1):
        if line.startswith(PROFILE_CODE):
            header = _parse_header(line, number, medium)
            index = 0
            continue
        if header is None:
            raise ProtocolError(f"load profile line {number} comes before any P.01 header: {line!r}")
        intervals.append(_parse_values(line, number, header, index))
        index += 1
    return LoadProfile(tuple(intervals), raw=raw)


def _fields(line: str, start: int, number: int) -> list[str]:
    rest = line[start:]
    fields = _FIELDS.findall(rest)
    if _FIELDS.sub("", rest).strip():
        raise ProtocolError(f"load profile line {number} is not a list of bracketed fields: {line!r}")
    return fields


def _parse_header(line: str, number: int, medium: int) -> _Header:
    fields = _fields(line, len(PROFILE_CODE), number)
    if len(fields) < 4:
        raise ProtocolError(f"load profile header on line {number} is too short: {line!r}")
    first_end, season = parse_time(fields[0])
    status = fields[1].strip()
    if not _STATUS.match(status):
        raise ProtocolError(f"load profile status {status!r} on line {number} is not hexadecimal")
    try:
        minutes, count = int(fields[2]), int(fields[3])
    except ValueError as err:
        raise ProtocolError(f"load profile period or channel count on line {number} is not a number") from err
    if not 0 < minutes <= MAX_PERIOD_MINUTES:
        raise ProtocolError(f"load profile period of {minutes} minutes on line {number}")
    if count < 1 or len(fields) != 4 + 2 * count:
        raise ProtocolError(
            f"load profile header on line {number} announces {count} channels but lists "
            f"{(len(fields) - 4) / 2:g}"
        )
    channels = tuple(
        (
            ObisCode.parse(fields[4 + 2 * channel], medium=medium),
            normalise_unit(fields[5 + 2 * channel]) or None,
        )
        for channel in range(count)
    )
    return _Header(first_end, season, status.upper(), minutes * 60, channels)


def _parse_values(line: str, number: int, header: _Header, index: int) -> Interval:
    fields = _fields(line, 0, number)
    if len(fields) != len(header.channels):
        raise ProtocolError(
            f"load profile line {number} has {len(fields)} values, its header announces {len(header.channels)}"
        )
    values: dict[ObisCode, Value] = {}
    for (obis, unit), field_text in zip(header.channels, fields, strict=True):
        value = Value.parse(field_text)
        if value.value is not None and not isinstance(value.value, Decimal):
            raise ProtocolError(f"load profile line {number}: {field_text!r} is not a number")
        values[obis] = Value(value.value, value.unit or unit)
    end = header.first_end + timedelta(seconds=header.period * index)
    return Interval(end=end, period=header.period, status=header.status, values=values, season=header.season)


__all__ = ["PROFILE_CODE", "format_time", "parse_profile", "parse_time", "profile_request"]
