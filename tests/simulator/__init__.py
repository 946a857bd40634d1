"""A simulated IEC 62056-21 meter for tests, benchmarks and manual runs.

```python
from tests.simulator import Faults, PtyMeter, TcpMeter, load_profile

async with PtyMeter(load_profile("lgz_e350")) as meter:
    readout = await read_meter(meter.port)
```

``quick_profile("lgz_e350", lines=4)`` is the same meter with a 50 ms reaction time and
only the first data lines, for fast tests. Run one by hand with
``python -m tests.simulator --pty --profile lgz_e350`` (or ``--tcp 0``).
"""

from .meter import ClientLine, MeterEvent, MeterState, SimulatedMeter, data_message, garbage, push_message
from .ports import PtyMeter, TcpMeter
from .profile import (
    QUICK_REACTION_TIME,
    Faults,
    MeterProfile,
    load_profile,
    parse_fault,
    parse_profile,
    profile_names,
    quick_profile,
)
from .transport import Transport

__all__ = [
    "QUICK_REACTION_TIME",
    "ClientLine",
    "Faults",
    "MeterEvent",
    "MeterProfile",
    "MeterState",
    "PtyMeter",
    "SimulatedMeter",
    "TcpMeter",
    "Transport",
    "data_message",
    "garbage",
    "load_profile",
    "parse_fault",
    "parse_profile",
    "profile_names",
    "push_message",
    "quick_profile",
]
