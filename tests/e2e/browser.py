"""Debian's Chromium driven by Playwright (no browser download), and screenshots for the docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
import os
from pathlib import Path
import shutil

from PIL import Image
from playwright.async_api import Browser, async_playwright

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
"""Flags for a closed network and a container: no background traffic, no sandbox, no GPU."""
VIEWPORT = {"width": 1280, "height": 800}
DOCS_WIDTH = 960
"""Width of the screenshots committed under docs/ (scaled down from the viewport)."""
DOCS_COLOURS = 128


def chromium_path() -> str | None:
    """Path of the system Chromium (``$CHROMIUM`` first), ``None`` when there is none."""
    for candidate in (os.environ.get("CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextlib.asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Browser]:
    """A headless Chromium with a fresh profile (Playwright gives each launch a new one)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            await browser.close()


def shrink_for_docs(source: Path, target: Path) -> int:
    """Scale a screenshot to ``DOCS_WIDTH`` and reduce it to a palette PNG; returns its size."""
    with Image.open(source) as image:
        width = min(DOCS_WIDTH, image.width)
        height = round(image.height * width / image.width)
        small = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        palette = small.quantize(
            colors=DOCS_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        palette.save(target, optimize=True)
    return target.stat().st_size
