"""The serial ports the flow offers: scanned ports with labels a person recognises, typed ports checked.

Home Assistant 2026.5 and later scan ports themselves (``usb.async_scan_serial_ports``), including
the serial proxies of ESPHome devices as ``esphome-hass://`` URLs; older versions get our own scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import re
from typing import Any

from homeassistant.components import usb
from homeassistant.core import HomeAssistant
import serialx

from .const import URL_SCHEMES

_WINDOWS_PORT = re.compile(r"^COM\d+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SerialPort:
    """A port offered in the list: the stable path, its label and the USB identity."""

    device: str
    label: str
    usb_id: str | None
    resolved: str


def port_label(info: serialx.SerialPortInfo) -> str:
    """Return a label a person recognises: product, stable path, serial and ids."""
    vid = None if info.vid is None else f"{info.vid:04X}"
    pid = None if info.pid is None else f"{info.pid:04X}"
    return _label(info.device, info.product, info.serial_number, info.manufacturer, vid, pid)


def _label(
    device: str,
    product: str | None,
    serial: str | None,
    manufacturer: str | None,
    vid: str | None,
    pid: str | None,
) -> str:
    details = f"{device}, s/n: {serial or 'n/a'}"
    if manufacturer:
        details += f" - {manufacturer}"
    if vid is not None and pid is not None:
        details += f" - {vid.upper()}:{pid.upper()}"
    return f"{product} - {details}" if product else details


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


async def async_list_ports(hass: HomeAssistant) -> list[SerialPort]:
    """Scan the ports with Home Assistant's scanner where it has one, else with serialx."""
    scan = getattr(usb, "async_scan_serial_ports", None)
    if scan is None:
        return await hass.async_add_executor_job(list_ports)
    scanned: Sequence[Any] = await scan(hass)
    return [_from_home_assistant(device) for device in scanned]


def _from_home_assistant(device: Any) -> SerialPort:
    """Map a ``usb.USBDevice`` or ``usb.SerialDevice`` (an ESPHome proxy has no USB ids)."""
    vid, pid = getattr(device, "vid", None), getattr(device, "pid", None)
    return SerialPort(
        device.device,
        _label(device.device, device.description, device.serial_number, device.manufacturer, vid, pid),
        usb_id(vid, pid, device.serial_number),
        device.resolved_device or device.device,
    )


def valid_port(port: str) -> bool:
    """Whether a typed port is a device path or a URL the link can open."""
    lowered = port.lower()
    return (
        port.startswith("/")
        or bool(_WINDOWS_PORT.match(port))
        or (lowered.startswith(URL_SCHEMES) and len(port) > lowered.index("://") + 3)
    )
