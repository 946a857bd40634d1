"""The meter simulator itself: line timing, rate mismatch, pty handling, counters, profiles."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
import os
from pathlib import Path
import signal
import sys
import termios

import pytest

from custom_components.landis_gyr_optical.meter.errors import PortError
from custom_components.landis_gyr_optical.meter.iec62056_21.client import read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    BREAK,
    STX,
    Identification,
    Mode,
    bcc,
    encode_data_message,
    option_select,
    sign_on,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.simulator import (
    ClientLine,
    Faults,
    MeterProfile,
    MeterState,
    PtyMeter,
    SimulatedMeter,
    TcpMeter,
    garbage,
    load_profile,
    parse_fault,
    parse_profile,
    profile_names,
    push_message,
    quick_profile,
)
import tests.simulator.meter as meter_module

REPO_ROOT = Path(__file__).resolve().parents[2]
LINE_300 = LineSettings(300)


class RecordingMeter(SimulatedMeter):
    """The meter on a line whose far end is a recorder listening at ``client``."""

    def __init__(self, profile: MeterProfile, client: ClientLine) -> None:
        super().__init__(profile)
        self.client = client
        self.written: list[tuple[float, bytes]] = []

    def _client_line(self) -> ClientLine | None:
        return self.client

    def _write_raw(self, data: bytes) -> None:
        self.written.append((asyncio.get_running_loop().time(), data))

    @property
    def output(self) -> bytes:
        return b"".join(chunk for _, chunk in self.written)


async def read_until(link: Link, end: bytes, timeout: float = 3.0) -> bytes:
    received = b""
    async with asyncio.timeout(timeout):
        while not received.endswith(end):
            received += await link.read(timeout)
    return received


# --- profiles ------------------------------------------------------------------------------


def test_builtin_profiles_parse() -> None:
    names = profile_names()
    for required in (
        "lgz_e350",
        "lgz_zmd120",
        "lgz_zmd405",
        "itron_em214_mode_a",
        "lug_uh50_mode_b",
        "lgf_e360_mode_d",
        "bench_700",
        "bench_4k",
    ):
        assert required in names
    for name in names:
        profile = load_profile(name)
        assert profile.name == name
        registers = parse_data_block(profile.data_block, medium=profile.identification.medium)
        assert registers, name
        assert b"!" not in profile.data_block


def test_profile_values_match_the_captures() -> None:
    e350 = load_profile("lgz_e350")
    assert str(e350.identification) == "LGZ4ZMF100AC.M27"
    assert e350.mode is Mode.C
    values = {str(register.obis): register.value for register in parse_data_block(e350.data_block)}
    assert values["1-0:1.8.0"] == Decimal("219.252")
    assert values["1-0:72.7.0"] == Decimal(234)
    assert len(values) == 23

    zmd405 = load_profile("lgz_zmd405")
    assert zmd405.identification.hdlc_capable
    history = [r for r in parse_data_block(zmd405.data_block) if r.obis.is_history]
    assert ObisCode.parse("1.8.0*12") in {r.obis for r in history}

    assert load_profile("lug_uh50_mode_b").mode is Mode.B
    itron = load_profile("itron_em214_mode_a")
    assert itron.mode is Mode.A
    assert itron.identification.mode is Mode.C  # it announces 9600 Bd but streams in mode A

    bench = load_profile("bench_700")
    assert 650 <= len(bench.data_block) <= 750
    assert 3500 <= len(load_profile("bench_4k").data_block) <= 4500


def test_mode_d_profile_reproduces_the_p1_capture_crc() -> None:
    profile = load_profile("lgf_e360_mode_d")
    assert profile.mode is Mode.D
    message = push_message(profile)
    assert message.startswith(b"/LGF5E360\r\n\r\n0-0:1.0.0(")
    assert message.endswith(b"!A077\r\n")
    assert STX not in message


def test_parse_profile_settings() -> None:
    profile = parse_profile(
        b"# a comment\nprotocol: mode_b\nreaction_time: 0.05\naddress: 0042\nframing: 7E2\n"
        b"wake_up_required: yes\n/LUGCUH50\n6.8(0328.871*GJ)\n\n\n"
    )
    assert profile.mode is Mode.B
    assert profile.reaction_time == 0.05
    assert profile.address == "0042"
    assert profile.framing is Framing.SEVEN_E_TWO
    assert profile.wake_up_required
    assert profile.data_block == b"6.8(0328.871*GJ)\r\n"


@pytest.mark.parametrize(
    "text",
    [b"protocol: mode_c\n", b"colour: red\n/LGZ4ZMF100AC.M27\n", b"no colon\n/LGZ4ZMF100AC.M27\n"],
)
def test_parse_profile_rejects(text: bytes) -> None:
    with pytest.raises(ValueError, match="profile"):
        parse_profile(text)


def test_unknown_profile_names_the_built_in_ones() -> None:
    with pytest.raises(ValueError, match="lgz_e350"):
        load_profile("nope")


def test_parse_fault() -> None:
    faults = parse_fault("bad_bcc", Faults())
    faults = parse_fault("noise=0.25", faults)
    faults = parse_fault("truncate_after=40", faults)
    faults = parse_fault("echo=no", faults)
    assert faults == Faults(bad_bcc=True, noise=0.25, truncate_after=40)
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault("gremlins=1", faults)


# --- line timing ---------------------------------------------------------------------------


async def test_700_byte_message_at_9600_takes_its_wire_time() -> None:
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(9600))
    message = bytes(range(32, 132)) * 7
    assert len(message) == 700
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await meter._transmit(message, LineSettings(9600), Faults(), "test")
    elapsed = loop.time() - started

    character = 10 / 9600
    assert elapsed >= 700 * character  # 0.729 s
    assert elapsed < 700 * character + 0.15
    assert meter.output == message
    # Paced in many small writes, never ahead of the line and not lagging behind it.
    assert len(meter.written) > 50
    sent = 0
    for at, chunk in meter.written:
        sent += len(chunk)
        assert sent <= (at - started) / character + 1e-6
        assert sent >= (at - started) / character - 30  # at most ~30 ms behind at 9600


async def test_seven_e_two_characters_take_eleven_bits() -> None:
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(2400))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await meter._transmit(b"x" * 120, LineSettings(2400, Framing.SEVEN_E_TWO), Faults(), "test")
    assert loop.time() - started >= 120 * 11 / 2400


async def test_client_at_another_rate_hears_garbage() -> None:
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(300))
    message = encode_data_message(b"1.8.0(000219.252*kWh)\r\n")
    await meter._transmit(message, LineSettings(9600), Faults(), "test")
    assert meter.output == garbage(message)
    assert len(meter.output) == len(message)
    assert all(byte >= 0x80 for byte in meter.output)
    assert any(event.kind == "client hears garbage" for event in meter.events)


async def test_client_with_other_character_format_hears_garbage() -> None:
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(9600, Framing.EIGHT_N_ONE))
    await meter._transmit(b"/?!\r\n", LineSettings(9600, Framing.SEVEN_E_ONE), Faults(), "test")
    assert meter.output == garbage(b"/?!\r\n")
    # The number of stop bits does not matter to a receiver.
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(9600, Framing.SEVEN_E_TWO))
    await meter._transmit(b"/?!\r\n", LineSettings(9600, Framing.SEVEN_E_ONE), Faults(), "test")
    assert meter.output == b"/?!\r\n"


async def test_noise_flips_single_bits_and_repeats_with_its_seed() -> None:
    message = encode_data_message(load_profile("lgz_e350").data_block)
    outputs = []
    for _ in range(2):
        meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(19200))
        await meter._transmit(message, LineSettings(19200), Faults(noise=0.05, seed=7), "test")
        outputs.append(meter.output)
    assert outputs[0] == outputs[1]
    flipped = [(a ^ b) for a, b in zip(message, outputs[0], strict=True) if a != b]
    assert 5 <= len(flipped) <= 60
    assert all(diff.bit_count() == 1 and diff < 0x80 for diff in flipped)


async def test_requests_arrive_after_their_wire_time_and_answer_after_reaction() -> None:
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4, reaction_time=0.05), ClientLine(300))
    loop = asyncio.get_running_loop()
    sent_at = loop.time()
    meter._on_receive(sign_on())
    await meter.wait_until(lambda: meter.written)
    first_byte_at = meter.written[0][0]
    # 5 characters at 300 Bd, the reaction time, then the first character's own wire time.
    assert first_byte_at - sent_at >= 5 / 30 + 0.05 + 1 / 30
    await meter.close()


async def test_request_at_the_wrong_rate_is_ignored() -> None:
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(1200))
    meter._on_receive(sign_on())
    await asyncio.sleep(0.2)
    assert meter.requests == []
    assert meter.written == []
    assert any(event.kind == "garbage received" for event in meter.events)


async def answers(profile: MeterProfile, *messages: bytes) -> bool:
    """Whether the meter starts answering after ``messages`` (sent one after the other at 300 Bd)."""
    meter = RecordingMeter(profile, ClientLine(300))
    try:
        for message in messages:
            meter._on_receive(message)
        await asyncio.sleep(sum(len(message) for message in messages) / 30 + profile.reaction_time + 0.1)
        return bool(meter.written)
    finally:
        await meter.close()


async def test_device_address_decides_who_answers() -> None:
    addressed = quick_profile("lgz_e350", lines=4, address="18438636")
    refusing = replace(addressed, faults=Faults(refuse_address=True))
    cases = [
        (addressed, sign_on("18438636"), True),
        (addressed, sign_on("0018438636"), True),  # leading zeros do not count
        (addressed, sign_on(), True),
        (addressed, sign_on("12345678"), False),
        (quick_profile("lgz_e350", lines=4), sign_on("18438636"), False),  # no address configured
        (replace(addressed, address_required=True), sign_on(), False),
        (refusing, sign_on("18438636"), False),
        (refusing, sign_on(), True),
    ]
    answered = await asyncio.gather(*(answers(profile, request) for profile, request, _ in cases))
    assert answered == [expected for _, _, expected in cases]


async def test_battery_meter_answers_only_after_a_wake_up() -> None:
    sleepy = quick_profile("lgz_e350", lines=4, wake_up_required=True)
    answered = await asyncio.gather(
        answers(sleepy, sign_on()),
        answers(sleepy, bytes(39), sign_on()),
        answers(sleepy, bytes(40), sign_on()),
    )
    assert answered == [False, False, True]


# --- over a pty ----------------------------------------------------------------------------


async def test_counters_and_pty_reset_after_a_readout() -> None:
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter:
        readout = await read_meter(meter.port)
        await meter.wait_until(lambda: meter.closes == 1)
        assert readout.baud == 4800
        assert meter.sessions == 1
        assert meter.readouts_sent == 1
        assert meter.requests == [sign_on(), option_select(4800)]
        assert meter.last_request == option_select(4800)
        assert meter.data_bauds == [4800]
        assert meter.last_data_baud == 4800
        assert meter.state is MeterState.IDLE
        assert meter.errors == []
        # The client left the pty at 4800 Bd; the meter put it back to 9600 8N1.
        assert meter._master is not None
        attributes = termios.tcgetattr(meter._master)
        assert attributes[4] == attributes[5] == termios.B9600
        assert attributes[2] & termios.CSIZE == termios.CS8
        assert not attributes[2] & termios.PARENB


async def test_meter_sees_the_rate_the_client_set() -> None:
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter:
        async with Link(meter.port, LINE_300) as link:
            await meter.wait_until(lambda: meter._client_line() == ClientLine(300))
            await link.switch(LineSettings(19200))
            assert meter._client_line() == ClientLine(19200)
        await meter.wait_until(lambda: meter.closes == 1)
        assert meter._client_line() is None


async def test_meter_waits_for_a_client_without_spinning() -> None:
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter:
        started = os.times()
        await asyncio.sleep(0.5)
        used = os.times()
        assert (used.user + used.system) - (started.user + started.system) < 0.2
        assert meter.closes == 0


async def test_silence_after_the_identification_resets_the_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meter_module, "IDLE_TIMEOUT", 0.3)
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter, Link(meter.port, LINE_300) as link:
        await link.write(sign_on())
        await read_until(link, b"\r\n")
        await meter.wait_until(lambda: meter.state is MeterState.AWAIT_OPTION)
        await asyncio.sleep(0.45)
        assert meter.state is MeterState.IDLE
        await link.write(option_select(4800))
        await asyncio.sleep(0.4)
        assert meter.data_bauds == []


async def test_break_resets_the_meter() -> None:
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter, Link(meter.port, LINE_300) as link:
        await link.write(sign_on())
        await read_until(link, b"\r\n")
        await meter.wait_until(lambda: meter.state is MeterState.AWAIT_OPTION)
        await link.write(BREAK)
        await meter.wait_until(lambda: meter.state is MeterState.IDLE)
        assert any(event.kind == "break" for event in meter.events)


async def test_option_select_for_a_rate_not_offered_is_ignored() -> None:
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter, Link(meter.port, LINE_300) as link:
        await link.write(sign_on())
        await read_until(link, b"\r\n")
        await link.write(option_select(9600))  # the E350 offers 4800 Bd
        await link.write(option_select(4800, mode="1"))  # programming mode
        await asyncio.sleep(0.5)
        assert meter.data_bauds == []
        assert meter.requests[1:] == [option_select(9600), option_select(4800, mode="1")]
        assert meter.state is MeterState.AWAIT_OPTION


async def test_echo_head_returns_every_byte_at_once() -> None:
    async with (
        PtyMeter(quick_profile("lgz_e350", lines=4, faults=Faults(echo=True, silent=True))) as meter,
        Link(meter.port, LINE_300) as link,
    ):
        await link.write(b"/?!\r\n")
        assert await read_until(link, b"\r\n", timeout=0.5) == b"/?!\r\n"
        assert meter.sessions == 0


async def test_mode_d_pushes_without_a_request() -> None:
    profile = replace(quick_profile("lgf_e360_mode_d", lines=5), push_interval=0.1)
    async with PtyMeter(profile) as meter, Link(meter.port, LineSettings(2400)) as link:
        received = await read_until(link, b"!" + push_message(profile).split(b"!")[1])
        assert received.endswith(push_message(profile))
        assert meter.requests == []
        assert meter.data_bauds[0] == 2400


async def test_faults_can_be_limited_to_the_first_sessions() -> None:
    meter = RecordingMeter(quick_profile("lgz_e350", lines=4), ClientLine(300))
    meter.set_faults(Faults(silent=True, sessions=2))
    assert [meter._begin_session().silent for _ in range(4)] == [True, True, False, False]


async def test_set_profile_changes_the_meter() -> None:
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter, Link(meter.port, LINE_300) as link:
        meter.set_profile(quick_profile("lgz_zmd120"))
        await link.write(sign_on())
        assert await read_until(link, b"\r\n") == b"/LGZ52ZMD120APt.G03\r\n"


async def test_vanished_pty_fails_the_client_and_comes_back_elsewhere() -> None:
    async with PtyMeter(quick_profile("lgz_e350", lines=4)) as meter:
        old_port = meter.port
        link = Link(old_port, LINE_300)
        await link.open()
        await meter.wait_until(lambda: meter._client_line() is not None)
        await meter.vanish()
        with pytest.raises(PortError):
            await link.read(1.0)
        await link.close()
        assert meter.closes == 1
        new_port = await meter.reappear()
        assert meter.port == new_port
        async with Link(new_port, LINE_300) as link:
            await link.write(sign_on())
            assert await read_until(link, b"\r\n") == meter.profile.identification.encode()


@pytest.mark.usefixtures("socket_enabled")
async def test_tcp_meter_serves_one_client_at_a_time() -> None:
    async with TcpMeter(quick_profile("lgz_e350", lines=4)) as meter:
        assert meter.port.startswith("socket://127.0.0.1:")
        assert meter.baud == 300
        host, port = meter.port.removeprefix("socket://").split(":")
        _, first = await asyncio.open_connection(host, int(port))
        second_reader, second = await asyncio.open_connection(host, int(port))
        assert await asyncio.wait_for(second_reader.read(10), 1.0) == b""
        for writer in (first, second):
            writer.close()
            await writer.wait_closed()
        await meter.wait_until(lambda: meter.closes == 1)


def test_data_message_bcc_is_the_encoders() -> None:
    message = encode_data_message(b"F.F(00)\r\n")
    assert message[-1] == bcc(message[1:-1])


async def test_command_line_serves_until_interrupted() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.simulator",
        "--pty",
        "--profile",
        "lgz_zmd120",
        "--reaction",
        "0.02",
        "--fault",
        "echo=0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        port = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert port.startswith("/dev/")
        async with Link(port, LINE_300) as link:
            await link.write(sign_on())
            assert await read_until(link, b"\r\n") == Identification.parse(b"/LGZ52ZMD120APt.G03").encode()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0
    assert b"sessions=1 readouts_sent=0 closes=1" in stderr
