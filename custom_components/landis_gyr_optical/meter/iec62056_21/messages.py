"""IEC 62056-21 messages: the bytes on the wire, both directions.

Encoders for what the client sends (sign-on, option select, break) and for what a meter
sends (identification, data message) live side by side, so the meter simulator speaks
exactly the framing the client parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import reduce
import re

from ..errors import ProtocolError
from ..identity import MeterIdentity
from ..manufacturers import HEAT_METER_IDS, manufacturer_name
from ..obis import ELECTRICITY, HEAT

SOH = 0x01
STX = 0x02
ETX = 0x03
ACK = 0x06
NAK = 0x15
CRLF = b"\r\n"

INITIAL_BAUD = 300
"""Every mode A, B, C and E session starts at 300 Bd (IEC 62056-21 6.4)."""
MODE_D_BAUD = 2400

REACTION_TIME = 0.200
"""Minimum time between receiving a message and answering it."""
SHORT_REACTION_TIME = 0.020
"""Minimum reaction time of a meter whose FLAG id has a lower-case third letter."""
MAX_REACTION_TIME = 1.500
INTER_CHARACTER_TIMEOUT = 1.500

MAX_ADDRESS_LENGTH = 32

# Baud-rate characters of the identification message (IEC 62056-21 6.3.14).
BAUD_MODE_C = {"0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200}
BAUD_MODE_B = {"A": 600, "B": 1200, "C": 2400, "D": 4800, "E": 9600, "F": 19200}

BREAK = bytes([SOH]) + b"B0" + bytes([ETX]) + b"q"
"""Sign-off (``SOH B 0 ETX BCC``): the meter drops the session at once."""


class Mode(StrEnum):
    """The IEC 62056-21 protocol mode an identification announces."""

    A = "mode_a"
    B = "mode_b"
    C = "mode_c"
    D = "mode_d"


def bcc(data: bytes) -> int:
    """Return the block check character: XOR of every byte (IEC 62056-21 6.3.13).

    It is a column parity: two flipped bits in the same bit column cancel, so a matching
    BCC does not prove a clean readout (see the spike guard of the HA layer).
    """
    return reduce(lambda acc, byte: acc ^ byte, data, 0)


def sign_on(address: str = "") -> bytes:
    """Return the request message ``/?[address]!CR LF``."""
    # The address travels inside the request line: a control character or ``!`` would
    # end or corrupt it.
    if len(address) > MAX_ADDRESS_LENGTH or not all(" " <= char <= "~" for char in address) or "!" in address:
        raise ValueError(
            f"device address must be up to {MAX_ADDRESS_LENGTH} printable ASCII characters without '!'"
        )
    return b"/?" + address.encode("ascii") + b"!" + CRLF


def baud_character(baud: int) -> str:
    """Return the mode C/E baud character for a rate (``9600`` → ``5``)."""
    for char, rate in BAUD_MODE_C.items():
        if rate == baud:
            return char
    raise ValueError(f"{baud} Bd has no mode C baud character")


def option_select(baud: int, *, protocol: str = "0", mode: str = "0") -> bytes:
    """Return ``ACK V Z Y CR LF``: protocol ``0`` normal, mode ``0`` data readout."""
    return bytes([ACK]) + f"{protocol}{baud_character(baud)}{mode}".encode("ascii") + CRLF


@dataclass(frozen=True, slots=True)
class Identification:
    r"""A parsed identification message ``/XXXZ[\W]Ident CR LF``."""

    flag_id: str
    baud_char: str
    identification: str
    enhanced_id: str | None = None

    @classmethod
    def parse(cls, line: bytes) -> Identification:
        """Parse one identification line (with or without its CR LF)."""
        text = _identification_text(line).rstrip("\r\n")
        match = _IDENTIFICATION.match(text)
        if match is None:
            raise ProtocolError(f"not an identification message: {text!r}")
        return cls(
            flag_id=match["flag"],
            baud_char=match["baud"],
            identification=match["ident"],
            enhanced_id=match["enhanced"],
        )

    def encode(self) -> bytes:
        """Return the message as a meter sends it."""
        enhanced = "" if self.enhanced_id is None else f"\\{self.enhanced_id}"
        return f"/{self.flag_id}{self.baud_char}{enhanced}{self.identification}".encode("ascii") + CRLF

    @property
    def manufacturer(self) -> str | None:
        """The manufacturer's name from the FLAG table, ``None`` if the id is unknown."""
        return manufacturer_name(self.flag_id)

    @property
    def reaction_time(self) -> float:
        """Minimum reaction time: 20 ms when the third letter is lower case, else 200 ms."""
        return SHORT_REACTION_TIME if self.flag_id[2].islower() else REACTION_TIME

    @property
    def mode(self) -> Mode:
        """The mode the baud character announces (D is only known from the context)."""
        if self.baud_char in BAUD_MODE_C:
            return Mode.C
        if self.baud_char in BAUD_MODE_B:
            return Mode.B
        return Mode.A

    @property
    def offered_baud(self) -> int:
        """The highest rate the meter offers (300 Bd for mode A)."""
        return BAUD_MODE_C.get(self.baud_char) or BAUD_MODE_B.get(self.baud_char) or INITIAL_BAUD

    @property
    def hdlc_capable(self) -> bool:
        r"""Whether the enhanced id ``\2`` announces mode E (DLMS/COSEM over HDLC)."""
        return self.enhanced_id == "2"

    @property
    def medium(self) -> int:
        """Value group A that short OBIS codes of this meter belong to."""
        return HEAT if self.flag_id.upper() in HEAT_METER_IDS else ELECTRICITY

    @property
    def identity(self) -> MeterIdentity:
        """The meter's identity: FLAG id, the text after the rate character, the whole line."""
        return MeterIdentity(flag_id=self.flag_id, model=self.identification, iec_identification=str(self))

    def __str__(self) -> str:
        """Return the identification as the meter printed it, without ``/`` and CR LF."""
        return self.encode().decode("ascii")[1:-2]


_IDENTIFICATION = re.compile(
    r"^/(?P<flag>[A-Za-z]{3})(?P<baud>[ -~])(?:\\(?P<enhanced>[ -~]))?(?P<ident>[ -~]{0,32})$"
)


def encode_data_message(data_block: bytes) -> bytes:
    """Frame a data block as ``STX block ! CR LF ETX BCC``."""
    body = data_block + b"!" + CRLF + bytes([ETX])
    return bytes([STX]) + body + bytes([bcc(body)])


def _identification_text(line: bytes) -> str:
    r"""Decode an identification line; 0x80-0xBF after the rate character is ``\2`` + digits.

    Fluvius and Smarty P1 meters send the enhanced id ``\2`` followed by digits
    (``/FLU5\253769484_A``); software that wrote such a line as a C or Python literal
    turned ``\253`` into the one byte 0xAB. Reading it back as its octal escape gives
    the line the meter sent (the CRC is still computed over the bytes as received).
    Any other byte outside ASCII is an error.
    """
    if len(line) > 5 and 0x80 <= line[5] <= 0xBF:
        return _ascii(line[:5]) + f"\\{line[5]:03o}" + _ascii(line[6:])
    return _ascii(line)


def _ascii(data: bytes) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as err:
        raise ProtocolError(f"non-ASCII bytes in a text message: {data!r}") from err
