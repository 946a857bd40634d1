"""The serial ports the flow offers: scanned ports with labels a person recognises, typed ports checked."""

from __future__ import annotations

from dataclasses import dataclass
import re

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
