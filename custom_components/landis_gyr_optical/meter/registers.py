"""Readings in one shape for every protocol: a register is an OBIS code with its values.

A value is a ``Decimal`` with its unit, a text, or empty; units are normalised here, once,
whichever protocol delivered them (IEC 62056-21 text, DLMS/COSEM, SML, E-Redes HAN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import re

from .obis import ObisCode

# Units as meters print them (case varies: ``kwh`` occurs), mapped to the spelling Home
# Assistant's unit constants use.
_UNITS: dict[str, str] = {
    "wh": "Wh",
    "kwh": "kWh",
    "mwh": "MWh",
    "w": "W",
    "kw": "kW",
    "mw": "MW",
    "varh": "varh",
    "kvarh": "kvarh",
    "mvarh": "Mvarh",
    "var": "var",
    "kvar": "kvar",
    "vah": "VAh",
    "kvah": "kVAh",
    "va": "VA",
    "kva": "kVA",
    "v": "V",
    "kv": "kV",
    "a": "A",
    "ma": "mA",
    "hz": "Hz",
    "gj": "GJ",
    "mj": "MJ",
    "m3": "m³",
    "m3ph": "m³/h",
    "m3/h": "m³/h",
    "c": "°C",
    "*c": "°C",
    "°c": "°C",
    "k": "K",
    "deg": "°",
    "h": "h",
    "m": "min",
    "min": "min",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "%": "%",
}

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)\Z")


def normalise_unit(unit: str) -> str:
    """Return the canonical spelling of a unit; an unknown unit is kept as printed."""
    return _UNITS.get(unit.strip().lower(), unit.strip())


@dataclass(frozen=True, slots=True)
class Value:
    """One value of a data set: a number with its unit, a text, or empty."""

    value: Decimal | str | None
    unit: str | None = None

    @classmethod
    def parse(cls, text: str) -> Value:
        """Parse ``value*unit``, ``value`` or an empty value."""
        raw, _, unit = text.partition("*")
        raw = raw.strip()
        normalised = normalise_unit(unit) if unit.strip() else None
        if not raw:
            return cls(None, normalised)
        if _NUMBER.match(raw):
            number: Decimal | str = Decimal(raw.replace(",", "."))
        else:
            number = raw
        return cls(number, normalised)

    def encode(self) -> str:
        """Return ``value*unit`` as a meter would print it (never in exponent notation)."""
        if self.value is None:
            text = ""
        elif isinstance(self.value, Decimal):
            text = f"{self.value:f}"
        else:
            text = self.value
        return f"{text}*{self.unit}" if self.unit else text


@dataclass(frozen=True, slots=True)
class Register:
    """One data set: its OBIS code, the raw text between the brackets, and the values.

    ``timestamp`` is when the meter took the reading, where the data set says so: the
    capture time of an M-Bus sub-meter's reading, the moment of a maximum demand.
    """

    obis: ObisCode
    raw: str
    values: tuple[Value, ...]
    timestamp: datetime | None = None

    @property
    def value(self) -> Decimal | str | None:
        """The first value (the reading; further values are time stamps or parts)."""
        return self.values[0].value if self.values else None

    @property
    def unit(self) -> str | None:
        """The unit of the first value."""
        return self.values[0].unit if self.values else None

    @property
    def text(self) -> str:
        """The first value as printed, spaces trimmed (serial numbers keep leading zeros)."""
        return self.raw.split(")(")[0].split("&")[0].partition("*")[0].strip()


__all__ = ["Register", "Value", "normalise_unit"]
