"""The association of the read-only public client: AARQ, AARE and release (IEC 62056-5-3 7.2)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from ..errors import ProtocolError
from .axdr import decode_length, encode_length
from .registers import DlmsError

AARQ = 0x60
AARE = 0x61
RLRQ = 0x62

PUBLIC_CLIENT = 16
"""Client SAP of the public client: read-only, lowest-level security (IEC 62056-5-3)."""
MANAGEMENT_CLIENT = 1
"""Client SAP of the management client; meters give it access with a password only."""
MANAGEMENT_LOGICAL_DEVICE = 1


class Referencing(StrEnum):
    """How a client names COSEM attributes: logical names (GET) or short names (Read)."""

    LOGICAL_NAMES = "ln"
    SHORT_NAMES = "sn"


class AssociationResult(IntEnum):
    """``result`` of an AARE (ACSE, ISO/IEC 8650)."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class Diagnostic(IntEnum):
    """``result-source-diagnostic`` values of the ACSE service user that say what to do next."""

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


_DIAGNOSTIC_TEXT: dict[int, str] = {
    Diagnostic.NO_REASON_GIVEN: "no reason given",
    Diagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED: "application context not supported",
    Diagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED: "authentication mechanism not recognised",
    Diagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED: "authentication mechanism required",
    Diagnostic.AUTHENTICATION_FAILURE: "authentication failure",
    Diagnostic.AUTHENTICATION_REQUIRED: "authentication required",
}


def describe_diagnostic(diagnostic: int) -> str:
    """Name a diagnostic for messages: ``authentication failure (13)``."""
    text = _DIAGNOSTIC_TEXT.get(diagnostic)
    return f"{text} ({diagnostic})" if text else f"diagnostic {diagnostic}"


class AssociationError(ProtocolError):
    """The meter refused the association (password, client address or context)."""

    key = "association_rejected"

    def __init__(self, message: str, *, diagnostic: int | None = None, client: int | None = None) -> None:
        """Keep the AARE's diagnostic and the client that was refused."""
        super().__init__(message)
        self.diagnostic = diagnostic
        self.client = client

    @property
    def authentication(self) -> bool:
        """Whether the meter refused the client's credentials (or their absence)."""
        return self.diagnostic in (Diagnostic.AUTHENTICATION_FAILURE, Diagnostic.AUTHENTICATION_REQUIRED)


# --- association (AARQ / AARE) -------------------------------------------------------------------------

_CONTEXT_LN_NO_CIPHERING = bytes.fromhex("60857405080101")
_CONTEXT_SN_NO_CIPHERING = bytes.fromhex("60857405080102")
_CONTEXTS = {
    Referencing.LOGICAL_NAMES: _CONTEXT_LN_NO_CIPHERING,
    Referencing.SHORT_NAMES: _CONTEXT_SN_NO_CIPHERING,
}
_MECHANISM_LOW_LEVEL = bytes.fromhex("60857405080201")
DLMS_VERSION = 6
# The conformance block is a 24-bit BIT STRING: bit n of IEC 62056-5-3 is 1 << (23 - n).
CONFORMANCE_READ = 1 << (23 - 3)
CONFORMANCE_BLOCK_TRANSFER_WITH_GET = 1 << (23 - 11)
"""Block transfer with GET or Read (bit 11; bit 12 is block transfer with SET or Write)."""
CONFORMANCE_GET = 1 << (23 - 19)
READ_ONLY_CONFORMANCE = CONFORMANCE_GET | CONFORMANCE_BLOCK_TRANSFER_WITH_GET
"""What the logical-name client proposes: GET and block transfer with GET, nothing that writes."""
SHORT_NAME_CONFORMANCE = CONFORMANCE_READ | CONFORMANCE_BLOCK_TRANSFER_WITH_GET
"""What the short-name client proposes: Read and block transfer with Read, nothing that writes."""
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
    *,
    password: bytes | None = None,
    referencing: Referencing = Referencing.LOGICAL_NAMES,
    conformance: int | None = None,
    max_pdu: int = MAX_RECEIVE_PDU,
) -> bytes:
    """AARQ without ciphering, no security or low-level (password) security.

    The conformance proposed is the read-only set of the referencing unless given.
    """
    if conformance is None:
        conformance = (
            READ_ONLY_CONFORMANCE if referencing is Referencing.LOGICAL_NAMES else SHORT_NAME_CONFORMANCE
        )
    body = _tlv(0xA1, _tlv(0x06, _CONTEXTS[referencing]))
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
    referencing: Referencing = Referencing.LOGICAL_NAMES

    @classmethod
    def decode(cls, apdu: bytes) -> AssociationRequest:
        """Decode an AARQ."""
        if not apdu or apdu[0] != AARQ:
            raise DlmsError(f"not an AARQ: {apdu[:8].hex()}")
        length, offset = decode_length(apdu, 1)
        fields = _parse_tlvs(apdu[offset : offset + length])
        context = _parse_tlvs(fields.get(0xA1, b"")).get(0x06, b"")
        referencing = next((name for name, value in _CONTEXTS.items() if value == context), None)
        if referencing is None:
            raise DlmsError(f"AARQ with an unknown application context {context.hex()}")
        password = _parse_tlvs(fields[0xAC]).get(0x80) if 0xAC in fields else None
        initiate = _parse_tlvs(fields.get(0xBE, b"")).get(0x04, b"")
        if len(initiate) < 14 or initiate[0] != 0x01:
            raise DlmsError("AARQ without an xDLMS initiate request")
        return cls(
            password,
            int.from_bytes(initiate[-5:-2], "big"),
            int.from_bytes(initiate[-2:], "big"),
            referencing,
        )


@dataclass(frozen=True, slots=True)
class AssociationResponse:
    """The meter's AARE.

    Some Landis+Gyr meters (ZCX, ZMX) refuse without the user-information field, which
    DLMS makes mandatory: the result and diagnostic alone then say why.
    """

    accepted: bool
    diagnostic: int
    conformance: int = 0
    max_pdu: int = 0
    result: int = AssociationResult.ACCEPTED
    referencing: Referencing = Referencing.LOGICAL_NAMES
    user_information: bool = True

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
        context = _parse_tlvs(fields.get(0xA1, b"")).get(0x06, b"")
        referencing = next(
            (name for name, value in _CONTEXTS.items() if value == context), Referencing.LOGICAL_NAMES
        )
        return cls(result[0] == 0, diagnostic, conformance, max_pdu, result[0], referencing, 0xBE in fields)

    def encode(self) -> bytes:
        """Return the AARE (the meter side)."""
        result = self.result if not self.accepted else AssociationResult.ACCEPTED
        if not self.accepted and result == AssociationResult.ACCEPTED:
            result = AssociationResult.REJECTED_PERMANENT
        body = _tlv(0xA1, _tlv(0x06, _CONTEXTS[self.referencing]))
        body += _tlv(0xA2, _tlv(0x02, bytes([result])))
        body += _tlv(0xA3, _tlv(0xA1, _tlv(0x02, bytes([self.diagnostic]))))
        if self.user_information:
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
