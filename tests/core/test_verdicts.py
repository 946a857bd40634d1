"""Probe verdicts a person can act on: one per way a probe ends without a readout."""

from __future__ import annotations

import pytest

from custom_components.landis_gyr_optical.meter.dlms.association import AssociationError
from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.hdlc import HdlcAddress
from custom_components.landis_gyr_optical.meter.dlms.layouts import UnknownPushLayoutError
from custom_components.landis_gyr_optical.meter.dlms.optical import (
    Association,
    PasswordRefusedError,
    PublicClientRefusedError,
    Tried,
)
from custom_components.landis_gyr_optical.meter.eredes_han.client import RegisterNotEnabledError
from custom_components.landis_gyr_optical.meter.eredes_han.registers import BY_ADDRESS
from custom_components.landis_gyr_optical.meter.errors import MeterError, NoAnswerError, PortError
from custom_components.landis_gyr_optical.meter.probe import ProbeAttempt
from custom_components.landis_gyr_optical.meter.verdicts import (
    ENGLISH,
    AttemptName,
    FindingKey,
    Verdict,
    VerdictKey,
    failure_verdict,
    identification_in,
    is_echo,
    is_eredes_identification,
)

SIGN_ON = b"/?!\r\n"
ZCX = b"/LGZ5\\2ZCXe110CRU0L3D2.03\r\n"


NAMES = {
    "sign-on": AttemptName.SIGN_ON,
    "listen": AttemptName.LISTEN_PUSH,
    "mode E": AttemptName.MODE_E,
    "7E2": AttemptName.SIGN_ON_7E2,
    "han": AttemptName.HAN,
}


def attempt(
    name: str, sent: bytes = b"", received: bytes = b"", error: MeterError | None = None
) -> ProbeAttempt:
    label = Verdict(NAMES[name], {"baud": "9600"})
    finding = Verdict(FindingKey.SILENT)
    return ProbeAttempt(
        label=label, settings=None, sent=sent, received=received, finding=finding, ok=False, error=error
    )


def locked(identification: str | None = "LGZ5\\2ZCXe110CRU0L3D2.03") -> PublicClientRefusedError:
    refused = AssociationError("refused", diagnostic=13, client=16)
    tried = [Tried(Association(HdlcAddress.server(1, 0)), "refused (authentication failure (13))")]
    return PublicClientRefusedError(tried, refused, identification)


def test_nothing_back() -> None:
    verdict = failure_verdict("/dev/ttyUSB0", [attempt("sign-on", SIGN_ON), attempt("listen")])
    assert verdict.key is VerdictKey.NOTHING_BACK
    assert "not even the echo" in verdict.text and "/dev/ttyUSB0" in verdict.text


def test_only_the_echo() -> None:
    attempts = [attempt("sign-on", SIGN_ON + b"\x06050\r\n", SIGN_ON), attempt("listen")]
    verdict = failure_verdict("/dev/ttyUSB0", attempts)
    assert verdict.key is VerdictKey.ONLY_ECHO
    assert verdict.text.startswith("Only the echo of what was sent came back on /dev/ttyUSB0: the head works")


def test_garbled_bytes() -> None:
    verdict = failure_verdict("p", [attempt("sign-on", SIGN_ON, b"\x00\xff\x13")])
    assert verdict.key is VerdictKey.GARBLED


def test_identification_then_no_readout() -> None:
    attempts = [
        attempt("sign-on", SIGN_ON, SIGN_ON + ZCX, NoAnswerError("x")),
        attempt("listen"),
        attempt("7E2", SIGN_ON, ZCX),
    ]
    verdict = failure_verdict("p", attempts)
    assert verdict.key is VerdictKey.IDENTIFICATION_NO_READOUT
    assert verdict.placeholders["identification"] == "LGZ5\\2ZCXe110CRU0L3D2.03"
    assert verdict.placeholders["tried"] == (
        "listen for pushes at 9600 Bd 8N1 (DLMS/COSEM, SML); sign-on at 300 Bd 7E2 (heat meters)"
    )
    assert [name.key for name in verdict.tried] == [AttemptName.LISTEN_PUSH, AttemptName.SIGN_ON_7E2]
    alone = failure_verdict("p", attempts[:1])
    assert alone.placeholders["tried"] == "nothing else"
    assert alone.as_dict()["tried"] == [{"key": "nothing_else", "placeholders": {}}]


