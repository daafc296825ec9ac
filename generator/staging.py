"""Write each language's docs folder for MkDocs: generated pages, exports, thumbnails, cards.

Input: the catalogue, its thumbnails and preview cards, the link statuses. Output: a
``StagedDocs`` (the folders under ``.cache/stage/``, the pages per language, the files whose
bytes changed). Failure: ``BuildError`` of the ``render`` stage.

The staged folders persist between builds and a file is only rewritten when its bytes
change, so an edit to one dataset rewrites one page per language and MkDocs' live reload
stays fast. Each path is written once per build; a second write is an error.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from markupsafe import Markup

from generator import compare, images, links, search
from generator.cache import keep_in_memory, read_cache, recall, save_cache
from generator.cards import SOCIAL_URL_DIR, SocialCards
from generator.errors import BuildError
from generator.files import write_atomic
from generator.memo import PerObject
from generator.model import Catalog, Lang
from generator.project import Project
from generator.render import (
    LinkStatus,
    RenderedPage,
    RenderInputs,
    ThumbImage,
    exports,
    exports_key,
    format_count,
    plan_pages,
    robots_txt,
)
from generator.strings import t

THUMBS_URL_DIR = "assets/thumbs"
BANNER_FILE = "validation-errors.html"
PAGE_KEYS_FILE = "page-keys.{lang}.json"  # beside the staged docs folders, not in them
EXPORT_KEY_PREFIX = "export:"  # a data file's entry in that record (pages are keyed by path)


@dataclass(frozen=True)
class StagedDocs:
    """The docs folders MkDocs builds from, and what writing them did."""

    root: Path  # holds one folder per language, ``overrides/`` and the search files
    docs: Mapping[Lang, Path]
    pages: int  # generated pages of one language (the other has the same)
    files_written: int  # staged files whose bytes changed
    page_paths: frozenset[str] = frozenset()  # every language's Markdown pages, as "<lang>/<path>"
    theme_changed: bool = False  # a file of the overrides folder was written or removed
    # the docs files whose bytes changed, as "<lang>/<path>", and whether any came or went
    touched: frozenset[str] = frozenset()
    files_came_or_went: bool = False

    @property
    def overrides(self) -> Path:
        return self.root / "overrides"


@dataclass(frozen=True)
class LinkStatuses:
    """What the latest link report says of each URL, for the pages' status marks."""

    by_url: Mapping[str, LinkStatus]
    has_report: bool
    warnings: tuple[str, ...] = ()


class StageWriter:
    """Writes a staged docs folder: each path once, only when its bytes change; removes leftovers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: set[str] = set()
        self.touched: set[str] = set()  # written with new bytes, or removed
        self.came_or_went = False
        # what is there, listed once: a stat per kept file was 0.25 s of a preview rebuild at
        # 1,000 datasets (7,000 files); only this writer changes the folder meanwhile
        self._present = set(_files_under(root))

    def _claim(self, rel: str) -> None:
        if rel in self.written:
            raise BuildError("render", f"{rel} would be written twice (two pages share a path)")
        self.written.add(rel)

    def keep(self, rel: str) -> bool:
        """Claim ``rel`` as it is, unread; False (nothing claimed) when it is not there."""
        if rel not in self._present:
            return False
        self._claim(rel)
        return True

    def write(self, rel: str, data: bytes | str) -> None:
        self._claim(rel)
        target = self.root / rel
        # the live preview remembers what it wrote: a file whose stat is unchanged since
        # holds it (reading and comparing 2,000 data files was 0.15 s of every edit)
        if rel in self._present and recall(target, _staged_text) == data:
            return
        raw = data.encode("utf-8") if isinstance(data, str) else data
        try:
            if target.read_bytes() == raw:
                keep_in_memory(target, _staged_text, data)
                return
        except OSError:
            target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, raw)
        keep_in_memory(target, _staged_text, data)
        if rel not in self._present:
            self._present.add(rel)
            self.came_or_went = True
        self.touched.add(rel)

    def copy(self, rel: str, source: Path) -> None:
        self.write(rel, source.read_bytes())

    def copy_named_by_content(self, rel: str, folder: Path) -> None:
        """Copy the file of ``folder`` named as ``rel`` ends, a name that carries a hash of what
        it is made from: one already there is the same (and no path is made for it)."""
        if not self.keep(rel):
            self.copy(rel, folder / rel.rpartition("/")[2])

    def copy_tree(self, source: Path, prefix: str = "") -> None:
        """Copy the files under ``source``; a symbolic link that leads out of it is refused.

        Git stores symlinks, so a pull request can add ``site_src/assets/env ->
        /proc/self/environ``: followed, it would publish the build's secrets. os.walk does not
        descend into linked folders, so a link is checked before anything behind it is read.
        """
        if not source.is_dir():
            return
        root = source.resolve()
        found: list[Path] = []
        for folder, dirs, files in os.walk(source):
            for name in (*dirs, *files):
                path = Path(folder, name)
                if path.is_symlink() and (path.is_dir() or not path.resolve().is_relative_to(root)):
                    raise BuildError(
                        "render",
                        f"{path} is a symbolic link to {os.readlink(path)}; put the "
                        f"{'folder' if path.is_dir() else 'file'} itself there (only links to files inside {source} are followed)",
                        bad_input=True,
                    )
            found += (Path(folder, name) for name in files)
        for path in sorted(found):
            if path.is_file():
                self.copy(prefix + path.relative_to(source).as_posix(), path)

    def remove_leftovers(self) -> None:
        """Remove every file not written or kept this time, and the folders that leaves
        empty (each counts as touched). What is there was listed when the writer began."""
        leftovers = sorted(self._present - self.written)
        folders: set[str] = set()
        for rel in leftovers:
            os.unlink(self.root / rel)
            self._present.discard(rel)
            self.touched.add(rel)
            folder = rel.rpartition("/")[0]
            while folder:
                folders.add(folder)
                folder = folder.rpartition("/")[0]
        for folder in sorted(folders, key=lambda f: -f.count("/")):  # the deepest first
            with contextlib.suppress(OSError):  # not empty: something else is still in it
                os.rmdir(self.root / folder)
        self.came_or_went = self.came_or_went or bool(leftovers)


def _staged_text(raw: bytes) -> bytes:
    """The decoder of a staged file as ``recall`` knows it (it is never read through it)."""
    return raw


def _files_under(root: Path) -> Iterator[str]:
    """The paths of the files under ``root``, relative to it ('/'-separated): what this module
    writes there, all regular files (os.walk tells them from folders without a stat each)."""
    for folder, _, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if rel_folder == "." else rel_folder + "/"
        for name in files:
            yield prefix + name


def site_url(project: Project) -> str:
    """mkdocs.yml's site_url (the one place it is set), ending in a slash."""
    st = project.mkdocs_yml.stat()
    return _site_url(project.mkdocs_yml, (st.st_mtime_ns, st.st_size, st.st_ino))


