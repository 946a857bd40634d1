"""The async client end to end over a pty, against the simulated meter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
import re

import pytest

from custom_components.landis_gyr_optical.meter.errors import (
    ChecksumError,
    MeterError,
    NoAnswerError,
    PortError,
    ProtocolError,
)
from custom_components.landis_gyr_optical.meter.iec62056_21 import client
from custom_components.landis_gyr_optical.meter.iec62056_21.client import read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    REACTION_TIME,
    Identification,
    option_select,
    sign_on,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import Protocol, SessionSettings
from custom_components.landis_gyr_optical.meter.line import LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from custom_components.landis_gyr_optical.meter.readout import Direction, Readout
from tests.simulator import Faults, MeterProfile, PtyMeter, data_message, quick_profile

MODE_A_IDENTIFICATION = Identification.parse(b"/ITR:EM214")
"""A mode A meter: its baud character is neither a mode B letter nor a mode C digit."""


@asynccontextmanager
async def serve(profile: MeterProfile, **options: bool) -> AsyncIterator[PtyMeter]:
    async with PtyMeter(profile, **options) as meter:
        yield meter
        assert meter.errors == []


def values(readout: Readout) -> dict[str, Decimal | str | None]:
    return {str(code): register.value for code, register in readout.current.items()}


def expected_values(profile: MeterProfile) -> dict[str, Decimal | str | None]:
    medium = profile.identification.medium
    return {
        str(r.obis): r.value
        for r in parse_data_block(profile.data_block, medium=medium)
        if not r.obis.is_history
    }


@pytest.fixture
def short_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry after 0.3 s instead of 1.5 s: the simulated meter is idle again at once."""
    monkeypatch.setattr(client, "RETRY_PAUSE", 0.3)


# --- the modes -----------------------------------------------------------------------------


async def test_mode_c_switches_to_the_offered_rate() -> None:
    async with serve(quick_profile("lgz_e350")) as meter:
        readout = await read_meter(meter.port)
    assert readout.protocol == "mode_c"
    assert readout.baud == 4800
    assert readout.checksum == "bcc"
    assert meter.data_bauds == [4800]
    assert meter.requests == [sign_on(), option_select(4800)]
    assert len(readout.registers) == 23
    assert values(readout)["1-0:1.8.0"] == Decimal("219.252")
    assert values(readout)["1-0:16.7.0"] == Decimal("1.66")
    assert readout.serial == "18438636"
    # The trace shows the switch, in time.
    switches = [entry for entry in readout.trace if entry.direction is Direction.LINE]
    assert switches[0].baud == 4800
    into = re.fullmatch(
        r"switched to 4800 Bd 7E1 by ([\d.]+) ms into the meter's 200 ms reaction time", switches[0].note
    )
    assert into is not None, switches[0].note
    assert 0 < float(into[1]) < 200


async def test_mode_e_capable_meter_is_read_in_mode_c_with_history() -> None:
    async with serve(quick_profile("lgz_zmd405", lines=32)) as meter:
        readout = await read_meter(meter.port)
    assert readout.baud == 9600
    assert readout.identity.iec_identification == "LGZ5\\2ZMD4054459.B40"
    assert meter.requests[-1] == option_select(9600)
    history = {str(code): register.value for code, register in readout.history.items()}
    assert history["1-0:1.8.0*12"] == Decimal("75.5341")
    assert values(readout)["1-0:1.8.0"] == Decimal("302.8260")


async def test_mode_b_follows_the_meter_without_acknowledgement() -> None:
    async with serve(quick_profile("lug_uh50_mode_b", lines=4)) as meter:
        readout = await read_meter(meter.port)
    assert readout.protocol == "mode_b"
    assert readout.baud == 2400
    assert meter.data_bauds == [2400]
    assert meter.requests == [sign_on()]
    assert values(readout)["6-0:6.8.0"] == Decimal("328.871")
    assert values(readout)["6-0:9.4.0"] == Decimal("98.5")


