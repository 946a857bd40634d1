"""Run Home Assistant (``hass``) with the given arguments, also on Python 3.13.0 and 3.13.1.

Home Assistant 2026.2 refuses to start below Python 3.13.2 although it runs on every 3.13
release. This launcher lowers that floor to the running interpreter (3.13.x only) and then runs
the ``homeassistant`` package as ``__main__``, exactly like the ``hass`` command does::

    python scripts/hass_launcher.py --config config --debug
"""

from __future__ import annotations

import runpy
import sys

import homeassistant.const as ha_const

LOWEST_SUPPORTED = (3, 13, 0)
"""Oldest interpreter this launcher lets through; older ones get Home Assistant's own message."""


def lower_python_floor() -> None:
    """Accept the running 3.13 interpreter even when Home Assistant asks for a later patch."""
    running = tuple(sys.version_info[:3])
    if LOWEST_SUPPORTED <= running < ha_const.REQUIRED_PYTHON_VER:
        ha_const.REQUIRED_PYTHON_VER = running  # type: ignore[misc]


def main() -> None:
    """Start Home Assistant with this process's arguments."""
    lower_python_floor()
    sys.argv[0] = "hass"
    runpy.run_module("homeassistant", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
