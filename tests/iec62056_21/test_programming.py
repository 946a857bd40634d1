"""The read-only programming-mode session, byte by byte, and against the simulated meter."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from custom_components.landis_gyr_optical.meter.errors import (
    ChecksumError,
    NoAnswerError,
    ProfileUnavailableError,
    ProtocolError,
    ReadoutTooLongError,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import (
    ACK,
    BREAK,
    NAK,
    SOH,
    STX,
    bcc,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.profile_client import read_profile
from custom_components.landis_gyr_optical.meter.iec62056_21.programming import (
    EOT,
    ProfileFinished,
    ProfileRequest,
    ProgrammingSession,
    ReadCommand,
    command_message,
)
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Protocol,
    Receive,
    SessionSettings,
    SwitchLine,
    Transmit,
    Wait,
)
from custom_components.landis_gyr_optical.meter.line import LineSettings
from tests.simulator import Faults, PtyMeter, quick_profile
from tests.simulator.meter import frame_command
from tests.simulator.recording import Recording, blocks, frame

IDENT = b"/LGZ4ZMF100AC.M27\r\n"
METER_PASSWORD = "00000000"  # noqa: S105 - a test meter's
WRONG_PASSWORD = "1"  # noqa: S105 - a test meter's
PROMPT = frame_command(b"P0", b"(12345678)")
PROFILE = b"P.01(2611300015)(00)(15)(2)(1.5.0)(kW)(2.5.0)(kW)\r\n(1.167)(0.000)\r\n(0.980)(0.000)\r\n"
NOW = datetime(2026, 11, 30, 12, 0)
OUTAGE = (datetime(2026, 11, 30, 3, 5), datetime(2026, 11, 30, 5, 40))


def transmitted(session: ProgrammingSession) -> list[bytes]:
    """Run the session's commands up to the next receive; return what it sent."""
    sent: list[bytes] = []
    while True:
        command = session.next_command()
        if isinstance(command, Transmit):
            sent.append(command.data)
        elif isinstance(command, Receive):
            return sent
        elif isinstance(command, ProfileFinished):
            session.finished = command  # type: ignore[attr-defined]
            return sent
        else:
            assert isinstance(command, (Wait, SwitchLine))


def test_exchange_without_password() -> None:
    """Sign-on, ``ACK 0 4 1``, the P0 prompt left unanswered, ``R5 P.01(;)``, ``B0``."""
    session = ProgrammingSession(SessionSettings(), ProfileRequest())
    assert transmitted(session) == [b"/?!\r\n"]
    session.receive_data(IDENT)
    assert transmitted(session) == [bytes([ACK]) + b"041\r\n"]
    assert session.line == LineSettings(4800, session.line.framing)
    session.receive_data(PROMPT)
    assert transmitted(session) == [command_message("R5", "P.01(;)")]
    session.receive_data(frame(PROFILE))
    assert transmitted(session) == [BREAK]
    finished = session.finished  # type: ignore[attr-defined]
    assert all(interval.values for interval in finished.profile)
    assert len(finished.profile) == 2
    assert finished.profile.identity.flag_id == "LGZ"
    assert finished.baud == 4800
    assert not session.needs_data
    session.receive_data(b"late")  # ignored once done
    waiting = ProgrammingSession(SessionSettings(), ProfileRequest())
    transmitted(waiting)
    with pytest.raises(RuntimeError, match="waiting for data"):
        waiting.next_command()


def test_command_message_bcc() -> None:
    """The break from the command builder is the standard's ``SOH B 0 ETX q``."""
    assert command_message("B0") == BREAK
    message = command_message("R5", "P.01(;)")
    assert message[0] == SOH
    assert message[-1] == bcc(message[1:-1])


def test_password_and_partial_blocks() -> None:
    """P1 answers the prompt; R6 blocks end in EOT and are acknowledged one by one."""
    request = ProfileRequest(
        start=datetime(2026, 11, 30, 0, 0),
        end=datetime(2026, 11, 30, 1, 0),
        command=ReadCommand.R6,
        password=METER_PASSWORD,
    )
    session = ProgrammingSession(SessionSettings(max_baud=300), request)
    transmitted(session)
    session.receive_data(IDENT)
    assert transmitted(session) == [bytes([ACK]) + b"001\r\n"]
    session.receive_data(PROMPT)
    assert transmitted(session) == [command_message("P1", f"({METER_PASSWORD})")]
    session.receive_data(bytes([ACK]))
    assert transmitted(session) == [command_message("R6", "P.01(2611300000;2611300100)")]
    first, second = blocks(PROFILE, 60)
    assert first[-2] == EOT
    session.receive_data(first)
    assert transmitted(session) == [bytes([ACK])]
    session.receive_data(second)
    assert transmitted(session) == [BREAK]
    assert len(session.finished.profile) == 2  # type: ignore[attr-defined]


