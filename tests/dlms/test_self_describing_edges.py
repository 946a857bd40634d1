"""Bodies that look like a self-describing push list but are not one are left to other layouts."""

from __future__ import annotations

from custom_components.landis_gyr_optical.meter.cosem import obis_to_bytes
from custom_components.landis_gyr_optical.meter.dlms.axdr import Data, DataType
from custom_components.landis_gyr_optical.meter.dlms.layouts.self_describing import CaptureObject, decode
from custom_components.landis_gyr_optical.meter.obis import ObisCode

ENERGY = obis_to_bytes(ObisCode.parse("1-0:1.8.0"))


def capture(class_id: Data, name: bytes = ENERGY, attribute: Data | None = None) -> Data:
    return Data(
        DataType.STRUCTURE,
        (
            class_id,
            Data(DataType.OCTET_STRING, name),
            attribute or Data(DataType.INTEGER, 2),
            Data(DataType.LONG_UNSIGNED, 0),
        ),
    )


def test_entries_that_are_no_capture_objects() -> None:
    assert CaptureObject.from_data(Data(DataType.STRUCTURE, (Data(DataType.LONG_UNSIGNED, 3),))) is None
    assert CaptureObject.from_data(capture(Data(DataType.UNSIGNED, 3))) is None
    assert CaptureObject.from_data(capture(Data(DataType.LONG_UNSIGNED, 3), name=b"\x01\x00")) is None
    assert (
        CaptureObject.from_data(
            capture(Data(DataType.LONG_UNSIGNED, 3), attribute=Data(DataType.OCTET_STRING, b"\x02"))
        )
        is None
    )
    found = CaptureObject.from_data(capture(Data(DataType.LONG_UNSIGNED, 3)))
    assert found is not None and (found.class_id, str(found.obis), found.attribute) == (3, "1-0:1.8.0", 2)


def test_a_list_with_a_foreign_entry_is_not_self_describing() -> None:
    listing = Data(DataType.ARRAY, (capture(Data(DataType.LONG_UNSIGNED, 3)), Data(DataType.UNSIGNED, 1)))
    assert decode((listing, Data(DataType.DOUBLE_LONG_UNSIGNED, 1)), {}) is None
    assert decode((Data(DataType.ARRAY, ()),), {}) is None
    assert decode((), {}) is None
