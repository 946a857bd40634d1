"""A DLMS pull meter that keeps a load profile (Profile Generic 1-0:99.1.0.255) of a ``Recording``.

Capture objects: the clock, the AMR status word, import and export mean power
(``1.5.0``/``2.5.0`` in W, scaler 0). The buffer answers selective access by range
(selector 1, clock from/to); a power failure leaves its intervals out.
"""

from __future__ import annotations

from datetime import datetime

from custom_components.landis_gyr_optical.meter.cosem import decode_datetime, encode_datetime, obis_to_bytes
from custom_components.landis_gyr_optical.meter.dlms import axdr
from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.get import GetRequest, GetResponse
from custom_components.landis_gyr_optical.meter.dlms.profile_generic import (
    BUFFER,
    CAPTURE_OBJECTS,
    CAPTURE_PERIOD,
    LOAD_PROFILE,
)
from custom_components.landis_gyr_optical.meter.obis import ObisCode

from .dlms import PullMeter, standard_objects
from .recording import Recording

CAPTURED = (
    (8, "0-0:1.0.0"),
    (1, "0-0:96.10.1"),
    (3, "1-0:1.5.0"),
    (3, "1-0:2.5.0"),
)
_UNIT_W = 27


def profile_objects(recording: Recording) -> dict[tuple[ObisCode, int], Data]:
    """The standard pull objects plus the profile's capture objects, period and scalers."""
    objects = standard_objects()
    objects[(LOAD_PROFILE, CAPTURE_OBJECTS)] = axdr.array(
        *(
            axdr.structure(
                Data(DataType.LONG_UNSIGNED, class_id),
                Data(DataType.OCTET_STRING, obis_to_bytes(ObisCode.parse(code))),
                Data(DataType.INTEGER, 2),
                Data(DataType.LONG_UNSIGNED, 0),
            )
            for class_id, code in CAPTURED
        )
    )
    objects[(LOAD_PROFILE, CAPTURE_PERIOD)] = Data(DataType.DOUBLE_LONG_UNSIGNED, recording.period)
    for _, code in CAPTURED[2:]:
        objects[(ObisCode.parse(code), 3)] = axdr.structure(
            Data(DataType.INTEGER, 0), Data(DataType.ENUM, _UNIT_W)
        )
    return objects


class ProfilePullMeter(PullMeter):
    """A pull meter whose load profile buffer comes from ``recording``."""

    def __init__(self, recording: Recording | None, **options: object) -> None:
        """``recording=None`` is a meter without a load profile (the object is undefined)."""
        objects = profile_objects(recording) if recording is not None else standard_objects()
        super().__init__(objects, **options)  # type: ignore[arg-type]
        self.recording = recording
        self.ranges: list[tuple[datetime | None, datetime | None]] = []

    def _answer(self, apdu: bytes) -> bytes:
        if self._associated and apdu[:2] == b"\xc0\x01" and self.recording is not None:
            request = GetRequest.decode(apdu)
            reference = request.reference
            if reference is not None and (reference.obis, reference.attribute) == (LOAD_PROFILE, BUFFER):
                start, end = _range(apdu)
                self.ranges.append((start, end))
                return GetResponse(request.invoke_id, data=self._buffer(start, end)).encode()
        return super()._answer(apdu)

    def _buffer(self, start: datetime | None, end: datetime | None) -> Data:
        assert self.recording is not None
        rows = []
        for moment in self.recording.ends():
            if (start is not None and moment < start) or (end is not None and moment > end):
                continue
            watts = [int(value * 1000) for value in self.recording.values(moment)]
            rows.append(
                axdr.structure(
                    Data(DataType.OCTET_STRING, encode_datetime(moment)),
                    Data(DataType.UNSIGNED, 0),
                    *(Data(DataType.DOUBLE_LONG, value) for value in watts),
                )
            )
        return axdr.array(*rows)


def _range(apdu: bytes) -> tuple[datetime | None, datetime | None]:
    """The from/to of a range descriptor after the attribute descriptor (none: the whole buffer)."""
    if len(apdu) <= 13 or apdu[12] != 1 or apdu[13] != 1:
        return None, None
    parameters = axdr.decode_all(apdu[14:])
    first, last = parameters.items[1].value, parameters.items[2].value
    assert isinstance(first, bytes) and isinstance(last, bytes)
    start, end = decode_datetime(first), decode_datetime(last)
    return (
        None if start is None else start.replace(tzinfo=None),
        None if end is None else end.replace(tzinfo=None),
    )
