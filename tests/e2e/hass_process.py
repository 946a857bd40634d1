"""A real Home Assistant process with the integration installed the way HACS installs it.

``HassProcess`` builds a configuration directory (the integration copied to
``custom_components/landis_gyr_optical``, a minimal ``configuration.yaml``), starts ``hass``
through ``scripts/hass_launcher.py`` on a free port, waits for HTTP, and keeps the log.
Onboarding, tokens and the APIs are in ``hass_client``; this module needs no event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import ctypes
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Self
import urllib.error
import urllib.request

REPO_ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "landis_gyr_optical"
INTEGRATION_SOURCE = REPO_ROOT / "custom_components" / DOMAIN
LAUNCHER = REPO_ROOT / "scripts" / "hass_launcher.py"
SUPPORT_COMPONENTS = Path(__file__).resolve().parent / "support"
"""Test-only integrations copied next to ours, each with its manifest from ``SUPPORT_MANIFESTS``."""
SUPPORT_MANIFESTS: dict[str, dict[str, object]] = {
    "statistics_compiler": {
        "domain": "statistics_compiler",
        "name": "Statistics compiler (end-to-end tests only)",
        "codeowners": [],
        "dependencies": ["recorder"],
        "documentation": "https://www.home-assistant.io/integrations/recorder/",
        "iot_class": "local_push",
        "requirements": [],
        "version": "1.0.0",
    },
}
"""Written when a test instance is prepared, not kept in the repository: hassfest validates every
``manifest.json`` it finds there, and these are no integrations of ours."""

START_TIMEOUT = 90.0
"""Seconds for Home Assistant to answer HTTP (a first start may install the frontend)."""
STOP_TIMEOUT = 30.0
LOG_TAIL_LINES = 60

ONBOARDING_STEPS_DONE_BEFORE_START = ("core_config", "analytics", "integration")
"""Onboarding steps marked done in storage: only the owner account is created over REST.

Finishing ``core_config`` over REST would set up integrations that reach for the internet
(weather, radio, text-to-speech); the user step is the one that matters here and, being the
last one left, completes onboarding so the frontend opens normally.
"""

_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (?P<level>[A-Z]+) \((?P<thread>[^)]*)\) \[(?P<logger>[^\]]+)\] "
)


def configuration_yaml(port: int, recorder_db: Path) -> str:
    """The minimal configuration: HTTP, API, config, energy, recorder on SQLite, frontend."""
    return f"""\
homeassistant:
  name: Meter test home
  latitude: 52.3731
  longitude: 4.8922
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: NL
  language: en

http:
  server_host: 127.0.0.1
  server_port: {port}

api:
config:
energy:
frontend:
onboarding:
repairs:
recorder:
  db_url: sqlite:///{recorder_db}
  commit_interval: 1

statistics_compiler:

logger:
  default: warning
  logs:
    custom_components.{DOMAIN}: debug
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def install_integration(config_dir: Path, source: Path = INTEGRATION_SOURCE, *, link: bool = False) -> Path:
    """Put the integration into ``custom_components/`` (a copy, like HACS; or a symlink)."""
    target = config_dir / "custom_components" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    if link:
        target.symlink_to(source, target_is_directory=True)
    else:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def prepare_config_dir(config_dir: Path, port: int) -> None:
    """Write everything Home Assistant needs to start the test instance."""
    config_dir.mkdir(parents=True, exist_ok=True)
    install_integration(config_dir)
    for name, manifest in SUPPORT_MANIFESTS.items():
        target = install_integration(config_dir, SUPPORT_COMPONENTS / name)
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (config_dir / "configuration.yaml").write_text(
        configuration_yaml(port, config_dir / "home-assistant_v2.db"), encoding="utf-8"
    )
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    onboarding = {
        "version": 4,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": list(ONBOARDING_STEPS_DONE_BEFORE_START)},
    }
    (storage / "onboarding").write_text(json.dumps(onboarding), encoding="utf-8")


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies, even if it is killed.

    Without this, a test run killed by a timeout leaves Home Assistant running.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def hass_environment() -> dict[str, str]:
    """The environment of the ``hass`` process: the repository is *not* importable in it.

    The integration must load from the configuration directory only, as it does for a user.
    """
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONHOME"}}
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TZ", "UTC")
    return env


