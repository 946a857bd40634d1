"""EN 13757-3 records and M-Bus long frames: every coding, and every bad input as a typed error."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.mbus.frames import (
    BadFrame,
    LongFrameReader,
    MbusChecksumError,
    MbusError,
    build_long_frame,
    long_frame_body,
)
from custom_components.landis_gyr_optical.meter.mbus.records import (
    Function,
    Quantity,
    Record,
    decode_body,
    decode_frame,
    manufacturer_code,
)
from custom_components.landis_gyr_optical.meter.mbus.registers import NotAHeatMeterError, heat_registers

HEADER = bytes.fromhex("78563412") + (0x32A7).to_bytes(2, "little") + bytes([7, 0x04, 1, 0, 0, 0])


def telegram(records: str, *, medium: int = 0x04, ci: int = 0x72, control: int = 0x08) -> bytes:
    header = HEADER[:7] + bytes([medium]) + HEADER[8:]
    return build_long_frame(bytes([control, 0x01, ci]) + header + bytes.fromhex(records))


def one(records: str) -> Record:
    [record] = decode_frame(telegram(records)).records
    return record


def test_header() -> None:
    decoded = decode_frame(telegram(""))
    assert decoded.header.identification == "12345678"
    assert decoded.header.manufacturer == "LUG"
    assert decoded.records == ()


@pytest.mark.parametrize(
    ("records", "quantity", "value", "unit"),
    [
        ("0406E7910000", Quantity.ENERGY, Decimal(37351000), "Wh"),
        ("040E01000000", Quantity.ENERGY, Decimal(1000000), "J"),
        ("0113FF", Quantity.VOLUME, Decimal("-0.001"), "m³"),
        ("021B0100", Quantity.MASS, Decimal(1), "kg"),
        ("0320010000", Quantity.ON_TIME, Decimal(1), "s"),
        ("0A270200", Quantity.OPERATING_TIME, Decimal(2), "d"),
        ("0633010000000000", Quantity.POWER, Decimal(1000), "J/h"),
        ("0743" + "01" + "00" * 7, Quantity.VOLUME_FLOW, Decimal("0.0001"), "m³/min"),
        ("014F01", Quantity.VOLUME_FLOW, Decimal("0.01"), "m³/s"),
        ("0153FF", Quantity.MASS_FLOW, Decimal(-1), "kg/h"),
        ("0A660512", Quantity.EXTERNAL_TEMPERATURE, Decimal("120.5"), "°C"),
        ("0A690010", Quantity.PRESSURE, Decimal("10.00"), "bar"),
        ("097201", Quantity.AVERAGING_DURATION, Decimal(1), "h"),
        ("0E06010000000000", Quantity.ENERGY, Decimal(1000), "Wh"),
        ("0B620200F0", Quantity.TEMPERATURE_DIFFERENCE, Decimal("-0.2"), "K"),
    ],
)
def test_codings_and_units(records: str, quantity: Quantity, value: Decimal, unit: str) -> None:
    record = one(records)
    assert (record.quantity, record.value, record.unit) == (quantity, value, unit)


def test_dates_fabrication_address_and_error_flags() -> None:
    decoded = decode_frame(
        telegram("046D1A2F6511" + "026C5F1C" + "0C7805026666" + "017A05" + "01FD1705" + "046D1A2F650D")
    )
    values = [(record.quantity, record.value) for record in decoded.records]
    assert values[:5] == [
        (Quantity.DATE_TIME, datetime(2011, 1, 5, 15, 26)),
        (Quantity.DATE, date(2010, 12, 31)),
        (Quantity.FABRICATION_NUMBER, 66660205),
        (Quantity.BUS_ADDRESS, 5),
        (Quantity.ERROR_FLAGS, 5),
    ]
    assert values[5] == (Quantity.DATE_TIME, None)  # month 13
    assert decode_frame(telegram("046D9A2F6511")).records[0].value is None  # invalid bit in the minute byte
    assert decode_frame(telegram("026C5F1F")).records[0].value is None  # month 15
    assert decode_frame(telegram("016C5F")).records[0].value is None  # a date is two bytes


def test_storage_tariff_subunit_and_functions() -> None:
    record = one("DB8F0F5A070300")
    assert (record.storage, record.tariff, record.subunit, record.function) == (511, 0, 0, Function.MAXIMUM)
    record = one("84C040" + "06" + "00000000")
    assert (record.storage, record.tariff, record.subunit) == (0, 0, 3)
    record = one("8C901006" + "00000000")
    assert record.tariff == 5
    assert one("3C2269370000").function is Function.ERROR_STATE
    assert one("2C2269370000").function is Function.MINIMUM


def test_bcd_that_is_no_number_and_variable_length() -> None:
    assert one("0C06AA000000").value is None
    text = one("0D0603414243")
    assert text.quantity is Quantity.ENERGY and text.value is None
    assert one("0006").value is None and one("0806").value is None  # no data, selection for readout


def test_unknown_vif_and_vife_keep_no_meaning() -> None:
    record = one("04AD6F01000000")
    assert (record.quantity, record.value, record.unit) == (None, 1, None)
    assert one("016E05").quantity is None  # units for heat cost allocators: not read here


def test_filler_manufacturer_data_and_more_records() -> None:
    decoded = decode_frame(telegram("2F2F0406010000000F0102"))
    assert len(decoded.records) == 1 and decoded.manufacturer_data == b"\x01\x02"
    decoded = decode_frame(telegram("0406010000001F"))
    assert decoded.more_records


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ("3F", "reserved"),
        ("0406010000", "data"),
        ("84", "DIFE"),
        ("04", "VIF"),
        ("0486", "VIFE"),
        ("8" + "4" + "80" * 10 + "0006", "ten DIFEs"),
        ("04" + "80" * 11 + "01", "ten VIFEs"),
        ("057C0141", "plain-text"),
        ("050600000000", "real"),
        ("0D06C0", "variable-length"),
    ],
)
def test_bad_records(records: str, message: str) -> None:
    with pytest.raises(MbusError, match=message):
        decode_frame(telegram(records))


def test_bad_headers_and_fields() -> None:
    with pytest.raises(MbusError, match="no RSP_UD"):
        decode_frame(telegram("", control=0x53))
    with pytest.raises(MbusError, match="CI field 0x76"):
        decode_frame(telegram("", ci=0x76))
    with pytest.raises(MbusError, match="empty"):
        decode_body(b"")
    with pytest.raises(MbusError, match="header of 3 bytes"):
        decode_body(bytes([0x08, 0x01, 0x72, 1, 2, 3]))
    with pytest.raises(MbusError, match="not BCD"):
        decode_body(bytes([0x08, 0x01, 0x72]) + b"\xaa" + HEADER[1:])
    with pytest.raises(MbusError, match="three-letter"):
        manufacturer_code(0)
    with pytest.raises(MbusError, match="three-letter"):
        manufacturer_code(0x8000)


def test_long_frame_body() -> None:
    frame = telegram("")
    assert long_frame_body(frame)[:3] == bytes([0x08, 0x01, 0x72])
    with pytest.raises(MbusChecksumError):
        long_frame_body(frame[:-2] + bytes([frame[-2] ^ 1, 0x16]))
    with pytest.raises(MbusError, match="not an M-Bus long frame"):
        long_frame_body(b"\x10\x5b\x01\x5c\x16")
    with pytest.raises(MbusError, match="says"):
        long_frame_body(frame[:-3] + frame[-2:])
    with pytest.raises(MbusError, match="stop byte"):
        long_frame_body(frame[:-1] + b"\x00")


def test_long_frame_reader() -> None:
    frame = telegram("040601000000")
    reader = LongFrameReader()
    assert reader.feed(b"\x00\xe5" + frame[:5]) == []
    [body] = reader.feed(frame[5:])
    assert body == long_frame_body(frame)
    bad = frame[:-2] + bytes([frame[-2] ^ 1, 0x16])
    [rejected] = reader.feed(b"\x68\x03\x04\x68" + bad)  # a false start is skipped
    assert isinstance(rejected, BadFrame) and rejected.frame == bad
    assert reader.feed(frame[:-1] + b"\x00") == []  # no stop byte: not a frame
    assert reader.feed(b"\x55") == []
    assert reader.feed(b"\x68\x03") == []  # half a start: kept for the next bytes
    assert LongFrameReader(min_body=5).feed(build_long_frame(b"\x08\x01\x72")) == []


def test_registers_need_a_heat_meter() -> None:
    with pytest.raises(NotAHeatMeterError, match="0x07"):
        heat_registers(decode_frame(telegram("0413FF000000", medium=0x07)))


def test_register_units_and_skipped_records() -> None:
    decoded = decode_frame(
        telegram(
            "040E01000000"  # 1 MJ
            "0420B4000000"  # on time 180 s
            "0C06AA000000"  # energy that is no number: not published
            "4C7801000000"  # a fabrication number of storage 1
            "04AD6F01000000"  # a VIFE not read here
            "042D01000000"  # instantaneous power (100 W): the EN 13757-1 code 8.0.0
            "1B5E070500"  # a maximum return temperature alone
        )
    )
    registers = {str(register.obis): register for register in heat_registers(decoded)}
    assert (registers["6-0:6.8.0"].value, registers["6-0:6.8.0"].unit) == (Decimal("0.001"), "GJ")
    assert (registers["6-0:6.31.0"].value, registers["6-0:6.31.0"].unit) == (Decimal("0.05"), "h")
    assert [(item.value, item.unit) for item in registers["6-0:9.4.0"].values] == [
        (None, None),
        (Decimal("50.7"), "°C"),
    ]
    assert (registers["6-0:8.0.0"].value, registers["6-0:8.0.0"].unit) == (Decimal(100), "W")
    assert set(registers) == {"6-0:6.8.0", "6-0:6.31.0", "6-0:9.4.0", "6-0:8.0.0"}


def test_the_first_record_of_a_code_wins() -> None:
    decoded = decode_frame(telegram("040601000000" + "040602000000"))
    [energy] = heat_registers(decoded)
    assert energy.value == Decimal(1)
