"""The one contract of every cache and report the tool keeps under ``.cache/``.

A cache only saves work: reading one that is missing gives ``None`` quietly; reading one that
is damaged, truncated, foreign or of an older format gives ``None`` too, deletes the file and
logs ONE warning naming it, and the caller makes the value again. Saving goes through the
atomic writer, so an interrupted run leaves the old file or the new one, never half of one.

A long-lived process (the live preview) may ask for what it reads and saves to be kept in
memory (``remembering``): a file whose stat is the one it had when it was read or saved is
then not read and decoded again. Only reads that say ``remember=True`` are kept: their
callers never change the value they get.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from generator.files import write_atomic

log = logging.getLogger("sku_survey")

T = TypeVar("T")

# path -> (the file's stat when read or saved, its decoder, the decoded value); None: off
_remembered: dict[Path, tuple[tuple[int, int, int], Callable[[bytes], Any], Any]] | None = None

# What a decoder raises on bytes it cannot use: bad JSON or marshal data, a missing key, a
# value of the wrong type, or a format stamp that is not this version's (raise ValueError).
DAMAGED = (ValueError, TypeError, KeyError, IndexError, EOFError, AttributeError)


class StaleFormat(ValueError):
    """The file was written by another version of the tool (or is not one of its files)."""


def read_cache(
    path: Path, decode: Callable[[bytes], T], what: str, warn: Callable[[str], None] = log.warning, *, remember: bool = False
) -> T | None:
    """``decode(bytes of path)``, or ``None`` when there is nothing usable (see the module
    docstring). ``warn`` gets the one warning; by default it goes to the tool's log, which
    the CLI prints (the link checker hands it to its own report instead). ``remember``: the
    caller never changes the value, so it may be kept in memory (see the module docstring)."""
    signature = _signature(path) if remember and _remembered is not None else None
    if signature is not None and _remembered is not None:
        hit = _remembered.get(path)
        if hit is not None and hit[0] == signature and hit[1] is decode:
            return hit[2]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        warn(f"{path}: cannot read the {what} ({err.strerror or err}); making it again")
        return None
    try:
        value = decode(raw)
    except DAMAGED as err:
        reason = "written by another version" if isinstance(err, StaleFormat) else "damaged or truncated"
        warn(f"{path}: the {what} is {reason}; discarded, it will be made again")
        path.unlink(missing_ok=True)
        return None
    if signature is not None and _remembered is not None:
        # the stat from before the read: a file replaced meanwhile is read again next time
        _remembered[path] = (signature, decode, value)
    return value


def save_cache(path: Path, data: bytes, remember: tuple[Callable[[bytes], T], T] | None = None) -> None:
    """Write ``data``; ``remember``: the decoder that reads it and the value it gives, kept
    when reads are remembered (else the file is read again the next time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    if _remembered is not None:
        _remembered.pop(path, None)
        signature = _signature(path)
        if remember is not None and signature is not None:
            _remembered[path] = (signature, remember[0], remember[1])


def is_remembering() -> bool:
    """Whether this process keeps what it makes between builds (the live preview does)."""
    return _remembered is not None


def keep_in_memory(path: Path, decode: Callable[[bytes], T], value: T) -> bool:
    """Instead of saving: while reads are remembered, let the next remembered read of
    ``path`` give ``value`` (the file stays as it is); False when not remembering, or
    there is no file: then save it. For a cache that only saves time, whose file a
    long-lived process need not keep up to date."""
    signature = _signature(path) if _remembered is not None else None
    if signature is None or _remembered is None:
        return False
    _remembered[path] = (signature, decode, value)
    return True


def recall(path: Path, decode: Callable[[bytes], T]) -> T | None:
    """What ``keep_in_memory`` or a remembered read last kept for ``path`` with this
    ``decode``, if the file's stat is unchanged since; never reads the file."""
    hit = _remembered.get(path) if _remembered is not None else None
    if hit is None or hit[1] is not decode or hit[0] != _signature(path):
        return None
    return hit[2]


@contextlib.contextmanager
def remembering() -> Iterator[None]:
    """Keep what is read and saved in memory while inside (see the module docstring)."""
    global _remembered
    before, _remembered = _remembered, {} if _remembered is None else _remembered
    try:
        yield
    finally:
        _remembered = before


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
