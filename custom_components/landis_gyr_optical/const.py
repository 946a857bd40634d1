"""Constants of the Landis+Gyr optical meter integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "landis_gyr_optical"
LOGGER = logging.getLogger(__package__)

CONF_PORT: Final = "port"
CONF_PROTOCOL: Final = "protocol"
CONF_ADDRESS: Final = "address"
CONF_MAX_BAUD: Final = "max_baud"
CONF_WAKE_UP: Final = "wake_up"
CONF_SOFTWARE_PARITY: Final = "software_parity"
CONF_FIXED_BAUD: Final = "fixed_baud"
CONF_FRAMING: Final = "framing"
CONF_USB_ID: Final = "usb_id"
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_MAX_POWER_KW: Final = "max_power_kw"
CONF_ADVANCED: Final = "advanced"
CONF_KEY: Final = "key"
CONF_AUTHENTICATION_KEY: Final = "authentication_key"
CONF_PASSWORD: Final = "password"  # noqa: S105  # the option's name, not a secret
CONF_SLAVE: Final = "slave"
CONF_IMPORT_HISTORY: Final = "import_history"
CONF_HAN_MAP: Final = "han_map"
CONF_PROBE: Final = "probe"
"""What the detection that created the entry tried and found (keys, placeholders, bytes)."""
CONF_SERVER_PHYSICAL: Final = "server_physical"
CONF_CLIENT: Final = "client"
CONF_SHORT_NAMES: Final = "short_names"
"""What reads of a HAN meter learned (refused and absent registers, phases)."""

MANUAL_PORT: Final = "manual"
"""Port-list choice that leads to the free-text port step."""
URL_SCHEMES: Final = ("socket://", "rfc2217://", "esphome://", "esphome-hass://")
"""``esphome-hass://``: a serial proxy of an ESPHome device Home Assistant already knows (2026.5+)."""

DEFAULT_MAX_BAUD: Final = 19200
DEFAULT_SCAN_INTERVAL: Final = 60
DEFAULT_SCAN_INTERVALS: Final = {"eredes_han": 30, "mbus": 900}
"""Poll intervals that differ from the default: a HAN poll takes 6-8 s (a pause between requests);
an M-Bus heat meter on its optical port runs on a battery that every wake-up and read drains,
and its heat energy counts slowly: every 15 minutes."""
ESTIMATED_HAN_POLL: Final = 10
"""Seconds of a HAN poll before one was measured (8 requests, each followed by a 1 s pause)."""
CONFIRM_PAUSE: Final = 2.0
"""Seconds between a read whose first total awaits confirmation and the confirming read."""
DEFAULT_MAX_POWER_KW: Final = 60.0
MIN_SCAN_INTERVAL: Final = 5
"""Never poll faster than this, whatever the line time (the optical port needs rest)."""
BAUD_RATES: Final = (300, 600, 1200, 2400, 4800, 9600, 19200)

FAILURES_BEFORE_ISSUE: Final = 3
"""Consecutive failed reads before a repair issue explains what to check."""
PUSH_BACKOFF: Final = (1.0, 60.0)
"""First and largest pause before reopening a push port that failed."""
PUSH_ERROR_PAUSE: Final = 0.1
"""Pause after a push message that failed while the port stays open."""

EXPECTED_READOUT_CHARACTERS: Final = 4096
"""Characters of a long readout, for time estimates (a full L+G E350 list is ~2 KiB)."""

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 10

ISSUE_READ_FAILURES: Final = "read_failures"
ISSUE_REGISTER_NOT_ENABLED: Final = "register_not_enabled"
