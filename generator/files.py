"""Writing files so that a crash never leaves half of one, and cleaning what a crash left.

Every stage that writes uses ``write_atomic``. Its temporary files, and the folders a build
makes beside the site, are named so that ``remove_leftovers`` can find them after a kill;
``exclusive`` keeps a second run from removing what a live one is still writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

TEMP_SUFFIX = ".tmp"

FILE_MODE = 0o644  # mkstemp makes 0600 files; the site is served to everyone


def write_atomic(path: Path, data: bytes, *, mode: int = FILE_MODE, durable: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    ``durable`` also flushes it to disk first: for the contributor's own files, not caches.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class AtomicFile:
    """A file written in pieces and put in place whole, for bodies too large to hold in memory.

    The pieces go to a temporary file in ``folder`` (named as ``write_atomic`` names its own,
    so ``remove_leftovers`` finds it after a kill); ``commit`` renames it over its target, which
    may be chosen only once everything is written (a name made of the content's hash). Leaving
    the ``with`` block without a commit deletes it.
    """

    def __init__(self, folder: Path, hint: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{hint}.", suffix=TEMP_SUFFIX)
        self.path = Path(tmp)  # where the bytes are until the commit; readable after close()
        self._out = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data: bytes) -> None:
        self._out.write(data)

    def close(self) -> None:
        self._out.close()

    def commit(self, path: Path, *, mode: int = FILE_MODE) -> None:
        self._out.close()
        os.chmod(self.path, mode)
        os.replace(self.path, path)
        self._done = True

    def discard(self) -> None:
        self._out.close()
        if not self._done:
            self.path.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.discard()


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an advisory lock for as long as the block runs; a second holder waits.

    The kernel drops the lock when the process dies, so a killed run never blocks the next.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_leftovers(folder: Path, dir_patterns: tuple[str, ...] = (), *, temporaries: bool = True) -> int:
    """Delete what interrupted writers left under ``folder``: the folders directly in it that
    match ``dir_patterns`` and (``temporaries``) ``write_atomic``'s temporary files anywhere
    below it. Call it only while holding the lock those writers take. Returns how many."""
    removed = 0
    if not folder.is_dir():
        return removed
    for pattern in dir_patterns:
        for path in folder.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    for parent, _, names in os.walk(folder) if temporaries else ():
        for name in names:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                Path(parent, name).unlink(missing_ok=True)
                removed += 1
    return removed
