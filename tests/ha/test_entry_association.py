"""What an entry stores of a DLMS pull association and of a HAN meter's learned map, both ways."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import DOMAIN
from custom_components.landis_gyr_optical.entry_data import config_from_entry, entry_data, with_han_map
from custom_components.landis_gyr_optical.meter.eredes_han.learned import HanMap
from custom_components.landis_gyr_optical.meter.line import Framing
from custom_components.landis_gyr_optical.meter.variants import MeterConfig, Variant


def _round_trip(config: MeterConfig) -> tuple[dict[str, object], MeterConfig]:
    data = entry_data("/dev/ttyUSB0", config, None)
    return data, config_from_entry(MockConfigEntry(domain=DOMAIN, data=data))


def test_dlms_association_round_trip() -> None:
    config = MeterConfig(
        Variant.DLMS_MODE_E, framing=Framing.EIGHT_N_ONE, server_physical=17, dlms_client=1, short_names=True
    )
    data, back = _round_trip(config)
    assert (data["server_physical"], data["client"], data["short_names"]) == (17, 1, True)
    assert (back.server_physical, back.dlms_client, back.short_names) == (17, 1, True)
    plain, back = _round_trip(MeterConfig(Variant.DLMS_HDLC))
    assert not {"server_physical", "client", "short_names"} & plain.keys()
    assert (back.server_physical, back.dlms_client, back.short_names) == (None, 16, False)


def test_han_map_round_trip_and_update() -> None:
    learned = HanMap(True, frozenset({0x0018}), frozenset())
    data, back = _round_trip(MeterConfig(Variant.EREDES_HAN, han_map=learned, fixed_baud=19200))
    assert back.han_map == learned
    assert back.han_settings().baud == 19200
    assert with_han_map(data, learned) is None
    updated = with_han_map(data, HanMap(True, frozenset({0x0018, 0x007F})))
    assert updated is not None and updated["han_map"]["denied"] == [0x0018, 0x007F]
    damaged = config_from_entry(MockConfigEntry(domain=DOMAIN, data={**data, "han_map": "learned"}))
    assert damaged.han_map is None
