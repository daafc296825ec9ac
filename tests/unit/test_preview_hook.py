"""The live preview's builds wait for the staging (generator/preview_hook.py)."""

from __future__ import annotations

import threading
from pathlib import Path

from generator import preview_hook
from generator.files import exclusive


def test_a_preview_build_waits_while_the_docs_are_being_staged(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    config = {"extra": {"preview_lock": str(lock)}}
    started = threading.Event()

    def build() -> None:
        preview_hook.on_pre_build(config)
        started.set()
        preview_hook.on_post_build(config)

    with exclusive(lock):  # the watcher thread, staging
        builder = threading.Thread(target=build)
        builder.start()
        assert not started.wait(0.5), "the build started while the docs were being staged"
    assert started.wait(30), "the build did not start once the staging was done"
    builder.join(30)
    with exclusive(lock):  # and it let go of the lock at the end of the build
        pass


def test_a_failed_build_lets_go_of_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    preview_hook.on_pre_build({"extra": {"preview_lock": str(lock)}})
    preview_hook.on_build_error(RuntimeError("a page failed"))
    done = threading.Event()

    def stage() -> None:
        with exclusive(lock):
            done.set()

    threading.Thread(target=stage).start()
    assert done.wait(30)


def test_outside_the_preview_the_hook_does_nothing(tmp_path: Path) -> None:
    preview_hook.on_pre_build({"extra": {}})
    assert preview_hook._held is None