@functools.lru_cache(maxsize=4)
def _site_url(path: Path, stat: tuple[int, int, int]) -> str:
    # read again when the file changes (its stat is in the key): the preview runs for hours
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    url = str(data.get("site_url") or "http://127.0.0.1:8000/")
    return url if url.endswith("/") else url + "/"


def _thumb_view(thumb: images.Thumbnail) -> ThumbImage:
    return ThumbImage(
        width=thumb.width,
        height=thumb.height,
        # names the image stage made from a dataset slug, a width and a hash: markup-safe
        webp=tuple((Markup(f"{THUMBS_URL_DIR}/{f.name}"), f.width) for f in thumb.webp),
        jpeg=tuple((Markup(f"{THUMBS_URL_DIR}/{f.name}"), f.width) for f in thumb.jpeg),
    )


def read_link_statuses(project: Project) -> LinkStatuses:
    """The latest link report's verdicts with the history's check dates; none when there is no report."""
    # a damaged report is ignored with a warning (links.read_report), never a failed build
    run, warnings = links.read_report(project.link_report)
    results = run.results if run is not None else ()
    # a damaged history is discarded with a warning: it only costs the pages their dates
    history = links.LinkCache.load(project.link_report.with_name("cache.json"))

    def checked(url: str) -> str:
        entry = history.entry(url)
        stamp = str(entry["last_checked"]) if entry else ""
        return stamp[:10]  # the date part of an ISO timestamp: readers need the day, not the microsecond

    statuses = {
        r.url: LinkStatus(
            verdict=str(r.verdict),
            reason=r.reason,
            checked=checked(r.url),
            http_status=r.http_status,
            moved_to=(r.final_url or "") if str(r.verdict) == "redirected" else "",
        )
        for r in results
    }
    return LinkStatuses(statuses, bool(results), warnings)


