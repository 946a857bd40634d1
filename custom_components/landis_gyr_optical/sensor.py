"""Sensors: one per register the meter reports, described by a table keyed by OBIS code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactiveEnergy,
    UnitOfReactivePower,
    UnitOfTemperature,
    UnitOfTime,
    UnitOfVolume,
    UnitOfVolumeFlowRate,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import LandisGyrConfigEntry, LandisGyrCoordinator, MeterData, is_total
from .entity import LandisGyrEntity
from .meter.obis import ObisCode
from .meter.registers import Register
from .meter.submeters import SubMeter, SubMeterKind, sub_meter_of

PARALLEL_UPDATES = 0

_ENERGY_UNITS = (UnitOfEnergy.KILO_WATT_HOUR, UnitOfEnergy.WATT_HOUR, UnitOfEnergy.MEGA_WATT_HOUR)
_REACTIVE_ENERGY_UNITS = (
    UnitOfReactiveEnergy.KILO_VOLT_AMPERE_REACTIVE_HOUR,
    UnitOfReactiveEnergy.VOLT_AMPERE_REACTIVE_HOUR,
)
_POWER_UNITS = (UnitOfPower.KILO_WATT, UnitOfPower.WATT, UnitOfPower.MEGA_WATT)
SERIAL_CODES = frozenset(
    ObisCode.parse(code) for code in ("0-0:96.1.0", "C.1.0", "0.0.0", "1-0:0.0.9", "1-0:96.1.0")
)
"""Registers that carry the meter's serial number: device information, never entities."""


@dataclass(frozen=True, kw_only=True)
class ObisSensorEntityDescription(SensorEntityDescription):
    """How a register becomes a sensor; the first of ``units`` is assumed when none is printed."""

    units: tuple[str | None, ...] = (None,)
    placeholders: Mapping[str, str] = field(default_factory=dict)
    attributes_fn: Callable[[Register], dict[str, Any]] | None = None
    as_text: bool = False
    """Show the value as the meter prints it (error flags, clock, firmware keep their digits)."""
    value_index: int = 0
    """Which of the register's values the sensor shows (a heat meter's return temperature)."""


def _timestamp_attribute(register: Register) -> dict[str, Any]:
    """Return the time stamp a maximum-demand register prints after its value (``YYMMDDhhmm``)."""
    groups = register.raw.split(")(")
    stamp = groups[1].strip() if len(groups) > 1 else ""
    return {"timestamp": stamp} if stamp else {}


def _energy(key: str, *, reactive: bool = False, **placeholders: str) -> ObisSensorEntityDescription:
    return ObisSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.REACTIVE_ENERGY if reactive else SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        units=_REACTIVE_ENERGY_UNITS if reactive else _ENERGY_UNITS,
        suggested_display_precision=3,
        placeholders=placeholders,
    )


def _measurement(
    key: str,
    device_class: SensorDeviceClass | None,
    units: tuple[str | None, ...],
    *,
    suggested_unit: str | None = None,
    precision: int | None = None,
    **placeholders: str,
) -> ObisSensorEntityDescription:
    return ObisSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        units=units,
        suggested_unit_of_measurement=suggested_unit,
        suggested_display_precision=precision,
        placeholders=placeholders,
    )


def _diagnostic(key: str) -> ObisSensorEntityDescription:
    return ObisSensorEntityDescription(
        key=key, translation_key=key, entity_category=EntityCategory.DIAGNOSTIC, as_text=True
    )


def _counter(key: str) -> ObisSensorEntityDescription:
    return ObisSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
    )


TARIFFS = ("vazio", "ponta", "cheias")
"""States of the active tariff of an E-Redes meter (off-peak, peak, shoulder)."""


