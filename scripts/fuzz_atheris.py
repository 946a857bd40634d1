"""Coverage-guided fuzzing of every parser with atheris (libFuzzer); not part of scripts/test.

Only the project's typed errors (``MeterError``) may escape a parser; anything else is a
finding and stops the run with the input that caused it.

    pip install atheris
    PYTHONPATH=. python scripts/fuzz_atheris.py --target session -runs=200000

Targets: identification, datasets, session, hdlc, axdr, sml, modbus.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from custom_components.landis_gyr_optical.meter.dlms import axdr, hdlc
    from custom_components.landis_gyr_optical.meter.eredes_han import modbus
    from custom_components.landis_gyr_optical.meter.errors import MeterError
    from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
    from custom_components.landis_gyr_optical.meter.iec62056_21.messages import Identification
    from custom_components.landis_gyr_optical.meter.iec62056_21.session import (
        Protocol,
        Session,
        SessionSettings,
    )
    from custom_components.landis_gyr_optical.meter.sml import messages as sml


def _session(data: bytes) -> None:
    for protocol in (Protocol.AUTO, Protocol.MODE_D):
        session = Session(SessionSettings(protocol=protocol, max_readout=4096))
        while not session.needs_data:
            session.next_command()
        session.receive_data(data)


def _hdlc(data: bytes) -> None:
    reader = hdlc.FrameReader()
    for _ in reader.feed(data):
        pass


def _sml(data: bytes) -> None:
    reader = sml.SmlStreamReader()
    for _ in reader.feed(data):
        pass


def _modbus(data: bytes) -> None:
    reader = modbus.ReplyReader(modbus.with_crc(bytes([1, 4, 0, 1, 0, 6])))
    reader.receive_data(data)
    reader.next_event()


TARGETS: dict[str, Callable[[bytes], object]] = {
    "identification": Identification.parse,
    "datasets": parse_data_block,
    "session": _session,
    "hdlc": _hdlc,
    "axdr": axdr.decode,
    "sml": _sml,
    "modbus": _modbus,
}


def main() -> None:
    """Fuzz the target named by ``--target`` (the other arguments go to libFuzzer)."""
    arguments = list(sys.argv)
    name = "session"
    if "--target" in arguments:
        index = arguments.index("--target")
        name = arguments[index + 1]
        del arguments[index : index + 2]
    target = TARGETS[name]

    def one_input(data: bytes) -> None:
        with contextlib.suppress(MeterError):
            target(data)

    atheris.Setup(arguments, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
