"""Config flow: choose the port, choose or detect the protocol (and its keys), read the meter once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
import math
import re
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import serialx
import voluptuous as vol

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
    ESTIMATED_HAN_POLL,
    EXPECTED_READOUT_CHARACTERS,
    LOGGER,
    MANUAL_PORT,
    MIN_SCAN_INTERVAL,
    URL_SCHEMES,
)
from .coordinator import LandisGyrConfigEntry, default_scan_interval
from .meter.client import read_meter
from .meter.dlms import DecryptionError
from .meter.eredes_client import probe_eredes
from .meter.errors import MeterError, NoAnswerError, PortError
from .meter.link import can_switch_rate, describe_port
from .meter.messages import INITIAL_BAUD, MAX_REACTION_TIME
from .meter.probe import ATTEMPTS_BEYOND_IEC, DEFAULT_LISTEN_TIME, ProbeReport, probe, variants
from .meter.readout import Readout
from .meter.session import WAKE_UP_CHARACTERS, WAKE_UP_PAUSE, Framing, LineSettings, Protocol, SessionSettings
from .meter.variants import DLMS_PULL_VARIANTS, KeyFormatError, MeterConfig, MeterReader, Variant, parse_key

AUTO = str(Protocol.AUTO)
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
]
READ_RETRIES = 2
DETECT_LISTEN_TIME = DEFAULT_LISTEN_TIME
"""Seconds detection listens for a mode D or P1 push."""
NON_IEC_READ_LIMIT = 120.0
"""Ceiling of a test read of a DLMS, SML or HAN meter (a push may take 30 s to come)."""
KEY_REQUIRED = "key_required"
"""Form error: detection found an encrypted push and no key was given yet."""
STEP_OF_ERROR = {
    DecryptionError.key: "dlms_push",
    KEY_REQUIRED: "dlms_push",
    "association_rejected": "dlms_pull",
}
"""Errors the user fixes on a variant's own step (keys, password) rather than the protocol step."""
_WINDOWS_PORT = re.compile(r"^COM\d+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SerialPort:
    """A port offered in the list: the stable path, its label and the USB identity."""

    device: str
    label: str
    usb_id: str | None
    resolved: str


@dataclass(frozen=True, slots=True)
class FoundMeter:
    """What the test read produced: the readout and the configuration that got it."""

    readout: Readout
    config: MeterConfig
    summary: str = ""


def port_label(info: serialx.SerialPortInfo) -> str:
    """Return a label a person recognises: product, stable path, serial and ids."""
    details = f"{info.device}, s/n: {info.serial_number or 'n/a'}"
    if info.manufacturer:
        details += f" - {info.manufacturer}"
    if info.vid is not None and info.pid is not None:
        details += f" - {info.vid:04X}:{info.pid:04X}"
    return f"{info.product} - {details}" if info.product else details


def usb_id(vid: str | None, pid: str | None, serial_number: str | None) -> str | None:
    """Identify a USB head independently of the path it got this time."""
    if vid is None or pid is None:
        return None
    return f"{vid.upper()}:{pid.upper()}_{serial_number or ''}"


def list_ports() -> list[SerialPort]:
    """Scan the serial ports (blocking: run it in the executor)."""
    ports: list[SerialPort] = []
    for info in serialx.list_serial_ports():
        vid = None if info.vid is None else f"{info.vid:04X}"
        pid = None if info.pid is None else f"{info.pid:04X}"
        ports.append(
            SerialPort(
                info.device, port_label(info), usb_id(vid, pid, info.serial_number), info.resolved_device
            )
        )
    return ports


def valid_port(port: str) -> bool:
    """Whether a typed port is a device path or a URL the link can open."""
    lowered = port.lower()
    return (
        port.startswith("/")
        or bool(_WINDOWS_PORT.match(port))
        or (lowered.startswith(URL_SCHEMES) and len(port) > lowered.index("://") + 3)
    )


def meter_unique_id(readout: Readout) -> str:
    """Return the meter's serial number, or its FLAG id and identification when it reports none."""
    if readout.serial:
        return readout.serial
    identification = readout.identification
    return f"{identification.flag_id}-{identification.identification}"


def read_timeout(settings: SessionSettings, *, attempts: int) -> float:
    """Return a ceiling for one test read: the slowest case, a long readout at 300 Bd, every retry.

    The session's own timeouts end a silent read much earlier; this only stops a meter
    that keeps talking without ever finishing.
    """
    line = LineSettings(settings.fixed_baud or INITIAL_BAUD, Framing.SEVEN_E_TWO)
    wake_up = WAKE_UP_CHARACTERS * line.character_time() + WAKE_UP_PAUSE if settings.wake_up else 0.0
    one = wake_up + 3 * MAX_REACTION_TIME + EXPECTED_READOUT_CHARACTERS * line.character_time()
    if settings.protocol is Protocol.MODE_D:
        one += settings.push_timeout
    return attempts * one


def estimated_line_time(max_baud: int) -> float:
    """Seconds a readout occupies the line: sign-on at 300 Bd, then a long readout at ``max_baud``."""
    sign_on = 40 * LineSettings(INITIAL_BAUD).character_time() + 2 * MAX_REACTION_TIME
    return sign_on + EXPECTED_READOUT_CHARACTERS * LineSettings(max_baud).character_time()


def minimum_interval(entry: ConfigEntry, max_baud: int) -> int:
    """Return the fastest poll interval for an entry: never faster than one readout's line time."""
    duration: float | None = None
    if entry.state is ConfigEntryState.LOADED and entry.runtime_data.data is not None:
        duration = entry.runtime_data.data.duration
    if duration is None:
        han = entry.data.get(CONF_PROTOCOL) == Variant.EREDES_HAN
        duration = ESTIMATED_HAN_POLL if han else estimated_line_time(max_baud)
    return max(MIN_SCAN_INTERVAL, math.ceil(duration))


def time_limit(port: str, config: MeterConfig, *, detect: bool) -> float:
    """Return the ceiling of one test read (or of the whole detection)."""
    if detect:
        attempts = len(variants(port)) + ATTEMPTS_BEYOND_IEC
        return read_timeout(config.session_settings(), attempts=attempts) + NON_IEC_READ_LIMIT
    if config.variant.iec:
        return read_timeout(config.session_settings(), attempts=READ_RETRIES + 1)
    return NON_IEC_READ_LIMIT


class KeyRequiredError(DecryptionError):
    """Detection found a meter pushing encrypted data; its key is needed."""

    key = KEY_REQUIRED


def _error_of(report: ProbeReport) -> MeterError:
    """Return the most telling error of a failed probe.

    A port error first, then a meter that needs a key or refuses registers, then a garbled
    answer, then silence.
    """
    errors = [attempt.error for attempt in report.attempts if attempt.error is not None]
    for error in errors:
        if isinstance(error, PortError):
            return error
    needs = report.needs_credentials
    if needs is not None and needs.error is not None:
        if isinstance(needs.error, DecryptionError):
            return KeyRequiredError(str(needs.error))
        return needs.error
    for error in errors:
        if not isinstance(error, NoAnswerError):
            return error
    return NoAnswerError(report.summary)


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

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> LandisGyrOptionsFlow:
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
        if user_input is not None:
            port = user_input[CONF_PORT]
            if port == MANUAL_PORT:
                return await self.async_step_manual()
            self._port = port
            self._usb_id = self._ports[port].usb_id if port in self._ports else None
            return await self.async_step_protocol()
        self._ports = await self._async_available_ports()
        current = self._defaults.get(CONF_PORT)
        if not self._ports and current is None:
            return await self.async_step_manual()
        options = [SelectOptionDict(value=port.device, label=port.label) for port in self._ports.values()]
        if current is not None and current not in self._ports:
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
        return self.async_show_form(step_id=step_id, data_schema=schema)

    async def _async_available_ports(self) -> dict[str, SerialPort]:
        """Ports not used by another entry, scanned in the executor."""
        scanned = await self.hass.async_add_executor_job(list_ports)
        own = self._reconfigure_entry_id if self.source == SOURCE_RECONFIGURE else None
        used = {
            entry.data[CONF_PORT]
            for entry in self._async_current_entries(include_ignore=False)
            if entry.entry_id != own
        }
        return {
            port.device: port for port in scanned if port.device not in used and port.resolved not in used
        }

    async def async_step_manual(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Type a device path or a URL (``socket://``, ``rfc2217://``, ``esphome://``)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            port = user_input[CONF_PORT].strip()
            if valid_port(port):
                self._port, self._usb_id = port, None
                return await self.async_step_protocol()
            errors[CONF_PORT] = "invalid_port"
        schema = vol.Schema(
            {vol.Required(CONF_PORT, default=self._defaults.get(CONF_PORT, "")): TextSelector()}
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
        self._port, self._usb_id = port, head
        name = discovery_info.description or describe_port(port)
        self.context["title_placeholders"] = {"name": name}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm setting up the discovered head."""
        if user_input is not None:
            return await self.async_step_protocol()
        self._set_confirm_only()
        assert self._port is not None
        return self.async_show_form(
            step_id="usb_confirm",
            description_placeholders={"name": self.context["title_placeholders"]["name"], "port": self._port},
        )

    # --- protocol ---------------------------------------------------------------------------------

    async def async_step_protocol(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Detect the protocol or choose it; advanced: rate limit, address, wake-up, interval."""
        if user_input is not None:
            self._choice = user_input
            self._errors = {}
            self._variant_input = {}
            step = _variant_step(user_input[CONF_PROTOCOL])
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
                ): _interval_selector(),
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
                vol.Required(CONF_ADVANCED): section(advanced, {"collapsed": not self._errors}),
            }
        )
        errors, self._errors = self._errors, {}
        return self.async_show_form(
            step_id="protocol",
            data_schema=schema,
            errors=errors,
            description_placeholders={"port": describe_port(self._port or "")},
        )

    # --- what a variant needs besides the protocol -----------------------------------------------

    async def async_step_dlms_push(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Keys of an encrypted DLMS/COSEM push (E570, Austrian E450); none for a plain push."""
        schema = vol.Schema(
            {
                vol.Optional(CONF_KEY, default=self._secret_default(CONF_KEY)): _secret_selector(),
                vol.Optional(
                    CONF_AUTHENTICATION_KEY, default=self._secret_default(CONF_AUTHENTICATION_KEY)
                ): _secret_selector(),
            }
        )
        return await self._async_variant_step("dlms_push", Variant.DLMS_PUSH, schema, user_input)

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

    def _secret_default(self, name: str) -> str:
        return str(self._variant_input.get(name) or self._defaults.get(name) or "")

    async def _async_variant_step(
        self, step_id: str, variant: Variant, schema: vol.Schema, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            for name in (CONF_KEY, CONF_AUTHENTICATION_KEY):
                try:
                    parse_key(user_input.get(name))
                except KeyFormatError:
                    errors[name] = "invalid_key_format"
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
        advanced = self._choice[CONF_ADVANCED]
        extra = self._variant_input
        protocol = extra.get(CONF_PROTOCOL, self._choice[CONF_PROTOCOL])
        password = extra.get(CONF_PASSWORD)
        return MeterConfig(
            variant=Variant.MODE_C if protocol == AUTO else Variant(protocol),
            address=advanced.get(CONF_ADDRESS, "").strip(),
            max_baud=int(advanced[CONF_MAX_BAUD]),
            wake_up=advanced[CONF_WAKE_UP],
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
        except MeterError as err:
            LOGGER.debug("test read on %s failed: %s", describe_port(self._port or ""), err)
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
            if step is None or step != _variant_step(self._choice[CONF_PROTOCOL]):
                step = "protocol"
            return self.async_show_progress_done(next_step_id=step)
        return self.async_show_progress_done(next_step_id="found" if detecting else "finish")

    async def _async_read(self, config: MeterConfig, detecting: bool) -> FoundMeter:
        port = self._port
        assert port is not None
        async with asyncio.timeout(time_limit(port, config, detect=detecting)):
            if self.source == SOURCE_RECONFIGURE:
                entry: LandisGyrConfigEntry = self._get_reconfigure_entry()
                if entry.state is ConfigEntryState.LOADED:
                    async with entry.runtime_data.exclusive_port():
                        return await _read(port, config, detecting)
            return await _read(port, config, detecting)

    async def async_step_found(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show what the detection found before setting it up."""
        if user_input is not None:
            return await self.async_step_finish()
        found = self._found
        assert found is not None
        readout = found.readout
        return self.async_show_form(
            step_id="found",
            description_placeholders={
                "manufacturer": readout.manufacturer or readout.identification.flag_id,
                "identification": str(readout.identification),
                "protocol": str(found.config.variant),
                "baud": str(readout.baud),
                "registers": str(len(readout.current)),
                "summary": found.summary,
            },
        )

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create (or update) the entry for the meter that answered."""
        found, port = self._found, self._port
        assert found is not None and port is not None
        readout, config = found.readout, found.config
        data = _entry_data(port, config, self._usb_id)
        unique_id = meter_unique_id(readout)
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
                entry, data=data, options=_options(config.variant, options)
            )
        await self.async_set_unique_id(unique_id, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        options = {CONF_SCAN_INTERVAL: interval, CONF_MAX_POWER_KW: DEFAULT_MAX_POWER_KW}
        identification = readout.identification
        title = f"{readout.manufacturer or identification.flag_id} {identification.identification}".strip()
        return self.async_create_entry(title=title, data=data, options=_options(config.variant, options))


def _variant_step(protocol: str) -> str | None:
    """Return the step that asks what a variant needs besides the protocol, if any."""
    if protocol == Variant.DLMS_PUSH:
        return "dlms_push"
    if protocol in DLMS_PULL_VARIANTS:
        return "dlms_pull"
    if protocol == Variant.EREDES_HAN:
        return "han"
    return None


def _entry_data(port: str, config: MeterConfig, head: str | None) -> dict[str, Any]:
    """Return the entry's data: the IEC fields always, a variant's own fields only when it has them."""
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
    if config.variant is Variant.DLMS_PUSH:
        data[CONF_KEY] = config.key.hex().upper() if config.key else None
        data[CONF_AUTHENTICATION_KEY] = (
            config.authentication_key.hex().upper() if config.authentication_key else None
        )
    if config.variant in DLMS_PULL_VARIANTS:
        data[CONF_PASSWORD] = config.password.decode() if config.password else None
    if config.variant in DLMS_PULL_VARIANTS or config.variant is Variant.EREDES_HAN:
        data[CONF_SLAVE] = config.slave
    return data


def _options(variant: Variant, options: Mapping[str, Any]) -> dict[str, Any]:
    """Push variants have no poll interval."""
    out = dict(options)
    if variant.push:
        out.pop(CONF_SCAN_INTERVAL, None)
    else:
        out[CONF_SCAN_INTERVAL] = int(out[CONF_SCAN_INTERVAL])
    return out


async def _read(port: str, config: MeterConfig, detecting: bool) -> FoundMeter:
    """Read once with the chosen configuration, or probe when the protocol is to be detected."""
    if detecting:
        report = await probe(
            port, address=config.address, max_baud=config.max_baud, listen_time=DETECT_LISTEN_TIME
        )
        if report.readout is None or report.settings is None:
            raise _error_of(report)
        found = report.settings
        if found.variant.iec:
            found = replace(found, max_baud=config.max_baud, address=found.address or config.address)
        return FoundMeter(report.readout, found, report.summary)
    if config.variant is Variant.EREDES_HAN:
        settings, readout = await probe_eredes(port, config.han_settings())
        return FoundMeter(readout, replace(config, framing=settings.framing))
    if not config.variant.iec:
        config = replace(config, framing=Framing.EIGHT_N_ONE)
    readout = await MeterReader(port, config, read_iec=read_meter, retries=READ_RETRIES).read_once()
    return FoundMeter(readout, config)


def _interval_selector() -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=MIN_SCAN_INTERVAL, max=86400, step=1, unit_of_measurement="s", mode=NumberSelectorMode.BOX
        )
    )


def _number_selector(minimum: int, maximum: int) -> NumberSelector:
    return NumberSelector(NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX))


def _secret_selector() -> TextSelector:
    return TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


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
            fields[vol.Required(CONF_SCAN_INTERVAL, default=default)] = _interval_selector()
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
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"minimum": str(minimum)},
        )