async def test_mode_a_answers_at_300_right_after_the_identification() -> None:
    profile = quick_profile("itron_em214_mode_a", lines=1, identification=MODE_A_IDENTIFICATION)
    async with serve(profile) as meter:
        readout = await read_meter(meter.port)
    assert readout.protocol == "mode_a"
    assert readout.baud == 300
    assert meter.data_bauds == [300]
    assert meter.requests == [sign_on()]
    assert values(readout) == {"0-0:F.F.0": Decimal(0)}


async def test_mode_a_override_reads_a_meter_that_announces_mode_c() -> None:
    profile = quick_profile("itron_em214_mode_a", lines=1)
    async with serve(profile) as meter:
        readout = await read_meter(meter.port, SessionSettings(protocol=Protocol.MODE_A))
    assert readout.protocol == "mode_a"
    assert readout.baud == 300
    assert meter.requests == [sign_on()]
    assert values(readout) == {"0-0:F.F.0": Decimal(0)}


async def test_mode_d_listens_to_the_push() -> None:
    profile = quick_profile("lgf_e360_mode_d", lines=8, push_interval=0.1)
    async with serve(profile) as meter:
        readout = await read_meter(meter.port, SessionSettings(protocol=Protocol.MODE_D))
    assert readout.protocol == "mode_d"
    assert readout.baud == 2400
    assert readout.checksum == "crc16"
    assert meter.requests == []
    assert values(readout)["1-0:1.8.0"] == Decimal("896.020")
    assert values(readout)["1-0:2.7.0"] == Decimal("0.020")


# --- options -------------------------------------------------------------------------------


async def test_max_baud_caps_the_negotiated_rate() -> None:
    async with serve(quick_profile("lgz_e350", lines=4)) as meter:
        readout = await read_meter(meter.port, SessionSettings(max_baud=2400))
    assert readout.baud == 2400
    assert meter.requests[-1] == option_select(2400)
    assert meter.data_bauds == [2400]


async def test_device_address_sign_on_through_an_echoing_head() -> None:
    profile = quick_profile(
        "lgz_e350", lines=4, address="18438636", address_required=True, faults=Faults(echo=True)
    )
    async with serve(profile) as meter:
        readout = await read_meter(meter.port, SessionSettings(address="18438636"))
    assert meter.requests == [sign_on("18438636"), option_select(4800)]
    assert readout.baud == 4800
    assert readout.serial == "18438636"


async def test_wake_up_for_a_battery_meter() -> None:
    profile = quick_profile("lug_uh50_mode_b", lines=2, wake_up_required=True)
    async with serve(profile) as meter:
        readout = await read_meter(meter.port, SessionSettings(wake_up=True))
    assert readout.baud == 2400
    assert meter.sessions == 1
    assert values(readout)["6-0:6.8.0"] == Decimal("328.871")


async def test_rate_switch_fits_20_ms_and_200_ms_meters() -> None:
    """The switch after the option select must be done before the meter answers."""

    async def read(reaction_time: float) -> tuple[PtyMeter, Readout]:
        profile = quick_profile("lgz_e350", lines=4, reaction_time=reaction_time)
        if reaction_time < REACTION_TIME:
            # A lower-case third letter announces the 20 ms minimum reaction time.
            flag = profile.identification.flag_id
            short = replace(profile.identification, flag_id=flag[:2] + flag[2].lower())
            profile = replace(profile, identification=short)
        async with serve(profile) as meter:
            return meter, await read_meter(meter.port, retries=0)

    for meter, readout in await asyncio.gather(read(0.02), read(0.2)):
        assert readout.baud == 4800
        assert meter.data_bauds == [4800]
        assert not any(event.kind == "client hears garbage" for event in meter.events)


# --- a client that gets the timing wrong fails as on a real meter ---------------------------


class LateSwitchLink(Link):
    """A link whose rate switch comes ``delay`` seconds late (or never)."""

    delay: float | None = 0.15

    async def switch(self, line: LineSettings) -> None:
        if self.delay is None:
            self.line = line  # believes it switched
            return
        await asyncio.sleep(self.delay)
        await super().switch(line)


class ForgetfulLink(LateSwitchLink):
    delay = None


