"""Locate the shared captures of real meters (``shared/vectors`` beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
"""The vector directory: ``../shared/vectors`` relative to the repository root."""


def vector(name: str) -> bytes:
    """Return the bytes of one vector file; skip the test when the vectors are absent."""
    if not VECTORS.is_dir():
        pytest.skip(
            f"vector directory {VECTORS} not found (the shared/ checkout belongs beside the repository)"
        )
    return (VECTORS / name).read_bytes()


def vector_names(pattern: str) -> list[str]:
    """Return the names of the vector files matching ``pattern`` (empty when absent)."""
    if not VECTORS.is_dir():
        return []
    return sorted(path.name for path in VECTORS.glob(pattern))