def _table() -> dict[str, ObisSensorEntityDescription]:
    table: dict[str, ObisSensorEntityDescription] = {
        "1.8.0": _energy("energy_import"),
        "2.8.0": _energy("energy_export"),
        "15.8.0": _energy("energy_absolute"),
        "3.8.0": _energy("reactive_energy_import", reactive=True),
        "4.8.0": _energy("reactive_energy_export", reactive=True),
        "1.7.0": _measurement(
            "power_import",
            SensorDeviceClass.POWER,
            _POWER_UNITS,
            suggested_unit=UnitOfPower.WATT,
            precision=0,
        ),
        "2.7.0": _measurement(
            "power_export",
            SensorDeviceClass.POWER,
            _POWER_UNITS,
            suggested_unit=UnitOfPower.WATT,
            precision=0,
        ),
        "16.7.0": _measurement(
            "power_net", SensorDeviceClass.POWER, _POWER_UNITS, suggested_unit=UnitOfPower.WATT, precision=0
        ),
        "14.7.0": _measurement(
            "frequency", SensorDeviceClass.FREQUENCY, (UnitOfFrequency.HERTZ,), precision=2
        ),
        "13.7.0": _measurement("power_factor", SensorDeviceClass.POWER_FACTOR, (None,), precision=2),
        "3.7.0": _measurement(
            "reactive_power_import",
            SensorDeviceClass.REACTIVE_POWER,
            (UnitOfReactivePower.KILO_VOLT_AMPERE_REACTIVE, UnitOfReactivePower.VOLT_AMPERE_REACTIVE),
        ),
        "4.7.0": _measurement(
            "reactive_power_export",
            SensorDeviceClass.REACTIVE_POWER,
            (UnitOfReactivePower.KILO_VOLT_AMPERE_REACTIVE, UnitOfReactivePower.VOLT_AMPERE_REACTIVE),
        ),
        "9.7.0": _measurement(
            "apparent_power",
            SensorDeviceClass.APPARENT_POWER,
            (UnitOfApparentPower.KILO_VOLT_AMPERE, UnitOfApparentPower.VOLT_AMPERE),
        ),
        "F.F.0": _diagnostic("error_register"),
        "F.0.0": _diagnostic("error_register"),
        "0.9.1": _diagnostic("meter_time"),
        "0.9.2": _diagnostic("meter_date"),
        "0.2.0": _diagnostic("firmware"),
        "1.0.0": _diagnostic("meter_clock"),
        "96.1.1": _diagnostic("model"),
        "96.7.21": _counter("power_failures"),
        "96.7.9": _counter("long_power_failures"),
        "90.7.0": _measurement(
            "current_sum", SensorDeviceClass.CURRENT, (UnitOfElectricCurrent.AMPERE,), precision=2
        ),
        "96.14.0": ObisSensorEntityDescription(
            key="active_tariff",
            translation_key="active_tariff",
            device_class=SensorDeviceClass.ENUM,
            options=list(TARIFFS),
        ),
    }
    for quadrant, c in (("I", "5"), ("II", "6"), ("III", "7"), ("IV", "8")):
        table[f"{c}.8.0"] = _energy("reactive_energy_quadrant", reactive=True, quadrant=quadrant)
    for tariff in "123456":
        table[f"17.0.{tariff}"] = ObisSensorEntityDescription(
            key="power_threshold",
            translation_key="power_threshold",
            device_class=SensorDeviceClass.APPARENT_POWER,
            units=(UnitOfApparentPower.VOLT_AMPERE, UnitOfApparentPower.KILO_VOLT_AMPERE),
            entity_category=EntityCategory.DIAGNOSTIC,
            placeholders={"tariff": tariff},
        )
    for direction, c in (("import", "1"), ("export", "2")):
        for tariff in "123456":
            table[f"{c}.8.{tariff}"] = _energy(f"energy_{direction}_tariff", tariff=tariff)
        table[f"{c}.6.0"] = ObisSensorEntityDescription(
            key=f"maximum_demand_{direction}",
            translation_key=f"maximum_demand_{direction}",
            device_class=SensorDeviceClass.POWER,
            state_class=SensorStateClass.MEASUREMENT,
            units=_POWER_UNITS,
            attributes_fn=_timestamp_attribute,
        )
    for phase, (import_c, export_c) in {"L1": ("21", "22"), "L2": ("41", "42"), "L3": ("61", "62")}.items():
        for direction, c in (("import", import_c), ("export", export_c)):
            table[f"{c}.8.0"] = _energy(f"energy_{direction}_phase", phase=phase)
            table[f"{c}.7.0"] = _measurement(
                f"power_{direction}_phase",
                SensorDeviceClass.POWER,
                _POWER_UNITS,
                suggested_unit=UnitOfPower.WATT,
                precision=0,
                phase=phase,
            )
    for c, phase in (("31", "L1"), ("51", "L2"), ("71", "L3")):
        table[f"{c}.7.0"] = _measurement(
            "current_phase",
            SensorDeviceClass.CURRENT,
            (UnitOfElectricCurrent.AMPERE,),
            precision=2,
            phase=phase,
        )
    for c, phase in (("32", "L1"), ("52", "L2"), ("72", "L3")):
        table[f"{c}.7.0"] = _measurement(
            "voltage_phase",
            SensorDeviceClass.VOLTAGE,
            (UnitOfElectricPotential.VOLT,),
            precision=1,
            phase=phase,
        )
    for c, phase in (("33", "L1"), ("53", "L2"), ("73", "L3")):
        table[f"{c}.7.0"] = _measurement(
            "power_factor_phase", SensorDeviceClass.POWER_FACTOR, (None,), precision=2, phase=phase
        )
    return table


