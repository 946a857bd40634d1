"""The serialx link: opening quirks, every OS error as a PortError naming the port, parity set-up."""

from __future__ import annotations

import errno
from pathlib import Path
import termios
from typing import Any

import pytest
import serialx

from custom_components.landis_gyr_optical.meter import link as link_module
from custom_components.landis_gyr_optical.meter.errors import PortError
from custom_components.landis_gyr_optical.meter.iec62056_21.client import read_meter
from custom_components.landis_gyr_optical.meter.iec62056_21.session import SessionSettings
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link, _mark_parity_errors, describe_port
from custom_components.landis_gyr_optical.meter.parity import ParityCheck
from tests.simulator import PtyMeter, load_profile, quick_profile

LINE = LineSettings(300)


async def test_reopening_a_pty_left_at_300_7e1() -> None:
    """A pty left at 300 Bd 7E1 refuses the same settings again (EINVAL); the link goes round it."""
    async with PtyMeter(quick_profile("lgz_e350", lines=3), reset_termios=False) as meter:
        for closes in (1, 2):
            readout = await read_meter(meter.port, SessionSettings(max_baud=300), retries=0)
            assert readout.baud == 300
            # The meter sees a close only when it next polls the pty: let it see this one first.
            await meter.wait_until(lambda closes=closes: meter.closes == closes)


def refuse_first_open(monkeypatch: pytest.MonkeyPatch) -> list[LineSettings]:
    """Make the first open fail with EINVAL, as a Linux pty does in some states; log each try."""
    opened: list[LineSettings] = []
    original = Link._open_at

    async def open_at(self: Link, line: LineSettings) -> serialx.AsyncSerial:
        opened.append(line)
        if len(opened) == 1:
            raise OSError(errno.EINVAL, "Invalid argument")
        return await original(self, line)

    monkeypatch.setattr(Link, "_open_at", open_at)
    return opened


async def test_einval_on_open_goes_through_a_neutral_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """EINVAL at 300 Bd 7E1: open at 9600 Bd 8N1 first, then switch; the read works."""
    opened = refuse_first_open(monkeypatch)
    async with PtyMeter(quick_profile("lgz_e350", lines=3)) as meter:
        readout = await read_meter(meter.port, SessionSettings(max_baud=300), retries=0)
    assert readout.registers
    assert opened == [LINE, LineSettings(9600, Framing.EIGHT_N_ONE)]


async def test_einval_twice_is_reported_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """When even the neutral-rate detour is refused, the error says which settings were rejected."""
    refuse_first_open(monkeypatch)

    async def refuse(*_: Any) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(link_module, "_reconfigure", refuse)
    async with PtyMeter(load_profile("lgz_e350")) as meter:
        link = Link(meter.port, LINE)
        with pytest.raises(PortError, match=r"Errno 22.*\(the port rejected 300 Bd 7E1\)") as caught:
            await link.open()
        assert caught.value.port == meter.port
        with pytest.raises(PortError, match="not open"):
            await link.write(b"x")


async def test_other_open_errors_are_not_retried() -> None:
    """A missing device is reported at once, naming the path and the OS error."""
    with pytest.raises(PortError, match=r"/dev/ttyNOPE.*\[Errno 2\] No such file or directory"):
        await Link("/dev/ttyNOPE", LINE).open()


class BrokenSerial:
    """An open port whose every operation fails like an unplugged USB head."""

    def __init__(self, error: BaseException) -> None:
        """Fail with ``error``."""
        self.error = error

    async def write(self, data: bytes) -> None:
        """Fail."""
        raise self.error

    async def read(self, size: int) -> bytes:
        """Fail."""
        raise self.error

    async def reconfigure_port(self, **_: Any) -> None:
        """Fail."""
        raise self.error

    @property
    def transport(self) -> BrokenSerial:
        """The transport, whose serial object makes the tty's blocking calls: here itself."""
        return self

    @property
    def serial(self) -> BrokenTty:
        """The blocking side of the port, failing the same way."""
        return BrokenTty(self.error)

    async def close(self) -> None:
        """Fail."""
        raise self.error


