"""GET requests and responses of the pull client, and what it reads (IEC 62056-5-3 7.3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cosem import Scaling, obis_from_bytes, obis_to_bytes
from ..obis import ObisCode
from ..registers import Register
from .axdr import AxdrError, Data, decode_all, decode_length, encode_length
from .registers import (
    CLASS_CLOCK,
    CLASS_DATA,
    CLASS_EXTENDED_REGISTER,
    CLASS_REGISTER,
    CLOCK,
    LOGICAL_DEVICE_NAME,
    SERIAL_NUMBER,
    DlmsError,
    register_from,
    with_serial,
)

GET_REQUEST = 0xC0
GET_RESPONSE = 0xC4
EXCEPTION_RESPONSE = 0xD8
CONFIRMED_SERVICE_ERROR = 0x0E

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
        return with_serial(self.registers)
