"""The browser tests' one Chromium per module (tests/chromium.py says which and how)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chromium import launched


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with launched() as chromium:
        yield chromium