@dataclass(slots=True)
class LogLine:
    """One record of the Home Assistant log, with its traceback lines."""

    level: str
    logger: str
    text: str


@dataclass
class HassProcess:
    """One running Home Assistant; ``start()``/``stop()`` or use it as a context manager."""

    config_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0
    _log_file: Path = field(init=False)

    def __post_init__(self) -> None:
        """Pick the port and the log file."""
        self.port = self.port or free_port()
        self._log_file = self.config_dir / "hass-process.log"

    @property
    def url(self) -> str:
        """Base URL of the HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of ``hass``."""
        assert self.process is not None
        return self.process.pid

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Prepare the configuration, start ``hass`` and wait until HTTP answers."""
        prepare_config_dir(self.config_dir, self.port)
        command = [sys.executable, str(LAUNCHER), "--config", str(self.config_dir), "--log-no-color"]
        started = time.monotonic()
        with self._log_file.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=hass_environment(),
                cwd=self.config_dir,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - async-signal-safe: one prctl call
            )
        self._wait_for_http(started + START_TIMEOUT)
        self.started_in = time.monotonic() - started

    def _wait_for_http(self, deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/onboarding", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            # Waiting on the process doubles as the pause between two attempts.
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.process.wait(timeout=0.3)
                raise RuntimeError(
                    f"Home Assistant exited with code {code} while starting\n{self.log_tail()}"
                )
        raise TimeoutError(
            f"Home Assistant did not answer HTTP within {START_TIMEOUT:.0f} s\n{self.log_tail()}"
        )

    def stop(self) -> int | None:
        """Stop ``hass`` like a service manager does (SIGTERM, then SIGKILL) and return its exit code."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            raise TimeoutError(
                f"Home Assistant did not stop within {STOP_TIMEOUT:.0f} s\n{self.log_tail()}"
            ) from None

    def __enter__(self) -> Self:
        """Start."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    # --- log ------------------------------------------------------------------------------------

    @property
    def log_file(self) -> Path:
        """Everything the process wrote (its log records and any traceback)."""
        return self._log_file

    def log_text(self, since: int = 0) -> str:
        """The log from byte offset ``since``."""
        with self._log_file.open("rb") as log:
            log.seek(since)
            return log.read().decode("utf-8", "replace")

    def log_offset(self) -> int:
        """The current end of the log, to look only at what comes later."""
        return self._log_file.stat().st_size

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the log, for failure messages."""
        text = self.log_text() if self._log_file.exists() else ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {self._log_file} ---\n{tail}"

    def records(self, since: int = 0) -> Iterator[LogLine]:
        """The log records from ``since``, traceback lines attached to their record."""
        current: LogLine | None = None
        for line in self.log_text(since).splitlines():
            match = _LOG_LINE.match(line)
            if match:
                if current is not None:
                    yield current
                current = LogLine(match["level"], match["logger"], line)
            elif current is not None:
                current.text += "\n" + line
            elif line.strip():
                current = LogLine("OUTPUT", "", line)
        if current is not None:
            yield current

    def errors(self, since: int = 0, *, about: str | None = DOMAIN) -> list[LogLine]:
        """ERROR and CRITICAL records (and stray tracebacks), only those mentioning ``about`` if given."""
        found = []
        for record in self.records(since):
            serious = (
                record.level in {"ERROR", "CRITICAL"} or "Traceback (most recent call last)" in record.text
            )
            if serious and (about is None or about in record.text):
                found.append(record)
        return found
