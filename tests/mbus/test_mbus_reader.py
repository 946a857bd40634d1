"""The M-Bus reader: SND_NKE, REQ_UD2 with its frame count bit, the optical wake-up, retries.

The simulated heat meter answers with the libmbus captures and keeps real line time: a
battery meter sleeps until it has heard 2 s of ``0x55`` at 8N1.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
import importlib
import time

import pytest

from custom_components.landis_gyr_optical.meter.errors import NoAnswerError
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.mbus.client import read_mbus
from custom_components.landis_gyr_optical.meter.mbus.frames import (
    BadFrame,
    MbusChecksumError,
    MbusError,
    build_long_frame,
    long_frame_body,
    parse_short_frame,
    req_ud2,
    short_frame,
    snd_nke,
)
from custom_components.landis_gyr_optical.meter.mbus.records import Telegram, decode_frame
from custom_components.landis_gyr_optical.meter.mbus.session import (
    WAKE_UP_LENGTH,
    MbusAddressError,
    MbusSettings,
    ReadSession,
    check_address,
)
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.readout import Direction
from tests.simulator.mbus import MULTICAL, T230, MbusProfile, PtyMbusMeter

probe_module = importlib.import_module("custom_components.landis_gyr_optical.meter.probe")
QUICK = MbusSettings(ack_timeout=0.3, response_timeout=0.4)
"""Short waits for the silent cases (the meter answers within 50 ms)."""


def _split_t230() -> tuple[bytes, bytes]:
    """The T230 capture as the first of two telegrams, and a second one with its error flags."""
    body = long_frame_body(T230)
    end = len(body) - 6  # DIF 0F, then five bytes of manufacturer data
    assert body[end] == 0x0F
    first = build_long_frame(body[:end] + b"\x1f" + body[end + 1 :])
    second = build_long_frame(body[:15] + bytes.fromhex("02FD170480") + b"\x0f")
    return first, second


def test_short_frames() -> None:
    assert snd_nke(0xFE) == bytes.fromhex("1040FE3E16")
    assert req_ud2(0xFE, fcb=True) == bytes.fromhex("107BFE7916")
    assert req_ud2(5, fcb=False) == bytes.fromhex("105B056016")
    assert parse_short_frame(bytes.fromhex("105B056016")) == (0x5B, 5)
    with pytest.raises(MbusChecksumError):
        parse_short_frame(bytes.fromhex("105B056116"))
    with pytest.raises(MbusError, match="not an M-Bus short frame"):
        parse_short_frame(bytes.fromhex("105B0560"))
    with pytest.raises(MbusError, match="not a byte"):
        short_frame(0x40, 256)
    assert check_address(0) == 0 and check_address(250) == 250 and check_address(254) == 254
    for wrong in (251, 253, 255, -1):
        with pytest.raises(MbusError, match="not 0-250 or 254"):
            check_address(wrong)


def test_the_session_toggles_the_frame_count_bit_and_joins_the_telegrams() -> None:
    first, second = _split_t230()
    session = ReadSession(max_telegrams=3)
    assert session.reset_request() == snd_nke(0xFE)
    assert ReadSession.acknowledged(b"\x00\xe5") and not ReadSession.acknowledged(b"\x10")
    assert session.data_request()[1] == 0x7B  # FCB 1 after the reset
    assert session.feed(first[:10]) is None
    telegram = session.feed(first[10:])
    assert isinstance(telegram, Telegram)
    assert session.accept(telegram)
    assert session.data_request()[1] == 0x5B
    telegram = session.feed(second)
    assert isinstance(telegram, Telegram)
    assert not session.accept(telegram)
    merged = session.result()
    assert len(merged.records) == 35 and not merged.more_records
    assert merged.manufacturer_data == b""
    assert session.frames == [long_frame_body(first), long_frame_body(second)]


def test_the_session_stops_after_its_telegram_limit_and_checks_the_meter() -> None:
    first, _ = _split_t230()
    session = ReadSession(max_telegrams=1)
    assert not session.accept(decode_frame(first))  # more records, but the limit is reached
    with pytest.raises(MbusError, match="no M-Bus telegram"):
        ReadSession().result()
    other = ReadSession()
    other.accept(decode_frame(first))
    with pytest.raises(MbusAddressError, match="meter 06855817 in the series of 66660205"):
        other.accept(decode_frame(MULTICAL))
    addressed = ReadSession(3)
    with pytest.raises(MbusAddressError, match="from address 17, asked 3"):
        addressed.feed(MULTICAL)
    bad = ReadSession().feed(MULTICAL[:-2] + b"\x00\x16")
    assert isinstance(bad, BadFrame) and isinstance(bad.error, MbusChecksumError)


async def test_a_sleeping_meter_is_woken_and_read() -> None:
    async with PtyMbusMeter(MbusProfile((MULTICAL,), address=17)) as meter:
        started = time.monotonic()
        readout = await read_mbus(meter.port)
        elapsed = time.monotonic() - started
    # Two wake-up runs of 504 characters at 2400 Bd 8N1 (2.1 s each), each before a request.
    assert elapsed >= 2 * WAKE_UP_LENGTH * 10 / 2400
    assert meter.log.requests == [snd_nke(0xFE), req_ud2(0xFE, fcb=True)]
    assert meter.log.wake_ups >= 1 and meter.log.ignored == []
    assert (readout.protocol, readout.baud, readout.checksum) == ("mbus", 2400, "sum")
    assert readout.identity.flag_id == "KAM" and readout.manufacturer == "Kamstrup"
    registers = readout.current
    assert registers[ObisCode.parse("6-0:8.0.0")].value == Decimal(34700)
    assert registers[ObisCode.parse("6-0:10.0.0")].value == Decimal("101.69")
    notes = [entry.note for entry in readout.trace if entry.direction is Direction.SENT]
    wake_up = "wake-up: 504 x 0x55 at 2400 Bd 8N1"
    assert notes == [wake_up, "SND_NKE", wake_up, "REQ_UD2"]
    assert "telegram started" in readout.timings and "done" in readout.timings


async def test_more_records_are_asked_for_with_the_bit_toggled() -> None:
    first, second = _split_t230()
    profile = MbusProfile((first, second), asleep=False)
    async with PtyMbusMeter(profile) as meter:
        readout = await read_mbus(meter.port, replace(QUICK, wake_up=False, address=0))
    assert meter.log.requests == [snd_nke(0), req_ud2(0, fcb=True), req_ud2(0, fcb=False)]
    flags = readout.current[ObisCode.parse("6-0:97.97.0")]
    assert flags.text == "8004"  # two bytes, as the meter sent them: bits, not a number
    assert readout.current[ObisCode.parse("6-0:10.0.0")].value == Decimal("19.5")


async def test_a_corrupted_answer_is_asked_for_again_with_the_same_bit() -> None:
    profile = MbusProfile((MULTICAL,), asleep=False, corrupt=1)
    async with PtyMbusMeter(profile) as meter:
        readout = await read_mbus(meter.port, replace(QUICK, wake_up=False))
    assert meter.log.requests == [snd_nke(0xFE), req_ud2(0xFE, fcb=True), req_ud2(0xFE, fcb=True)]
    assert any("rejected" in entry.note for entry in readout.trace)
    assert readout.current[ObisCode.parse("6-0:6.8.0")].value == Decimal(37351)


async def test_answers_that_keep_failing_their_check_sum() -> None:
    profile = MbusProfile((MULTICAL,), asleep=False, corrupt=5)
    async with PtyMbusMeter(profile) as meter:
        with pytest.raises(MbusChecksumError, match=r"passed its check sum in 2 requests") as info:
            await read_mbus(meter.port, replace(QUICK, wake_up=False, retries=1))
    assert info.value.trace


async def test_a_sleeping_meter_without_the_wake_up_stays_silent() -> None:
    async with PtyMbusMeter(MbusProfile((MULTICAL,))) as meter:
        with pytest.raises(NoAnswerError, match="no M-Bus answer to REQ_UD2") as info:
            await read_mbus(meter.port, replace(QUICK, wake_up=False, retries=0))
        assert meter.log.requests == [] and len(meter.log.ignored) == 2
        notes = [entry.note for entry in info.value.trace]
        assert "no E5 after SND_NKE: asking for data anyway" in notes
        with pytest.raises(NoAnswerError, match="no M-Bus answer to SND_NKE"):
            await read_mbus(meter.port, replace(QUICK, wake_up=False, ack_required=True))


async def test_a_meter_that_does_not_confirm_the_reset_is_read_anyway() -> None:
    profile = MbusProfile((MULTICAL,), asleep=False, answers_reset=False, address=17)
    async with PtyMbusMeter(profile) as meter:
        readout = await read_mbus(meter.port, replace(QUICK, wake_up=False, address=17))
    assert readout.identity.flag_id == "KAM"


def test_the_m_bus_line_is_8e1() -> None:
    assert Framing.EIGHT_E_ONE.bits_per_character == 11
    assert LineSettings(2400, Framing.EIGHT_E_ONE).character_time() == pytest.approx(11 / 2400)


async def test_the_probe_step_finds_a_sleeping_heat_meter() -> None:
    async with PtyMbusMeter(MbusProfile((T230,))) as meter:
        attempt, readout = await probe_module._try_mbus(meter.port)
    assert readout is not None and attempt.ok
    assert (
        attempt.name == "M-Bus heat meter: REQ_UD2 to address 254 at 2400 Bd 8E1, after the optical wake-up"
    )
    assert attempt.settings is not None and attempt.settings.cli_arguments() == [
        "--protocol",
        "mbus",
        "--slave",
        "254",
        "--wake-up",
    ]
    assert attempt.verdict.startswith("meter LUG 66660205 v7; verified readout (sum) at 2400 Bd")


async def test_the_probe_step_gives_up_without_the_reset_confirmed() -> None:
    async with PtyMbusMeter(MbusProfile((T230,), answers_reset=False)) as meter:
        started = time.monotonic()
        attempt, readout = await probe_module._try_mbus(meter.port)
        elapsed = time.monotonic() - started
    assert readout is None and not attempt.ok
    assert isinstance(attempt.error, NoAnswerError) and "SND_NKE" in str(attempt.error)
    assert elapsed < 2 * WAKE_UP_LENGTH * 10 / 2400  # one wake-up run, no REQ_UD2
    assert meter.log.requests == [snd_nke(0xFE)]
