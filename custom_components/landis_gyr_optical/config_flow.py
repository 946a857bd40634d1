"""Config flow: choose the port, choose or detect the protocol (and its keys), read the meter once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import dataclasses
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    Selector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import voluptuous as vol

from .bus import async_find, resolve_port
from .const import (
    BAUD_RATES,
    CONF_ADDRESS,
    CONF_ADVANCED,
    CONF_AUTHENTICATION_KEY,
    CONF_FIXED_BAUD,
    CONF_FRAMING,
    CONF_KEY,
    CONF_MAX_BAUD,
    CONF_MAX_POWER_KW,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_PROBE,
    CONF_PROTOCOL,
    CONF_SCAN_INTERVAL,
    CONF_SLAVE,
    CONF_SOFTWARE_PARITY,
    CONF_USB_ID,
    CONF_WAKE_UP,
    DEFAULT_MAX_BAUD,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
    MANUAL_PORT,
)
from .coordinator import LandisGyrConfigEntry, default_scan_interval
from .detection import (
    STEP_OF_ERROR,
    DetectionFailedError,
    FoundMeter,
    meter_unique_id,
    read_for_flow,
    time_limit,
    variant_step,
)
from .entry_data import config_from_entry, entry_data, entry_options
from .meter.errors import MeterError, NoAnswerError
from .meter.iec62056_21.session import Protocol
from .meter.line import Framing
from .meter.link import describe_port
from .meter.mbus.frames import BROADCAST_ANSWERING, MbusError
from .meter.mbus.session import check_address
from .meter.probe import ProbeAttempt
from .meter.variants import DLMS_PULL_VARIANTS, KeyFormatError, MeterConfig, Variant, parse_key
from .meter.verdicts import Verdict, bridge_verdict
from .options_flow import LandisGyrOptionsFlow, interval_selector
from .ports import SerialPort, async_list_ports, usb_id, valid_port
from .probe_record import async_renderer, attempt_lines, placeholders, probe_record

BUS_MARK = "+"
"""Label prefix of a port that already carries meters (choose it to add another on that bus)."""

AUTO = str(Protocol.AUTO)
KEYED_PUSH_VARIANTS = (Variant.DLMS_PUSH, Variant.MODE_D)
"""Pushes that may be encrypted with the operator's keys: DLMS/COSEM and P1 (Luxembourg Smarty)."""
PROTOCOL_CHOICES = [
    AUTO,
    Variant.MODE_C,
    Variant.MODE_A,
    Variant.MODE_B,
    Variant.MODE_D,
    Variant.DLMS_PUSH,
    Variant.DLMS_MODE_E,
    Variant.DLMS_HDLC,
    Variant.SML,
    Variant.EREDES_HAN,
    Variant.MBUS,
]


class LandisGyrConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a meter behind an optical head."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._ports: dict[str, SerialPort] = {}
        self._port: str | None = None
        self._usb_id: str | None = None
        self._defaults: dict[str, Any] = {}
        self._choice: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._variant_input: dict[str, Any] = {}
        self._read_task: asyncio.Task[FoundMeter] | None = None
        self._found: FoundMeter | None = None
        self._verdict: Verdict | None = None
        self._reauth_config: MeterConfig | None = None
        self._line: list[ConfigEntry] = []
        """The other entries on the chosen port's line (meters sharing its bus)."""
        self._attempts: tuple[ProbeAttempt, ...] = ()

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: LandisGyrConfigEntry) -> LandisGyrOptionsFlow:
        """Options: poll interval, maximum rate, power bound."""
        return LandisGyrOptionsFlow()

    # --- port -----------------------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the optical head from the ports found, or type one."""
        return await self._async_port_step("user", user_input)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change port, protocol or address of a configured meter, keeping its entities."""
        entry = self._get_reconfigure_entry()
        self._defaults = {**entry.data, **entry.options}
        return await self._async_port_step("reconfigure", user_input)

    async def _async_port_step(self, step_id: str, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            port = user_input[CONF_PORT]
            if port == MANUAL_PORT:
                return await self.async_step_manual()
            if await self._async_choose_port(port):
                self._usb_id = self._ports[port].usb_id if port in self._ports else None
                return await self.async_step_protocol()
            errors[CONF_PORT] = PUSH_ON_SHARED_LINE
        self._ports, lines = await self._async_scan()
        current = self._defaults.get(CONF_PORT)
        if not self._ports and not lines and current is None:
            return await self.async_step_manual()
        options = [
            SelectOptionDict(value=port.device, label=_bus_label(port.label, lines.get(port.device)))
            for port in self._ports.values()
        ]
        listed = set(self._ports)
        # Ports that carry meters but were not scanned (network bridges, a head unplugged now).
        for port, titles in lines.items():
            if port not in listed:
                options.append(SelectOptionDict(value=port, label=_bus_label(describe_port(port), titles)))
                listed.add(port)
        if current is not None and current not in listed:
            options.insert(0, SelectOptionDict(value=current, label=current))
        options.append(SelectOptionDict(value=MANUAL_PORT, label=MANUAL_PORT))
        schema = vol.Schema(
            {
                vol.Required(CONF_PORT, default=current or options[0]["value"]): SelectSelector(
                    SelectSelectorConfig(
                        options=options, mode=SelectSelectorMode.LIST, translation_key=CONF_PORT
                    )
                )
            }
        )
        return self.async_show_form(
            step_id=step_id, data_schema=schema, errors=errors, description_placeholders={"mark": BUS_MARK}
        )

    def _other_entries(self) -> list[ConfigEntry]:
        own = self._reconfigure_entry_id if self.source == SOURCE_RECONFIGURE else None
        return [entry for entry in self._async_current_entries(include_ignore=False) if entry.entry_id != own]

    async def _async_scan(self) -> tuple[dict[str, SerialPort], dict[str, list[str]]]:
        """Scan the ports; return them and, per port that carries meters, those meters' titles.

        A port whose line has a pushing meter is not offered: a listener owns its line.
        """
        scanned = await async_list_ports(self.hass)
        entries = self._other_entries()
        resolved = await self.hass.async_add_executor_job(
            lambda: [resolve_port(entry.data[CONF_PORT]) for entry in entries]
        )
        by_line: dict[str, list[ConfigEntry]] = {}
        for entry, line in zip(entries, resolved, strict=True):
            by_line.setdefault(line, []).append(entry)
        ports: dict[str, SerialPort] = {}
        lines: dict[str, list[str]] = {}
        claimed: set[str] = set()
        for port in scanned:
            on_line = {entry.entry_id for entry in by_line.get(port.resolved, [])}
            members = [
                entry
                for entry in entries
                if entry.entry_id in on_line or entry.data[CONF_PORT] == port.device
            ]
            claimed.update(entry.entry_id for entry in members)
            if any(_pushes(entry) for entry in members):
                continue
            ports[port.device] = port
            if members:
                lines[port.device] = [entry.title for entry in members]
        for entry in entries:
            if entry.entry_id in claimed or _pushes(entry):
                continue
            lines.setdefault(entry.data[CONF_PORT], []).append(entry.title)
        return ports, lines

    async def _async_choose_port(self, port: str) -> bool:
        """Take the port and find the meters already on its line; False if a pushing meter owns it."""
        entries = self._other_entries()
        line = await self.hass.async_add_executor_job(resolve_port, port)
        resolved = await self.hass.async_add_executor_job(
            lambda: [resolve_port(entry.data[CONF_PORT]) for entry in entries]
        )
        members = [entry for entry, other in zip(entries, resolved, strict=True) if other == line]
        if any(_pushes(entry) for entry in members):
            return False
        self._port, self._line = port, members
        return True

    async def async_step_manual(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Type a device path or a URL (``socket://``, ``rfc2217://``, ``esphome://``, ``esphome-hass://``)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            port = user_input[CONF_PORT].strip()
            if not valid_port(port):
                errors[CONF_PORT] = "invalid_port"
            elif await self._async_choose_port(port):
                self._usb_id = None
                return await self.async_step_protocol()
            else:
                errors[CONF_PORT] = PUSH_ON_SHARED_LINE
        schema = vol.Schema(
            {vol.Required(CONF_PORT, default=self._defaults.get(CONF_PORT, "")): _typed_port_selector()}
        )
        return self.async_show_form(step_id="manual", data_schema=schema, errors=errors)

    # --- USB discovery ----------------------------------------------------------------------------

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """Handle a known optical head that was plugged in."""
        port = discovery_info.device
        head = usb_id(discovery_info.vid, discovery_info.pid, discovery_info.serial_number)
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get(CONF_USB_ID) == head or entry.data[CONF_PORT] == port:
                if entry.data[CONF_PORT] != port:
                    self.hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PORT: port})
                    self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(head)
        self._abort_if_unique_id_configured()
        self._port, self._usb_id, self._line = port, head, []
        name = discovery_info.description or describe_port(port)
        self.context["title_placeholders"] = {"name": name}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm setting up the discovered head."""
        if user_input is not None:
            return await self.async_step_protocol()
        assert self._port is not None
        return self.async_show_form(
            step_id="usb_confirm",
            description_placeholders={"name": self.context["title_placeholders"]["name"], "port": self._port},
        )

    # --- reauthentication -------------------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Ask for a new DLMS key or password: the meter refused the stored one."""
        if self._reauth_fields(config_from_entry(self._get_reauth_entry()).variant) is None:
            return self.async_abort(reason="reauth_not_supported")
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Enter the new key (push) or password (pull); the meter is read once with it."""
        entry = self._get_reauth_entry()
        config = config_from_entry(entry)
        fields = self._reauth_fields(config.variant)
        assert fields is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _key_format_errors(user_input)
            self._variant_input = dict(user_input)
            if not errors:
                password = user_input.get(CONF_PASSWORD)
                self._reauth_config = (
                    dataclasses.replace(
                        config,
                        key=parse_key(user_input.get(CONF_KEY)),
                        authentication_key=parse_key(user_input.get(CONF_AUTHENTICATION_KEY)),
                    )
                    if config.variant in KEYED_PUSH_VARIANTS
                    else dataclasses.replace(config, password=password.encode() if password else None)
                )
                self._port, self._usb_id = entry.data[CONF_PORT], entry.data.get(CONF_USB_ID)
                self._choice = {CONF_PROTOCOL: str(config.variant)}
                return await self.async_step_read()
        else:
            errors, self._errors = self._errors, {}
        schema = vol.Schema(
            {
                vol.Optional(name, default=str(self._variant_input.get(name) or "")): _secret_selector()
                for name in fields
            }
        )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=schema,
            errors=errors,
            description_placeholders={"title": entry.title, "port": describe_port(entry.data[CONF_PORT])},
        )

    @staticmethod
    def _reauth_fields(variant: Variant) -> tuple[str, ...] | None:
        """Return the credential fields of a variant (None: nothing to reauthenticate)."""
        if variant in KEYED_PUSH_VARIANTS:
            return (CONF_KEY, CONF_AUTHENTICATION_KEY)
        if variant in DLMS_PULL_VARIANTS:
            return (CONF_PASSWORD,)
        return None

    # --- protocol ---------------------------------------------------------------------------------

    async def async_step_protocol(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Detect the protocol or choose it; advanced: rate limit, address, wake-up, interval."""
        if user_input is not None:
            self._choice = user_input
            self._errors = self._line_errors(user_input)
            self._variant_input = {}
            if self._errors:
                return await self.async_step_protocol()
            step = variant_step(user_input[CONF_PROTOCOL])
            if step is not None:
                next_step: Callable[[], Awaitable[ConfigFlowResult]] = getattr(self, f"async_step_{step}")
                return await next_step()
            return await self.async_step_read()
        defaults = {**self._defaults, **self._choice.get(CONF_ADVANCED, {}), **self._choice}
        protocol = defaults.get(CONF_PROTOCOL, AUTO)
        advanced = vol.Schema(
            {
                vol.Required(
                    CONF_MAX_BAUD, default=str(defaults.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=[str(rate) for rate in BAUD_RATES], mode=SelectSelectorMode.DROPDOWN
                    )
                ),
                vol.Optional(CONF_ADDRESS, default=defaults.get(CONF_ADDRESS, "")): TextSelector(),
                vol.Required(
                    CONF_WAKE_UP, default=bool(defaults.get(CONF_WAKE_UP, False))
                ): BooleanSelector(),
                vol.Required(
                    CONF_SOFTWARE_PARITY, default=bool(defaults.get(CONF_SOFTWARE_PARITY, False))
                ): BooleanSelector(),
                vol.Required(
                    CONF_SCAN_INTERVAL, default=defaults.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
                ): interval_selector(),
            }
        )
        schema = vol.Schema(
            {
                vol.Required(CONF_PROTOCOL, default=str(protocol)): SelectSelector(
                    SelectSelectorConfig(
                        options=[str(choice) for choice in PROTOCOL_CHOICES],
                        mode=SelectSelectorMode.LIST,
                        translation_key=CONF_PROTOCOL,
                    )
                ),
                vol.Required(CONF_ADVANCED): section(
                    advanced, {"collapsed": not self._errors and not self._line}
                ),
            }
        )
        errors, self._errors = self._errors, {}
        verdict, self._verdict = self._verdict, None
        attempts, self._attempts = self._attempts, ()
        render, heading = await async_renderer(self.hass)
        details = placeholders(verdict, render) if verdict is not None else {}
        return self.async_show_form(
            step_id="protocol",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "port": describe_port(self._port or ""),
                "error": details.get("error", ""),
                "identification": details.get("identification", ""),
                "diagnostic": details.get("diagnostic", ""),
                "tried": details.get("tried", ""),
                "variant": details.get("variant", ""),
                "attempts": attempt_lines(attempts, render, heading),
            },
        )

    def _line_errors(self, user_input: dict[str, Any]) -> dict[str, str]:
        """Check a meter joining a line that carries others: no push, an address of its own."""
        errors: dict[str, str] = {}
        protocol = user_input[CONF_PROTOCOL]
        if not self._line or (protocol != AUTO and not _addressed_by_sign_on(protocol)):
            if self._line and Variant(protocol).push:
                errors["base"] = PUSH_ON_SHARED_LINE
            return errors
        address = _normal_address(user_input[CONF_ADVANCED].get(CONF_ADDRESS, ""))
        signing_on = [entry for entry in self._line if _addressed_by_sign_on(entry.data.get(CONF_PROTOCOL))]
        if not address:
            errors[CONF_ADDRESS] = "address_required_on_bus"
        elif any(not _normal_address(entry.data.get(CONF_ADDRESS, "")) for entry in signing_on):
            errors["base"] = "line_member_without_address"
        elif any(_normal_address(entry.data.get(CONF_ADDRESS, "")) == address for entry in signing_on):
            errors[CONF_ADDRESS] = "address_in_use"
        return errors

    # --- what a variant needs besides the protocol -----------------------------------------------

    async def async_step_dlms_push(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Keys of an encrypted DLMS/COSEM push (E570, Austrian E450); none for a plain push."""
        return await self._async_variant_step("dlms_push", Variant.DLMS_PUSH, self._key_schema(), user_input)

    async def async_step_p1_keys(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Keys of an encrypted P1 port (Luxembourg Smarty); none for a port that sends in clear."""
        return await self._async_variant_step("p1_keys", Variant.MODE_D, self._key_schema(), user_input)

    def _key_schema(self) -> vol.Schema:
        return vol.Schema(
            {
                vol.Optional(CONF_KEY, default=self._secret_default(CONF_KEY)): _secret_selector(),
                vol.Optional(
                    CONF_AUTHENTICATION_KEY, default=self._secret_default(CONF_AUTHENTICATION_KEY)
                ): _secret_selector(),
            }
        )

    async def async_step_dlms_pull(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Password and server address of a meter read as a DLMS/COSEM client."""
        schema = vol.Schema(
            {
                vol.Optional(CONF_PASSWORD, default=self._secret_default(CONF_PASSWORD)): _secret_selector(),
                vol.Required(CONF_SLAVE, default=self._defaults.get(CONF_SLAVE, 1)): _number_selector(
                    0, 16383
                ),
            }
        )
        variant = Variant(self._choice[CONF_PROTOCOL])
        return await self._async_variant_step("dlms_pull", variant, schema, user_input)

    async def async_step_han(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Modbus slave id of an E-Redes HAN meter (the framing is detected)."""
        schema = vol.Schema(
            {vol.Required(CONF_SLAVE, default=self._defaults.get(CONF_SLAVE, 1)): _number_selector(1, 247)}
        )
        return await self._async_variant_step("han", Variant.EREDES_HAN, schema, user_input)

    async def async_step_mbus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Primary address and optical wake-up of an M-Bus heat meter (2400 Bd 8E1)."""
        same = self._defaults.get(CONF_PROTOCOL) == Variant.MBUS
        address = self._defaults.get(CONF_SLAVE, BROADCAST_ANSWERING) if same else BROADCAST_ANSWERING
        wake_up = bool(self._defaults.get(CONF_WAKE_UP, True)) if same else True
        schema = vol.Schema(
            {
                vol.Required(CONF_SLAVE, default=address): _number_selector(0, BROADCAST_ANSWERING),
                vol.Required(CONF_WAKE_UP, default=wake_up): BooleanSelector(),
            }
        )
        return await self._async_variant_step("mbus", Variant.MBUS, schema, user_input)

    def _secret_default(self, name: str) -> str:
        return str(self._variant_input.get(name) or self._defaults.get(name) or "")

    async def _async_variant_step(
        self, step_id: str, variant: Variant, schema: vol.Schema, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _key_format_errors(user_input) | _address_errors(variant, user_input)
            if CONF_SLAVE in user_input and any(
                variant_step(entry.data.get(CONF_PROTOCOL, "")) == step_id
                and int(entry.data.get(CONF_SLAVE, 1)) == int(user_input[CONF_SLAVE])
                for entry in self._line
            ):
                errors[CONF_SLAVE] = "slave_in_use"
            if not errors:
                self._variant_input = {**user_input, CONF_PROTOCOL: str(variant)}
                return await self.async_step_read()
        else:
            errors, self._errors = self._errors, {}
        return self.async_show_form(
            step_id=step_id,
            data_schema=schema,
            errors=errors,
            description_placeholders={"port": describe_port(self._port or "")},
        )

    def _config(self) -> MeterConfig:
        """Return the configuration chosen so far (detection starts from the IEC defaults)."""
        if self._reauth_config is not None:
            return self._reauth_config
        advanced = self._choice[CONF_ADVANCED]
        extra = self._variant_input
        protocol = extra.get(CONF_PROTOCOL, self._choice[CONF_PROTOCOL])
        password = extra.get(CONF_PASSWORD)
        return MeterConfig(
            variant=Variant.MODE_C if protocol == AUTO else Variant(protocol),
            address=advanced.get(CONF_ADDRESS, "").strip(),
            max_baud=int(advanced[CONF_MAX_BAUD]),
            wake_up=extra.get(CONF_WAKE_UP, advanced[CONF_WAKE_UP]),
            software_parity=advanced.get(CONF_SOFTWARE_PARITY, False),
            framing=Framing(self._defaults.get(CONF_FRAMING, Framing.SEVEN_E_ONE)),
            fixed_baud=self._defaults.get(CONF_FIXED_BAUD),
            key=parse_key(extra.get(CONF_KEY)),
            authentication_key=parse_key(extra.get(CONF_AUTHENTICATION_KEY)),
            password=password.encode() if password else None,
            slave=int(extra.get(CONF_SLAVE, 1)),
        )

    @property
    def _detecting(self) -> bool:
        return self._choice[CONF_PROTOCOL] == AUTO and not self._variant_input

    # --- the test read ----------------------------------------------------------------------------

    async def async_step_read(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Read the meter once (or run the probe), showing progress: 300 Bd reads take a while."""
        config = self._config()
        detecting = self._detecting
        if self._read_task is None:
            self._read_task = self.hass.async_create_task(
                self._async_read(config, detecting), eager_start=False
            )
        if not self._read_task.done():
            return self.async_show_progress(
                step_id="read",
                progress_action="detect" if detecting else "read",
                progress_task=self._read_task,
                description_placeholders={"port": describe_port(self._port or "")},
            )
        task, self._read_task = self._read_task, None
        try:
            self._found = task.result()
            if self._line and self._found.config.push:
                self._errors["base"] = PUSH_ON_SHARED_LINE
        except DetectionFailedError as err:
            LOGGER.debug("detection on %s failed: %s", describe_port(self._port or ""), err)
            self._verdict = err.verdict
            self._attempts = err.attempts
            self._errors = {"base": err.verdict.key}
        except MeterError as err:
            LOGGER.debug("test read on %s failed: %s", describe_port(self._port or ""), err)
            self._verdict = bridge_verdict(describe_port(self._port or ""), err)
            self._errors = {"base": err.key}
        except TimeoutError:
            self._errors = {"base": NoAnswerError.key}
        except Exception:  # noqa: BLE001  # a flow must end in a form, never in a traceback
            LOGGER.exception("Unexpected error reading the meter on %s", describe_port(self._port or ""))
            self._errors = {"base": "unknown"}
        if self._errors:
            step = STEP_OF_ERROR.get(self._errors["base"])
            if step == "dlms_push" and detecting:
                self._choice = {**self._choice, CONF_PROTOCOL: str(Variant.DLMS_PUSH)}
            if step == "dlms_push" and variant_step(self._choice[CONF_PROTOCOL]) == "p1_keys":
                step = "p1_keys"  # a wrong key of an encrypted P1 port is asked for again there
            if self.source == SOURCE_REAUTH:
                step = "reauth_confirm"
            elif step is None or step != variant_step(self._choice[CONF_PROTOCOL]):
                step = "protocol"
            return self.async_show_progress_done(next_step_id=step)
        return self.async_show_progress_done(next_step_id="found" if detecting else "finish")

    async def _async_read(self, config: MeterConfig, detecting: bool) -> FoundMeter:
        port = self._port
        assert port is not None
        bus = await async_find(self.hass, port)
        async with asyncio.timeout(time_limit(port, config, detect=detecting)):
            if bus is None:
                return await read_for_flow(port, config, detecting)
            # The meters on this line keep their turns; the test read takes one of its own.
            async with bus.exclusive():
                return await read_for_flow(port, config, detecting)

    async def async_step_found(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show what the detection found before setting it up."""
        if user_input is not None:
            return await self.async_step_finish()
        found = self._found
        assert found is not None
        readout = found.readout
        variant = str(found.config.variant)
        render, heading = await async_renderer(self.hass)
        attempts = found.report.attempts if found.report is not None else ()
        # The variant is shown as the protocol selector's one option: the frontend translates it.
        schema = vol.Schema(
            {
                vol.Required(CONF_PROTOCOL, default=variant): SelectSelector(
                    SelectSelectorConfig(
                        options=[str(choice) for choice in PROTOCOL_CHOICES if choice == variant],
                        mode=SelectSelectorMode.LIST,
                        translation_key=CONF_PROTOCOL,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="found",
            data_schema=schema,
            description_placeholders={
                "manufacturer": readout.manufacturer or readout.identity.flag_id,
                "identification": readout.identity.identification,
                "protocol": variant,
                "baud": str(readout.baud),
                "registers": str(len(readout.current)),
                "attempts": attempt_lines(attempts, render, heading),
            },
        )

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create (or update) the entry for the meter that answered."""
        found, port = self._found, self._port
        assert found is not None and port is not None
        readout, config = found.readout, found.config
        record = probe_record(found.report) if found.report is not None else None
        data = entry_data(port, config, self._usb_id, record)
        unique_id = meter_unique_id(readout)
        if self.source == SOURCE_REAUTH:
            await self.async_set_unique_id(unique_id)
            self._abort_if_unique_id_mismatch(reason="unique_id_mismatch")
            entry = self._get_reauth_entry()
            # New credentials, same meter: the detection that found it still says how.
            record = entry.data.get(CONF_PROBE)
            return self.async_update_reload_and_abort(
                entry, data=entry_data(port, config, self._usb_id, record)
            )
        interval = int(self._choice[CONF_ADVANCED][CONF_SCAN_INTERVAL])
        if interval == DEFAULT_SCAN_INTERVAL:
            interval = default_scan_interval(config.variant)
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            await self.async_set_unique_id(unique_id)
            self._abort_if_unique_id_mismatch(reason="unique_id_mismatch")
            options = dict(entry.options)
            options[CONF_SCAN_INTERVAL] = interval
            return self.async_update_reload_and_abort(
                entry, data=data, options=entry_options(config.variant, options)
            )
        await self.async_set_unique_id(unique_id, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        options = {CONF_SCAN_INTERVAL: interval, CONF_MAX_POWER_KW: DEFAULT_MAX_POWER_KW}
        identity = readout.identity
        title = f"{readout.manufacturer or identity.flag_id} {identity.description}".strip()
        return self.async_create_entry(title=title, data=data, options=entry_options(config.variant, options))


def _key_format_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors of the DLMS key fields given (32 hexadecimal digits each, or empty)."""
    errors: dict[str, str] = {}
    for name in (CONF_KEY, CONF_AUTHENTICATION_KEY):
        try:
            parse_key(user_input.get(name))
        except KeyFormatError:
            errors[name] = "invalid_key_format"
    return errors


def _address_errors(variant: Variant, user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors of an M-Bus primary address (0-250, or 254 for whichever meter answers)."""
    if variant is not Variant.MBUS:
        return {}
    try:
        check_address(int(user_input[CONF_SLAVE]))
    except MbusError:
        return {CONF_SLAVE: "invalid_mbus_address"}
    return {}


def _typed_port_selector() -> Selector[Any]:
    """Home Assistant's serial port picker (2026.5+: ports, ESPHome proxies, free text), else a text field."""
    serial_port_selector: type[Selector[Any]] | None = getattr(selector, "SerialPortSelector", None)
    return serial_port_selector() if serial_port_selector is not None else TextSelector()


PUSH_ON_SHARED_LINE = "push_on_shared_line"


def _pushes(entry: ConfigEntry) -> bool:
    return Variant(entry.data.get(CONF_PROTOCOL, Variant.MODE_C)).push


def _addressed_by_sign_on(protocol: str | None) -> bool:
    """Whether the variant (or detection) starts with an IEC 62056-21 sign-on that carries the address."""
    return protocol in (AUTO, None) or Variant(protocol) in SIGN_ON_VARIANTS


SIGN_ON_VARIANTS = frozenset({Variant.MODE_A, Variant.MODE_B, Variant.MODE_C, Variant.DLMS_MODE_E})


def _normal_address(address: str) -> str:
    """Compare addresses as meters do: leading zeros do not matter."""
    return address.strip().lstrip("0") or ("0" if address.strip() else "")


def _bus_label(label: str, titles: list[str] | None) -> str:
    """Mark a port that carries meters and name them: choosing it adds another meter on that bus."""
    if not titles:
        return label
    return f"{BUS_MARK} {label} ({', '.join(titles)})"


def _number_selector(minimum: int, maximum: int) -> NumberSelector:
    return NumberSelector(NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX))


def _secret_selector() -> TextSelector:
    return TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