DESCRIPTIONS = _table()
"""Known registers by ``C.D.E`` (value groups A 0 and 1, channel B 0)."""

_HEAT_ENERGY_UNITS = (
    UnitOfEnergy.GIGA_JOULE,
    UnitOfEnergy.MEGA_WATT_HOUR,
    UnitOfEnergy.KILO_WATT_HOUR,
    UnitOfEnergy.MEGA_JOULE,
)


def _heat_total(
    key: str, device_class: SensorDeviceClass, units: tuple[str, ...]
) -> ObisSensorEntityDescription:
    return ObisSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        state_class=SensorStateClass.TOTAL_INCREASING,
        units=units,
    )


def _hours(key: str) -> ObisSensorEntityDescription:
    return ObisSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        units=(UnitOfTime.HOURS,),
        entity_category=EntityCategory.DIAGNOSTIC,
    )


def _temperature(key: str, value_index: int = 0) -> ObisSensorEntityDescription:
    return ObisSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        units=(UnitOfTemperature.CELSIUS,),
        value_index=value_index,
    )


HEAT_DESCRIPTIONS: dict[str, tuple[ObisSensorEntityDescription, ...]] = {
    "6.8.0": (_heat_total("heat_energy", SensorDeviceClass.ENERGY, _HEAT_ENERGY_UNITS),),
    "6.26.0": (_heat_total("heat_volume", SensorDeviceClass.VOLUME, (UnitOfVolume.CUBIC_METERS,)),),
    "6.6.0": (_measurement("heat_power_maximum", SensorDeviceClass.POWER, _POWER_UNITS),),
    "6.33.0": (
        _measurement(
            "heat_flow_maximum",
            SensorDeviceClass.VOLUME_FLOW_RATE,
            (UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR,),
        ),
    ),
    "9.4.0": (_temperature("flow_temperature_maximum"), _temperature("return_temperature_maximum", 1)),
    "6.31.0": (_hours("operating_hours"),),
    "6.32.0": (_hours("fault_hours"),),
    "9.31.0": (_hours("flow_hours"),),
    "8.0.0": (_measurement("heat_power", SensorDeviceClass.POWER, _POWER_UNITS),),
    "9.0.0": (
        _measurement(
            "heat_flow", SensorDeviceClass.VOLUME_FLOW_RATE, (UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR,)
        ),
    ),
    "10.0.0": (_temperature("flow_temperature"),),
    "11.0.0": (_temperature("return_temperature"),),
    "12.0.0": (
        _measurement(
            "temperature_difference", SensorDeviceClass.TEMPERATURE_DELTA, (UnitOfTemperature.KELVIN,)
        ),
    ),
    "97.97.0": (_diagnostic("error_register"),),
}
"""Registers of a heat meter (value group A 6) by ``C.D.E``, one description per value shown.

The codes of the L+G Ultraheat and Siemens 2WR5 readouts: energy, volume, the maxima of
power, flow and the flow and return temperatures, operating, fault and flow hours; and
the current values an M-Bus heat meter adds (``mbus/registers.py``): power, flow, flow
and return temperature, their difference, the error flags.
"""

SUB_METER_DESCRIPTIONS: dict[SubMeterKind, ObisSensorEntityDescription] = {
    SubMeterKind.GAS: ObisSensorEntityDescription(
        key="gas",
        translation_key="gas",
        device_class=SensorDeviceClass.GAS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        units=(UnitOfVolume.CUBIC_METERS,),
    ),
    SubMeterKind.WATER: ObisSensorEntityDescription(
        key="water",
        translation_key="water",
        device_class=SensorDeviceClass.WATER,
        state_class=SensorStateClass.TOTAL_INCREASING,
        units=(UnitOfVolume.CUBIC_METERS,),
    ),
    SubMeterKind.HEAT: _heat_total("heat_energy", SensorDeviceClass.ENERGY, _HEAT_ENERGY_UNITS),
}
"""The reading of an M-Bus sub-meter, by what it measures (the Energy dashboard's gas and water)."""

