"""What a config entry stores about a meter, both ways: from a ``MeterConfig`` and back to one.

The entry keeps the IEC fields always and a variant's own fields (keys, password, slave id,
what reads of a HAN meter learned) only when the variant has them; entries stored by earlier
versions keep loading.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .const import (
    CONF_ADDRESS,
    CONF_AUTHENTICATION_KEY,
    CONF_CLIENT,
    CONF_FIXED_BAUD,
    CONF_FRAMING,
    CONF_HAN_MAP,
    CONF_KEY,
    CONF_MAX_BAUD,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_PROBE,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_PHYSICAL,
    CONF_SHORT_NAMES,
    CONF_SLAVE,
    CONF_SOFTWARE_PARITY,
    CONF_USB_ID,
    CONF_WAKE_UP,
    DEFAULT_MAX_BAUD,
    LOGGER,
)
from .meter.dlms.association import PUBLIC_CLIENT
from .meter.eredes_han.learned import HanMap
from .meter.line import Framing
from .meter.link import can_switch_rate
from .meter.variants import DLMS_PULL_VARIANTS, MeterConfig, Variant


def config_from_entry(entry: ConfigEntry) -> MeterConfig:
    """Map the entry's data and options onto the meter's configuration."""
    data, options = entry.data, entry.options
    fixed = data.get(CONF_FIXED_BAUD)
    password = data.get(CONF_PASSWORD)
    return MeterConfig(
        variant=Variant(data.get(CONF_PROTOCOL, Variant.MODE_C)),
        address=data.get(CONF_ADDRESS, ""),
        max_baud=int(options.get(CONF_MAX_BAUD, data.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))),
        wake_up=bool(data.get(CONF_WAKE_UP, False)),
        software_parity=bool(data.get(CONF_SOFTWARE_PARITY, False)),
        framing=Framing(data.get(CONF_FRAMING, Framing.SEVEN_E_ONE)),
        fixed_baud=int(fixed) if fixed else None,
        key=_key(data.get(CONF_KEY)),
        authentication_key=_key(data.get(CONF_AUTHENTICATION_KEY)),
        password=password.encode() if password else None,
        slave=int(data.get(CONF_SLAVE, 1)),
        han_map=_han_map(data.get(CONF_HAN_MAP)),
        server_physical=None if data.get(CONF_SERVER_PHYSICAL) is None else int(data[CONF_SERVER_PHYSICAL]),
        dlms_client=int(data.get(CONF_CLIENT, PUBLIC_CLIENT)),
        short_names=bool(data.get(CONF_SHORT_NAMES, False)),
    )


def _han_map(stored: Any) -> HanMap | None:
    """Return the stored map of a HAN meter; a damaged one is dropped (the next read learns it again)."""
    if stored is None:
        return None
    try:
        return HanMap.from_dict(stored)
    except (TypeError, ValueError) as err:
        LOGGER.warning("Ignoring the stored HAN register map (%s); the next read learns it again", err)
        return None


def with_han_map(data: Mapping[str, Any], learned: HanMap) -> dict[str, Any] | None:
    """Return the entry's data with ``learned`` stored, or ``None`` when it holds that already."""
    stored = learned.as_dict()
    if data.get(CONF_HAN_MAP) == stored:
        return None
    return {**data, CONF_HAN_MAP: stored}


def _key(text: str | None) -> bytes | None:
    return bytes.fromhex(text) if text else None


def entry_data(
    port: str, config: MeterConfig, head: str | None, probe: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the entry's data: the IEC fields always, a variant's own fields only when it has them.

    ``probe``: what the detection that found the meter tried (see ``probe_record``), for diagnostics.
    """
    data: dict[str, Any] = {
        CONF_PORT: port,
        CONF_PROTOCOL: str(config.variant),
        CONF_ADDRESS: config.address,
        CONF_MAX_BAUD: config.max_baud,
        CONF_WAKE_UP: config.wake_up,
        CONF_SOFTWARE_PARITY: config.software_parity,
        CONF_FRAMING: str(config.framing),
        CONF_FIXED_BAUD: config.fixed_baud if can_switch_rate(port) else None,
        CONF_USB_ID: head,
    }
    if config.variant in (Variant.DLMS_PUSH, Variant.MODE_D):
        data[CONF_KEY] = config.key.hex().upper() if config.key else None
        data[CONF_AUTHENTICATION_KEY] = (
            config.authentication_key.hex().upper() if config.authentication_key else None
        )
    if config.variant in DLMS_PULL_VARIANTS:
        data[CONF_PASSWORD] = config.password.decode() if config.password else None
        # The association the probe found, where it differs from the public client's default.
        if config.server_physical is not None:
            data[CONF_SERVER_PHYSICAL] = config.server_physical
        if config.dlms_client != PUBLIC_CLIENT:
            data[CONF_CLIENT] = config.dlms_client
        if config.short_names:
            data[CONF_SHORT_NAMES] = True
    if config.variant in DLMS_PULL_VARIANTS or config.variant in (Variant.EREDES_HAN, Variant.MBUS):
        data[CONF_SLAVE] = config.slave
    if config.variant is Variant.EREDES_HAN and config.han_map is not None:
        data[CONF_HAN_MAP] = config.han_map.as_dict()
    if probe is not None:
        data[CONF_PROBE] = dict(probe)
    return data


def entry_options(variant: Variant, options: Mapping[str, Any]) -> dict[str, Any]:
    """Push variants have no poll interval."""
    out = dict(options)
    if variant.push:
        out.pop(CONF_SCAN_INTERVAL, None)
    else:
        out[CONF_SCAN_INTERVAL] = int(out[CONF_SCAN_INTERVAL])
    return out
