"""MkDocs hook of the live preview only (``sku-survey serve``): a build never reads a half-staged folder.

The preview's watcher thread re-stages the docs on every edit, and MkDocs' own watcher starts
a build at the first file it sees change, while the others are still being written: it built
pages from a mix of the old and the new catalogue, then built again. The build now takes the
lock the staging holds (``extra.preview_lock``, the build lock) from its first event to its
last, so it waits until the docs are whole. MkDocs runs these events in the thread that
builds; the lock is a file lock, which two threads of one process contend for like two
processes.

It also hands MkDocs' server to the preview's thread (on_serve), so that a build starts the
moment the staging is done instead of at MkDocs' next look at the folder.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO, Any

_held: IO[str] | None = None


def on_pre_build(config: Any) -> None:
    global _held
    lock = config["extra"].get("preview_lock")
    if not lock or _held is not None:
        return
    handle = Path(lock).open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    _held = handle


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    """Hand the server to the preview's thread, which starts each build as soon as the docs
    are staged (generator/serve.py); MkDocs' own watcher then need not poll the docs."""
    from generator import serve

    if serve.attach(server):
        server.unwatch(config["docs_dir"])
    return server


def _release() -> None:
    global _held
    if _held is not None:
        fcntl.flock(_held, fcntl.LOCK_UN)
        _held.close()
        _held = None


def on_post_build(config: Any) -> None:
    _release()


def on_build_error(error: Exception) -> None:
    _release()
