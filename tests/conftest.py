"""Shared fixtures: Home Assistant tests load this integration from custom_components."""

from __future__ import annotations

import pytest

# Imported before the hass fixture runs: otherwise Home Assistant resolves
# ``custom_components`` to the test plugin's own package and cannot find the integration.
import custom_components.landis_gyr_optical  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Enable custom integrations in every test that runs Home Assistant (plain tests stay plain)."""
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")