class BrokenTty:
    """The blocking serial object of a failing tty (a rate switch calls it directly)."""

    def __init__(self, error: BaseException) -> None:
        """Fail with ``error``."""
        self.error = error

    def reconfigure_port(self, **_: Any) -> None:
        """Fail."""
        raise self.error


def broken_link(error: BaseException) -> Link:
    """A link whose port fails with ``error``."""
    link = Link("/dev/ttyUSB9", LINE)
    link._serial = BrokenSerial(error)  # type: ignore[assignment]
    return link


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.EIO, "Input/output error"),
        serialx.SerialException("device reports readiness but no data"),
    ],
)
async def test_io_errors_name_the_port_and_the_step(error: BaseException) -> None:
    """Write, read and switch failures become PortError naming the port, the reason and the step."""
    link = broken_link(error)
    with pytest.raises(PortError, match="while sending") as sent:
        await link.write(b"/?!\r\n")
    assert sent.value.port == "/dev/ttyUSB9"
    with pytest.raises(PortError, match="while receiving"):
        await link.read(0.1)
    with pytest.raises(PortError, match="while switching to 9600 Bd 7E1"):
        await link.switch(LineSettings(9600))
    if isinstance(error, OSError):
        assert "[Errno 5] Input/output error" in str(sent.value)
    await link.close()  # a port that fails to close is already gone: no error
    await link.close()


def test_describe_port_hides_credentials() -> None:
    """URLs with credentials are redacted in every message; tty paths stay as they are."""
    assert describe_port("/dev/ttyUSB0") == "/dev/ttyUSB0"
    assert "secret" not in describe_port("esphome://host:6053/?port_name=uart&key=secret")


def test_parity_marks_need_a_tty(tmp_path: Path) -> None:
    """No device, or a file that is no tty: the parity check stays off, nothing raises."""
    assert not _mark_parity_errors(str(tmp_path / "missing"))
    regular = tmp_path / "file"
    regular.write_bytes(b"")
    assert not _mark_parity_errors(str(regular))


async def test_parity_marks_refused_by_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver that drops the flags (read-back without INPCK|PARMRK) leaves the check off."""
    monkeypatch.setattr(termios, "tcsetattr", lambda *_: None)
    async with PtyMeter(load_profile("lgz_e350")) as meter:
        assert not _mark_parity_errors(meter.port)
        async with Link(meter.port, LINE) as link:
            assert link.parity_check is ParityCheck.NONE


async def test_software_parity_only_on_seven_bit_lines() -> None:
    """Software parity applies to 7E1/7E2; an 8N1 line (DLMS, SML) passes bytes unchanged."""
    async with (
        PtyMeter(load_profile("lgz_e350")) as meter,
        Link(meter.port, LineSettings(300, Framing.SEVEN_E_TWO), software_parity=True) as link,
    ):
        assert link.parity_check is ParityCheck.SOFTWARE
        await link.switch(LineSettings(9600, Framing.EIGHT_N_ONE))
        assert link.parity_check is ParityCheck.NONE


async def test_serialx_errors_on_open_are_port_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exceptions of serialx itself (a refused ESPHome proxy) become PortError too."""

    async def fail(self: Link, line: LineSettings) -> serialx.AsyncSerial:
        raise serialx.SerialException("ESPHome device refused the serial proxy")

    monkeypatch.setattr(Link, "_open_at", fail)
    with pytest.raises(PortError, match=r"esphome://host:6053.*refused the serial proxy"):
        await Link("esphome://host:6053/?port_name=uart", LINE).open()


async def test_parity_marks_when_the_driver_complains_but_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver may report EINVAL and still apply the flags (Linux ptys): the read-back decides."""

    class ComplainingTermios:
        """``termios`` whose ``tcsetattr`` applies the change and then reports EINVAL."""

        def __getattr__(self, name: str) -> Any:
            return getattr(termios, name)

        @staticmethod
        def tcsetattr(fd: int, when: int, attributes: list[Any]) -> None:
            termios.tcsetattr(fd, when, attributes)
            raise termios.error(errno.EINVAL, "Invalid argument")

    async with PtyMeter(load_profile("lgz_e350")) as meter:
        monkeypatch.setattr(link_module, "termios", ComplainingTermios())
        assert _mark_parity_errors(meter.port)
