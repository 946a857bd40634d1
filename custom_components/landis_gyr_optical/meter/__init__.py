"""HA-free IEC 62056-21 protocol core: sans-IO session, serialx link, async driver.

Nothing in this package imports Home Assistant; the CLI, the simulator and the soak tests
use it as a plain library.
"""

from .errors import (
    ChecksumError,
    MeterError,
    NoAnswerError,
    ParityError,
    PortError,
    ProtocolError,
    ReadoutTooLongError,
    UnsupportedModeError,
)
from .iec62056_21.client import read_meter, run_session
from .iec62056_21.datasets import parse_data_block
from .iec62056_21.messages import Identification, Mode
from .iec62056_21.session import Protocol, SessionSettings
from .line import Framing, LineSettings
from .obis import ObisCode
from .probe import ProbeAttempt, ProbeReport, probe
from .readout import Readout, TraceEntry
from .registers import Register, Value

__all__ = [
    "ChecksumError",
    "Framing",
    "Identification",
    "LineSettings",
    "MeterError",
    "Mode",
    "NoAnswerError",
    "ObisCode",
    "ParityError",
    "PortError",
    "ProbeAttempt",
    "ProbeReport",
    "Protocol",
    "ProtocolError",
    "Readout",
    "ReadoutTooLongError",
    "Register",
    "SessionSettings",
    "TraceEntry",
    "UnsupportedModeError",
    "Value",
    "parse_data_block",
    "probe",
    "read_meter",
    "run_session",
]
