"""Live preview: ``mkdocs serve`` on one language while a thread re-stages on every edit.

Input: a ``Project``, the language and the address to serve on. Output: none until the
server stops. A data error keeps the server running: it is reported to the terminal and
shown in a banner on every page, over the last valid pages.

Only the served language is staged, and MkDocs rebuilds only the pages whose staged Markdown
changed (a dirty build; search_hook.py merges the search index), so a one-dataset edit
shows in about the time it takes to stage it. The thread starts each MkDocs build itself
once the staging is done (see "MkDocs' side of the preview" below). When the templates, the
config or the page list change, or the error banner appears or goes, it asks for a full
build: it writes the marker file the hook reads, then starts the build (or, where MkDocs'
server could not be handed over, touches the home page for MkDocs' watcher to see).

The process keeps what an edit did not touch in memory (``cache.remembering``): the checked
models of unchanged datasets, what is made from each, and the caches' files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from markupsafe import escape

from generator.cache import remembering
from generator.engine import write_language_config
from generator.errors import BuildError
from generator.files import exclusive, write_atomic
from generator.model import Lang
from generator.project import Project
from generator.site import LOCK_FILE, BuildOptions, stage
from generator.staging import StagedDocs, write_banner
from generator.strings import t

SERVE_POLL_SECONDS = 0.1  # a stat of the data file and site_src/ (15 files) each time: about 1 ms
SERVE_SETTLE_SECONDS = 0.05  # a change is staged once the files have not changed for this long
SERVE_SITE_DIR = "serve-site"  # in the cache folder: mkdocs serve builds there, never in site/
FULL_BUILD_FILE = "preview-full-build"  # beside the docs folders: its presence asks for a full build


def _watched_state(project: Project) -> tuple[tuple[str, int, int], ...]:
    paths = [project.data_file, project.mkdocs_yml, *sorted(p for p in project.site_src.rglob("*") if p.is_file())]
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _problems_banner(err: BuildError, lang: Lang) -> str:
    lines = [p.render(lang.value) for p in err.problems] or [str(err)]
    return (
        f'<div class="validation-errors" role="alert"><strong>{escape(t("banner_data_errors", lang))}</strong>\n'
        f"<pre>{escape(chr(10).join(lines))}</pre></div>\n"
    )


def _tree_state(folder: Path, pattern: str = "*") -> frozenset[tuple[str, int, int]]:
    out = set()
    for p in folder.rglob(pattern):
        try:
            st = p.stat()
        except OSError:
            continue
        out.add((p.relative_to(folder).as_posix(), st.st_mtime_ns, st.st_size))
    return frozenset(out)


class _QuietDirtyWarning(logging.Filter):
    """MkDocs warns on every dirty build, and strict mode makes a warning a failed build; the
    preview builds dirty on purpose (its search index is merged by search_hook.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


def serve_site(
    project: Project,
    options: BuildOptions,
    lang: Lang,
    dev_addr: str,
    report: Callable[[str], None],
) -> None:
    """Stage, then serve ``lang`` at ``dev_addr`` until interrupted (see the module docstring)."""
    with remembering():  # a long-lived process: its caches' files need not be read again
        _serve(project, options, lang, dev_addr, report)


def _serve(project: Project, options: BuildOptions, lang: Lang, dev_addr: str, report: Callable[[str], None]) -> None:
    from mkdocs.commands.serve import serve

    lock = project.cache_dir / LOCK_FILE
    with exclusive(lock):
        staged = stage(project, options, langs=(lang,))
    marker = staged.docs.root / FULL_BUILD_FILE
    marker.unlink(missing_ok=True)  # the first build is a full one anyway
    docs = staged.docs.docs[lang]
    # mkdocs serve mounts the site at site_url's path; the preview lives at the root of dev_addr
    config_file = write_language_config(
        project, staged.docs, staged.cards, lang, project.cache_dir / SERVE_SITE_DIR, f"http://{dev_addr}/", preview_marker=marker, preview_lock=lock
    )
    stop = threading.Event()

    def ask_for_full_build() -> None:
        _ledger.distrust()  # the site folder is emptied: MkDocs lists and copies everything
        write_atomic(marker, b"")
        if not _request_build():
            home = docs / "index.md"
            if home.exists():
                os.utime(home)  # a change MkDocs' watcher sees, made after the marker is there

    def watch() -> None:
        state = _watched_state(project)
        pages = staged.docs.page_paths
        while not stop.wait(SERVE_POLL_SECONDS):
            now = _watched_state(project)
            if now == state:
                continue
            # an editor that writes in place leaves the file empty or half-written for a
            # moment: stage once it has stopped changing
            while not stop.wait(SERVE_SETTLE_SECONDS) and (settled := _watched_state(project)) != now:
                now = settled
            state = now
            written, now_pages, theme_changed = 0, pages, False
            try:
                with exclusive(lock):  # MkDocs' build holds it too: the ledger is read whole
                    try:
                        result = stage(project, options, langs=(lang,))
                    except BaseException:
                        _ledger.distrust()  # a staging that failed may have written some files
                        raise
                    _ledger.staged(result.docs, lang)
                written, now_pages, theme_changed = result.docs.files_written, result.docs.page_paths, result.docs.theme_changed
                report(f"rebuilt: {written} staged file(s) changed")
            except BuildError as err:
                for line in (str(p) for p in err.problems) or [str(err)]:
                    report(line)
                theme_changed = write_banner(staged.docs.root, _problems_banner(err, lang))
            except Exception as err:  # noqa: BLE001 - this thread is the preview's top level: it must outlive any edit
                report(f"rebuild failed: {type(err).__name__}: {err} (a bug in sku-survey; the preview keeps the last pages)")
                theme_changed = write_banner(staged.docs.root, _problems_banner(BuildError("stage", f"{type(err).__name__}: {err}"), lang))
            if now_pages != pages or theme_changed:
                ask_for_full_build()
            elif written:
                _request_build()  # MkDocs does not watch the docs itself (preview_hook.on_serve)
            pages = now_pages

    quiet = _QuietDirtyWarning()
    build_logger = logging.getLogger("mkdocs.commands.build")
    build_logger.addFilter(quiet)
    thread = threading.Thread(target=watch, name="sku-survey-watch", daemon=True)
    thread.start()
    try:
        # watch_theme off: MkDocs' watcher polls every file it watches twice a second, and
        # Material's templates are 14,500 files (its icons); a change to the overrides is
        # staged by this thread, which then asks for a full build through the docs folder
        with _remembering_theme_files(), _following_the_ledger():
            serve(config_file=str(config_file), livereload=True, build_type="dirty", watch_theme=False, dev_addr=dev_addr)
    finally:
        stop.set()
        build_logger.removeFilter(quiet)
        attach(None)


# ------------------------------------------------------------------ MkDocs' side of the preview
#
# MkDocs' server polls the folders it watches twice a second and waits 0.1 s more for
# changes to settle; the staging already holds a build off until the docs are whole
# (preview_hook.py), so the thread above starts the build itself the moment it is done.
# preview_hook.py's on_serve hands the server over and stops MkDocs watching the docs.

_server: Any = None  # mkdocs.livereload.LiveReloadServer while a preview runs


def attach(server: Any) -> bool:
    """Called by preview_hook.on_serve: True when this module can start the server's builds
    (MkDocs' watcher is then not needed on the docs)."""
    global _server
    _server = server if server is not None and _can_request(server) else None
    if _server is not None:
        _server.build_delay = 0  # a build is asked for once the docs are whole: nothing to wait for
    return _server is not None


def _can_request(server: Any) -> bool:
    # LiveReloadServer's own trigger (what its file watcher's callback does); MkDocs 1.6
    # keeps it private, so without it the preview falls back on the watcher
    return isinstance(getattr(server, "_rebuild_cond", None), threading.Condition) and hasattr(server, "_want_rebuild")


def _request_build() -> bool:
    server = _server
    if server is None:
        return False
    with server._rebuild_cond:
        server._want_rebuild = True
        server._rebuild_cond.notify_all()
    return True


@contextlib.contextmanager
def _remembering_theme_files() -> Iterator[None]:
    """While inside, the theme's files are listed once: every rebuild listed them (Material's
    14,500, its icons included: 0.4 s), and MkDocs does not watch the installed theme while it
    serves. The overrides folder is listed each time: its files are the project's own."""
    from mkdocs.structure.files import File, Files

    original = Files.add_files_from_theme
    known: dict[tuple[object, ...], list[tuple[str, str]]] = {}

    def add_files_from_theme(self: Files, env: Any, config: Any) -> None:
        custom = config.theme.custom_dir
        key = (tuple(config.theme.dirs), _tree_state(Path(custom)) if custom else None)
        if key not in known:
            every = Files([])
            original(every, env, config)
            known.clear()
            known[key] = [(f.src_uri, f.src_dir) for f in every]
        for path, folder in known[key]:
            if self.get_file_from_path(path) is None:  # the docs' own file wins, as in MkDocs
                self.append(File(path, folder, config.site_dir, config.use_directory_urls))

    Files.add_files_from_theme = add_files_from_theme  # type: ignore[method-assign]
    try:
        yield
    finally:
        Files.add_files_from_theme = original  # type: ignore[method-assign]


class _DocsLedger:
    """What the staging changed in the served docs folder since MkDocs last copied it.

    Each of MkDocs' rebuilds lists the docs folder (9,300 files at 1,000 datasets, most of
    them thumbnails) and compares two modification times per file to find what to copy:
    about half of a one-dataset rebuild. The staging already knows which files it wrote or
    removed, so while the ledger is trusted a rebuild reuses the last listing (unless a file
    came or went) and copies only those files. It is trusted once MkDocs has listed and
    copied everything its own way, and no longer after a staging that failed or a full build.
    The watcher thread writes it while it holds the build lock, and MkDocs reads it while its
    build holds that lock (preview_hook.py).
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._trusted = False
        self._touched: set[str] = set()  # paths relative to the docs folder
        self._listing: tuple[tuple[object, ...], list[Any]] | None = None  # None: list again
        self.same_files = False  # this build reuses the last one's listing: the same pages

    def staged(self, docs: StagedDocs, lang: Lang) -> None:
        prefix = f"{lang.value}/"
        with self._guard:
            self._touched.update(p.removeprefix(prefix) for p in docs.touched if p.startswith(prefix))
            if docs.files_came_or_went:
                self._listing = None

    def distrust(self) -> None:
        with self._guard:
            self._trusted, self._listing, self.same_files = False, None, False
            self._touched.clear()

    def docs_files(self, config: Any, list_files: Callable[[Any], Any]) -> Any:
        """The docs folder's files: the last listing's when nothing came or went."""
        from mkdocs.structure.files import Files

        key = (config["docs_dir"], config["site_dir"], config["use_directory_urls"])
        with self._guard:
            if self._trusted and self._listing is not None and self._listing[0] == key:
                files = self._listing[1]
                for file in files:
                    file.page = None  # a page of the last build; this build makes its own
                self.same_files = True
                return Files(files)
        listed = list_files(config)
        with self._guard:
            self._listing, self.same_files = (key, list(listed)), False
        return listed

    def copy(self, files: Any, dirty: bool, inclusion: Any, copy_all: Callable[..., None]) -> None:
        """Copy the static files: only what the staging touched (and the theme's, MkDocs'
        way), or all of them MkDocs' way while the ledger is not trusted."""
        with self._guard:
            trusted, touched = self._trusted and dirty, set(self._touched)
            listed = {id(f) for f in self._listing[1]} if self._listing is not None else set()
        if not trusted:
            copy_all(files, dirty, inclusion=inclusion)
        else:
            for file in files:
                if file.is_documentation_page() or not inclusion(file.inclusion):
                    continue
                if id(file) not in listed:
                    file.copy_file(dirty)  # the theme's files and any a plugin added
                elif file.src_uri in touched:
                    file.copy_file(False)
        with self._guard:
            self._touched.difference_update(touched)
            self._trusted = True


_ledger = _DocsLedger()


@contextlib.contextmanager
def _following_the_ledger() -> Iterator[None]:
    """While inside, MkDocs' listing and copying of the docs folder ask the ledger (_DocsLedger)."""
    import mkdocs.commands.build as mkdocs_build
    from mkdocs.structure.files import Files, InclusionLevel

    list_files, copy_all = mkdocs_build.get_files, Files.copy_static_files

    def get_files(config: Any) -> Any:
        return _ledger.docs_files(config, list_files)

    # the sitemap lists the pages' addresses only: with the same files, the last one stands
    # (rendering it over 1,000 pages was 0.1 s of every rebuild)
    build_template = getattr(mkdocs_build, "_build_theme_template", None)

    def build_theme_template(name: str, *args: Any, **kwargs: Any) -> None:
        if name == "sitemap.xml" and _ledger.same_files:
            return
        assert build_template is not None
        build_template(name, *args, **kwargs)

    def copy_static_files(self: Any, dirty: bool = False, *, inclusion: Any = InclusionLevel.is_included) -> None:
        _ledger.copy(self, dirty, inclusion, copy_all)

    mkdocs_build.get_files = get_files  # type: ignore[assignment]
    Files.copy_static_files = copy_static_files  # type: ignore[method-assign]
    if build_template is not None:
        mkdocs_build._build_theme_template = build_theme_template  # type: ignore[attr-defined]
    try:
        yield
    finally:
        mkdocs_build.get_files = list_files
        Files.copy_static_files = copy_all  # type: ignore[method-assign]
        if build_template is not None:
            mkdocs_build._build_theme_template = build_template  # type: ignore[attr-defined]
        _ledger.distrust()
