"""Data-notification pushes (``0F``): the APDU, its time stamp, and the decoded push."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ..cosem import Scaling, decode_datetime
from ..errors import ProtocolError
from ..identity import MeterIdentity, flag_id_from, printable_text
from ..obis import ObisCode
from ..registers import Register, Value
from .axdr import Data, DataType, decode_all, decode_length, encode_length
from .ciphering import GENERAL_GLO_CIPHERING, Ciphered, DecryptionError
from .layouts import push_registers
from .registers import CLOCK, LOGICAL_DEVICE_NAME, DlmsError

DATA_NOTIFICATION = 0x0F

# --- data-notification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataNotification:
    """A pushed data-notification APDU."""

    invoke_id: int
    body: Data
    timestamp: datetime | None = None
    raw_timestamp: bytes = b""

    @classmethod
    def decode(cls, apdu: bytes) -> DataNotification:
        """Decode ``0F`` long-invoke-id-and-priority, date-time (octet string, may be empty), body."""
        if len(apdu) < 6 or apdu[0] != DATA_NOTIFICATION:
            raise DlmsError(f"not a data-notification: {apdu[:8].hex()}")
        invoke_id = int.from_bytes(apdu[1:5], "big")
        offset = 5
        if apdu[offset] == DataType.OCTET_STRING and offset + 1 < len(apdu) and apdu[offset + 1] == 12:
            offset += 1  # some meters tag the date-time as an octet-string
        length, offset = decode_length(apdu, offset)
        if length not in (0, 12) or offset + length > len(apdu):
            raise DlmsError(f"data-notification date-time of {length} bytes")
        raw_timestamp = bytes(apdu[offset : offset + length])
        timestamp = decode_datetime(raw_timestamp) if raw_timestamp else None
        body = decode_all(bytes(apdu[offset + length :]))
        return cls(invoke_id, body, timestamp, raw_timestamp)

    def encode(self) -> bytes:
        """Return the APDU."""
        return (
            bytes([DATA_NOTIFICATION])
            + self.invoke_id.to_bytes(4, "big")
            + encode_length(len(self.raw_timestamp))
            + self.raw_timestamp
            + self.body.encode()
        )


# --- pushes as a whole ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Push:
    """A decoded push: the notification, its registers and who sent it."""

    notification: DataNotification
    registers: tuple[Register, ...]
    system_title: bytes | None = None

    @property
    def logical_device_name(self) -> str | None:
        """The meter's logical device name (L+G: ``LGZ`` + serial)."""
        for register in self.registers:
            if register.obis == LOGICAL_DEVICE_NAME and isinstance(register.value, str):
                return register.value
        return None


def decode_push(
    apdu: bytes,
    *,
    key: bytes | None = None,
    authentication_key: bytes | None = None,
    scalings: Mapping[ObisCode, Scaling] | None = None,
) -> Push:
    """Decode a pushed APDU (plain or general-glo-ciphering) into registers."""
    system_title: bytes | None = None
    if apdu[:1] == bytes([GENERAL_GLO_CIPHERING]):
        ciphered = Ciphered.decode(apdu)
        system_title = ciphered.system_title
        if key is None:
            raise DecryptionError("the meter encrypts its push: an encryption key is needed")
        apdu = ciphered.decrypt(key, authentication_key)
        try:
            notification = DataNotification.decode(apdu)
        except ProtocolError as err:
            raise DecryptionError(f"the decrypted push does not decode (wrong key?): {err}") from None
    else:
        notification = DataNotification.decode(apdu)
    registers = push_registers(notification.body, scalings)
    if notification.timestamp is not None and CLOCK not in {register.obis for register in registers}:
        value = Value(notification.timestamp.isoformat())
        registers.append(Register(CLOCK, value.encode(), (value,)))
    return Push(notification, tuple(registers), system_title)


def identity_for(name: str | None, *, system_title: bytes | None = None) -> MeterIdentity:
    """Return the identity a DLMS meter gives: its logical device name and system title.

    The FLAG id is the manufacturer prefix of the logical device name or the system title
    (``LGZ``); the model is the logical device name.
    """
    source = name or (system_title.decode("ascii", "replace") if system_title else "")
    return MeterIdentity(
        flag_id=flag_id_from(source),
        model=printable_text(source, 32),
        system_title=system_title,
    )
