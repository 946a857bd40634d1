"""Polling simulated E-Redes HAN meters through the async reader (pty and raw TCP)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
import re
import time

import pytest

from custom_components.landis_gyr_optical.meter.eredes_han.client import (
    HanReader,
    HanSettings,
    NotHanMeterError,
    RegisterNotEnabledError,
    probe_eredes,
    read_eredes,
)
from custom_components.landis_gyr_optical.meter.eredes_han.modbus import (
    Request,
    encode_exception,
    encode_reply,
)
from custom_components.landis_gyr_optical.meter.eredes_han.registers import MODELS
from custom_components.landis_gyr_optical.meter.errors import ChecksumError, NoAnswerError, ProtocolError
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Direction, Readout
from tests.simulator.eredes import (
    HanProfile,
    PtyHanMeter,
    TcpHanMeter,
    all_registers,
    answer,
    single_phase_profile,
    three_phase_profile,
)

FAST = HanSettings(request_pause=0.01, response_timeout=0.5)


def value(readout: Readout, code: str) -> Decimal | str | None:
    return readout.current[ObisCode.parse(code)].value


def assert_common(readout: Readout) -> None:
    assert readout.protocol == "eredes_han"
    assert readout.checksum == "crc16"
    assert readout.baud == 9600
    assert readout.serial == "0123456789"
    assert readout.manufacturer == "Landis+Gyr"
    assert readout.identity.flag_id == "LGZ"
    assert readout.identity.han_model_code in MODELS
    assert value(readout, "1-0:1.8.0") == Decimal("1234.567")
    assert value(readout, "1-0:2.8.0") == Decimal("89.012")
    assert value(readout, "1-0:1.8.1") == Decimal("400.100")
    assert value(readout, "1-0:1.8.3") == Decimal("534.267")
    assert value(readout, "1-0:2.8.2") == Decimal("20.000")
    assert value(readout, "0-0:96.14.0") == "ponta"
    assert value(readout, "1-0:32.7.0") == Decimal("230.1")
    assert value(readout, "1-0:14.7.0") == Decimal("50.0")
    assert value(readout, "0-0:17.0.1") == Decimal(6900)
    assert value(readout, "0-0:96.7.21") == Decimal(3)
    assert value(readout, "0-0:1.0.0") == "2025-03-14T10:22:05+00:00"


async def test_three_phase_meter() -> None:
    async with PtyHanMeter(three_phase_profile()) as meter:
        reader = HanReader(meter.port, FAST)
        readout = await reader.poll()
        assert reader.three_phase is True
        assert reader.requests == 7  # the phase probe, then six blocks
        assert_common(readout)
        assert readout.identity.identification == "Landis+Gyr S3 three-phase 01.02"
        assert value(readout, "1-0:52.7.0") == Decimal("231.5")
        assert value(readout, "1-0:71.7.0") == Decimal("1.2")
        assert value(readout, "1-0:41.7.0") == Decimal(700)
        assert value(readout, "1-0:1.7.0") == Decimal(2150)
        assert value(readout, "1-0:73.7.0") == Decimal("0.962")
        assert value(readout, "1-0:61.8.0") == Decimal("334.567")
        assert len(readout.registers) == 59
        assert readout.registers[0].obis == ObisCode.parse("0-0:1.0.0")
        # Counting connections needs the meter to have seen the first close before the reopen.
        await meter.wait_until_detached()
        await reader.poll()
        assert reader.requests == 6
        assert meter.connections == 2
        assert meter.errors == []


async def test_single_phase_meter() -> None:
    async with PtyHanMeter(single_phase_profile()) as meter:
        reader = HanReader(meter.port, FAST)
        readout = await reader.poll()
        assert reader.three_phase is False
        assert reader.absent == {0x006E}
        assert_common(readout)
        assert value(readout, "1-0:1.7.0") == Decimal(1180)
        assert ObisCode.parse("1-0:52.7.0") not in readout.current
        assert ObisCode.parse("1-0:21.8.0") not in readout.current
        assert len(readout.registers) == 39
        assert [(request.address, request.quantity) for request in meter.requests][1:3] == [
            (0x0016, 6),
            (0x0001, 6),
        ]


@pytest.mark.usefixtures("socket_enabled")
async def test_three_phase_meter_behind_a_tcp_bridge() -> None:
    async with TcpHanMeter(three_phase_profile()) as meter:
        readout = await read_eredes(meter.port, FAST)
        assert value(readout, "1-0:72.7.0") == Decimal("229.8")


async def test_meter_with_han_access_not_enabled() -> None:
    async with PtyHanMeter(three_phase_profile(denied=all_registers())) as meter:
        with pytest.raises(RegisterNotEnabledError) as caught:
            await read_eredes(meter.port, FAST)
        # The energy block goes first and stops the poll: the phase probe, the block, its
        # totals group, energy import alone; no time wasted on the rest.
        assert len(meter.requests) == 4
    error = caught.value
    assert error.key == "register_not_enabled"
    assert isinstance(error, ProtocolError)
    message = str(error)
    assert "active energy import +A (0x0016)" in message
    assert "Balcão Digital" in message
    assert "enable HAN access" in message


async def test_refused_energy_import_keeps_failing_until_access_is_granted() -> None:
    """A reader that saw 0x0016 refused asks again every poll: no readout without energy import."""
    async with PtyHanMeter(three_phase_profile(denied=frozenset({0x0016}))) as meter:
        reader = HanReader(meter.port, FAST)
        for _ in range(2):
            with pytest.raises(RegisterNotEnabledError):
                await reader.poll()
        meter.profile = three_phase_profile()
        readout = await reader.poll()
    assert value(readout, "1-0:1.8.0") is not None


async def test_refused_registers_are_read_around() -> None:
    profile = three_phase_profile(denied=frozenset({0x0075, 0x0002}))
    async with PtyHanMeter(profile) as meter:
        reader = HanReader(meter.port, FAST)
        readout = await reader.poll()
        assert reader.denied == {0x0075, 0x0002}
        assert ObisCode.parse("1-0:41.7.0") not in readout.current
        assert value(readout, "1-0:61.7.0") == Decimal(270)
        assert readout.serial is None
        assert readout.identity.flag_id == "LGZ"
        assert any("refused (0x81 access denied)" in entry.note for entry in readout.trace)
        first = reader.requests
        second = await reader.poll()
        # The refused ones are left out: blocks around them, no single reads any more.
        assert reader.requests < first
        assert reader.requests == 8
        assert value(second, "1-0:1.8.0") == Decimal("1234.567")


async def test_meter_without_energy_register_is_not_a_han_meter() -> None:
    values = dict(three_phase_profile().values)
    del values[0x0016]
    async with PtyHanMeter(HanProfile(values=values, three_phase=True)) as meter:
        with pytest.raises(NotHanMeterError, match="not an E-Redes HAN meter"):
            await read_eredes(meter.port, FAST)


async def test_unknown_model_and_missing_identity() -> None:
    profile = single_phase_profile().with_values(x0003=(77).to_bytes(4, "big") + (2017).to_bytes(2, "big"))
    async with PtyHanMeter(profile) as meter:
        readout = await read_eredes(meter.port, FAST)
    assert readout.identity.flag_id == "HAN"
    assert readout.manufacturer is None
    assert readout.identity.identification == "model 77 01.02"
    denied = single_phase_profile(denied=frozenset(range(0x0001, 0x0007)))
    async with PtyHanMeter(denied) as meter:
        readout = await read_eredes(meter.port, FAST)
    assert readout.identity.identification == "E-Redes HAN meter"


async def test_two_stop_bit_meter_is_silent_at_8n1_and_found_by_the_probe() -> None:
    async with PtyHanMeter(three_phase_profile(two_stop_bits=True)) as meter:
        settings = HanSettings(request_pause=0.01, response_timeout=0.2)
        with pytest.raises(NoAnswerError, match="no answer from slave 1 at 9600 Bd 8N1"):
            await read_eredes(meter.port, settings)
        found = await probe_eredes(meter.port, settings)
        assert found.settings.framing is Framing.EIGHT_N_TWO
        assert value(found.readout, "1-0:1.8.0") == Decimal("1234.567")
        ignored = len(meter.counters.ignored)
        await read_eredes(meter.port, found.settings)
        assert len(meter.counters.ignored) == ignored


async def test_probe_prefers_8n1() -> None:
    async with PtyHanMeter(single_phase_profile()) as meter:
        found = await probe_eredes(meter.port, FAST)
    assert found.settings.framing is Framing.EIGHT_N_ONE
    assert found.learned.three_phase is False


async def test_probe_of_a_silent_port() -> None:
    async with PtyHanMeter(three_phase_profile(slave=9)) as meter:
        with pytest.raises(
            NoAnswerError, match=r"at 9600 Bd 8N1, 9600 Bd 8N2, 19200 Bd 8N1, 19200 Bd 8N2 \(slave 1\)"
        ) as caught:
            await probe_eredes(meter.port, HanSettings(request_pause=0.01, response_timeout=0.1, retries=0))
    # Every line tried is in the trace: its requests, then why it gave nothing.
    trace = caught.value.trace
    lines = [
        match[1] for entry in trace if (match := re.fullmatch(r"no HAN meter at (\d+ Bd 8N[12])", entry.note))
    ]
    assert lines == ["9600 Bd 8N1", "9600 Bd 8N2", "19200 Bd 8N1", "19200 Bd 8N2"]
    assert sum(entry.direction is Direction.SENT for entry in trace) >= 4


@pytest.mark.usefixtures("socket_enabled")
async def test_probe_through_tcp_tries_the_bridge_framing_once() -> None:
    async with TcpHanMeter(three_phase_profile(slave=9)) as meter:
        with pytest.raises(NoAnswerError, match=r"at 9600 Bd 8N1 \(slave 1\)"):
            await probe_eredes(meter.port, HanSettings(request_pause=0.01, response_timeout=0.1, retries=0))


async def test_slow_replies() -> None:
    async with PtyHanMeter(single_phase_profile(reaction_time=0.3)) as meter:
        readout = await read_eredes(meter.port, HanSettings(request_pause=0.01, response_timeout=0.6))
        assert value(readout, "1-0:1.8.0") == Decimal("1234.567")
    async with PtyHanMeter(single_phase_profile(reaction_time=0.4)) as meter:
        with pytest.raises(NoAnswerError):
            await read_eredes(meter.port, HanSettings(request_pause=0.01, response_timeout=0.2, retries=0))


async def test_poll_timing_at_9600_with_one_second_pause() -> None:
    """A steady three-phase poll: six requests, five pauses of 1 s, replies at 9600 Bd."""
    async with PtyHanMeter(three_phase_profile(reaction_time=0.05)) as meter:
        reader = HanReader(meter.port, HanSettings(request_pause=1.0))
        reader.three_phase = True
        started = time.monotonic()
        await reader.poll()
        elapsed = time.monotonic() - started
    assert reader.requests == 6
    # Wire time: 6 requests of 8 bytes + replies of 44+26+48+56+56+4 data bytes, 10 bits at 9600 Bd.
    assert 5.0 + 6 * 0.05 + 0.3 < elapsed < 6.5


# --- faults through a scripted link ------------------------------------------------------


class ScriptedLink(Link):
    """A link whose meter is a function from request to the chunks it answers."""

    def __init__(self, port: str, line: LineSettings, script: Callable[[bytes, int], list[bytes]]) -> None:
        super().__init__(port, line)
        self.script = script
        self.sent: list[bytes] = []
        self.pending: list[bytes] = []

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def write(self, data: bytes) -> float:
        self.sent.append(data)
        self.pending.extend(self.script(data, len(self.sent)))
        return time.monotonic()

    async def read(self, timeout: float) -> bytes:
        if self.pending:
            return self.pending.pop(0)
        return b""


def scripted(
    script: Callable[[bytes, int], list[bytes]],
) -> tuple[Callable[[str, LineSettings], Link], list[ScriptedLink]]:
    links: list[ScriptedLink] = []

    def factory(port: str, line: LineSettings) -> Link:
        link = ScriptedLink(port, line, script)
        links.append(link)
        return link

    return factory, links


def meter_reply(request: bytes) -> bytes:
    reply = answer(single_phase_profile(), Request.parse(request))
    assert reply is not None
    return reply


async def test_corrupted_reply_is_repeated() -> None:
    def script(request: bytes, count: int) -> list[bytes]:
        reply = meter_reply(request)
        if count == 2:
            return [reply[:-1] + bytes([reply[-1] ^ 0xFF]), b"\x00late"]
        return [reply]

    factory, links = scripted(script)
    readout = await read_eredes("/dev/fake", FAST, link_factory=factory)
    assert value(readout, "1-0:1.8.0") == Decimal("1234.567")
    assert links[0].sent[1] == links[0].sent[2]
    assert any(entry.note == "discarded" for entry in readout.trace)


async def test_corrupted_twice_raises_checksum_error() -> None:
    def script(request: bytes, count: int) -> list[bytes]:
        reply = meter_reply(request)
        return [reply if count == 1 else reply[:-1] + bytes([reply[-1] ^ 0xFF])]

    factory, _ = scripted(script)
    with pytest.raises(ChecksumError) as caught:
        await read_eredes("/dev/fake", FAST, link_factory=factory)
    # The error carries the requests and the corrupted replies, for ``--trace`` and diagnostics.
    directions = [entry.direction for entry in caught.value.trace]
    assert Direction.SENT in directions and Direction.RECEIVED in directions


async def test_reply_that_stops_halfway() -> None:
    def script(request: bytes, count: int) -> list[bytes]:
        return [meter_reply(request)[:4]]

    factory, _ = scripted(script)
    with pytest.raises(NoAnswerError, match="stopped after 4 bytes"):
        await read_eredes(
            "/dev/fake",
            HanSettings(request_pause=0.0, response_timeout=0.05, retries=0),
            link_factory=factory,
        )


async def test_busy_meter_is_a_protocol_error() -> None:
    def script(request: bytes, count: int) -> list[bytes]:
        return [encode_exception(1, 4, 0x06)]

    factory, _ = scripted(script)
    with pytest.raises(ProtocolError, match="0x06 server device busy"):
        await read_eredes("/dev/fake", FAST, link_factory=factory)


async def test_reply_of_the_wrong_size_is_read_one_by_one() -> None:
    def script(request: bytes, count: int) -> list[bytes]:
        parsed = Request.parse(request)
        if parsed.quantity > 1 and parsed.address == 0x0016:
            return [encode_reply(1, 4, bytes(6))]
        return [meter_reply(request)]

    factory, links = scripted(script)  # the energy block is answered with the wrong size
    readout = await read_eredes("/dev/fake", FAST, link_factory=factory)
    assert value(readout, "1-0:5.8.0") == Decimal(11)
    # Nine requests, then the broken block's access groups: the totals (wrong again, so
    # each alone) and the reactive energies (right): 9 + 4.
    assert len(links[0].sent) == 9 + 4


async def test_single_object_of_the_wrong_size_raises() -> None:
    def script(request: bytes, count: int) -> list[bytes]:
        return [encode_reply(1, 4, bytes(6))]

    factory, _ = scripted(script)
    with pytest.raises(ProtocolError, match="voltage L2"):
        await read_eredes("/dev/fake", FAST, link_factory=factory)


async def test_reply_to_another_function_raises() -> None:
    def script(request: bytes, count: int) -> list[bytes]:
        return [encode_exception(1, 3, 0x02)]

    factory, _ = scripted(script)
    # Bytes of another function are noise: the reply the request asked for never comes.
    with pytest.raises(NoAnswerError, match="stopped after 5 bytes"):
        await read_eredes(
            "/dev/fake", HanSettings(request_pause=0.0, response_timeout=0.05), link_factory=factory
        )


async def test_refused_registers_are_asked_again_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("custom_components.landis_gyr_optical.meter.eredes_han.client.RECHECK_POLLS", 2)
    async with PtyHanMeter(single_phase_profile(denied=frozenset({0x00B5}))) as meter:
        reader = HanReader(meter.port, FAST)
        await reader.poll()
        assert reader.denied == {0x00B5}
        await reader.poll()
        assert 0x00B5 in reader.denied
        assert any(request.address == 0x00B4 and request.quantity == 2 for request in meter.requests[-3:])