async def test_late_or_missing_switch_loses_the_data() -> None:
    async def attempt(link_factory: type[Link]) -> tuple[PtyMeter, BaseException | None]:
        async with serve(quick_profile("lgz_e350")) as meter:
            try:
                await read_meter(meter.port, retries=0, link_factory=link_factory)
            except MeterError as err:
                return meter, err
            return meter, None

    for meter, error in await asyncio.gather(attempt(LateSwitchLink), attempt(ForgetfulLink)):
        assert isinstance(error, (NoAnswerError, ProtocolError))
        assert meter.data_bauds == [4800]
        assert any(event.kind == "client hears garbage" for event in meter.events)


# --- faults --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCase:
    name: str
    faults: Faults
    error: type[MeterError] | tuple[type[MeterError], ...]
    settings: SessionSettings = field(default_factory=SessionSettings)
    message: str = ""


FAULT_CASES = (
    FaultCase("bad BCC", Faults(bad_bcc=True), ChecksumError, message="block check character"),
    FaultCase("one flipped bit", Faults(flip_bits=((20, 0),)), ChecksumError),
    FaultCase("truncated", Faults(truncate_after=30), NoAnswerError, message="data message"),
    FaultCase("silent", Faults(silent=True), NoAnswerError, message="identification"),
    FaultCase("answers at another rate", Faults(wrong_baud=2400), (NoAnswerError, ProtocolError)),
    FaultCase(
        "refuses its address",
        Faults(refuse_address=True),
        NoAnswerError,
        SessionSettings(address="18438636"),
        "identification",
    ),
)


async def test_each_fault_gives_its_typed_error_and_no_data() -> None:
    """The faults run side by side (each on its own pty) to keep the wall time short."""

    async def attempt(case: FaultCase) -> tuple[FaultCase, PtyMeter, BaseException | Readout]:
        profile = quick_profile("lgz_e350", lines=4, address="18438636", faults=case.faults)
        async with serve(profile) as meter:
            try:
                return case, meter, await read_meter(meter.port, case.settings, retries=0)
            except MeterError as err:
                return case, meter, err

    problems = []
    for case, meter, outcome in await asyncio.gather(*(attempt(case) for case in FAULT_CASES)):
        if not isinstance(outcome, case.error) or case.message not in str(outcome):
            problems.append(f"{case.name}: {outcome!r}")
        if case.faults.silent or case.faults.refuse_address:
            assert meter.sessions == 0, case.name
        else:
            assert meter.sessions == 1, case.name
    assert not problems


@pytest.mark.usefixtures("short_retry_pause")
async def test_retries() -> None:
    """A bad BCC steps the rate down (and fails when it stays bad); silence is retried as is.

    The scenarios run side by side, each on its own pty, to keep the wall time short.
    """

    async def read(faults: Faults, name: str = "lgz_e350") -> tuple[PtyMeter, Readout | MeterError]:
        async with serve(quick_profile(name, lines=4, faults=faults)) as meter:
            try:
                return meter, await read_meter(meter.port, retries=1)
            except MeterError as err:
                return meter, err

    (
        (always, failed),
        (once, readout),
        (silent_once, after_silence),
        (mode_b, mode_b_readout),
    ) = await asyncio.gather(
        read(Faults(bad_bcc=True)),
        read(Faults(bad_bcc=True, sessions=1)),
        read(Faults(silent=True, sessions=1)),
        read(Faults(bad_bcc=True, sessions=1), "lug_uh50_mode_b"),
    )
    assert isinstance(failed, ChecksumError)
    assert always.sessions == 2
    assert always.data_bauds == [4800, 2400]

    assert isinstance(readout, Readout)
    assert readout.baud == 2400
    assert readout.serial == "18438636"
    assert once.data_bauds == [4800, 2400]
    assert once.requests == [sign_on(), option_select(4800), sign_on(), option_select(2400)]
    failures = [entry.note for entry in readout.trace if entry.note.startswith("attempt 1 failed")]
    assert len(failures) == 1
    assert "block check character" in failures[0]

    assert isinstance(after_silence, Readout)
    assert after_silence.baud == 4800
    assert silent_once.requests == [sign_on(), sign_on(), option_select(4800)]
    failures = [entry.note for entry in after_silence.trace if entry.note.startswith("attempt 1 failed")]
    assert "no answer" in failures[0]

    # A mode B meter picks its rate itself: the retry cannot ask for a lower one.
    assert isinstance(mode_b_readout, Readout), mode_b_readout
    assert mode_b_readout.baud == 2400
    assert mode_b.data_bauds == [2400, 2400]


