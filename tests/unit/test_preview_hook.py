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
    try:
        with serve._remembering_theme_files():
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
        assert Files.add_files_from_theme is counted, "the preview left MkDocs' listing patched"
    finally:
        Files.add_files_from_theme = original  # type: ignore[method-assign]


def test_a_preview_rebuild_copies_what_the_staging_changed_and_lists_again_when_a_file_comes(tmp_path: Path) -> None:
    """The ledger (serve._DocsLedger) against a real MkDocs build: once MkDocs has copied
    everything its own way, a rebuild copies the files the staging says it wrote and no
    other (and keeps the last sitemap: the same pages); a file that came makes it list the
    folder again; distrusted, it is MkDocs' way."""
    import os

    import mkdocs.commands.build as mkdocs_build
    from mkdocs.config import load_config

    from generator import serve
    from generator.model import Lang
    from generator.staging import StagedDocs

    docs, site = tmp_path / "docs", tmp_path / "site"
    (docs / "assets").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\n")
    src = {name: docs / "assets" / name for name in ("a.txt", "b.txt", "c.txt")}
    src["a.txt"].write_text("a1")
    src["b.txt"].write_text("b1")

    def build() -> None:
        mkdocs_build.build(load_config(str(tmp_path / "mkdocs.yml"), docs_dir=str(docs), site_dir=str(site)), dirty=True)

    def rewrite(name: str, text: str) -> None:
        src[name].write_text(text)
        later = src[name].stat().st_mtime + 10  # newer than any copy, whatever the clock's grain
        os.utime(src[name], (later, later))

    def staged(*names: str, came: bool = False) -> None:
        touched = frozenset(f"en/assets/{n}" for n in names)
        serve._ledger.staged(StagedDocs(tmp_path, {Lang.EN: docs}, 1, len(names), touched=touched, files_came_or_went=came), Lang.EN)

    def served(name: str) -> str | None:
        path = site / "assets" / name
        return path.read_text() if path.exists() else None

    original = mkdocs_build.get_files
    with serve._following_the_ledger():
        build()  # not trusted yet: MkDocs lists and copies everything
        assert (served("a.txt"), served("b.txt")) == ("a1", "b1")

        rewrite("a.txt", "a2")
        staged("a.txt")
        rewrite("b.txt", "b2")  # behind the staging's back: MkDocs alone would copy it
        sitemap = site / "sitemap.xml"
        sitemap.unlink()
        build()
        assert (served("a.txt"), served("b.txt")) == ("a2", "b1")
        assert not sitemap.exists(), "the same pages, yet the sitemap was made again"

        rewrite("c.txt", "c1")
        staged("c.txt", came=True)
        build()
        assert served("c.txt") == "c1" and sitemap.exists()

        serve._ledger.distrust()  # a failed staging or a full build: MkDocs' own way again
        build()
        assert served("b.txt") == "b2"
    assert mkdocs_build.get_files is original
