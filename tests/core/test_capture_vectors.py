"""Every capture in ``tests/vectors`` decodes to its source's values or is rejected as corrupt.

Both through the protocol core and through the CLI, served by a raw TCP peer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
import io
import json

import pytest

from custom_components.landis_gyr_optical import cli, sensor
from custom_components.landis_gyr_optical.meter.dlms.hdlc import ApduReader, Rejected, strip_llc
from custom_components.landis_gyr_optical.meter.dlms.mbus import MbusApduReader
from custom_components.landis_gyr_optical.meter.dlms.notification import decode_push
from custom_components.landis_gyr_optical.meter.errors import ChecksumError, ProtocolError
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import ETX, STX, bcc
from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
    Finished,
    Protocol,
    Session,
    SessionSettings,
    check_numbers,
)
from custom_components.landis_gyr_optical.meter.obis import ELECTRICITY, HEAT, ObisCode
from custom_components.landis_gyr_optical.meter.registers import Register
from custom_components.landis_gyr_optical.meter.sml.frames import SmlFrame, SmlStreamReader
from custom_components.landis_gyr_optical.meter.sml.messages import decode_file
from tests.mbus import test_heat_captures
from tests.simulator.dlms import single_push_frame
from tests.vectors import Expectation, own_expectations, own_vector

EXPECTATIONS = own_expectations()

DATA_BLOCKS = {
    # Readout bodies without identification or framing, and dumps whose framing the source
    # stripped or replaced: their data block is what the source asserts.
    "iec_siemens_td3511_readout_scs.txt",
    "iec_siemens_td3511_invalid_obis_scs.txt",
    "iec_ace_modeE_smartmeter-obis.txt",
    "iec_heat_lug_uh50_kwh_ultraheat.txt",
    "iec_heat_lug_t550_conversion_error_ultraheat.txt",
    "iec_heat_siemens_2wr5_modeC_smartmeter-obis.txt",
    "iec_heat_kamstrup_mc66_go-iec62056.txt",
    "iec_d0_noise_prefix_smartmeter-obis.txt",
}
NOISY_FIRST_LINE = {
    # Line noise before the first data set: the block as a whole is rejected (the source
    # reports the line as an error too); the lines after it hold the asserted values.
    "iec_d0_noise_prefix_smartmeter-obis.txt",
}
UNKNOWN_CODES_ONLY = {"iec_siemens_td3511_invalid_obis_scs.txt"}
PLACEHOLDER_BCC = {
    # The source appends a placeholder instead of the block check character and does not
    # check it: a session rejects the readout, its data block holds the asserted values.
    "iec_heat_siemens_2wr5_modeC_smartmeter-obis.txt",
    "iec_heat_kamstrup_mc66_go-iec62056.txt",
}
FRAMED_MESSAGES = {"iec_readout_bcc_ok_pwitab.txt", "iec_readout_bcc_bad_pwitab.txt"}
"""A protocol test's data message: the BCC is checked; its addresses (``3:14``) are no OBIS
codes, so the data sets are read as address and value only."""
UNAUTHENTICATED = {
    # The source decrypts without checking the tag, which does not verify with the published
    # authentication key: the key alone decrypts it, and the telegram's CRC verifies.
    "dlms_ggc_sagemcom_est5_p1_encrypted_at.hex",
}
MBUS_RECORDS = {
    # EN 13757-3 records of heat meters on wired M-Bus: their source names values by M-Bus
    # quantity and storage number, compared record by record in tests/mbus/test_heat_captures.py.
    "mbus_heat_lug_ultraheat_t230_libmbus.hex",
    "mbus_heat_kamstrup_multical601_libmbus.hex",
}
PARTIAL = {
    # The first block of a block transfer alone: its source decrypts that block without the
    # tag; tests/dlms/test_partial_block_transfer.py checks the asserted values in the plaintext.
    "hdlc_lg_e450_netznoe_gbt_block1_encrypted_at.hex",
}
DECODED = sorted(set(EXPECTATIONS) - MBUS_RECORDS - PARTIAL)

_FACTORS = {
    "Wh": ("Wh", 1),
    "kWh": ("Wh", 1000),
    "MWh": ("Wh", 1000000),
    "varh": ("varh", 1),
    "kvarh": ("varh", 1000),
    "W": ("W", 1),
    "kW": ("W", 1000),
    "var": ("var", 1),
    "kvar": ("var", 1000),
    "VA": ("VA", 1),
    "kVA": ("VA", 1000),
    "m3": ("m³", 1),
    "m³": ("m³", 1),
}


def _base(value: Decimal, unit: str | None) -> tuple[Decimal, str | None]:
    if unit is None or unit not in _FACTORS:
        return value, unit
    base, factor = _FACTORS[unit]
    return value * factor, base


def _text(data: bytes) -> bytes:
    return data if data.endswith(b"\n") else data + b"\r\n"


def _pushes(data: bytes) -> list[list[Register]]:
    """Every push of a P1 or D0 stream, through mode D sessions one after the other."""
    readouts: list[list[Register]] = []
    rest = _text(data)
    while b"/" in rest:
        session = Session(SessionSettings(protocol=Protocol.MODE_D))
        while not session.needs_data:
            session.next_command()
        session.receive_data(rest)
        command = session.next_command() if not session.needs_data else None
        if not isinstance(command, Finished):
            break
        readouts.append(list(command.readout.registers))
        rest = rest[rest.find(command.readout.raw[-8:]) + 8 :]
    return readouts


def _block(data: bytes, medium: int, *, noisy: bool = False) -> list[Register]:
    lines = data.splitlines(keepends=True)
    if lines and lines[0].startswith(b"/"):
        lines = lines[1:]
    if lines and lines[0].startswith(b"\x06"):  # the option select a dump kept after the identification
        lines = lines[1:]
    if noisy:
        lines = lines[1:]
    block = b"".join(lines).lstrip(b"\r\n").removeprefix(bytes([STX]))
    end = block.find(b"!")
    registers = parse_data_block(block[: end if end >= 0 else len(block)], medium=medium)
    check_numbers(registers)
    return registers


def _ciphered_p1(expectation: Expectation, data: bytes) -> list[Register]:
    """A P1 telegram in general-glo-ciphering, through a mode D session with the key."""
    authentication_key = None if expectation.name in UNAUTHENTICATED else expectation.authentication_key
    settings = SessionSettings(
        protocol=Protocol.MODE_D, key=expectation.key, authentication_key=authentication_key
    )
    session = Session(settings)
    while not session.needs_data:
        session.next_command()
    session.receive_data(data)
    command = session.next_command()
    assert isinstance(command, Finished)
    assert command.readout.checksum == "crc16"
    return list(command.readout.registers)


def _addressed(block: bytes) -> list[Register]:
    """Data sets whose address is not an OBIS code, keyed by a code built from it (3:14 -> 3.14)."""
    text = block.decode("ascii").replace(":", ".")
    return parse_data_block(text[: text.index("!")])


def decode(expectation: Expectation) -> list[list[Register]]:
    """Decode a capture the way its format is read; one register list per reading."""
    name, data = expectation.name, own_vector(expectation.name)
    medium = HEAT if expectation.family == "heat" else ELECTRICITY
    if name in NOISY_FIRST_LINE:
        with pytest.raises(ProtocolError, match="not a data set"):
            _block(data, medium)
        return [_block(data, medium, noisy=True)]
    if name in DATA_BLOCKS:
        return [_block(data, medium)]
    if name in FRAMED_MESSAGES:
        start, end = data.index(bytes([STX])), data.index(bytes([ETX]))
        if data[end + 1] != bcc(data[start + 1 : end + 1]):
            raise ChecksumError("bad block check character")
        return [_addressed(data[start + 1 : end])]
    if expectation.format in ("p1", "iec"):
        return _pushes(data)
    frames = [bytes.fromhex(line) for line in data.decode("ascii").split()]
    if expectation.format == "dlms_ggc_hex":
        return [_ciphered_p1(expectation, b"".join(frames))]
    if expectation.format == "sml_hex":
        events = SmlStreamReader().feed(b"".join(frames))
        return [
            list(decode_file(event.payload, event.crc).registers)
            for event in events
            if isinstance(event, SmlFrame)
        ]
    if expectation.format == "apdu_hex":
        frames = [
            single_push_frame(strip_llc(frame) if frame[:1] == b"\xe6" else frame)[0] for frame in frames
        ]
    reader: ApduReader | MbusApduReader = (
        MbusApduReader() if expectation.format == "mbus_hex" else ApduReader()
    )
    readings: list[list[Register]] = []
    for frame in frames:
        for event in reader.feed(frame):
            if isinstance(event, Rejected):
                raise event.error
            readings.append(list(decode_push(event, key=expectation.key).registers))
    return readings


def _code(key: str, medium: int) -> tuple[ObisCode, int]:
    code, _, index = key.partition("[")
    if "-" not in code:
        code = code.replace(":", ".")  # the protocol test's addresses, read as 3.14
    return ObisCode.parse(code, medium=medium), int(index.rstrip("]") or 0)


def _lookup(registers: dict[ObisCode, Register], obis: ObisCode) -> Register | None:
    if obis in registers:
        return registers[obis]
    if obis.a == 1 and obis.b == 1:  # one measuring channel is reported as channel 0
        return registers.get(ObisCode(1, 0, obis.c, obis.d, obis.e, obis.f, obis.separator))
    lettered = {"96": "C", "97": "F", "98": "L", "99": "P"}
    if obis.c in lettered and obis.d in lettered:  # F.F is kept as the meter prints it
        return registers.get(
            ObisCode(0, 0, lettered[obis.c], lettered[obis.d], obis.e, obis.f, obis.separator)
        )
    return None


def mismatches(expectation: Expectation, readings: list[list[Register]]) -> list[str]:
    """Compare every asserted value with the reading that carries its code."""
    medium = HEAT if expectation.family == "heat" else ELECTRICITY
    merged: dict[ObisCode, Register] = {}
    for registers in readings:
        for register in registers:
            merged.setdefault(register.obis, register)
    wrong: list[str] = []
    for key, (value, unit) in expectation.values.items():
        obis, index = _code(key, medium)
        register = _lookup(merged, obis)
        if register is None:
            wrong.append(f"{key} missing")
            continue
        values = (
            [item for item in register.values if item.unit is not None] if "[" in key else register.values
        )
        got = values[index] if index < len(values) else None
        if got is None or not same(got.value, got.unit, value, unit):
            wrong.append(f"{key}: {got} instead of {value} {unit}")
    return wrong


def same(got: Decimal | str | None, got_unit: str | None, value: str | None, unit: str | None) -> bool:
    """Whether a decoded value is the asserted one (units compared on a common base)."""
    if value is None:
        return got is None or got == ""
    if isinstance(got, Decimal | float | int) and not isinstance(got, bool):
        if unit is None:
            return Decimal(str(got)) == Decimal(value)
        left, left_unit = _base(Decimal(str(got)), got_unit)
        right, right_unit = _base(Decimal(value), unit)
        return left_unit == right_unit and abs(left - right) <= abs(right) * Decimal("1e-9")
    return got == value


def test_the_captures_cover_every_family() -> None:
    families = Counter(expectation.family for expectation in EXPECTATIONS.values())
    assert sum(families.values()) == 61
    assert families == {"dlms": 25, "dsmr": 14, "iec": 9, "heat": 7, "sml": 6}
    decoded = Counter(EXPECTATIONS[name].family for name in DECODED)
    assert decoded == {"dlms": 24, "dsmr": 14, "iec": 9, "heat": 5, "sml": 6}
    assert set(test_heat_captures.CAPTURES) == MBUS_RECORDS
    assert set(EXPECTATIONS) >= PARTIAL


@pytest.mark.parametrize("name", DECODED)
def test_capture_decodes_to_its_asserted_values(name: str) -> None:
    expectation = EXPECTATIONS[name]
    if name in UNKNOWN_CODES_ONLY:
        # The source produces no data point: none of its codes has a named entity here.
        [registers] = decode(expectation)
        assert registers
        energy = [register for register in registers if register.obis.short in sensor.DESCRIPTIONS]
        assert {register.obis.short for register in energy} <= {"0.9.1", "0.9.2"}  # its clock only
        return
    if expectation.corrupt:
        with pytest.raises(ProtocolError):
            decode(expectation)
        return
    readings = decode(expectation)
    assert readings and all(readings), "nothing decoded"
    assert mismatches(expectation, readings) == []


@pytest.mark.parametrize("name", sorted(PLACEHOLDER_BCC))
def test_placeholder_bcc_is_rejected_by_a_session(name: str) -> None:
    data = own_vector(name)
    session = Session(SessionSettings(protocol=Protocol.MODE_C))
    while not session.needs_data:
        session.next_command()
    with pytest.raises(ChecksumError, match="block check character"):
        session.receive_data(data)


# --- through the CLI, served by a raw TCP peer ------------------------------------------------

CLI_FORMATS = {
    "p1": "mode_d",
    "iec": "mode_d",
    "dlms_ggc_hex": "mode_d",
    "hdlc_hex": "dlms_push",
    "apdu_hex": "dlms_push",
    "mbus_hex": "dlms_push",
    "sml_hex": "sml",
}
THROUGH_CLI = [
    name
    for name in DECODED
    if EXPECTATIONS[name].format in CLI_FORMATS
    and name not in DATA_BLOCKS | FRAMED_MESSAGES
    and not EXPECTATIONS[name].name.startswith("iec_hager_ehz_two")
]


def wire_bytes(expectation: Expectation) -> bytes:
    """The bytes a meter puts on the line for this capture (APDUs in one HDLC frame)."""
    data = own_vector(expectation.name)
    if expectation.format in ("p1", "iec"):
        return _text(data)
    frames = [bytes.fromhex(line) for line in data.decode("ascii").split()]
    if expectation.format == "apdu_hex":
        frames = [
            single_push_frame(strip_llc(frame) if frame[:1] == b"\xe6" else frame)[0] for frame in frames
        ]
    return b"".join(frames)


async def read_through_cli(
    expectation: Expectation, *, timeout: str | None = None
) -> tuple[int, dict[str, object]]:
    payload = wire_bytes(expectation)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(payload)
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timeout = timeout or ("1.5" if expectation.corrupt else "10")
    arguments = ["read", "--port", f"socket://127.0.0.1:{port}", "--json", "--timeout", timeout]
    arguments += ["--protocol", CLI_FORMATS[expectation.format], "--retries", "0"]
    if expectation.format in ("p1", "iec", "dlms_ggc_hex"):
        arguments += ["--remote-baud", "115200"]
    if expectation.key is not None:
        arguments += ["--key", expectation.key.hex()]
    if expectation.authentication_key is not None and expectation.name not in UNAUTHENTICATED:
        arguments += ["--auth-key", expectation.authentication_key.hex()]
    out, err = io.StringIO(), io.StringIO()
    async with server:
        code = await asyncio.to_thread(cli.main, arguments, out=out, errout=err)
    return code, json.loads(out.getvalue())


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("name", THROUGH_CLI)
async def test_capture_through_the_cli(name: str) -> None:
    expectation = EXPECTATIONS[name]
    code, document = await read_through_cli(expectation)
    if expectation.corrupt:
        assert code == 4
        assert set(document) == {"error"}
        return
    assert code == 0, document
    registers = document["registers"]
    assert isinstance(registers, dict)
    medium = HEAT if expectation.family == "heat" else ELECTRICITY
    for key, (value, unit) in expectation.values.items():
        if "[" in key:
            continue  # history entries beyond the first value are not in the JSON contract
        obis, _ = _code(key, medium)
        entry = registers.get(str(obis)) or registers.get(str(ObisCode(1, 0, obis.c, obis.d, obis.e)))
        assert entry is not None, f"{key} missing"
        got = entry["value"]
        assert same(Decimal(str(got)) if isinstance(got, float | int) else got, entry["unit"], value, unit), (
            key,
            entry,
            value,
            unit,
        )


@pytest.mark.usefixtures("socket_enabled")
async def test_a_push_cut_after_its_first_block_through_the_cli() -> None:
    """No readout from the unfinished transfer: exit 4 with the reason, not a timeout."""
    [name] = PARTIAL
    expectation = EXPECTATIONS[name]
    code, document = await read_through_cli(expectation, timeout="1.5")
    assert code == 4
    assert "stopped after block 1" in str(document["error"])
