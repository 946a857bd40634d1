"""Read a DLMS/COSEM meter's load profile (Profile Generic) by range over mode E or direct HDLC.

Read only, like the register pull: the association proposes GET only, and the session
asks for the profile's capture objects (attribute 3), its capture period (4), the scaler
and unit of every captured register (3 of each) and then the buffer (2) with selective
access by range. A long buffer arrives in GET blocks or HDLC segments.
"""

from __future__ import annotations

from datetime import datetime

from ..clock import SessionClock
from ..cosem import Scaling
from ..errors import ProfileUnavailableError
from ..identity import MeterIdentity
from ..iec62056_21.messages import INITIAL_BAUD
from ..line import Framing, LineSettings
from ..link import Link
from ..load_profile import LoadProfile
from ..obis import ObisCode
from .axdr import Data
from .client import DLMS_BAUD, HdlcChannel, PullSettings, associated, get, open_mode_e
from .get import AttributeReference
from .notification import identity_for
from .profile_generic import (
    BUFFER,
    CAPTURE_OBJECTS,
    CAPTURE_PERIOD,
    CLASS_PROFILE_GENERIC,
    LOAD_PROFILE,
    capture_objects,
    decode_buffer,
    encode_range_request,
)
from .registers import CLASS_EXTENDED_REGISTER, CLASS_REGISTER, AccessError, DlmsError, scaling_from_data


async def read_dlms_profile(
    port: str,
    *,
    mode_e: bool = True,
    address: str = "",
    max_baud: int = 19200,
    baud: int = DLMS_BAUD,
    settings: PullSettings | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    profile: ObisCode = LOAD_PROFILE,
) -> LoadProfile:
    """Read the intervals of ``profile`` wholly inside ``[start, end]`` (meter clock)."""
    settings = settings or PullSettings()
    clock = SessionClock()
    line = (
        LineSettings(INITIAL_BAUD, Framing.SEVEN_E_ONE) if mode_e else LineSettings(baud, Framing.EIGHT_N_ONE)
    )
    link = Link(port, line)
    await link.open()
    identity: MeterIdentity = identity_for(None)
    try:
        if mode_e:
            identification, baud = await open_mode_e(link, clock, address=address, max_baud=max_baud)
            identity = identification.identity

        async def job(channel: HdlcChannel) -> LoadProfile:
            return await _read(channel, profile, start, end)

        result, raw = await associated(link, settings, clock, job)
    finally:
        await link.close()
    kept = result.between(start, end)
    return LoadProfile(kept.intervals, identity, raw, baud)


async def _read(
    channel: HdlcChannel, profile: ObisCode, start: datetime | None, end: datetime | None
) -> LoadProfile:
    try:
        columns = capture_objects(
            await get(channel, AttributeReference(CLASS_PROFILE_GENERIC, profile, CAPTURE_OBJECTS))
        )
        period = await get(channel, AttributeReference(CLASS_PROFILE_GENERIC, profile, CAPTURE_PERIOD))
    except AccessError as err:
        raise ProfileUnavailableError(f"the meter keeps no load profile {profile}: {err}") from err
    if not isinstance(period.value, int) or isinstance(period.value, bool):
        raise DlmsError(f"the capture period of {profile} is {period.type.name}, not a number of seconds")
    scalers: dict[ObisCode, Scaling] = {}
    for column in columns[1:]:
        if column.class_id in (CLASS_REGISTER, CLASS_EXTENDED_REGISTER) and column.attribute == 2:
            scalers[column.obis] = scaling_from_data(
                await get(channel, AttributeReference(column.class_id, column.obis, 3))
            )
    reference = AttributeReference(CLASS_PROFILE_GENERIC, profile, BUFFER)
    request = None
    if start is not None or end is not None:
        request = encode_range_request(
            start or datetime(2000, 1, 1), end or datetime(2099, 12, 31), profile=profile
        )
    buffer: Data = await get(channel, reference, request)
    return decode_buffer(buffer, columns, scalers, period=period.value)


__all__ = ["read_dlms_profile"]
