"""Locate the captures of real meters: the shared ones beside the repository, and our own.

``vector`` reads ``../shared/vectors``; ``own_vector`` and ``own_expectations`` read
``tests/vectors`` (the captures this repository carries, with what their sources assert).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
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


OWN_VECTORS = Path(__file__).resolve().parent / "vectors"
"""The repository's own captures (``tests/vectors``), each cited in its ``SOURCES.md``."""


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a capture's source asserts: values by code, keys, whether it is corrupt."""

    name: str
    family: str
    format: str
    values: dict[str, tuple[str | None, str | None]]
    key: bytes | None = None
    authentication_key: bytes | None = None
    corrupt: bool = False


def own_vector(name: str) -> bytes:
    """Return the bytes of one of the repository's captures."""
    return (OWN_VECTORS / name).read_bytes()


def own_expectations() -> dict[str, Expectation]:
    """Return the asserted values of every capture in ``tests/vectors``, by file name."""
    document = json.loads((OWN_VECTORS / "expected.json").read_text(encoding="utf-8"))
    return {
        name: Expectation(
            name=name,
            family=entry["family"],
            format=entry["format"],
            values={code: (value, unit) for code, (value, unit) in entry["expected"].items()},
            key=bytes.fromhex(entry["key"]) if entry["key"] else None,
            authentication_key=bytes.fromhex(entry["auth_key"]) if entry["auth_key"] else None,
            corrupt=entry["corrupt"],
        )
        for name, entry in document.items()
    }
