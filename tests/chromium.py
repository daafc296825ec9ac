"""Debian's Chromium for the browser tests and benchmarks: where it is, how it starts, and
what a machine without it does (a failure in CI, a skip on a workstation)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # never a browser downloaded by Playwright
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing(what: str) -> None:
    """In CI a missing browser or axe-core is a failure; on a workstation, a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing (run ./dev test, which installs it)")
    pytest.skip(f"{what} is missing (run ./dev test, which installs it)")


@contextmanager
def launched() -> Iterator[object]:
    """A running headless Chromium (Playwright's Browser), closed afterwards."""
    if not CHROMIUM.exists():
        missing(str(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