def test_bad_block_is_asked_for_again() -> None:
    """A block with a wrong BCC gets a NAK; after three repeats the read fails."""
    session = ProgrammingSession(SessionSettings(), ProfileRequest())
    transmitted(session)
    session.receive_data(IDENT)
    transmitted(session)
    session.receive_data(PROMPT)
    transmitted(session)
    bad = frame(PROFILE)[:-1] + bytes([frame(PROFILE)[-1] ^ 1])
    for _ in range(3):
        session.receive_data(bad)
        assert transmitted(session) == [bytes([NAK])]
    with pytest.raises(ChecksumError, match="block check character"):
        session.receive_data(bad)


def test_echo_is_skipped() -> None:
    """A half-duplex head's echo of the request is not taken for the meter's answer."""
    session = ProgrammingSession(SessionSettings(), ProfileRequest())
    transmitted(session)
    session.receive_data(b"/?!\r\n" + IDENT)
    assert transmitted(session) == [bytes([ACK]) + b"041\r\n"]


def prompted(request: ProfileRequest | None = None) -> ProgrammingSession:
    """A session that has sent its option select."""
    session = ProgrammingSession(SessionSettings(), request or ProfileRequest())
    transmitted(session)
    session.receive_data(IDENT)
    transmitted(session)
    return session


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (frame(b"F.F(00)\r\n1.8.0(1*kWh)\r\n!\r\n"), "with a data readout"),
        (bytes([NAK]), "refused programming mode"),
        (BREAK, "ended the session"),
    ],
)
def test_refused_programming_mode(answer: bytes, message: str) -> None:
    """A meter that answers the programming request with anything but P0 refuses it."""
    session = prompted()
    with pytest.raises(ProfileUnavailableError, match=message):
        session.receive_data(answer)


def test_unexpected_prompt() -> None:
    """A command message other than P0 is a protocol error."""
    with pytest.raises(ProtocolError, match="P0 prompt"):
        prompted().receive_data(frame_command(b"P2", b"(1)"))


def test_timeouts_say_what_was_missing() -> None:
    """No P0 prompt means no programming mode; a stalled profile is no answer."""
    session = prompted()
    assert isinstance(session.timeout(), ProfileUnavailableError)
    session = ProgrammingSession(SessionSettings(), ProfileRequest())
    transmitted(session)
    assert isinstance(session.timeout(), NoAnswerError)
    session = prompted()
    session.receive_data(PROMPT)
    transmitted(session)
    session.receive_data(bytes([STX]) + b"P.01(")
    error = session.timeout()
    assert isinstance(error, NoAnswerError)
    assert "stopped after" in str(error)
    session = prompted(ProfileRequest(password=WRONG_PASSWORD))
    session.receive_data(PROMPT)
    transmitted(session)
    assert "password" in str(session.timeout())


@pytest.mark.parametrize(
    ("answer", "message"),
    [(bytes([NAK]), r"refused the R5 read"), (BREAK, "ended the session instead of sending")],
)
def test_refused_profile(answer: bytes, message: str) -> None:
    """NAK or a break instead of the profile: the meter has none it will give."""
    session = prompted()
    session.receive_data(PROMPT)
    transmitted(session)
    with pytest.raises(ProfileUnavailableError, match=message):
        session.receive_data(answer)


def test_refused_password() -> None:
    """A NAK to P1 is a refusal, not a protocol error."""
    session = prompted(ProfileRequest(password=WRONG_PASSWORD))
    session.receive_data(PROMPT)
    transmitted(session)
    with pytest.raises(ProfileUnavailableError, match="refused the password"):
        session.receive_data(bytes([NAK]))


