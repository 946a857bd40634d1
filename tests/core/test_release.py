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
