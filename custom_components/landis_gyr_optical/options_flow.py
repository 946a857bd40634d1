"""Options flow: poll interval, maximum rate, power bound of the guard, history import.

The poll interval is for polled variants, the maximum rate for IEC ones, and the history
import (on by default) for meters with a load profile (mode C).
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from .const import (
    BAUD_RATES,
    CONF_IMPORT_HISTORY,
    CONF_MAX_BAUD,
    CONF_MAX_POWER_KW,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    DEFAULT_MAX_BAUD,
    DEFAULT_MAX_POWER_KW,
    MIN_SCAN_INTERVAL,
)
from .coordinator import default_scan_interval
from .detection import minimum_interval
from .meter.variants import PROFILE_VARIANTS, Variant


def interval_selector() -> NumberSelector:
    """Return the poll interval field, in seconds."""
    return NumberSelector(
        NumberSelectorConfig(
            min=MIN_SCAN_INTERVAL, max=86400, step=1, unit_of_measurement="s", mode=NumberSelectorMode.BOX
        )
    )


class LandisGyrOptionsFlow(OptionsFlowWithReload):
    """Poll interval (polled variants), maximum rate (IEC), power bound of the spike guard."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Edit the options; the entry reloads with them."""
        entry = self.config_entry
        variant = Variant(entry.data.get(CONF_PROTOCOL, Variant.MODE_C))
        push = variant.push
        has_rate = variant in (Variant.MODE_A, Variant.MODE_B, Variant.MODE_C, Variant.DLMS_MODE_E)
        current = {**entry.data, **entry.options}
        errors: dict[str, str] = {}
        max_baud = int(current.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))
        if user_input is not None:
            max_baud = int(user_input.get(CONF_MAX_BAUD, max_baud))
        minimum = minimum_interval(entry, max_baud)
        if user_input is not None:
            if not push and user_input[CONF_SCAN_INTERVAL] < minimum:
                errors[CONF_SCAN_INTERVAL] = "interval_too_short"
            else:
                options = {**entry.options, **user_input}
                if not push:
                    options[CONF_SCAN_INTERVAL] = int(options[CONF_SCAN_INTERVAL])
                if has_rate:
                    options[CONF_MAX_BAUD] = int(options[CONF_MAX_BAUD])
                return self.async_create_entry(data=options)
        fields: dict[Any, Any] = {}
        if not push:
            default = current.get(CONF_SCAN_INTERVAL, default_scan_interval(variant))
            fields[vol.Required(CONF_SCAN_INTERVAL, default=default)] = interval_selector()
        if has_rate:
            fields[vol.Required(CONF_MAX_BAUD, default=str(max_baud))] = SelectSelector(
                SelectSelectorConfig(
                    options=[str(rate) for rate in BAUD_RATES], mode=SelectSelectorMode.DROPDOWN
                )
            )
        fields[
            vol.Required(CONF_MAX_POWER_KW, default=current.get(CONF_MAX_POWER_KW, DEFAULT_MAX_POWER_KW))
        ] = NumberSelector(
            NumberSelectorConfig(
                min=1, max=10000, step=1, unit_of_measurement="kW", mode=NumberSelectorMode.BOX
            )
        )
        if variant in PROFILE_VARIANTS:
            fields[vol.Required(CONF_IMPORT_HISTORY, default=current.get(CONF_IMPORT_HISTORY, True))] = (
                BooleanSelector()
            )
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"minimum": str(minimum)},
        )
