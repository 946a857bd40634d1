"""Simulated readouts for the soak: a meter whose totals grow, a noisy line, the sans-IO decode.

The bulk statistics do not need a pty: the BCC, the character parity and the guard are all
sans-IO. A readout here is the identification line and the data message a meter would send,
corrupted the way the simulator's line corrupts bytes (one of the seven data bits of a byte
flips), then delivered through the same ``ParityDecoder`` and ``Session`` the client uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
import random

from custom_components.landis_gyr_optical.meter.errors import MeterError
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    Identification,
    encode_data_message,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Finished,
    Receive,
    Session,
    SessionSettings,
)
from custom_components.landis_gyr_optical.meter.parity import ParityCheck, ParityDecoder, with_even_parity
from custom_components.landis_gyr_optical.meter.readout import Readout

IDENTIFICATION = Identification.parse(b"/LGZ5ZMF100AC.M27")
SERIAL = "18438636"
TOTALS = ("1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.0")
"""Independent totals; ``1-0:1.8.0`` is the sum of the two tariffs, as on a real meter."""
SUM_TOTAL = "1-0:1.8.0"
ALL_TOTALS = (SUM_TOTAL, *TOTALS)
MILLI = Decimal("0.001")


@dataclass(slots=True)
class MeterTruth:
    """What the simulated meter really counted, in kWh with the meter's three decimals."""

    totals: dict[str, Decimal] = field(
        default_factory=lambda: {
            "1-0:1.8.1": Decimal("12345.678"),
            "1-0:1.8.2": Decimal("23456.789"),
            "1-0:2.8.0": Decimal("1500.250"),
        }
    )
    power_kw: Decimal = Decimal("0.512")

    def advance(self, seconds: float, rng: random.Random, max_power_kw: float) -> None:
        """Count ``seconds`` of a random load (never above ``max_power_kw``) on one tariff."""
        load = Decimal(str(round(rng.uniform(0.0, max_power_kw * 0.8), 3)))
        export = Decimal(str(round(rng.uniform(0.0, max_power_kw * 0.2), 3)))
        tariff = "1-0:1.8.1" if rng.random() < 0.5 else "1-0:1.8.2"
        hours = Decimal(str(seconds)) / 3600
        self.totals[tariff] = (self.totals[tariff] + load * hours).quantize(MILLI, rounding="ROUND_FLOOR")
        self.totals["1-0:2.8.0"] = (self.totals["1-0:2.8.0"] + export * hours).quantize(
            MILLI, rounding="ROUND_FLOOR"
        )
        self.power_kw = load

    def value(self, key: str) -> Decimal:
        """Return the true total of a register."""
        if key == SUM_TOTAL:
            return self.totals["1-0:1.8.1"] + self.totals["1-0:1.8.2"]
        return self.totals[key]

    def snapshot(self) -> dict[str, Decimal]:
        """Every total as the meter would print it now."""
        return {key: self.value(key) for key in ALL_TOTALS}

    def data_block(self) -> bytes:
        """Return the data block of a readout now (about 300 bytes, a short real list)."""
        lines = [
            "F.F(00000000)",
            f"0.0.0({SERIAL})",
            f"C.1.0({SERIAL})",
            "0.2.0(M27)",
            f"1.8.0({self.value(SUM_TOTAL):010.3f}*kWh)",
            f"1.8.1({self.totals['1-0:1.8.1']:010.3f}*kWh)",
            f"1.8.2({self.totals['1-0:1.8.2']:010.3f}*kWh)",
            f"2.8.0({self.totals['1-0:2.8.0']:010.3f}*kWh)",
            f"1.7.0({self.power_kw:06.3f}*kW)",
            "32.7.0(233*V)",
            "52.7.0(231*V)",
            "72.7.0(232*V)",
            "31.7.0(002.30*A)",
            "14.7.0(49.98*Hz)",
            "C.7.0(0004)",
        ]
        return "".join(f"{line}\r\n" for line in lines).encode("ascii")


@dataclass(frozen=True, slots=True)
class Transmission:
    """What the meter sent and what arrived (after the line), for one attempt."""

    identification: bytes
    message: bytes
    arrived_message: bytes
    flipped_bits: int

    @property
    def corrupted(self) -> bool:
        """Whether the line changed any bit of the data message."""
        return self.flipped_bits > 0


def flip_one_bit(message: bytes, rng: random.Random) -> tuple[bytes, int]:
    """Flip one of the seven data bits of one random byte of the data message."""
    out = bytearray(message)
    out[rng.randrange(len(out))] ^= 1 << rng.randrange(7)
    return bytes(out), 1


def add_noise(message: bytes, rng: random.Random, per_byte: float) -> tuple[bytes, int]:
    """Flip one data bit in each byte with probability ``per_byte`` (the simulator's noise model)."""
    out = bytearray(message)
    flips = 0
    for index in range(len(out)):
        if rng.random() < per_byte:
            out[index] ^= 1 << rng.randrange(7)
            flips += 1
    return bytes(out), flips


@dataclass(frozen=True, slots=True)
class LineFault:
    """How the line corrupts data messages: a single flipped bit in a share of them, or noise."""

    name: str
    single_flip_share: float = 0.0
    noise_per_byte: float = 0.0

    def transmit(self, truth: MeterTruth, rng: random.Random) -> Transmission:
        """Send one readout of ``truth`` over the line."""
        message = encode_data_message(truth.data_block())
        arrived, flips = message, 0
        if self.single_flip_share and rng.random() < self.single_flip_share:
            arrived, flips = flip_one_bit(message, rng)
        elif self.noise_per_byte:
            arrived, flips = add_noise(message, rng, self.noise_per_byte)
        return Transmission(IDENTIFICATION.encode(), message, arrived, flips)


def deliver(transmission: Transmission, *, parity: bool) -> bytes:
    """Return what the client's decoder passes on: parity checked in software (8N1 bridge) or not.

    With ``parity`` the bridge passes the parity bit the meter computed for the original
    character as bit 7, so a flipped data bit shows as odd parity.
    """
    if not parity:
        return transmission.arrived_message
    wire = bytes(
        (noisy & 0x7F) | (sent & 0x80)
        for sent, noisy in zip(
            with_even_parity(transmission.message), transmission.arrived_message, strict=True
        )
    )
    return ParityDecoder(ParityCheck.SOFTWARE).decode(wire)


def decode(transmission: Transmission, *, parity: bool, settings: SessionSettings | None = None) -> Readout:
    """Run a mode C session on the delivered bytes; raise its typed error like the client does."""
    session = Session(settings or SessionSettings(software_parity=parity))
    pending: Iterator[bytes] = iter((transmission.identification, deliver(transmission, parity=parity)))
    while True:
        command = session.next_command()
        if isinstance(command, Finished):
            return command.readout
        if isinstance(command, Receive):
            while session.needs_data:
                chunk = next(pending, None)
                if chunk is None:
                    raise session.timeout()
                session.receive_data(chunk)


def attempt(
    fault: LineFault, truth: MeterTruth, rng: random.Random, *, parity: bool
) -> tuple[Transmission, Readout | MeterError]:
    """One attempt: transmit and decode; the outcome is the readout or the typed error."""
    transmission = fault.transmit(truth, rng)
    try:
        return transmission, decode(transmission, parity=parity)
    except MeterError as err:
        return transmission, err