def test_locked_e_redes_port_points_to_the_han_port() -> None:
    attempts = [attempt("sign-on", SIGN_ON, ZCX, NoAnswerError("x")), attempt("mode E", error=locked())]
    verdict = failure_verdict("p", attempts)
    assert verdict.key is VerdictKey.PORT_LOCKED_EREDES
    assert verdict.placeholders["diagnostic"] == "authentication failure (13)"
    text = verdict.text
    assert "this optical port is locked by the grid operator" in text
    assert "HAN port" in text and "RS-485" in text and "Balcão Digital" in text
    assert '"E-Redes HAN port (Portugal, Modbus RTU)"' in text


def test_locked_port_of_another_meter() -> None:
    attempts = [
        attempt("sign-on", SIGN_ON, b"/LGZ5\\2ZMD4104407.B23\r\n"),
        attempt("mode E", error=locked(None)),
    ]
    verdict = failure_verdict("p", attempts)
    assert verdict.key is VerdictKey.PORT_LOCKED
    assert verdict.placeholders["identification"] == "LGZ5\\2ZMD4104407.B23"
    assert "HAN" not in verdict.text


def test_refused_password() -> None:
    refused = PasswordRefusedError([], AssociationError("x", diagnostic=13, client=1))
    verdict = failure_verdict("p", [attempt("mode E", error=refused)])
    assert verdict.key is VerdictKey.PASSWORD_REFUSED
    assert "sent once only" in verdict.text


def test_port_error_and_needed_credentials() -> None:
    failed = failure_verdict("p", [attempt("sign-on", error=PortError("/dev/x", "No such file"))])
    assert (failed.key, failed.text) == (
        VerdictKey.PORT_FAILED,
        "The port could not be used: cannot open /dev/x: No such file.",
    )
    han = RegisterNotEnabledError([BY_ADDRESS[0x0016]])
    needs = failure_verdict("p", [attempt("han", error=han)])
    assert needs.key is VerdictKey.NEEDS_CREDENTIALS
    assert needs.text.startswith("A meter answered, but: the meter refuses to give out active energy import")


@pytest.mark.parametrize(
    ("identification", "eredes"),
    [
        ("LGZ5\\2ZCXe110CRU0L3D2.03", True),
        ("LGZ4ZMD4104407.B23", False),
        ("ZIV5CTM", True),
        ("KFM5MA109", True),
        ("ISK5MT174", False),
    ],
)
def test_e_redes_identifications(identification: str, eredes: bool) -> None:
    assert is_eredes_identification(identification) is eredes


def test_helpers() -> None:
    assert identification_in(b"\x06/?!\r\n/LGZ5ZMF100AC.M27\r\n") == "LGZ5ZMF100AC.M27"
    assert identification_in(b"/\x00\x01\r\n") is None
    assert identification_in(b"no slash") is None
    assert is_echo(SIGN_ON, SIGN_ON[:3]) and is_echo(SIGN_ON + b"x", SIGN_ON)
    assert not is_echo(b"", b"a") and not is_echo(SIGN_ON, b"") and not is_echo(SIGN_ON, b"/LGZ")
    assert str(Verdict(VerdictKey.GARBLED)) == ENGLISH[VerdictKey.GARBLED]


def test_an_unknown_push_layout_is_named() -> None:
    error = UnknownPushLayoutError(Data(DataType.LONG_UNSIGNED, 7))
    verdict = failure_verdict("p", [attempt("listen", received=b"~\xa0", error=error)])
    assert verdict.key is VerdictKey.NEEDS_CREDENTIALS
    assert verdict.text == f"A meter answered, but: {error}."
