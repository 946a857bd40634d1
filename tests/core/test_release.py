"""The release metadata agrees with itself: one version, a changelog entry for it, one manifest."""

from __future__ import annotations

import json
from pathlib import Path
import re
import shutil
import subprocess
import tomllib

from awesomeversion import AwesomeVersion

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "custom_components" / "landis_gyr_optical" / "manifest.json"


def test_one_version_with_a_changelog_entry() -> None:
    """manifest.json and pyproject.toml carry the same MAJOR.MINOR.PATCH, and CHANGELOG.md has it."""
    version = json.loads(MANIFEST.read_text(encoding="utf-8"))["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert AwesomeVersion(version).valid
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == version
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.MULTILINE)
    assert f"releases/tag/v{version}" in changelog


def test_the_requirement_is_installable_on_the_oldest_pin() -> None:
    """The serialx requirement starts at 1.7.0 (Home Assistant 2026.5's pin), in pyproject.toml too."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["requirements"] == ["serialx>=1.7.0"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["dependencies"] == manifest["requirements"]
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert AwesomeVersion(hacs["homeassistant"]) == AwesomeVersion("2026.2.0")


def test_the_repository_holds_one_manifest() -> None:
    """The hassfest action validates every manifest.json in the repository: only ours is kept."""
    git = shutil.which("git")
    assert git is not None
    tracked = subprocess.run(
        [git, "ls-files", "--cached", "--others", "--exclude-standard", "*manifest.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked == ["custom_components/landis_gyr_optical/manifest.json"]


GENERIC_BRIDGES = {("0403", "6001"), ("0403", "6015"), ("10C4", "EA60"), ("1A86", "7523"), ("1A86", "55D4")}
"""FTDI FT232R/FT231X, CP2102/CP2104, CH340 and CH9102: inside optical heads and Zigbee sticks alike."""


def claims_generic_sticks(matcher: dict[str, str]) -> bool:
    """Whether a manifest USB matcher would offer every stick built on a generic bridge chip."""
    chip = (matcher.get("vid", "").upper(), matcher.get("pid", "").upper())
    generic = chip in GENERIC_BRIDGES or not matcher.get("pid")
    return generic and not matcher.get("description", "").strip("*")


DISTINCTIVE_HEADS = [
    {"vid": "0403", "pid": "E700"},  # Elster Unicom III optical probe: FTDI's id for Elster (ftdi_sio_ids.h)
    {"vid": "0403", "pid": "F458"},  # Abacus Electrics optical probe: FTDI's id for Abacus (ftdi_sio_ids.h)
]
"""Optical probes with a product id of their own, which the kernel's FTDI driver binds."""


def test_usb_matchers_only_for_distinctive_heads() -> None:
    """No matcher claims a bare chip; the heads with ids of their own are matched."""
    assert claims_generic_sticks({"vid": "0403", "pid": "6001"})
    assert claims_generic_sticks({"vid": "10C4"})
    assert claims_generic_sticks({"vid": "1a86", "pid": "7523", "description": "*"})
    assert not claims_generic_sticks({"vid": "0403", "pid": "6001", "description": "*optical head*"})
    matchers = json.loads(MANIFEST.read_text(encoding="utf-8")).get("usb", [])
    assert not [matcher for matcher in matchers if claims_generic_sticks(matcher)]
    assert matchers == DISTINCTIVE_HEADS  # see quality_scale.yaml, discovery
