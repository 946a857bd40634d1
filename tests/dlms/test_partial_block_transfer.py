"""The Netz NÖ E450 capture holds block 1 of a general-block-transfer and nothing after it.

Its source decrypts the ciphertext that block carries with AES-CTR, without the GCM tag
(which is in a later block), and asserts two values from it: WirkenergieP 8684853 and
MomentanleistungP 1565. Here the same block decrypts to a plaintext holding exactly those
two registers, and the push listener gives no readout from the unfinished transfer and
says why.
"""

from __future__ import annotations

import pytest

from custom_components.landis_gyr_optical.meter.dlms.ciphering import Ciphered
from custom_components.landis_gyr_optical.meter.dlms.client import read_dlms_push
from custom_components.landis_gyr_optical.meter.dlms.hdlc import (
    ApduReader,
    Block,
    BlockTransferError,
    FrameReader,
    strip_llc,
)
from custom_components.landis_gyr_optical.meter.line import Framing, LineSettings
from custom_components.landis_gyr_optical.meter.link import Link
from tests.simulator.dlms import PtyPushMeter
from tests.vectors import own_expectations, own_vector

NAME = "hdlc_lg_e450_netznoe_gbt_block1_encrypted_at.hex"
EXPECTATION = own_expectations()[NAME]
FRAME = bytes.fromhex(own_vector(NAME).decode("ascii").strip())
LINE = LineSettings(9600, Framing.EIGHT_N_ONE)
_ENCRYPTED_ONLY = 0x20


def _block() -> Block:
    [frame] = FrameReader().feed(FRAME)
    return Block.decode(strip_llc(frame.info))  # type: ignore[union-attr]


def _pair(logical_name: str, value: int) -> bytes:
    """An OBIS code and its double-long-unsigned value, as the plaintext carries them."""
    return bytes.fromhex("0906" + logical_name + "06") + value.to_bytes(4, "big")


def test_the_capture_is_block_one_of_a_longer_ciphered_apdu() -> None:
    block = _block()
    assert (block.number, block.last, len(block.data)) == (1, False, 119)
    data = block.data
    assert data[:2] == b"\xdb\x08" and data[2:10] == b"LGZgs|~\xe0"
    assert data[10:13] == b"\x82\x01\x03"  # the APDU says 259 bytes of ciphered content
    assert data[13] == 0x30  # authenticated and encrypted: the tag ends the last block


def test_the_first_block_decrypts_to_the_asserted_values() -> None:
    data = _block().data
    assert EXPECTATION.key is not None
    available = Ciphered(data[2:10], _ENCRYPTED_ONLY, int.from_bytes(data[14:18], "big"), data[18:])
    plain = available.decrypt(EXPECTATION.key)
    assert plain[:5] == b"\x0f\x00\x08\x79\xa6"  # data-notification, its invoke id = the counter
    values = {code: int(value) for code, (value, _) in EXPECTATION.values.items()}
    assert values == {"1-0:1.8.0": 8684853, "1-0:1.7.0": 1565}
    assert _pair("0100010800FF", values["1-0:1.8.0"]) in plain  # 8684853 Wh
    assert _pair("0100010700FF", values["1-0:1.7.0"]) in plain  # 1565 W
    assert [unit for _, unit in EXPECTATION.values.values()] == ["Wh", "W"]


def test_an_unfinished_transfer_yields_no_apdu() -> None:
    reader = ApduReader()
    assert reader.incomplete_transfer is None
    assert reader.feed(FRAME) == []
    assert reader.incomplete_transfer == (
        "general-block-transfer stopped after block 1 (119 bytes), its last block never came"
    )


async def test_the_push_listener_says_why_it_has_no_readout() -> None:
    async with PtyPushMeter(lambda n: [FRAME], period=0.1) as meter, Link(meter.port, LINE) as link:
        with pytest.raises(BlockTransferError, match=r"stopped after block 1 .* last block never came"):
            await read_dlms_push(link, key=EXPECTATION.key, timeout=0.6)
