"""The records of an M-Bus heat meter as registers, with the codes its optical readout uses.

Value group A is 6 (heat), as in the IEC 62056-21 readouts of Ultraheat and 2WR5 meters,
so the same entities appear: ``6.8`` energy (kWh or GJ), ``6.26`` volume, ``6.6`` the
maximum power, ``6.33`` the maximum flow, ``9.4`` the maximum flow and return temperatures,
``6.31`` the operating hours (on time), ``6.32`` the fault hours (on time in error state),
``9.20`` the fabrication number. A storage number above 0 is the billing-period suffix
(``6.8.0*1``), a tariff the value group E where a meter gives several of one kind, a
subunit the value group B. The instantaneous values have no code in those readouts; they
take the heat codes of EN 13757-1 (value group C ``8`` power, ``9`` flow, ``10`` flow
temperature, ``11`` return temperature, ``12`` temperature difference, D ``0`` the current
value), which do not collide with the readouts' codes. The error flags (VIF ``FD 17``) are
``97.97``, the error register's code. The time stamp of a storage number is the meter's
date (type F or G) of that number.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from ..identity import MeterIdentity
from ..obis import HEAT, ObisCode
from ..registers import Register, Value
from ..submeters import DEVICE_TYPES, SubMeterKind
from .frames import MbusError
from .records import Function, Quantity, Record, Telegram

_ENERGY: Final = {"Wh": ("kWh", -3), "J": ("GJ", -9)}
_HOURS: Final = {"s": Decimal(1) / 3600, "min": Decimal(1) / 60, "h": Decimal(1), "d": Decimal(24)}
_CODES: Final[dict[tuple[Quantity, Function], tuple[str, str]]] = {
    (Quantity.ENERGY, Function.INSTANTANEOUS): ("6", "8"),
    (Quantity.VOLUME, Function.INSTANTANEOUS): ("6", "26"),
    (Quantity.POWER, Function.MAXIMUM): ("6", "6"),
    (Quantity.VOLUME_FLOW, Function.MAXIMUM): ("6", "33"),
    (Quantity.ON_TIME, Function.INSTANTANEOUS): ("6", "31"),
    (Quantity.ON_TIME, Function.ERROR_STATE): ("6", "32"),
    (Quantity.POWER, Function.INSTANTANEOUS): ("8", "0"),
    (Quantity.VOLUME_FLOW, Function.INSTANTANEOUS): ("9", "0"),
    (Quantity.FLOW_TEMPERATURE, Function.INSTANTANEOUS): ("10", "0"),
    (Quantity.RETURN_TEMPERATURE, Function.INSTANTANEOUS): ("11", "0"),
    (Quantity.TEMPERATURE_DIFFERENCE, Function.INSTANTANEOUS): ("12", "0"),
}
_TEMPERATURES: Final = (Quantity.FLOW_TEMPERATURE, Quantity.RETURN_TEMPERATURE)
_DATA_BYTES: Final = {0x1: 1, 0x2: 2, 0x3: 3, 0x4: 4, 0x6: 6, 0x7: 8}
"""Bytes of a binary integer by the DIF's data field: the width the error flags are shown in."""


class NotAHeatMeterError(MbusError):
    """An M-Bus meter whose medium is not heat: its records have no heat codes."""


def heat_medium(telegram: Telegram) -> int:
    """Value group A of the meter from its M-Bus medium byte: 6 for heat, else an error."""
    medium = telegram.header.medium
    if DEVICE_TYPES.get(medium) is not SubMeterKind.HEAT:
        raise NotAHeatMeterError(f"M-Bus medium 0x{medium:02X} is not a heat meter")
    return HEAT


def identity_of(telegram: Telegram) -> MeterIdentity:
    """Return the meter's identity: manufacturer letters, identification number and version."""
    header = telegram.header
    return MeterIdentity(
        flag_id=header.manufacturer,
        model=f"{header.manufacturer} {header.identification}",
        firmware=f"v{header.version}",
    )


def serial_of(telegram: Telegram) -> str:
    """Return the identification number (secondary address) the meter answers with."""
    return telegram.header.identification


def _kind(record: Record) -> tuple[Quantity | None, Function, int, int]:
    return record.quantity, record.function, record.storage, record.subunit


def _code(c: str, d: str, record: Record, tariff: int) -> ObisCode:
    return ObisCode(HEAT, record.subunit, c, d, str(tariff), record.storage or None)


