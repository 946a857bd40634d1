"""The probe's verdicts in the user's language, and what an entry keeps of the detection that made it.

The flow shows every attempt of a detection as one line (what was tried, what came of it),
rendered from the keys of ``meter.verdicts`` with the translations of Home Assistant's
language. The entry stores the same keys, placeholders and bytes, which the diagnostics show
with the meter's serial numbers, passwords and the port redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN
from .meter.probe import ProbeAttempt, ProbeReport
from .meter.verdicts import ATTEMPT_PLACEHOLDERS, AttemptName, Verdict

ATTEMPT_SELECTOR: Final = "probe_attempt"
"""Translations of what an attempt tried: ``selector.probe_attempt.options.<AttemptName>``."""
FINDING_SELECTOR: Final = "probe_finding"
"""Translations of what came of it: ``selector.probe_finding.options.<FindingKey>``."""
HEADING: Final = "heading"
"""The line above the attempts, beside the attempt names."""
MAX_BYTES: Final = 512
"""Bytes of each direction an entry keeps per attempt."""
REDACTED: Final = "**REDACTED**"

type Render = Callable[[Verdict], str]


async def async_renderer(hass: HomeAssistant) -> tuple[Render, str]:
    """Return a function that says a verdict in Home Assistant's language, and the attempts' heading."""
    strings = await async_get_translations(hass, hass.config.language, "selector", {DOMAIN})
    prefix = f"component.{DOMAIN}.selector"

    def render(verdict: Verdict) -> str:
        section = ATTEMPT_SELECTOR if isinstance(verdict.key, AttemptName) else FINDING_SELECTOR
        template = strings.get(f"{prefix}.{section}.options.{verdict.key}")
        values = {**dict.fromkeys(ATTEMPT_PLACEHOLDERS, ""), **verdict.placeholders}
        return verdict.text if template is None else template.format_map(values)

    heading = strings.get(f"{prefix}.{ATTEMPT_SELECTOR}.options.{HEADING}", "")
    return render, heading


def placeholders(verdict: Verdict, render: Render) -> dict[str, str]:
    """Return a verdict's placeholders, with what it tried said in the same language."""
    out = dict(verdict.placeholders)
    if verdict.tried:
        out["tried"] = "; ".join(render(name) for name in verdict.tried)
    return out


def attempt_lines(attempts: Sequence[ProbeAttempt], render: Render, heading: str) -> str:
    """Return the attempts as a list under the heading (empty when there were none)."""
    if not attempts:
        return ""
    lines = (f"- {render(attempt.label)}: {render(attempt.finding)}" for attempt in attempts)
    return f"\n\n{heading}\n" + "\n".join(lines)


def probe_record(report: ProbeReport) -> dict[str, Any]:
    """Return what an entry keeps of the probe that found its meter: keys, placeholders, bytes as hex."""
    return {
        "summary": report.outcome.as_dict(),
        "attempts": [
            {
                "name": attempt.label.as_dict(),
                "verdict": attempt.finding.as_dict(),
                "ok": attempt.ok,
                "error": None if attempt.error is None else attempt.error.key,
                "duration": round(attempt.duration, 3),
                "sent": attempt.sent[:MAX_BYTES].hex(),
                "received": attempt.received[:MAX_BYTES].hex(),
                "received_bytes": len(attempt.received),
            }
            for attempt in report.attempts
        ],
    }


def redact_hex(data: str, secrets: Iterable[str]) -> str:
    """Return stored hex with every secret's bytes replaced by the redaction mark."""
    raw = bytes.fromhex(data)
    marks = [secret.encode() for secret in secrets if secret]
    parts: list[str] = []
    start = 0
    while True:
        hits = [(at, mark) for mark in marks if (at := raw.find(mark, start)) >= 0]
        if not hits:
            break
        at, secret = min(hits, key=lambda hit: (hit[0], -len(hit[1])))
        parts += [raw[start:at].hex(), REDACTED]
        start = at + len(secret)
    parts.append(raw[start:].hex())
    return " ".join(part for part in parts if part)


def _redacted_verdict(stored: Mapping[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    return {
        "key": stored.get("key"),
        "placeholders": {
            name: REDACTED if name in ("port", "address") else redact(str(value))
            for name, value in stored.get("placeholders", {}).items()
        },
    }


def redacted_probe(stored: Mapping[str, Any] | None, secrets: set[str]) -> dict[str, Any] | None:
    """Return the stored probe for diagnostics: secrets out of the placeholders and the bytes."""
    if not stored:
        return None
    ordered = sorted((secret for secret in secrets if secret), key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in ordered:
            text = text.replace(secret, REDACTED)
        return text

    return {
        "summary": _redacted_verdict(stored.get("summary", {}), redact),
        "attempts": [
            {
                **attempt,
                "name": _redacted_verdict(attempt.get("name", {}), redact),
                "verdict": _redacted_verdict(attempt.get("verdict", {}), redact),
                "sent": redact_hex(attempt.get("sent", ""), ordered),
                "received": redact_hex(attempt.get("received", ""), ordered),
            }
            for attempt in stored.get("attempts", [])
        ],
    }
