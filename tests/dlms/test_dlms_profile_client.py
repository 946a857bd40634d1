"""The DLMS load profile read against the simulated pull meter (mode E and direct HDLC)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.dlms.profile_client import read_dlms_profile
from custom_components.landis_gyr_optical.meter.errors import ProfileUnavailableError
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.simulator.dlms_profile import ProfilePullMeter
from tests.simulator.recording import Recording

NOW = datetime(2026, 11, 30, 12, 0)
OUTAGE = (datetime(2026, 11, 30, 3, 5), datetime(2026, 11, 30, 5, 40))
RECORDING = Recording(start=datetime(2026, 11, 29, 0, 15), outages=(OUTAGE,), clock=lambda: NOW)
DEMAND = ObisCode.parse("1-0:1.5.0")


async def test_range_read_over_mode_e() -> None:
    """Capture objects, period, scalers, then the buffer by range; the power failure stays a gap."""
    start, end = datetime(2026, 11, 30, 2, 0), datetime(2026, 11, 30, 7, 0)
    async with ProfilePullMeter(RECORDING, max_info=64) as meter:
        profile = await read_dlms_profile(meter.port, start=start, end=end)
        assert meter.errors == []
        assert meter.ranges == [(start, end)]
        apdus = meter.apdus
    assert not any(apdu[:1] in (b"\xc1", b"\xc3") for apdu in apdus), "only GET requests"
    assert profile.identity is not None and profile.identity.flag_id == "LGZ"
    assert profile.intervals[0].end == datetime(2026, 11, 30, 2, 15)
    assert profile.intervals[-1].end == end
    assert profile.gaps() == [(datetime(2026, 11, 30, 3, 0), datetime(2026, 11, 30, 5, 30))]
    first = profile.intervals[0]
    assert first.values[DEMAND].unit == "W"
    assert first.values[DEMAND].value == RECORDING.power(first.end) * 1000
    assert first.energy(DEMAND) == RECORDING.energy(first.end)
    assert profile.baud == 9600


async def test_whole_buffer_over_direct_hdlc() -> None:
    """Without a range the whole buffer comes, segmented; the meter names no FLAG id here."""
    recording = Recording(start=datetime(2026, 11, 30, 8, 15), clock=lambda: NOW)
    async with ProfilePullMeter(recording, mode_e=False, max_info=128) as meter:
        profile = await read_dlms_profile(meter.port, mode_e=False)
        assert meter.ranges == [(None, None)]
    assert len(profile) == len(recording.ends()) == 16
    assert sum((interval.energy(DEMAND) or Decimal(0) for interval in profile), Decimal(0)) == sum(
        (recording.energy(end) for end in recording.ends()), Decimal(0)
    )


async def test_meter_without_profile() -> None:
    """No Profile Generic object: a clear refusal (exit 4 in the CLI)."""
    async with ProfilePullMeter(None) as meter:
        with pytest.raises(ProfileUnavailableError, match=r"keeps no load profile 1-0:99\.1\.0"):
            await read_dlms_profile(meter.port, start=datetime(2026, 11, 30), end=NOW)
