"""What a read produces: the meter's identity, its registers, and how they were obtained."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from .identity import MeterIdentity
from .obis import ObisCode
from .registers import Register

Checksum = Literal["bcc", "crc16", "sum", "none"]

# Registers that carry the meter's serial number, in order of preference: the
# equipment identifier, the L+G serial register, the device address.
_SERIAL_CODES = tuple(ObisCode.parse(code) for code in ("0-0:96.1.0", "C.1.0", "0.0.0", "C.1"))


class Direction(StrEnum):
    """Which way bytes went."""

    SENT = "sent"
    RECEIVED = "received"
    LINE = "line"


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One step of a session as it happened on the wire (for diagnostics and the probe)."""

    at: float
    direction: Direction
    data: bytes
    baud: int
    note: str = ""

    def printable(self) -> str:
        r"""Return the bytes with control characters spelled out (``<STX>``, ``\r\n``)."""
        return printable(self.data)


_NAMES = {0x00: "<NUL>", 0x01: "<SOH>", 0x02: "<STX>", 0x03: "<ETX>", 0x06: "<ACK>", 0x15: "<NAK>"}


def printable(data: bytes) -> str:
    """Render bytes for a human: ASCII as is, control bytes named or in hex."""
    out: list[str] = []
    for byte in data:
        if byte in _NAMES:
            out.append(_NAMES[byte])
        elif byte == 0x0D:
            out.append("\\r")
        elif byte == 0x0A:
            out.append("\\n")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"<{byte:02X}>")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Readout:
    """A complete, checksum-verified readout (or a push whose framing says it is whole)."""

    identity: MeterIdentity
    registers: tuple[Register, ...]
    protocol: str
    baud: int
    checksum: Checksum
    raw: bytes = b""
    trace: tuple[TraceEntry, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def current(self) -> dict[ObisCode, Register]:
        """Current values by OBIS code; the first occurrence wins."""
        out: dict[ObisCode, Register] = {}
        for register in self.registers:
            if not register.obis.is_history:
                out.setdefault(register.obis, register)
        return out

    @property
    def history(self) -> dict[ObisCode, Register]:
        """Billing-period values by OBIS code (``*F`` and ``&F``); never mixed with current."""
        out: dict[ObisCode, Register] = {}
        for register in self.registers:
            if register.obis.is_history:
                out.setdefault(register.obis, register)
        return out

    @property
    def serial(self) -> str | None:
        """The meter's serial number from its registers, ``None`` if it reports none."""
        current = self.current
        for code in _SERIAL_CODES:
            register = current.get(code)
            if register is not None and register.text:
                return register.text
        return None

    @property
    def manufacturer(self) -> str | None:
        """Manufacturer from the FLAG table."""
        return self.identity.manufacturer
