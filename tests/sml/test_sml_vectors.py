"""Every SML capture decodes to the values its source gives."""

from __future__ import annotations

from decimal import Decimal
import time

from custom_components.landis_gyr_optical.meter.sml.frames import CrcVariant, SmlFrame, SmlStreamReader
from custom_components.landis_gyr_optical.meter.sml.messages import SmlReading, decode_file
from tests.vectors import vector


def read(name: str) -> SmlReading:
    data = bytes.fromhex(vector(name).decode("ascii").strip())
    events = SmlStreamReader().feed(data)
    [frame] = events
    assert isinstance(frame, SmlFrame)
    return decode_file(frame.payload, frame.crc)


def values(reading: SmlReading) -> dict[str, Decimal | str | None]:
    return {str(register.obis): register.value for register in reading.registers}


def test_emh() -> None:
    reading = read("sml_emh_ehz_vzlogger.hex")
    got = values(reading)
    assert reading.crc is CrcVariant.X25
    assert got["1-0:1.8.1"] == Decimal("14796.7771")  # 14796777.1 Wh
    assert got["1-0:1.8.2"] == Decimal("2.0124")  # 2012.4 Wh
    assert got["1-0:1.7.0"] == Decimal("11.2")
    assert {str(r.obis): r.unit for r in reading.registers}["1-0:1.7.0"] == "W"
    assert reading.manufacturer == "EMH"


def test_ebz() -> None:
    reading = read("sml_ebz_smllib_issue8_ok.hex")
    got = values(reading)
    assert got["1-0:1.8.0"] == Decimal("450.09189911")  # 450091.89911 Wh, scaler -5
    assert got["1-0:1.8.1"] == Decimal("449.07489911")
    assert got["1-0:1.8.2"] == Decimal("1.01700000")
    assert got["1-0:2.8.0"] == Decimal("2.19800000")
    assert got["1-0:16.7.0"] == Decimal("352.89")
    assert got["1-0:36.7.0"] == Decimal("82.26")
    assert got["1-0:56.7.0"] == Decimal("27.06")
    assert got["1-0:76.7.0"] == Decimal("243.57")
    assert len([r for r in reading.registers if str(r.obis) != "0-0:96.1.0"]) == 10


def test_lgz_messages_without_envelope() -> None:
    data = bytes.fromhex(vector("sml_lgz_messages_no_envelope_sml2mqtt.hex").decode("ascii").strip())
    assert len(data) == 258
    reading = decode_file(data)
    got = values(reading)
    assert got["1-0:1.8.0"] == Decimal("5171.9237")  # 5171923.7 Wh
    assert got["1-0:2.8.0"] == Decimal(0)
    assert got["1-0:16.7.0"] == Decimal(251)
    assert reading.manufacturer == "LGZ"
    assert reading.server_id == bytes.fromhex("0A014C475A0003403B49")
    assert got["0-0:96.1.0"] == "1LGZ0054541129"


def test_holley_kermit() -> None:
    reading = read("sml_holley_dtz541_kermit_smllib.hex")
    assert reading.crc is CrcVariant.KERMIT
    assert reading.manufacturer == "HLY"
    assert len([r for r in reading.registers if str(r.obis) != "0-0:96.1.0"]) == 30
    assert values(reading)["1-0:14.7.0"] == Decimal("50.0")


def test_dzg() -> None:
    reading = read("sml_dzg_smllib_frame1.hex")
    assert len([r for r in reading.registers if str(r.obis) != "0-0:96.1.0"]) == 4
    assert reading.manufacturer == "DZG"


def test_iskra_signed() -> None:
    reading = read("sml_isk_signed_smllib_issue28.hex")
    assert len([r for r in reading.registers if str(r.obis) != "0-0:96.1.0"]) == 10
    assert reading.manufacturer == "ISK"
    assert values(reading)["1-0:16.7.0"] == Decimal(130)


def test_corrupted_vector_is_rejected() -> None:
    data = bytearray(bytes.fromhex(vector("sml_emh_ehz_vzlogger.hex").decode("ascii").strip()))
    data[100] ^= 0x04
    [event] = SmlStreamReader().feed(bytes(data))
    assert not isinstance(event, SmlFrame)


def test_parse_time_per_frame() -> None:
    # CPU time of this thread: other processes on a loaded machine do not count against the bound.
    data = bytes.fromhex(vector("sml_ebz_smllib_issue8_ok.hex").decode("ascii").strip())
    rounds = 300
    started = time.thread_time()
    for _ in range(rounds):
        [frame] = SmlStreamReader().feed(data)
        assert isinstance(frame, SmlFrame)
        decode_file(frame.payload, frame.crc)
    assert (time.thread_time() - started) / rounds < 0.005