CHANNEL_DESCRIPTIONS = {
    "1-1:0.2.0": _diagnostic("firmware_application"),
    "1-2:0.2.0": _diagnostic("firmware_communication"),
}
"""Known registers of other channels, by full code (E-Redes firmware versions)."""

GENERIC = ObisSensorEntityDescription(
    key="register",
    translation_key="register",
    state_class=SensorStateClass.MEASUREMENT,
    entity_registry_enabled_default=False,
)
GENERIC_TOTAL = ObisSensorEntityDescription(
    key="register_total",
    translation_key="register",
    device_class=SensorDeviceClass.ENERGY,
    state_class=SensorStateClass.TOTAL_INCREASING,
    entity_registry_enabled_default=False,
)


@dataclass(frozen=True, kw_only=True)
class MeterStatusDescription(SensorEntityDescription):
    """A diagnostic about the reads themselves rather than a register."""

    value_fn: Callable[[LandisGyrCoordinator], datetime | float | int | None]


STATUS_DESCRIPTIONS = (
    MeterStatusDescription(
        key="last_read",
        translation_key="last_read",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda coordinator: coordinator.data.read_at,
    ),
    MeterStatusDescription(
        key="readout_duration",
        translation_key="readout_duration",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda coordinator: round(coordinator.data.duration, 3),
    ),
    MeterStatusDescription(
        key="checksum_errors",
        translation_key="checksum_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda coordinator: coordinator.stats.checksum_errors,
    ),
)


def _unit_of(description: ObisSensorEntityDescription, register: Register) -> tuple[bool, str | None]:
    """Whether the register fits the description, and the unit its sensor takes."""
    index = description.value_index
    unit = register.values[index].unit if index < len(register.values) else None
    if unit is None:
        return index < len(register.values), description.units[0]
    return unit in description.units, unit


def describe_all(obis: ObisCode, register: Register) -> list[tuple[ObisSensorEntityDescription, str | None]]:
    """Return the sensors of one register: one, several (heat meter temperatures) or none."""
    if obis.a == 6 and obis.b == 0 and not obis.is_history and obis.short in HEAT_DESCRIPTIONS:
        described = []
        for description in HEAT_DESCRIPTIONS[obis.short]:
            fits, unit = _unit_of(description, register)
            if fits:
                described.append((description, unit))
        if described:
            return described
    single = describe(obis, register)
    return [single] if single is not None else []


