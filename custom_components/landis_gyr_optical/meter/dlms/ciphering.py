"""General-glo-ciphering (``DB``): AES-128-GCM with the meter's key (IEC 62056-5-3 5.8).

The system title and the invocation counter form the IV; the meter side (``encrypt``)
serves the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import ProtocolError
from .axdr import decode_length, encode_length
from .registers import DlmsError

GENERAL_GLO_CIPHERING = 0xDB


class DecryptionError(ProtocolError):
    """A ciphered APDU could not be decrypted: the key is wrong or missing."""

    key = "invalid_key"


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
