"""Config entries of the soaked meters: mode C on a port, polled as the soak needs."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.landis_gyr_optical.const import (
    CONF_ADDRESS,
    CONF_FIXED_BAUD,
    CONF_FRAMING,
    CONF_MAX_BAUD,
    CONF_MAX_POWER_KW,
    CONF_PORT,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    CONF_WAKE_UP,
    DOMAIN,
)


def mode_c_entry(
    port: str,
    *,
    title: str,
    unique_id: str,
    scan_interval: float,
    max_baud: int = 19200,
    max_power_kw: float = 60.0,
    address: str = "",
) -> MockConfigEntry:
    """Return the config entry of a mode C meter on ``port`` (sign-on at 300 Bd 7E1)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        data={
            CONF_PORT: port,
            CONF_PROTOCOL: "mode_c",
            CONF_ADDRESS: address,
            CONF_MAX_BAUD: max_baud,
            CONF_WAKE_UP: False,
            CONF_FRAMING: "7E1",
            CONF_FIXED_BAUD: None,
        },
        options={CONF_SCAN_INTERVAL: scan_interval, CONF_MAX_POWER_KW: max_power_kw},
    )
