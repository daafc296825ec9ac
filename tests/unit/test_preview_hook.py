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


def test_the_preview_starts_mkdocs_builds_itself_and_mkdocs_stops_polling_the_docs(tmp_path: Path) -> None:
    """With the pinned MkDocs, the server hands over its trigger: a request wakes its build
    loop at once, and MkDocs no longer watches the docs folder (the preview stages it)."""
    from mkdocs.livereload import LiveReloadServer

    from generator import serve

    docs = tmp_path / "docs"
    docs.mkdir()
    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0, root=str(tmp_path))
    server.watch(str(docs))
    try:
        preview_hook.on_serve(server, {"docs_dir": str(docs)}, None)
        assert str(docs) not in server._watched_paths
        woken = threading.Event()

        def build_loop() -> None:
            with server._rebuild_cond:
                if server._rebuild_cond.wait_for(lambda: server._want_rebuild, timeout=30):
                    woken.set()

        waiter = threading.Thread(target=build_loop)
        waiter.start()
        assert serve._request_build()
        waiter.join(30)
        assert woken.is_set()
    finally:
        serve.attach(None)
        server.server_close()
    assert not serve._request_build()  # no preview running: nothing to wake


def test_the_preview_lists_the_theme_once_and_the_overrides_every_time(tmp_path: Path) -> None:
    from mkdocs.config import load_config
    from mkdocs.structure.files import Files

    from generator import serve

    overrides = tmp_path / "overrides"
    (overrides / "assets").mkdir(parents=True)
    (overrides / "assets" / "one.css").write_text("a{}")
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(f"site_name: t\ntheme:\n  name: material\n  custom_dir: {overrides}\n")
    config = load_config(str(tmp_path / "mkdocs.yml"))
    env = config.theme.get_env()
    original = Files.add_files_from_theme
    expected = Files([])
    original(expected, env, config)
    listings = []

    def counted(self: Files, env: object, config: object) -> None:
        listings.append(1)
        original(self, env, config)

    Files.add_files_from_theme = counted  # type: ignore[method-assign]
    serve._remember_theme_files()
    try:
        listed, twice = Files([]), Files([])
        Files.add_files_from_theme(listed, env, config)
        Files.add_files_from_theme(twice, env, config)
        assert len(listings) == 1, "the theme was listed again"
        for files in (listed, twice):
            assert sorted((f.src_uri, f.abs_src_path) for f in files) == sorted((f.src_uri, f.abs_src_path) for f in expected)
        assert "assets/one.css" in {f.src_uri for f in listed}
        (overrides / "assets" / "two.css").write_text("b{}")
        again = Files([])
        Files.add_files_from_theme(again, env, config)
        assert "assets/two.css" in {f.src_uri for f in again} and len(listings) == 2
    finally:
        Files.add_files_from_theme = original  # type: ignore[method-assign]