def _stamps(records: tuple[Record, ...]) -> dict[int, datetime]:
    stamps: dict[int, datetime] = {}
    for record in records:
        if record.tariff or record.subunit or record.function is not Function.INSTANTANEOUS:
            continue
        value = record.value
        if record.quantity is Quantity.DATE_TIME and isinstance(value, datetime):
            stamps.setdefault(record.storage, value)
        elif record.quantity is Quantity.DATE and isinstance(value, date) and not isinstance(value, datetime):
            stamps.setdefault(record.storage, datetime(value.year, value.month, value.day))
    return stamps


def _flags(record: Record, value: int) -> str:
    """Return the error flags as hexadecimal digits, two per byte the meter sent (bits, not a number)."""
    width = _DATA_BYTES.get(record.dif[0] & 0x0F, 4)
    return f"{value & ((1 << 8 * width) - 1):0{2 * width}X}"


def _value(record: Record) -> Value | None:
    value = record.value
    if not isinstance(value, Decimal):
        return None
    if record.quantity is Quantity.ENERGY and record.unit in _ENERGY:
        unit, exponent = _ENERGY[record.unit]
        return Value(value.scaleb(exponent), unit)
    if record.quantity is Quantity.ON_TIME and record.unit in _HOURS:
        hours = value * _HOURS[record.unit]
        return Value(hours, "h")
    return Value(value, record.unit)


def heat_registers(telegram: Telegram) -> tuple[Register, ...]:
    """Return the registers of a heat meter's RSP_UD; records without a heat code are left out."""
    heat_medium(telegram)
    records = telegram.records
    stamps = _stamps(records)
    tariffs: Counter[tuple[Quantity | None, Function, int, int]] = Counter(
        _kind(record) for record in records
    )
    registers: list[Register] = []
    seen: set[ObisCode] = set()

    def add(obis: ObisCode, raw: str, values: tuple[Value, ...], storage: int) -> None:
        if obis in seen:
            return  # the first record of a code wins, as a readout's first data set does
        seen.add(obis)
        registers.append(Register(obis=obis, raw=raw, values=values, timestamp=stamps.get(storage)))

    for record in records:
        if record.quantity is None:
            continue
        raw = (record.dif + record.vif).hex().upper()
        if record.quantity is Quantity.FABRICATION_NUMBER and isinstance(record.value, int):
            if not (record.storage or record.tariff or record.subunit):
                add(ObisCode(HEAT, 0, "9", "20", "0"), raw, (Value(str(record.value)),), 0)
            continue
        if record.quantity is Quantity.ERROR_FLAGS and isinstance(record.value, int):
            if not (record.storage or record.tariff or record.subunit):
                # Shown as text (``as_text``): the register is printed as its flags.
                flags = _flags(record, record.value)
                add(ObisCode(HEAT, 0, "97", "97", "0"), flags, (Value(flags),), 0)
            continue
        code = _CODES.get((record.quantity, record.function))
        if code is None:
            continue
        value = _value(record)
        if value is None:
            continue
        # A tariff names the value group E only where the meter gives several of one kind.
        tariff = record.tariff if tariffs[_kind(record)] > 1 else 0
        add(_code(*code, record, tariff), raw, (value,), record.storage)
    registers.extend(_maximum_temperatures(records, stamps))
    return tuple(registers)


def _maximum_temperatures(records: tuple[Record, ...], stamps: dict[int, datetime]) -> list[Register]:
    """``9.4``: the maximum flow and return temperatures of each storage number, in one register."""
    pairs: dict[tuple[int, int], dict[Quantity, tuple[Decimal, bytes]]] = {}
    for record in records:
        if (
            record.quantity in _TEMPERATURES
            and record.function is Function.MAXIMUM
            and isinstance(record.value, Decimal)
        ):
            pair = pairs.setdefault((record.storage, record.subunit), {})
            pair.setdefault(record.quantity, (record.value, record.dif + record.vif))
    out: list[Register] = []
    for (storage, subunit), pair in pairs.items():
        obis = ObisCode(HEAT, subunit, "9", "4", "0", storage or None)
        values = tuple(
            Value(pair[quantity][0], "°C") if quantity in pair else Value(None) for quantity in _TEMPERATURES
        )
        raw = "&".join(code.hex().upper() for _, code in pair.values())
        out.append(Register(obis=obis, raw=raw, values=values, timestamp=stamps.get(storage)))
    return out


__all__ = ["NotAHeatMeterError", "heat_medium", "heat_registers", "identity_of", "serial_of"]
