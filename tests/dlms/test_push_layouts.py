"""Push layout families: positional lists, structure arrays, list-defined scaling, unknown layouts."""

from __future__ import annotations

import asyncio
from decimal import Decimal
import io
import json

import pytest

from custom_components.landis_gyr_optical import cli
from custom_components.landis_gyr_optical.meter.cosem import Scaling
from custom_components.landis_gyr_optical.meter.dlms.axdr import (
    Data,
    DataType,
    array,
    decode as axdr_decode,
    integer,
    octet_string,
    structure,
)
from custom_components.landis_gyr_optical.meter.dlms.layouts import (
    UnknownPushLayoutError,
    describe,
    positional,
    push_registers,
    structure_array,
)
from custom_components.landis_gyr_optical.meter.dlms.layouts.scaling import (
    AMPERE,
    VOLT,
    WH,
    default_scaling,
    list_identifier,
)
from custom_components.landis_gyr_optical.meter.dlms.notification import DataNotification
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.simulator.dlms import single_push_frame

U32 = DataType.DOUBLE_LONG_UNSIGNED


def values(body: object) -> dict[str, object]:
    assert not isinstance(body, list)
    registers = push_registers(body)  # type: ignore[arg-type]
    return {str(register.obis): (register.value, register.unit) for register in registers}


def test_kaifa_positional_list_two_three_phases() -> None:
    body = structure(
        octet_string(b"KFM_001"),
        octet_string(b"6970631402614476"),
        octet_string(b"MA304H3E"),
        *(integer(U32, number) for number in (9745, 0, 0, 435, 33813, 28103, 18178, 2168, 0, 2188)),
    )
    got = values(body)
    assert got["1-0:1.7.0"] == (Decimal(9745), "W")
    assert got["1-0:4.7.0"] == (Decimal(435), "var")
    assert got["1-0:31.7.0"] == (Decimal("33.813"), "A")
    assert got["1-0:72.7.0"] == (Decimal("218.8"), "V")
    assert got["0-0:96.1.0"] == ("6970631402614476", None)
    assert got["0-0:96.1.7"] == ("MA304H3E", None)


def test_positional_lists_need_their_id_and_length() -> None:
    # A list id of another maker, or a length no row has, is no positional list.
    other = structure(octet_string(b"XYZ_001"), *(integer(U32, 1) for _ in range(12)))
    assert positional.decode(other.items, {}) is None
    short = structure(octet_string(b"KFM_001"), integer(U32, 1))
    assert positional.decode(short.items, {}) is None
    assert positional.decode((integer(U32, 5852),), {}) is not None
    assert positional.decode((octet_string(b"text"),), {}) is None


def test_structure_array_needs_named_structures() -> None:
    assert structure_array.decode((), {}) is None
    assert structure_array.decode((structure(integer(U32, 1), integer(U32, 2)),), {}) is None
    named = structure(octet_string(bytes.fromhex("0100010700ff")), integer(U32, 280))
    assert structure_array.decode((named,), {}) is not None
    got = values(array(named))
    assert got["1-0:1.7.0"] == (Decimal(280), "W")


def test_list_defined_scaling() -> None:
    energy, current, voltage = (ObisCode.parse(code) for code in ("1-0:1.8.0", "1-0:31.7.0", "1-0:32.7.0"))
    assert default_scaling(energy, list_id="Kamstrup_V0001") == Scaling(1, WH)
    assert (
        default_scaling(current, list_id="Kamstrup_V0001") == default_scaling(current) == Scaling(-2, AMPERE)
    )
    assert default_scaling(current, list_id="KFM_001") == Scaling(-3, AMPERE)
    assert default_scaling(voltage, list_id="KFM_001") == Scaling(-1, VOLT)
    assert default_scaling(voltage, list_id="OTHER") == default_scaling(voltage) == Scaling(0, VOLT)
    assert list_identifier(()) is None
    assert list_identifier((octet_string(b"\x01\x02"),)) is None
    named = (octet_string(bytes.fromhex("0100000281ff")), octet_string(b"KFM_001"))
    assert list_identifier(named) == "KFM_001"


def test_unknown_layout_carries_the_decoded_structure() -> None:
    body = structure(integer(U32, 1), octet_string(b"\x01\x02"), structure(integer(DataType.INTEGER, -1)))
    with pytest.raises(UnknownPushLayoutError) as info:
        push_registers(body)
    error = info.value
    assert error.key == "unknown_push_layout"
    assert error.exit_code == 4
    assert error.structure == "structure[double-long-unsigned 1, octet-string 0102, structure[integer -1]]"
    assert error.structure in str(error)
    assert describe(structure(*(integer(U32, 123456789) for _ in range(400)))).endswith("...")
    assert len(describe(structure(*(integer(U32, 123456789) for _ in range(400))))) == 4000
    assert describe(structure()) == "structure[]"
    assert describe(Data(DataType.NULL)) == "null"


@pytest.mark.usefixtures("socket_enabled")
async def test_unknown_layout_through_the_cli_is_exit_4_at_once() -> None:
    body = structure(integer(U32, 1), integer(U32, 2), integer(U32, 3))
    apdu = DataNotification(1, body).encode()
    payload = single_push_frame(apdu)[0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out, err = io.StringIO(), io.StringIO()
    arguments = ["read", "--port", f"socket://127.0.0.1:{port}", "--protocol", "dlms_push", "--json"]
    loop = asyncio.get_running_loop()
    async with server:
        started = loop.time()
        code = await asyncio.to_thread(cli.main, [*arguments, "--timeout", "20"], out=out, errout=err)
        elapsed = loop.time() - started
    assert code == 4
    assert json.loads(out.getvalue())["error"]["key"] == "unknown_push_layout"
    assert "structure[double-long-unsigned 1" in err.getvalue()
    assert elapsed < 15, "reported when the push arrives, not at the deadline"


def test_wiener_netze_e450_list() -> None:
    # A Wiener Netze E450's decrypted push body as a user posted it (Tasmota issue 8790); the
    # positions are those of the operator's customer-interface description.
    body = bytes.fromhex(
        "0209090c07e7030b060d1b2fff80000006004df0c80600000000060011"
        "31f7060008a60006000000e6060000000006000000580600000015"
    )
    data, _ = axdr_decode(body)
    got = values(data)
    assert got["0-0:1.0.0"] == ("2023-03-11T13:27:47", None)
    assert got["1-0:1.8.0"] == (Decimal("5107.912"), "kWh")
    assert got["1-0:2.8.0"] == (Decimal("0.000"), "kWh")
    assert got["1-0:3.8.0"] == (Decimal("1126.903"), "kvarh")
    assert got["1-0:4.8.0"] == (Decimal("566.784"), "kvarh")
    assert got["1-0:1.7.0"] == (Decimal(230), "W")
    assert got["1-0:3.7.0"] == (Decimal(88), "var")
    assert got["1-0:4.7.0"] == (Decimal(21), "var")
    # Nine numbers without a clock are no such list.
    assert positional.decode(tuple(integer(U32, 1) for _ in range(9)), {}) is None