async def test_noise_gives_an_error_or_a_readout_the_bcc_vouches_for() -> None:
    profile = quick_profile("lgz_e350", lines=12)
    clean = data_message(profile)

    async def noisy_read(seed: int) -> Readout | None:
        async with serve(replace(profile, faults=Faults(noise=0.01, seed=seed))) as meter:
            try:
                return await read_meter(meter.port, retries=0)
            except (ChecksumError, ProtocolError, NoAnswerError):
                return None

    outcomes = await asyncio.gather(*(noisy_read(seed) for seed in range(1, 5)))
    for readout in outcomes:
        if readout is None:
            continue
        if readout.raw == clean:
            assert values(readout) == expected_values(profile)
            continue
        # Accepted although corrupted: only flips that cancel in every bit column get
        # through (BCC is a column parity); that is what the spike guard is for.
        assert len(readout.raw) == len(clean)
        column_parity = 0
        for received, sent in zip(readout.raw, clean, strict=True):
            column_parity ^= received ^ sent
        assert column_parity == 0
    assert None in outcomes  # 1 % noise on ~200 bytes spoils most readouts


async def test_two_flips_in_one_bit_column_pass_the_bcc() -> None:
    """The limit of the BCC, shown: a '0' turned '1' in two places reads as a valid readout."""
    profile = quick_profile("lgz_e350", lines=4)
    message = data_message(profile)
    first = message.index(b"18438636") + 7  # the last digit of two serial numbers, both '6'
    second = message.index(b"18438636", first) + 7
    async with serve(replace(profile, faults=Faults(flip_bits=((first, 0), (second, 0))))) as meter:
        readout = await read_meter(meter.port, retries=0)
    assert readout.checksum == "bcc"
    assert values(readout)["0-0:0.0.0"] == Decimal(18438637)
    assert values(readout)["0-0:C.1.0"] == Decimal(18438637)


# --- the port ------------------------------------------------------------------------------


async def test_repeated_opens_of_a_pty_left_at_300_7e1() -> None:
    """Linux refuses 300 Bd 7E1 on a pty already at 300 Bd; the link opens through 9600 8N1.

    The simulated meter normally resets the pty to 9600 8N1 after each client; here it does
    not, so the second client finds the pty at 300 Bd.
    """
    profile = quick_profile("itron_em214_mode_a", lines=1, identification=MODE_A_IDENTIFICATION)
    async with serve(profile, reset_termios=False) as meter:
        await read_meter(meter.port)
        await meter.wait_until(lambda: meter.closes == 1)
        readout = await read_meter(meter.port)
    assert readout.baud == 300
    assert meter.readouts_sent == 2


async def test_port_in_use_is_a_port_error() -> None:
    async with serve(quick_profile("lgz_e350", lines=4)) as meter, Link(meter.port, LineSettings(300)):
        with pytest.raises(PortError) as caught:
            await read_meter(meter.port)
        assert meter.port in str(caught.value)
        assert meter.requests == []


async def test_missing_port_is_a_port_error_naming_it() -> None:
    port = "/dev/ttyUSB-landis-gyr-missing"
    with pytest.raises(PortError, match=port):
        await read_meter(port)


async def test_port_vanishing_mid_session_is_a_port_error() -> None:
    async with serve(quick_profile("lgz_e350", lines=12)) as meter:
        reading = asyncio.create_task(read_meter(meter.port))
        await meter.wait_until(lambda: meter.data_bauds, timeout=3)
        await meter.vanish()
        with pytest.raises(PortError):
            await reading
    assert meter.readouts_sent == 0