def test_limits_and_noise() -> None:
    """An endless answer is cut off; non-ASCII bytes in a checked block are noise."""
    session = prompted(ProfileRequest(max_profile=64))
    session.receive_data(PROMPT)
    transmitted(session)
    with pytest.raises(ReadoutTooLongError):
        session.receive_data(bytes([STX]) + b"(0.000)" * 20)
    session = prompted()
    session.receive_data(PROMPT)
    transmitted(session)
    with pytest.raises(ChecksumError, match="non-ASCII"):
        session.receive_data(frame(b"P.01(\xff)"))


def test_not_mode_c() -> None:
    """Mode A, B and D meters and forced modes other than C have no programming mode here."""
    with pytest.raises(ProfileUnavailableError, match="mode C programming mode, not in mode_d"):
        ProgrammingSession(SessionSettings(protocol=Protocol.MODE_D), ProfileRequest())
    session = ProgrammingSession(SessionSettings(), ProfileRequest())
    transmitted(session)
    with pytest.raises(ProfileUnavailableError, match="announces mode_b"):
        session.receive_data(b"/LUGCUH50\r\n")
    session = ProgrammingSession(SessionSettings(), ProfileRequest())
    transmitted(session)
    with pytest.raises(ProtocolError, match="no identification"):
        session.receive_data(b"x" * 300)


def recording(**changes: object) -> Recording:
    """Two days of a 15-minute demand profile with one power failure, the clock stopped at NOW."""
    return replace(
        Recording(start=datetime(2026, 11, 29, 0, 15), outages=(OUTAGE,), clock=lambda: NOW),
        **changes,  # type: ignore[arg-type]
    )


async def test_read_from_the_simulated_meter_over_pty() -> None:
    """The driver reads a range; the outage stays a gap; no write command ever went out."""
    meter_profile = quick_profile("lgz_e350", programming_mode=True, recording=recording())
    request = ProfileRequest(start=datetime(2026, 11, 30, 2, 0), end=datetime(2026, 11, 30, 7, 0))
    async with PtyMeter(meter_profile) as meter:
        profile = await read_profile(meter.port, SessionSettings(max_baud=9600), request)
    assert profile.intervals[0].end == datetime(2026, 11, 30, 2, 15)
    assert profile.intervals[-1].end == datetime(2026, 11, 30, 7, 0)
    assert profile.gaps() == [(datetime(2026, 11, 30, 3, 0), datetime(2026, 11, 30, 5, 30))]
    assert len(profile) == 20 - 10
    assert [message[1:3] for message in meter.commands] == [b"R5"]
    assert not any(message[1:2] == b"W" for message in meter.commands)
    assert meter.events[-1].kind in {"reset", "break", "session end"}
    assert any(event.kind == "break" for event in meter.events)
    assert meter.errors == []


async def test_partial_blocks_password_and_noise() -> None:
    """R6 in 60-byte blocks behind a password, with one bad block repeated, at 4800 Bd."""
    meter_profile = quick_profile(
        "lgz_e350",
        programming_mode=True,
        recording=recording(),
        password=METER_PASSWORD,
        partial_block_size=60,
        faults=Faults(bad_bcc=True),
    )
    request = ProfileRequest(
        start=datetime(2026, 11, 30, 11, 0), command=ReadCommand.R6, password=METER_PASSWORD, max_profile=4096
    )
    async with PtyMeter(meter_profile) as meter:
        profile = await read_profile(meter.port, SessionSettings(), request)
    assert [interval.end for interval in profile][-1] == NOW
    assert len(profile) == 4
    assert [message[1:3] for message in meter.commands] == [b"P1", b"R6"]


async def test_meter_without_programming_mode() -> None:
    """A readout-only meter ignores ``ACK 0 Z 1``: a clear refusal, and the port is closed."""
    async with PtyMeter(quick_profile("lgz_e350")) as meter:
        with pytest.raises(ProfileUnavailableError, match="did not enter programming mode"):
            await read_profile(meter.port, SessionSettings(max_baud=9600))
        await meter.wait_until(lambda: meter.closes == 1)
    assert not meter.commands


async def test_meter_without_profile() -> None:
    """A meter in programming mode that keeps no profile answers ``(ERROR)``; it still gets its break."""
    async with PtyMeter(quick_profile("lgz_e350", programming_mode=True)) as meter:
        with pytest.raises(ProfileUnavailableError, match=r"\(ERROR\)"):
            await read_profile(meter.port, SessionSettings(max_baud=9600))
    assert any(event.kind == "break" for event in meter.events)
