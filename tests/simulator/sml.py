"""A simulated SML meter (E220/E320-like) pushing SML files built with the core's encoders."""

from __future__ import annotations

from custom_components.landis_gyr_optical.meter.sml.frames import CrcVariant, encode_frame
from custom_components.landis_gyr_optical.meter.sml.messages import (
    CLOSE_RESPONSE,
    GET_LIST_RESPONSE,
    OPEN_RESPONSE,
    SmlNode,
    encode_message,
)

SERVER_ID = bytes.fromhex("0A014C475A0003403B49")


def entry(obis: str, value: SmlNode, *, unit: int | None = None, scaler: int | None = None) -> SmlNode:
    """One SML_ListEntry: name, status, time, unit, scaler, value, signature."""
    return (bytes.fromhex(obis), None, None, unit, scaler, value, None)


def lgz_messages(energy_wh_tenths: int = 51719237, power_w: int = 251) -> bytes:
    """Open, GetList and Close responses of an L+G E320."""
    open_response = (None, None, b"\x00\x00\x00\x01", SERVER_ID, None, None)
    values: tuple[SmlNode, ...] = (
        entry("010060320101", b"LGZ"),
        entry("0100600100FF", SERVER_ID),
        entry("0100010800FF", energy_wh_tenths, unit=30, scaler=-1),
        entry("0100020800FF", 0, unit=30, scaler=-1),
        entry("0100100700FF", power_w, unit=27, scaler=0),
    )
    get_list = (None, SERVER_ID, None, None, values, None, None)
    return (
        encode_message(b"\x01", OPEN_RESPONSE, open_response)
        + encode_message(b"\x02", GET_LIST_RESPONSE, get_list)
        + encode_message(b"\x03", CLOSE_RESPONSE, (None,))
    )


def sml_push_frames(push: int, *, crc: CrcVariant = CrcVariant.X25) -> list[bytes]:
    """The n-th push of the simulated E320 (the energy counts up by 0.1 Wh per push)."""
    return [encode_frame(lgz_messages(51719237 + push), crc=crc)]
