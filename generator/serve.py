"""Live preview: ``mkdocs serve`` on one language while a thread re-stages on every edit.

Input: a ``Project``, the language and the address to serve on. Output: none until the
server stops. A data error keeps the server running: it is reported to the terminal and
shown in a banner on every page, over the last valid pages.

Only the served language is staged, and MkDocs rebuilds only the pages whose staged Markdown
changed (a dirty build; search_hook.py merges the search index), so a one-dataset edit
shows in about the time it takes to stage it. When the templates, the config or the page
list change, or the error banner appears or goes, the thread asks for a full build: it
writes the marker file the hook reads, then touches the home page so that MkDocs builds
once more.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from markupsafe import escape

from generator.engine import write_language_config
from generator.errors import BuildError
from generator.files import exclusive, write_atomic
from generator.model import Lang
from generator.project import Project
from generator.site import LOCK_FILE, BuildOptions, stage
from generator.staging import write_banner
from generator.strings import t

SERVE_POLL_SECONDS = 0.2  # a stat of the data file and site_src/ (a few dozen files) each time
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
    from mkdocs.commands.serve import serve

    lock = project.cache_dir / LOCK_FILE
    with exclusive(lock):
        staged = stage(project, options, langs=(lang,))
    marker = staged.docs.root / FULL_BUILD_FILE
    marker.unlink(missing_ok=True)  # the first build is a full one anyway
    docs, overrides = staged.docs.docs[lang], staged.docs.overrides
    # mkdocs serve mounts the site at site_url's path; the preview lives at the root of dev_addr
    config_file = write_language_config(
        project, staged.docs, staged.cards, lang, project.cache_dir / SERVE_SITE_DIR, f"http://{dev_addr}/", preview_marker=marker, preview_lock=lock
    )
    stop = threading.Event()

    def ask_for_full_build() -> None:
        write_atomic(marker, b"")
        home = docs / "index.md"
        if home.exists():
            os.utime(home)  # a change MkDocs' watcher sees, made after the marker is there

    def watch() -> None:
        state = _watched_state(project)
        pages, theme = _tree_state(docs, "*.md"), _tree_state(overrides)
        while not stop.wait(SERVE_POLL_SECONDS):
            now = _watched_state(project)
            if now == state:
                continue
            state = now
            try:
                with exclusive(lock):
                    result = stage(project, options, langs=(lang,))
                report(f"rebuilt: {result.docs.files_written} staged file(s) changed")
            except BuildError as err:
                for line in (str(p) for p in err.problems) or [str(err)]:
                    report(line)
                write_banner(staged.docs.root, _problems_banner(err, lang))
            except Exception as err:  # noqa: BLE001 - this thread is the preview's top level: it must outlive any edit
                report(f"rebuild failed: {type(err).__name__}: {err} (a bug in sku-survey; the preview keeps the last pages)")
                write_banner(staged.docs.root, _problems_banner(BuildError("stage", f"{type(err).__name__}: {err}"), lang))
            now_pages, now_theme = _tree_state(docs, "*.md"), _tree_state(overrides)
            if {p for p, *_ in now_pages} != {p for p, *_ in pages} or now_theme != theme:
                ask_for_full_build()
            pages, theme = now_pages, now_theme

    quiet = _QuietDirtyWarning()
    build_logger = logging.getLogger("mkdocs.commands.build")
    build_logger.addFilter(quiet)
    thread = threading.Thread(target=watch, name="sku-survey-watch", daemon=True)
    thread.start()
    try:
        # watch_theme off: MkDocs' watcher polls every file it watches twice a second, and
        # Material's templates are 14,500 files (its icons); a change to the overrides is
        # staged by this thread, which then asks for a full build through the docs folder
        serve(config_file=str(config_file), livereload=True, build_type="dirty", watch_theme=False, dev_addr=dev_addr)
    finally:
        stop.set()
        build_logger.removeFilter(quiet)
