"""DLMS/COSEM over wired M-Bus: long frames and transport segments."""

from __future__ import annotations

from custom_components.landis_gyr_optical.meter.dlms.hdlc import Rejected
from custom_components.landis_gyr_optical.meter.dlms.mbus import (
    MbusApduReader,
    MbusChecksumError,
    MbusError,
    long_frame,
)


def test_segments_join_in_order_whatever_the_chunks() -> None:
    apdu = bytes(range(200))
    stream = b"\x00\x68\x02" + long_frame(apdu[:120], 0x00) + long_frame(apdu[120:], 0x11)
    reader = MbusApduReader()
    events = [event for byte in stream for event in reader.feed(bytes([byte]))]
    assert events == [apdu]
    # A single frame with the final bit set is a whole APDU.
    assert MbusApduReader().feed(long_frame(b"\x0f\x01", 0x10)) == [b"\x0f\x01"]


def test_broken_frames_are_rejected() -> None:
    frame = bytearray(long_frame(b"\x01\x02\x03", 0x10))
    frame[-2] ^= 0xFF
    [rejected] = MbusApduReader().feed(bytes(frame))
    assert isinstance(rejected, Rejected) and isinstance(rejected.error, MbusChecksumError)
    # A header whose lengths disagree, or a frame without its stop byte, is no frame.
    assert MbusApduReader().feed(b"\x68\x05\x06\x68" + bytes(9)) == []
    no_stop = bytearray(long_frame(b"\x01", 0x10))
    no_stop[-1] = 0x00
    assert MbusApduReader().feed(bytes(no_stop)) == []


def test_segments_out_of_order_or_not_dlms() -> None:
    [rejected] = MbusApduReader().feed(long_frame(b"\x01", 0x11))
    assert isinstance(rejected, Rejected) and "out of order" in str(rejected.error)
    [rejected] = MbusApduReader().feed(long_frame(b"\x01", 0x72))
    assert isinstance(rejected, Rejected) and isinstance(rejected.error, MbusError)
    # A lost segment restarts the APDU: the next first segment opens a new one.
    reader = MbusApduReader()
    assert reader.feed(long_frame(b"\x01", 0x00)) == []
    [rejected] = reader.feed(long_frame(b"\x02", 0x12))
    assert isinstance(rejected, Rejected)
    assert reader.feed(long_frame(b"\x03", 0x00) + long_frame(b"\x04", 0x11)) == [b"\x03\x04"]