def stage_docs(
    project: Project,
    catalog: Catalog,
    report: images.ImageReport,
    thumbs_dir: Path,
    social: SocialCards,
    statuses: LinkStatuses,
    stage_root: Path,
    banner: str = "",
    langs: Sequence[Lang] = tuple(Lang),
) -> StagedDocs:
    """Write the languages' docs folders, both unless told (see the module docstring)."""
    base_url = site_url(project)
    inputs = RenderInputs(
        catalog=catalog,
        # the preview's remembered thumbnail records are the same objects edit after edit, and
        # so are their views: the same views keep the pages' keys quick to compare (render.py)
        thumbs={(k.dataset_id, k.index): _kept_thumb_view(v) for k, v in report.thumbnails.items()},
        links=statuses.by_url,
        social={k: f"{SOCIAL_URL_DIR}/{path.name}" for k, path in social.datasets.items()},
        has_link_report=statuses.has_report,
    )
    docs: dict[Lang, Path] = {}
    page_paths: set[str] = set()
    touched: set[str] = set()
    came_or_went = False
    pages = 0
    changed = 0
    made_from = exports_key(inputs, base_url)
    shared_exports: list[RenderedPage] | None = None  # made once for both languages, if at all
    for lang in langs:
        root = stage_root / lang.value
        writer = StageWriter(root)
        writer.copy_tree(project.site_src / lang.value)
        writer.copy_tree(project.site_src / "assets", "assets/")
        # Pages whose key is the one recorded when their file was written are kept unread.
        # The record goes before any write and comes back after the last, so a failed
        # run leaves none and the next one renders everything.
        keys_file = stage_root / PAGE_KEYS_FILE.format(lang=lang.value)
        previous = _read_page_keys(keys_file)
        keys_file.unlink(missing_ok=True)
        keys: dict[str, str] = {}
        for page in plan_pages(inputs, lang, base_url if lang is Lang.ZH else base_url + "en/"):
            keys[page.path] = page.key
            pages += page.path.endswith(".md")
            if previous.get(page.path) == page.key and writer.keep(page.path):
                continue
            writer.write(page.path, page.render())
        # the data files, kept unread when the record says they were made from the same
        # catalogue (making them was 1.6 s of every build at 3,000 datasets)
        kept = [path for path, key in previous.items() if path.startswith(EXPORT_KEY_PREFIX) and key == made_from]
        if kept and all((root / path.removeprefix(EXPORT_KEY_PREFIX)).is_file() for path in kept):
            for path in kept:
                writer.keep(path.removeprefix(EXPORT_KEY_PREFIX))
                keys[path] = made_from
        else:
            if shared_exports is None:
                shared_exports = exports(catalog, base_url)
            for export in shared_exports:
                writer.write(export.path, export.text)
                keys[EXPORT_KEY_PREFIX + export.path] = made_from
        writer.write(compare.FACTS_FILE, compare.facts_json(compare.pick_facts(catalog, lang, t, format_count, inputs.dataset_keys)))
        if lang is Lang.ZH:  # robots.txt is read at the host's root only: the Chinese site's
            writer.write("robots.txt", robots_txt(base_url))
        for thumb in report.thumbnails.values():
            for f in (*thumb.webp, *thumb.jpeg):
                writer.copy_named_by_content(f"{THUMBS_URL_DIR}/{f.name}", thumbs_dir)
        for path in social.for_language(lang):
            writer.copy_named_by_content(f"{SOCIAL_URL_DIR}/{path.name}", path.parent)
        writer.remove_leftovers()
        page_paths.update(f"{lang.value}/{rel}" for rel in writer.written if rel.endswith(".md"))
        touched.update(f"{lang.value}/{rel}" for rel in writer.touched)
        came_or_went = came_or_went or writer.came_or_went
        save_cache(keys_file, json.dumps(keys, indent=0, sort_keys=True).encode("utf-8"), remember=(_decode_page_keys, keys))
        _write_if_changed(stage_root / search.TERMS_FILE.format(lang=lang.value), search.catalog_terms_json(catalog, lang))
        docs[lang] = root
        changed += len(writer.touched)
    _write_if_changed(stage_root / search.USER_DICT_FILE, search.user_dictionary(catalog))
    overrides = StageWriter(stage_root / "overrides")
    overrides.copy_tree(project.site_src / "overrides")
    overrides.write(BANNER_FILE, banner)  # empty unless the live preview has an error to show
    overrides.remove_leftovers()
    # every language has the same pages
    return StagedDocs(
        root=stage_root,
        docs=docs,
        pages=pages // len(langs),
        files_written=changed + len(overrides.touched),
        page_paths=frozenset(page_paths),
        theme_changed=bool(overrides.touched),
        touched=frozenset(touched),
        files_came_or_went=came_or_went,
    )


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file holds it already; whether it was written."""
    raw = text.encode("utf-8")
    try:
        if path.read_bytes() == raw:
            return False
    except OSError:
        pass
    write_atomic(path, raw)
    return True


_kept_thumb_view: PerObject[images.Thumbnail, ThumbImage] = PerObject(_thumb_view)


def _decode_page_keys(raw: bytes) -> dict[str, str]:
    keys = json.loads(raw)
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise ValueError("not a mapping of page path to key")
    return keys


def _read_page_keys(path: Path) -> dict[str, str]:
    return read_cache(path, _decode_page_keys, "record of rendered pages", remember=True) or {}  # none: render every page




def write_banner(stage_root: Path, html: str) -> bool:
    """Show ``html`` above every page of the live preview (empty: no banner); whether it changed."""
    return _write_if_changed(stage_root / "overrides" / BANNER_FILE, html)
