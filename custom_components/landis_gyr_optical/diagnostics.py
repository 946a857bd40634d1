"""Diagnostics: what was read, how, and what the spike guard held back (serials and keys redacted)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import (
    CONF_ADDRESS,
    CONF_AUTHENTICATION_KEY,
    CONF_KEY,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_PROBE,
    CONF_USB_ID,
)
from .coordinator import FailedRead, LandisGyrConfigEntry, LandisGyrCoordinator
from .meter.link import describe_port
from .meter.readout import Readout, TraceEntry, printable
from .probe_record import redacted_probe
from .sensor import SERIAL_CODES

REDACTED = "**REDACTED**"
SECRETS = (CONF_KEY, CONF_AUTHENTICATION_KEY, CONF_PASSWORD)
TO_REDACT = {CONF_ADDRESS, CONF_USB_ID, CONF_PORT, *SECRETS, "serial", "serial_number", "unique_id", "title"}
TO_REDACT |= {CONF_PROBE}  # the detection's record: shown redacted under "probe"


def _port_kind(port: str) -> str:
    """Say what kind of port it is without its path (by-id paths carry the head's serial)."""
    if "://" in port:
        return port.split("://", 1)[0] + "://"
    return "serial by-id" if port.startswith("/dev/serial/by-id/") else "serial"


def _redact_text(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _readout(readout: Readout, secrets: set[str]) -> dict[str, Any]:
    current = readout.current
    serial_codes = {code for code in current if code in SERIAL_CODES}
    return {
        "identification": readout.identity.identification,
        "manufacturer": readout.manufacturer,
        "protocol": readout.protocol,
        "negotiated_baud": readout.baud,
        "checksum": readout.checksum,
        "timings": {name: round(at, 3) for name, at in readout.timings.items()},
        "registers": {
            str(code): REDACTED if code in serial_codes else _redact_text(register.raw, secrets)
            for code, register in current.items()
        },
        "history": {str(code): register.raw for code, register in readout.history.items()},
        "raw": _redact_text(printable(readout.raw), secrets),
        "trace": _trace(readout.trace, secrets),
    }


def _trace(trace: tuple[TraceEntry, ...], secrets: set[str]) -> list[dict[str, Any]]:
    return [
        {
            "at": round(entry.at, 3),
            "direction": str(entry.direction),
            "baud": entry.baud,
            "data": _redact_text(entry.printable(), secrets),
            "note": _redact_text(entry.note, secrets),
        }
        for entry in trace
    ]


def _failure(failure: FailedRead | None, secrets: set[str]) -> dict[str, Any] | None:
    """Return the last failed read: its error and the end of its trace, redacted like a readout."""
    if failure is None:
        return None
    return {
        "at": failure.at.isoformat(),
        "error_key": failure.key,
        "error": _redact_text(failure.error, secrets),
        "entries_left_out": failure.left_out,
        "trace": _trace(failure.trace, secrets),
    }


def _line(coordinator: LandisGyrCoordinator, entry_id: str) -> dict[str, Any] | None:
    """Describe the line the meter reads on: its kind, the other meters on it and the bus counters.

    The other meters are named by their entry id (their titles and addresses stay private,
    like this entry's).
    """
    bus = coordinator.bus
    if bus is None:
        return None
    stats = bus.stats
    return {
        "kind": _port_kind(bus.key),
        "meters": len(bus.members),
        "other_meters": [
            {
                "entry_id": member.entry_id,
                "protocol": str(member.config.variant),
                "address_set": bool(member.config.address),
                "slave": member.config.slave,
            }
            for member in bus.others(entry_id)
        ],
        "turns": stats.turns,
        "connections_opened": stats.opens,
        "connections_reused": stats.reused,
        "longest_wait": round(stats.longest_wait, 3),
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: LandisGyrConfigEntry
) -> dict[str, Any]:
    """Return the entry, the last readout and the read statistics."""
    coordinator = entry.runtime_data
    data = coordinator.data
    secrets: set[str] = set()
    if entry.unique_id:
        secrets.add(entry.unique_id)
    if data is not None:
        for code, register in data.readout.current.items():
            if code in SERIAL_CODES and register.text:
                secrets.add(register.text)
        if entry.data.get(CONF_ADDRESS):
            secrets.add(entry.data[CONF_ADDRESS])
    # A low-level password travels in clear in the association request of the trace.
    secrets.update(str(entry.data[name]) for name in SECRETS if entry.data.get(name))
    stats = coordinator.stats
    return {
        "entry": {
            "title": REDACTED,
            "unique_id": REDACTED if entry.unique_id else None,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "port_kind": _port_kind(entry.data[CONF_PORT]),
        "line": _line(coordinator, entry.entry_id),
        "push": coordinator.push,
        "last_update_success": coordinator.last_update_success,
        "statistics": {
            "reads": stats.reads,
            "failures": stats.failures,
            "consecutive_failures": stats.consecutive_failures,
            "checksum_errors": stats.checksum_errors,
            "errors": dict(stats.errors_by_key),
            "last_error": _redact_text(stats.last_error, secrets) if stats.last_error else None,
        },
        "last_failure": _failure(stats.last_failure, secrets),
        "guard": {
            "max_power_kw": float(coordinator.guard.max_power_kw),
            "held_back": coordinator.guard.rejected(),
            "malformed_totals": stats.malformed_totals,
            "verdicts": coordinator.guard.counts(),
        },
        "backfill": coordinator.backfill.diagnostics(),
        "probe": redacted_probe(
            entry.data.get(CONF_PROBE),
            {*secrets, entry.data[CONF_PORT], describe_port(entry.data[CONF_PORT])},
        ),
        "last_read": None
        if data is None
        else {
            "read_at": data.read_at.isoformat(),
            "duration": round(data.duration, 3),
            "published": {
                str(code): None if value is None else str(value)
                for code, value in data.values.items()
                if code not in SERIAL_CODES
            },
            "readout": _readout(data.readout, secrets),
        },
    }
