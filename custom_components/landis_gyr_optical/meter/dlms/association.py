"""The association of the read-only public client: AARQ, AARE and release (IEC 62056-5-3 7.2)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProtocolError
from .axdr import decode_length, encode_length
from .registers import DlmsError

AARQ = 0x60
AARE = 0x61
RLRQ = 0x62

PUBLIC_CLIENT = 16
"""Client SAP of the public client: read-only, lowest-level security (IEC 62056-5-3)."""
MANAGEMENT_LOGICAL_DEVICE = 1


class AssociationError(ProtocolError):
    """The meter refused the association (password, client address or context)."""

    key = "association_rejected"


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