def describe(obis: ObisCode, register: Register) -> tuple[ObisSensorEntityDescription, str | None] | None:
    """Return the description and unit of a register's sensor, ``None`` for no sensor."""
    if obis.is_history or obis in SERIAL_CODES:
        return None
    description = DESCRIPTIONS.get(obis.short) if obis.a in (0, 1) and obis.b == 0 else None
    description = description or CHANNEL_DESCRIPTIONS.get(str(obis))
    if (
        description is not None
        and description.options is not None
        and register.value not in description.options
    ):
        # A numeric tariff indicator (DSMR's 0-0:96.14.0) is no E-Redes tariff name.
        description = None
    if description is not None:
        if register.unit is None:
            return description, description.units[0]
        if register.unit in description.units:
            return description, register.unit
    if not isinstance(register.value, Decimal):
        return None
    if is_total(obis, register.value, register.unit):
        return GENERIC_TOTAL, register.unit or UnitOfEnergy.KILO_WATT_HOUR
    return GENERIC, register.unit


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LandisGyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a sensor per reported register, and new ones when they show up."""
    coordinator = entry.runtime_data
    known: set[ObisCode] = set()
    status_added = False

    @callback
    def add_new() -> None:
        nonlocal status_added
        data: MeterData | None = coordinator.data
        if data is None:
            return
        entities: list[SensorEntity] = []
        if not status_added:
            entities += [MeterStatusSensor(coordinator, description) for description in STATUS_DESCRIPTIONS]
            status_added = True
        current = data.readout.current
        for obis, register in current.items():
            if obis in known:
                continue
            known.add(obis)
            sub_meter = sub_meter_of(obis, current)
            if sub_meter is not None:
                description = SUB_METER_DESCRIPTIONS[sub_meter.kind]
                fits, unit = _unit_of(description, register)
                if fits:
                    entities.append(SubMeterSensor(coordinator, obis, description, unit, sub_meter))
                continue
            entities += [
                RegisterSensor(coordinator, obis, description, unit)
                for description, unit in describe_all(obis, register)
            ]
        if entities:
            async_add_entities(entities)

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))


class RegisterSensor(LandisGyrEntity, SensorEntity):
    """The value of one register."""

    entity_description: ObisSensorEntityDescription

    def __init__(
        self,
        coordinator: LandisGyrCoordinator,
        obis: ObisCode,
        description: ObisSensorEntityDescription,
        unit: str | None,
    ) -> None:
        """Describe the register's sensor (a second value has a key of its own)."""
        index = description.value_index
        super().__init__(coordinator, str(obis) if index == 0 else f"{obis}_value_{index + 1}")
        self.obis = obis
        self.entity_description = description
        self._attr_native_unit_of_measurement = unit
        placeholders = dict(description.placeholders)
        if description.translation_key == "register":
            placeholders["code"] = str(obis)
        self._attr_translation_placeholders = placeholders

    @property
    def available(self) -> bool:
        """Unavailable while reads fail or when the meter stopped reporting the register."""
        return super().available and self.obis in self.coordinator.data.values

    @property
    def native_value(self) -> Decimal | str | None:
        """The value after the spike guard (a held total keeps the last published one)."""
        data = self.coordinator.data
        description = self.entity_description
        if description.as_text:
            register = data.readout.current.get(self.obis)
            return register.text if register is not None else None
        if description.value_index:
            register = data.readout.current.get(self.obis)
            values = register.values if register is not None else ()
            shown = values[description.value_index].value if description.value_index < len(values) else None
            return shown if isinstance(shown, Decimal) else None
        value = data.values.get(self.obis)
        if description.options is not None:
            return value if value in description.options else None
        if self.native_unit_of_measurement is None and description.state_class is None:
            return value
        # A measurement must be a number in the unit the entity was created with: anything
        # else is a corruption the checksum missed (a total was already held by the guard).
        if not isinstance(value, Decimal):
            return None
        if self.obis.is_time_integral:
            return value
        register = data.readout.current.get(self.obis)
        if (
            register is not None
            and register.unit is not None
            and register.unit != self.native_unit_of_measurement
        ):
            return None
        return value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra values a register prints after its reading, and when the reading was taken.

        ``timestamp`` is the register's own time (an M-Bus sub-meter's capture time, the
        moment of a maximum demand), not the time of the read.
        """
        attributes_fn = self.entity_description.attributes_fn
        register = self.coordinator.data.readout.current.get(self.obis)
        if register is None:
            return None
        attributes = dict(attributes_fn(register) or {}) if attributes_fn is not None else {}
        if register.timestamp is not None:
            attributes["timestamp"] = register.timestamp.isoformat()
        return attributes or None


class SubMeterSensor(RegisterSensor):
    """The reading of an M-Bus sub-meter: a device of its own, linked to the meter."""

    def __init__(
        self,
        coordinator: LandisGyrCoordinator,
        obis: ObisCode,
        description: ObisSensorEntityDescription,
        unit: str | None,
        sub_meter: SubMeter,
    ) -> None:
        """Attach the sensor to the sub-meter's device, reached through the meter."""
        super().__init__(coordinator, obis, description, unit)
        entry = coordinator.config_entry
        meter_id = entry.unique_id or entry.entry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{meter_id}_mbus_{sub_meter.channel}")},
            via_device=(DOMAIN, meter_id),
            translation_key=f"{sub_meter.kind}_meter",
            translation_placeholders={"channel": str(sub_meter.channel)},
            serial_number=sub_meter.identifier,
            model_id=None if sub_meter.device_type is None else f"M-Bus device type {sub_meter.device_type}",
        )


class MeterStatusSensor(LandisGyrEntity, SensorEntity):
    """How the reads go: last success, duration, checksum errors."""

    entity_description: MeterStatusDescription

    def __init__(self, coordinator: LandisGyrCoordinator, description: MeterStatusDescription) -> None:
        """Describe the diagnostic."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """Stay available while reads fail: these tell how the reads go."""
        return True

    @property
    def native_value(self) -> datetime | float | int | None:
        """The diagnostic's value."""
        return self.entity_description.value_fn(self.coordinator)
