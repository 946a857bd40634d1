"""DLMS/COSEM application layer (IEC 62056-5-3, -6-2), sans-IO.

- Data-notification pushes (``0F``) and their general-glo-ciphering envelope (``DB``,
  AES-128-GCM with the meter's key; the system title and invocation counter form the IV).
- The read-only public client's association (AARQ/AARE) and GET request/response.
- Mapping of COSEM values to the ``Register`` model the text protocol uses: OBIS codes,
  ``Decimal`` values with their scaler applied, normalised units, energy in kWh.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
import string

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .axdr import (
    AxdrError,
    Data,
    DataType,
    decode_all,
    decode_datetime,
    decode_length,
    encode_length,
)
from .datasets import Register, Value
from .errors import ProtocolError
from .messages import BAUD_MODE_C, Identification, baud_character
from .obis import ObisCode

DATA_NOTIFICATION = 0x0F
GENERAL_GLO_CIPHERING = 0xDB
GET_REQUEST = 0xC0
GET_RESPONSE = 0xC4
EXCEPTION_RESPONSE = 0xD8
CONFIRMED_SERVICE_ERROR = 0x0E
AARQ = 0x60
AARE = 0x61
RLRQ = 0x62

PUBLIC_CLIENT = 16
"""Client SAP of the public client: read-only, lowest-level security (IEC 62056-5-3)."""
MANAGEMENT_LOGICAL_DEVICE = 1

CLASS_DATA = 1
CLASS_REGISTER = 3
CLASS_EXTENDED_REGISTER = 4
CLASS_CLOCK = 8
CLASS_PUSH_SETUP = 40

LOGICAL_DEVICE_NAME = ObisCode.parse("0-0:42.0.0")
SERIAL_NUMBER = ObisCode.parse("0-0:96.1.0")
CLOCK = ObisCode.parse("0-0:1.0.0")

_LETTER_GROUPS = {"C": 96, "F": 97, "L": 98, "P": 99}
_PRINTABLE = frozenset(string.printable.encode("ascii")) - frozenset(b"\t\n\r\x0b\x0c")

# DLMS unit enumeration (IEC 62056-6-2 table 4, shared by SML), mapped to the spelling
# of ``datasets.normalise_unit``. Energy and its reactive and apparent kin are converted
# to the kilo unit, which is what the text protocol reports and the entity table expects.
UNITS: dict[int, str] = {
    1: "a",
    2: "mo",
    3: "wk",
    4: "d",
    5: "h",
    6: "min",
    7: "s",
    8: "°",
    9: "°C",
    11: "m",
    12: "m/s",
    13: "m³",
    14: "m³",
    15: "m³/h",
    16: "m³/h",
    19: "L",
    20: "kg",
    23: "Pa",
    24: "bar",
    25: "J",
    27: "W",
    28: "VA",
    29: "var",
    30: "Wh",
    31: "VAh",
    32: "varh",
    33: "A",
    34: "C",
    35: "V",
    44: "Hz",
    52: "K",
    56: "%",
    57: "Ah",
}
_KILO = {"Wh": "kWh", "varh": "kvarh", "VAh": "kVAh"}
NO_UNIT = 255
"""``count``: a number without a unit."""


class DlmsError(ProtocolError):
    """A DLMS APDU is malformed or is not the one the exchange expects."""


class DecryptionError(ProtocolError):
    """A ciphered APDU could not be decrypted: the key is wrong or missing."""

    key = "invalid_key"


class AssociationError(ProtocolError):
    """The meter refused the association (password, client address or context)."""

    key = "association_rejected"


class AccessError(DlmsError):
    """The meter answered a GET with a data-access-result other than success."""

    def __init__(self, obis: ObisCode, result: int) -> None:
        """Name the object and the result code."""
        super().__init__(f"{obis}: data access result {result}")
        self.obis = obis
        self.result = result


# --- OBIS ----------------------------------------------------------------------------------


def obis_from_bytes(raw: bytes) -> ObisCode:
    """Return the OBIS code of a 6-byte logical name (F = 255 is the current value)."""
    if len(raw) != 6:
        raise DlmsError(f"a logical name has 6 bytes, not {len(raw)}: {raw.hex()}")
    a, b, c, d, e, f = raw
    return ObisCode.parse(f"{a}-{b}:{c}.{d}.{e}*{f}")


def obis_to_bytes(obis: ObisCode) -> bytes:
    """Return the 6-byte logical name of an OBIS code (lettered groups become 96..99)."""
    groups = [_group_number(group) for group in (obis.c, obis.d, obis.e)]
    return bytes([obis.a, obis.b, *groups, 255 if obis.f is None else obis.f])


def _group_number(group: str) -> int:
    return _LETTER_GROUPS[group] if group in _LETTER_GROUPS else int(group)


# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scaling:
    """Scaler (power of ten) and DLMS unit code of a register."""

    scaler: int = 0
    unit: int = NO_UNIT

    @classmethod
    def from_data(cls, data: Data) -> Scaling:
        """Decode attribute 3 of a register: ``structure {integer scaler, enum unit}``."""
        items = data.items
        if (
            data.type is not DataType.STRUCTURE
            or len(items) != 2
            or not all(item.is_integer for item in items)
        ):
            raise DlmsError(f"not a scaler_unit structure: {data}")
        scaler, unit = (item.value for item in items)
        assert isinstance(scaler, int) and isinstance(unit, int)
        return cls(scaler, unit)


def scaled_value(number: int | float, scaling: Scaling | None) -> Value:  # noqa: PYI041
    """Return a number with the scaler applied and the unit normalised (energy in kilo units)."""
    if isinstance(number, float):
        decimal = Decimal(repr(number))
        if not decimal.is_finite():
            raise DlmsError(f"non-finite number {number}")
    else:
        decimal = Decimal(number)
    if scaling is None:
        return Value(decimal, None)
    if not -128 <= scaling.scaler <= 127:
        raise DlmsError(f"scaler {scaling.scaler} is out of range")
    decimal = decimal.scaleb(scaling.scaler)
    unit = UNITS.get(scaling.unit)
    if unit in _KILO:
        decimal = decimal.scaleb(-3)
        unit = _KILO[unit]
    return Value(decimal, unit)


def text_value(raw: bytes, *, clock: bool = False) -> Value:
    """Render an octet string as text: a date-time, printable ASCII, or hex."""
    if clock and len(raw) == 12:
        moment = decode_datetime(raw)
        return Value(None if moment is None else moment.isoformat())
    if raw and all(byte in _PRINTABLE for byte in raw):
        return Value(raw.decode("ascii"))
    return Value(raw.hex().upper() if raw else None)


def register_from(obis: ObisCode, data: Data, scaling: Scaling | None = None) -> Register | None:
    """Map one COSEM value to a register; ``None`` for values that are not readings."""
    if isinstance(data.value, bool):
        value = Value(str(data.value).lower())
    elif isinstance(data.value, int | float):
        value = scaled_value(data.value, scaling)
    elif isinstance(data.value, bytes):
        value = text_value(data.value, clock=obis == CLOCK or data.type is DataType.DATE_TIME)
    elif isinstance(data.value, str):
        value = Value(data.value)
    else:
        return None
    return Register(obis=obis, raw=value.encode(), values=(value,))


# --- push layouts ------------------------------------------------------------------------------------

_ACTIVE_POWER = frozenset({1, 2, 15, 16, 21, 22, 41, 42, 61, 62})
_REACTIVE = frozenset({3, 4, 5, 6, 7, 8, 23, 24, 43, 44, 63, 64})
_APPARENT = frozenset({9, 10, 29, 30, 49, 50, 69, 70})
_VOLTAGE = frozenset({32, 52, 72, 12})
_CURRENT = frozenset({31, 51, 71, 11, 91})
_POWER_FACTOR = frozenset({13, 33, 53, 73})


def default_scaling(obis: ObisCode, *, voltage_scaler: int = 0) -> Scaling | None:
    """Scaler and unit of an electricity register whose push does not carry attribute 3.

    L+G E450/E570 pushes (push setup 0-8:25.9.0) send energy in Wh and varh, power in W
    and var, voltage in V and current in 10 mA; the E360 (0-6:25.9.0) sends voltage in
    100 mV. The values match the meters' displays in the published captures.
    """
    if obis.a != 1 or not (obis.c.isdigit() and obis.d.isdigit()):
        return None
    c, d = int(obis.c), int(obis.d)
    if d in (8, 9, 29):
        if c in _ACTIVE_POWER:
            return Scaling(0, 30)
        if c in _REACTIVE:
            return Scaling(0, 32)
        if c in _APPARENT:
            return Scaling(0, 31)
    if d in (4, 5, 6, 7, 24, 25, 26, 27):
        if c in _ACTIVE_POWER:
            return Scaling(0, 27)
        if c in _REACTIVE:
            return Scaling(0, 29)
        if c in _APPARENT:
            return Scaling(0, 28)
        if c in _VOLTAGE:
            return Scaling(voltage_scaler, 35)
        if c in _CURRENT:
            return Scaling(-2, 33)
        if c in _POWER_FACTOR:
            return Scaling(-3, NO_UNIT)
        if c == 14:
            return Scaling(-2, 44)
    return None


_VOLTAGE_DECIVOLT_LAYOUTS = frozenset({ObisCode.parse("0-6:25.9.0")})
"""Push setups whose voltages come in 0.1 V (the E360's)."""


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """One entry of a push setup's object list: which attribute of which object."""

    class_id: int
    obis: ObisCode
    attribute: int
    data_index: int = 0

    @classmethod
    def from_data(cls, data: Data) -> CaptureObject | None:
        """Decode ``structure {long-unsigned, octet-string(6), integer, long-unsigned}``."""
        items = data.items
        if data.type is not DataType.STRUCTURE or len(items) != 4:
            return None
        class_id, name, attribute, index = items
        if not (
            class_id.type is DataType.LONG_UNSIGNED
            and name.type is DataType.OCTET_STRING
            and isinstance(name.value, bytes)
            and len(name.value) == 6
            and attribute.is_integer
            and index.is_integer
        ):
            return None
        assert isinstance(class_id.value, int) and isinstance(attribute.value, int)
        assert isinstance(index.value, int)
        return cls(class_id.value, obis_from_bytes(name.value), attribute.value, index.value)


def push_registers(body: Data, scalings: Mapping[ObisCode, Scaling] | None = None) -> list[Register]:
    """Map the body of a push to registers.

    Two layouts occur: L+G sends its own object list as the first element, followed by
    one value per listed object; others (Kamstrup, many HAN pushes) send OBIS
    octet-strings each followed by its value and optionally a scaler_unit structure.
    """
    items = body.items if body.type is DataType.STRUCTURE else ()
    if items and items[0].type is DataType.ARRAY and items[0].items:
        captures = [CaptureObject.from_data(item) for item in items[0].items]
        if all(capture is not None for capture in captures):
            return _listed_registers([c for c in captures if c is not None], items, scalings or {})
    registers = list(_paired_registers(items, scalings or {}))
    if not registers:
        raise DlmsError("push body has no layout this client understands")
    return _with_serial(registers)


def _listed_registers(
    captures: list[CaptureObject], items: tuple[Data, ...], scalings: Mapping[ObisCode, Scaling]
) -> list[Register]:
    if len(captures) != len(items):
        raise DlmsError(f"push lists {len(captures)} objects but carries {len(items)} values")
    voltage_scaler = 0
    for capture in captures:
        if capture.class_id == CLASS_PUSH_SETUP and capture.obis in _VOLTAGE_DECIVOLT_LAYOUTS:
            voltage_scaler = -1
    registers: list[Register] = []
    for capture, value in zip(captures, items, strict=True):
        if capture.class_id == CLASS_PUSH_SETUP or capture.attribute != 2:
            continue
        scaling = scalings.get(capture.obis) or default_scaling(capture.obis, voltage_scaler=voltage_scaler)
        register = register_from(capture.obis, value, scaling)
        if register is not None:
            registers.append(register)
    return _with_serial(registers)


def _paired_registers(items: tuple[Data, ...], scalings: Mapping[ObisCode, Scaling]) -> Iterator[Register]:
    index = 0
    while index < len(items) - 1:
        name = items[index]
        if not (
            name.type is DataType.OCTET_STRING and isinstance(name.value, bytes) and len(name.value) == 6
        ):
            index += 1
            continue
        obis = obis_from_bytes(name.value)
        value = items[index + 1]
        index += 2
        scaling = scalings.get(obis)
        if index < len(items) and items[index].type is DataType.STRUCTURE:
            try:
                scaling = Scaling.from_data(items[index])
                index += 1
            except DlmsError:
                pass
        register = register_from(obis, value, scaling or default_scaling(obis))
        if register is not None:
            yield register


def normalise_channels(registers: Iterable[Register]) -> list[Register]:
    """Report channel 1 (``1-1:``) electricity registers as ``1-0:`` unless both exist.

    Meters with a single measuring channel number it 1 or 0 at will (E360, Kamstrup);
    the entity table and the text protocol use 0.
    """
    registers = list(registers)
    present = {register.obis for register in registers}
    out: list[Register] = []
    for register in registers:
        obis = register.obis
        if obis.a == 1 and obis.b == 1:
            moved = ObisCode(1, 0, obis.c, obis.d, obis.e, obis.f, obis.separator)
            if moved not in present:
                register = Register(moved, register.raw, register.values)
        out.append(register)
    return out


def _with_serial(registers: list[Register]) -> list[Register]:
    """Add 0-0:96.1.0 from the logical device name when the meter does not send it."""
    registers = normalise_channels(registers)
    codes = {register.obis for register in registers}
    if SERIAL_NUMBER not in codes:
        for register in registers:
            if register.obis == LOGICAL_DEVICE_NAME and isinstance(register.value, str):
                registers.append(Register(SERIAL_NUMBER, register.raw, register.values))
                break
    return registers


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


# --- general-glo-ciphering -----------------------------------------------------------------------

_AUTHENTICATED = 0x10
_ENCRYPTED = 0x20
_TAG_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Ciphered:
    """A general-glo-ciphering APDU (``DB``)."""

    system_title: bytes
    security_control: int
    invocation_counter: int
    payload: bytes
    """Ciphertext, followed by the 12-byte tag when the APDU is authenticated."""

    @classmethod
    def decode(cls, apdu: bytes) -> Ciphered:
        """Split the envelope: system title, length, security header, ciphertext."""
        if not apdu or apdu[0] != GENERAL_GLO_CIPHERING:
            raise DlmsError(f"not a general-glo-ciphering APDU: {apdu[:8].hex()}")
        title_length, offset = decode_length(apdu, 1)
        system_title = bytes(apdu[offset : offset + title_length])
        if title_length != 8 or len(system_title) != 8:
            raise DlmsError(f"system title of {title_length} bytes")
        length, offset = decode_length(apdu, offset + title_length)
        if length < 5 or offset + length != len(apdu):
            raise DlmsError(f"ciphered content says {length} bytes, carries {len(apdu) - offset}")
        security_control = apdu[offset]
        counter = int.from_bytes(apdu[offset + 1 : offset + 5], "big")
        return cls(system_title, security_control, counter, bytes(apdu[offset + 5 :]))

    @property
    def authenticated(self) -> bool:
        """Whether a GCM tag follows the ciphertext."""
        return bool(self.security_control & _AUTHENTICATED)

    @property
    def encrypted(self) -> bool:
        """Whether the content is encrypted."""
        return bool(self.security_control & _ENCRYPTED)

    @property
    def iv(self) -> bytes:
        """GCM initialisation vector: system title and invocation counter."""
        return self.system_title + self.invocation_counter.to_bytes(4, "big")

    def decrypt(self, key: bytes, authentication_key: bytes | None = None) -> bytes:
        """Return the plain APDU.

        With an authentication key the GCM tag is verified (AAD = security control byte
        and the key). Without one the tag is skipped: many grid operators hand out only
        the encryption key, and a wrong key still fails, since the plaintext will not decode.
        """
        if len(key) != 16:
            raise DecryptionError(f"the key must have 16 bytes (32 hex digits), not {len(key)}")
        if self.authenticated and len(self.payload) < _TAG_LENGTH:
            raise DlmsError("authenticated APDU shorter than its tag")
        ciphertext = self.payload[:-_TAG_LENGTH] if self.authenticated else self.payload
        tag = self.payload[-_TAG_LENGTH:] if self.authenticated else b""
        if not self.encrypted:
            return ciphertext
        if self.authenticated and authentication_key is not None:
            verifier = Cipher(
                algorithms.AES(key), modes.GCM(self.iv, tag, min_tag_length=_TAG_LENGTH)
            ).decryptor()
            verifier.authenticate_additional_data(bytes([self.security_control]) + authentication_key)
            try:
                return verifier.update(ciphertext) + verifier.finalize()
            except InvalidTag:
                raise DecryptionError("the ciphered push does not authenticate: wrong key") from None
        # GCM encrypts with AES-CTR starting at counter 2 (counter 1 masks the tag).
        decryptor = Cipher(algorithms.AES(key), modes.CTR(self.iv + b"\x00\x00\x00\x02")).decryptor()
        return decryptor.update(ciphertext) + decryptor.finalize()


def encrypt(
    apdu: bytes,
    key: bytes,
    system_title: bytes,
    invocation_counter: int,
    *,
    authentication_key: bytes | None = None,
) -> bytes:
    """Wrap an APDU in general-glo-ciphering (the meter side; used by the simulator)."""
    iv = system_title + invocation_counter.to_bytes(4, "big")
    control = _ENCRYPTED | (_AUTHENTICATED if authentication_key is not None else 0)
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    if authentication_key is not None:
        encryptor.authenticate_additional_data(bytes([control]) + authentication_key)
    ciphertext = encryptor.update(apdu) + encryptor.finalize()
    if authentication_key is not None:
        ciphertext += encryptor.tag[:_TAG_LENGTH]
    content = bytes([control]) + invocation_counter.to_bytes(4, "big") + ciphertext
    return (
        bytes([GENERAL_GLO_CIPHERING])
        + encode_length(len(system_title))
        + system_title
        + encode_length(len(content))
        + content
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


def identification_for(name: str | None, baud: int, *, system_title: bytes | None = None) -> Identification:
    """Build an identification from what a DLMS meter says about itself.

    The FLAG id is the manufacturer prefix of the system title or logical device name
    (``LGZ``), the identification text the logical device name.
    """
    source = name or (system_title.decode("ascii", "replace") if system_title else "")
    flag = source[:3] if len(source) >= 3 and source[:3].isalpha() else "???"
    text = "".join(char for char in (name or source) if " " <= char <= "~")[:32]
    baud_char = baud_character(baud) if baud in BAUD_MODE_C.values() else "?"
    return Identification(flag_id=flag, baud_char=baud_char, identification=text, enhanced_id="2")


# --- association (AARQ / AARE) -------------------------------------------------------------------------

_CONTEXT_LN_NO_CIPHERING = bytes.fromhex("60857405080101")
_MECHANISM_LOW_LEVEL = bytes.fromhex("60857405080201")
DLMS_VERSION = 6
CONFORMANCE_GET = 0x000010
CONFORMANCE_BLOCK_TRANSFER_WITH_GET = 0x000800
READ_ONLY_CONFORMANCE = CONFORMANCE_GET | CONFORMANCE_BLOCK_TRANSFER_WITH_GET
"""What the client proposes: GET and block transfer with GET, nothing that writes."""
MAX_RECEIVE_PDU = 0xFFFF


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(value)) + value


def _parse_tlvs(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    offset = 0
    while offset < len(data):
        tag = data[offset]
        length, offset = decode_length(data, offset + 1)
        if offset + length > len(data):
            raise DlmsError(f"BER element {tag:02X} runs past the end")
        out[tag] = bytes(data[offset : offset + length])
        offset += length
    return out


def _initiate_request(conformance: int, max_pdu: int) -> bytes:
    return (
        bytes([0x01, 0x00, 0x00, 0x00, DLMS_VERSION, 0x5F, 0x1F, 0x04, 0x00])
        + conformance.to_bytes(3, "big")
        + max_pdu.to_bytes(2, "big")
    )


def encode_aarq(
    *, password: bytes | None = None, conformance: int = READ_ONLY_CONFORMANCE, max_pdu: int = MAX_RECEIVE_PDU
) -> bytes:
    """AARQ of the logical-name client, no security or low-level (password) security."""
    body = _tlv(0xA1, _tlv(0x06, _CONTEXT_LN_NO_CIPHERING))
    if password is not None:
        body += bytes([0x8A, 0x02, 0x07, 0x80])  # sender-acse-requirements: authentication
        body += _tlv(0x8B, _MECHANISM_LOW_LEVEL)
        body += _tlv(0xAC, _tlv(0x80, password))
    body += _tlv(0xBE, _tlv(0x04, _initiate_request(conformance, max_pdu)))
    return _tlv(AARQ, body)


@dataclass(frozen=True, slots=True)
class AssociationRequest:
    """What a client asked for (decoded by the simulated meter)."""

    password: bytes | None
    conformance: int
    max_pdu: int

    @classmethod
    def decode(cls, apdu: bytes) -> AssociationRequest:
        """Decode an AARQ."""
        if not apdu or apdu[0] != AARQ:
            raise DlmsError(f"not an AARQ: {apdu[:8].hex()}")
        length, offset = decode_length(apdu, 1)
        fields = _parse_tlvs(apdu[offset : offset + length])
        password = _parse_tlvs(fields[0xAC]).get(0x80) if 0xAC in fields else None
        initiate = _parse_tlvs(fields.get(0xBE, b"")).get(0x04, b"")
        if len(initiate) < 14 or initiate[0] != 0x01:
            raise DlmsError("AARQ without an xDLMS initiate request")
        return cls(
            password,
            int.from_bytes(initiate[-5:-2], "big"),
            int.from_bytes(initiate[-2:], "big"),
        )


@dataclass(frozen=True, slots=True)
class AssociationResponse:
    """The meter's AARE."""

    accepted: bool
    diagnostic: int
    conformance: int = 0
    max_pdu: int = 0

    @classmethod
    def decode(cls, apdu: bytes) -> AssociationResponse:
        """Decode an AARE (result, diagnostic, negotiated conformance and PDU size)."""
        if not apdu or apdu[0] != AARE:
            raise DlmsError(f"not an AARE: {apdu[:8].hex()}")
        length, offset = decode_length(apdu, 1)
        fields = _parse_tlvs(apdu[offset : offset + length])
        result = _parse_tlvs(fields.get(0xA2, b"")).get(0x02, b"")
        if len(result) != 1:
            raise DlmsError("AARE without a result")
        diagnostic = 0
        source = _parse_tlvs(fields.get(0xA3, b""))
        for inner in source.values():
            value = _parse_tlvs(inner).get(0x02, b"")
            if len(value) == 1:
                diagnostic = value[0]
        initiate = _parse_tlvs(fields.get(0xBE, b"")).get(0x04, b"")
        conformance = max_pdu = 0
        if len(initiate) >= 13 and initiate[0] == 0x08:
            conformance = int.from_bytes(initiate[7:10], "big")
            max_pdu = int.from_bytes(initiate[10:12], "big")
        return cls(result[0] == 0, diagnostic, conformance, max_pdu)

    def encode(self) -> bytes:
        """Return the AARE (the meter side)."""
        body = _tlv(0xA1, _tlv(0x06, _CONTEXT_LN_NO_CIPHERING))
        body += _tlv(0xA2, _tlv(0x02, bytes([0 if self.accepted else 1])))
        body += _tlv(0xA3, _tlv(0xA1, _tlv(0x02, bytes([self.diagnostic]))))
        initiate = (
            bytes([0x08, 0x00, DLMS_VERSION, 0x5F, 0x1F, 0x04, 0x00])
            + self.conformance.to_bytes(3, "big")
            + self.max_pdu.to_bytes(2, "big")
            + b"\x00\x07"
        )
        body += _tlv(0xBE, _tlv(0x04, initiate))
        return _tlv(AARE, body)


def encode_release_request() -> bytes:
    """RLRQ with reason normal."""
    return _tlv(RLRQ, _tlv(0x80, b"\x00"))


# --- GET -----------------------------------------------------------------------------------------------------

_GET_NORMAL = 0x01
_GET_NEXT = 0x02
_GET_WITH_BLOCK = 0x02
_INVOKE_PRIORITY = 0xC0  # high priority, confirmed


@dataclass(frozen=True, slots=True)
class AttributeReference:
    """A COSEM attribute: class, logical name, attribute number."""

    class_id: int
    obis: ObisCode
    attribute: int = 2

    def encode(self) -> bytes:
        """Return the cosem-attribute-descriptor."""
        return self.class_id.to_bytes(2, "big") + obis_to_bytes(self.obis) + bytes([self.attribute])


def encode_get_request(reference: AttributeReference, invoke_id: int = 1) -> bytes:
    """GET.request-normal without selective access."""
    return (
        bytes([GET_REQUEST, _GET_NORMAL, _INVOKE_PRIORITY | (invoke_id & 0x0F)])
        + reference.encode()
        + b"\x00"
    )


def encode_get_next(block_number: int, invoke_id: int = 1) -> bytes:
    """GET.request-next: ask for the block after ``block_number``."""
    return bytes([GET_REQUEST, _GET_NEXT, _INVOKE_PRIORITY | (invoke_id & 0x0F)]) + block_number.to_bytes(
        4, "big"
    )


@dataclass(frozen=True, slots=True)
class GetRequest:
    """A decoded GET request (the meter side)."""

    invoke_id: int
    reference: AttributeReference | None = None
    block_number: int | None = None

    @classmethod
    def decode(cls, apdu: bytes) -> GetRequest:
        """Decode GET.request-normal or -next."""
        if len(apdu) < 3 or apdu[0] != GET_REQUEST:
            raise DlmsError(f"not a GET request: {apdu[:8].hex()}")
        invoke_id = apdu[2] & 0x0F
        if apdu[1] == _GET_NORMAL and len(apdu) >= 13:
            reference = AttributeReference(
                int.from_bytes(apdu[3:5], "big"), obis_from_bytes(bytes(apdu[5:11])), apdu[11]
            )
            return cls(invoke_id, reference)
        if apdu[1] == _GET_NEXT and len(apdu) == 7:
            return cls(invoke_id, block_number=int.from_bytes(apdu[3:7], "big"))
        raise DlmsError(f"unsupported GET request {apdu[:4].hex()}")


@dataclass(frozen=True, slots=True)
class GetResponse:
    """A GET response: data, an access error, or one block of a long answer."""

    invoke_id: int
    data: Data | None = None
    result: int = 0
    block_number: int | None = None
    last_block: bool = True
    raw_block: bytes = b""

    @classmethod
    def decode(cls, apdu: bytes) -> GetResponse:
        """Decode GET.response-normal or -with-datablock; service errors raise."""
        if apdu[:1] in (bytes([EXCEPTION_RESPONSE]), bytes([CONFIRMED_SERVICE_ERROR])):
            raise DlmsError(f"the meter refused the request: {apdu.hex()}")
        if len(apdu) < 4 or apdu[0] != GET_RESPONSE:
            raise DlmsError(f"not a GET response: {apdu[:8].hex()}")
        invoke_id = apdu[2] & 0x0F
        if apdu[1] == _GET_NORMAL:
            if apdu[3] == 0x00:
                return cls(invoke_id, data=decode_all(bytes(apdu[4:])))
            if len(apdu) == 5:
                return cls(invoke_id, result=apdu[4])
        elif apdu[1] == _GET_WITH_BLOCK and len(apdu) >= 10:
            last = apdu[3] != 0
            number = int.from_bytes(apdu[4:8], "big")
            if apdu[8] == 0x00:
                length, offset = decode_length(apdu, 9)
                if offset + length == len(apdu):
                    return cls(
                        invoke_id, block_number=number, last_block=last, raw_block=bytes(apdu[offset:])
                    )
            elif len(apdu) == 10:
                return cls(invoke_id, result=apdu[9], block_number=number)
        raise DlmsError(f"malformed GET response {apdu[:12].hex()}")

    def encode(self) -> bytes:
        """Return the APDU (the meter side)."""
        head = bytes([GET_RESPONSE])
        invoke = _INVOKE_PRIORITY | self.invoke_id
        if self.block_number is not None:
            last = b"\x01" if self.last_block else b"\x00"
            number = self.block_number.to_bytes(4, "big")
            if self.result:
                return head + bytes([_GET_WITH_BLOCK, invoke]) + last + number + bytes([0x01, self.result])
            return (
                head
                + bytes([_GET_WITH_BLOCK, invoke])
                + last
                + number
                + b"\x00"
                + encode_length(len(self.raw_block))
                + self.raw_block
            )
        if self.data is None:
            return head + bytes([_GET_NORMAL, invoke, 0x01, self.result])
        return head + bytes([_GET_NORMAL, invoke, 0x00]) + self.data.encode()


@dataclass(frozen=True, slots=True)
class RegisterRead:
    """A standard object the pull client reads, and whether it has a scaler_unit."""

    obis: ObisCode
    class_id: int

    @property
    def scaled(self) -> bool:
        """Registers (class 3 and 4) carry their scaler and unit in attribute 3."""
        return self.class_id in (CLASS_REGISTER, CLASS_EXTENDED_REGISTER)


STANDARD_READS: tuple[RegisterRead, ...] = (
    RegisterRead(LOGICAL_DEVICE_NAME, CLASS_DATA),
    RegisterRead(SERIAL_NUMBER, CLASS_DATA),
    RegisterRead(CLOCK, CLASS_CLOCK),
    *(
        RegisterRead(ObisCode.parse(f"1-0:{code}"), CLASS_REGISTER)
        for code in (
            "1.8.0",
            "2.8.0",
            "1.7.0",
            "2.7.0",
            "32.7.0",
            "52.7.0",
            "72.7.0",
            "31.7.0",
            "51.7.0",
            "71.7.0",
        )
    ),
)
"""What the pull client reads: identity, clock, energy, power, per-phase voltage and current."""


def datablock_to_data(raw: bytes) -> Data:
    """Decode the reassembled raw data of a block-wise GET response."""
    try:
        return decode_all(raw)
    except AxdrError as err:
        raise DlmsError(f"block-wise GET response does not decode: {err}") from err


@dataclass(slots=True)
class PullResult:
    """What the pull client collected (sans-IO accumulator)."""

    registers: list[Register] = field(default_factory=list)
    missing: list[ObisCode] = field(default_factory=list)

    def add(self, read: RegisterRead, value: Data, scaling: Scaling | None) -> None:
        """Add one read value."""
        register = register_from(read.obis, value, scaling)
        if register is not None:
            self.registers.append(register)

    def finish(self) -> list[Register]:
        """Return the registers, with the serial number filled in from the logical device name."""
        return _with_serial(self.registers)
