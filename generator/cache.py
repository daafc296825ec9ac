"""The one contract of every cache and report the tool keeps under ``.cache/``.

A cache only saves work: reading one that is missing gives ``None`` quietly; reading one that
is damaged, truncated, foreign or of an older format gives ``None`` too, deletes the file and
logs ONE warning naming it, and the caller makes the value again. Saving goes through the
atomic writer, so an interrupted run leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from generator.files import write_atomic

log = logging.getLogger("sku_survey")

T = TypeVar("T")

# What a decoder raises on bytes it cannot use: bad JSON or marshal data, a missing key, a
# value of the wrong type, or a format stamp that is not this version's (raise ValueError).
DAMAGED = (ValueError, TypeError, KeyError, IndexError, EOFError, AttributeError)


class StaleFormat(ValueError):
    """The file was written by another version of the tool (or is not one of its files)."""


def read_cache(path: Path, decode: Callable[[bytes], T], what: str, warn: Callable[[str], None] = log.warning) -> T | None:
    """``decode(bytes of path)``, or ``None`` when there is nothing usable (see the module
    docstring). ``warn`` gets the one warning; by default it goes to the tool's log, which
    the CLI prints (the link checker hands it to its own report instead)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        warn(f"{path}: cannot read the {what} ({err.strerror or err}); making it again")
        return None
    try:
        return decode(raw)
    except DAMAGED as err:
        reason = "written by another version" if isinstance(err, StaleFormat) else "damaged or truncated"
        warn(f"{path}: the {what} is {reason}; discarded, it will be made again")
        path.unlink(missing_ok=True)
        return None


def save_cache(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
