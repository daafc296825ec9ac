"""Stage the generated pages and images, run the two MkDocs builds, swap the new site in.

Input: a ``Project`` and ``BuildOptions``. Output: a complete site in ``options.site_dir``
(Chinese at ``/``, English at ``/en/``) and a ``BuildResult`` with the warnings to show.
Failure: ``BuildError`` naming the stage that failed; the previous site is left untouched,
because MkDocs builds into a temporary folder beside the site that replaces it only when
every stage has succeeded.

The staged docs folders (``.cache/stage/<lang>``) persist between builds and a file is only
rewritten when its bytes change, so an edit to one dataset rewrites one page per language
and MkDocs' live reload stays fast. Only this module writes the output tree.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import yaml
from markupsafe import Markup, escape

from generator import compare, images, links, search, zensical_engine
from generator.cache import read_cache, save_cache
from generator.files import exclusive, remove_leftovers, write_atomic
from generator.load import load_document
from generator.model import Catalog, Dataset, Lang
from generator.problems import LoadError, Problem
from generator.project import Project
from generator.render import (
    LinkStatus,
    RenderInputs,
    ThumbImage,
    exports,
    format_count,
    plan_pages,
    robots_txt,
    t,
)
from generator.validate import validate_document

THUMBS_URL_DIR = "assets/thumbs"
# Folders a build makes beside the site; a killed build leaves them, the next one removes them.
SITE_NEW_PREFIX = ".{name}.new-"
SITE_OLD_PREFIX = ".{name}.old-"
LOCK_FILE = "build.lock"  # in the cache folder: one build, preview or link check writes it at a time
BANNER_FILE = "validation-errors.html"
PAGE_KEYS_FILE = "page-keys.{lang}.json"  # beside the staged docs folders, not in them
SOCIAL_URL_DIR = "assets/social"
# JPEG: the card is mostly a photo; as PNG it was 3.4x larger and 7x slower to encode
SOCIAL_CARD_SUFFIX = ".jpg"
LANG_NAMES = {Lang.ZH: "中文", Lang.EN: "English"}
# Material's language file for each site; zh-CN is Material's "zh" declared as Simplified
# Chinese (site_src/overrides/partials/languages/zh-CN.html)
THEME_LANGUAGE = {Lang.ZH: "zh-CN", Lang.EN: "en"}
NAV = [
    ("home", "index.md"),
    ("compare", "compare.md"),
    ("by_task", "tasks.md"),
    ("by_scene", "scenes.md"),
    ("downloads", "downloads.md"),
    ("whats_new", "whats-new.md"),
    ("contributing", "contributing.md"),
    ("reference", "reference.md"),
    ("credits", "credits.md"),
    ("link_health", "links.md"),
]


class BuildError(Exception):
    """A build stage failed; ``problems`` holds located data problems when there are any."""

    def __init__(self, stage: str, message: str, problems: list[Problem] | None = None, *, bad_input: bool = False) -> None:
        self.stage = stage
        self.problems = problems or []
        # the project's own files are at fault (data, site_src), not the tool: exit 2, not 1
        self.bad_input = bad_input or bool(problems)
        self.message = message
        super().__init__(f"{stage} failed: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # raised in a build process, re-raised in the parent: pickled by its own arguments
        return (_rebuild_error, (self.stage, self.message, self.problems, self.bad_input))


def _rebuild_error(stage: str, message: str, problems: list[Problem], bad_input: bool) -> BuildError:
    return BuildError(stage, message, problems, bad_input=bad_input)


@dataclass(frozen=True)
class BuildOptions:
    site_dir: Path
    offline: bool = False
    sample_mirror: Path | None = None
    progress: bool = False
    image_settings: images.ImageSettings = field(default_factory=images.ImageSettings)
    engine: Literal["mkdocs", "zensical"] = "mkdocs"  # zensical: generator/zensical_engine.py


@dataclass
class StageTimes:
    """Wall and CPU seconds of each stage, in the order the stages ran.

    CPU seconds include the thumbnail worker processes (reaped when their pool closes), so
    they stay meaningful on a busy machine where wall time does not.
    """

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        cpu, start = _cpu_seconds(), time.perf_counter()
        try:
            yield
        finally:
            self.wall[stage] = time.perf_counter() - start
            self.cpu[stage] = _cpu_seconds() - cpu


# A build makes millions of small, mostly acyclic objects (YAML values, models, template
# output). At Python's default thresholds the cyclic collector walks the whole heap every
# few thousand allocations, which took a third of a one-edit rebuild at 1,000 datasets.
# Like mypy's build, ask for a young-generation collection every 200,000 allocations.
GC_THRESHOLDS = (200_000, 30, 30)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    old = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


@dataclass(frozen=True)
class BuildResult:
    site_dir: Path
    datasets: int
    pages: int  # generated pages of one language (the other has the same)
    warnings: tuple[str, ...]
    thumbnails_encoded: int
    thumbnails_reused: int
    files_written: int  # staged files whose bytes changed
    times: StageTimes


# ---------------------------------------------------------------- staging


class StageWriter:
    """Writes a staged docs folder: each path once, only when its bytes change; removes leftovers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: set[str] = set()
        self.changed = 0

    def _claim(self, rel: str) -> None:
        if rel in self.written:
            raise BuildError("render", f"{rel} would be written twice (two pages share a path)")
        self.written.add(rel)

    def keep(self, rel: str) -> bool:
        """Claim ``rel`` as it is, unread; False (nothing claimed) when it is not there."""
        if not (self.root / rel).is_file():
            return False
        self._claim(rel)
        return True

    def write(self, rel: str, data: bytes | str) -> None:
        self._claim(rel)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        target = self.root / rel
        try:
            if target.read_bytes() == raw:
                return
        except OSError:
            target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, raw)
        self.changed += 1

    def copy(self, rel: str, source: Path) -> None:
        self.write(rel, source.read_bytes())

    def copy_named_by_content(self, rel: str, source: Path) -> None:
        """Copy a file whose name carries a hash of what it is made from: one already there is the same."""
        if not self.keep(rel):
            self.copy(rel, source)

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
        # os.walk, not Path.rglob: this visits every staged file on every build
        for folder, _, files in os.walk(self.root, topdown=False):
            rel_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
            prefix = "" if rel_folder == "." else rel_folder + "/"
            for name in files:
                if prefix + name not in self.written:
                    os.unlink(os.path.join(folder, name))
            if prefix and not os.listdir(folder):
                os.rmdir(folder)


# ---------------------------------------------------------------- stages


def _samples(project: Project, catalog: Catalog) -> list[images.SampleSource]:
    out = []
    for d in catalog.datasets:
        for i, s in enumerate(d.samples):
            out.append(
                images.SampleSource(
                    dataset_id=d.id,
                    index=i,
                    url=s.url,
                    path=(project.data_dir / s.path).resolve() if s.path else None,
                    label=f"{d.id} sample {i + 1} ({s.url or s.path})",
                )
            )
    return out


def _thumb_view(thumb: images.Thumbnail) -> ThumbImage:
    return ThumbImage(
        width=thumb.width,
        height=thumb.height,
        # names the image stage made from a dataset slug, a width and a hash: markup-safe
        webp=tuple((Markup(f"{THUMBS_URL_DIR}/{f.name}"), f.width) for f in thumb.webp),
        jpeg=tuple((Markup(f"{THUMBS_URL_DIR}/{f.name}"), f.width) for f in thumb.jpeg),
    )


@dataclass(frozen=True)
class SocialCards:
    """Preview images per language: one per dataset and one for every other page."""

    datasets: Mapping[tuple[str, Lang], Path]
    site: Mapping[Lang, Path]
    warnings: tuple[str, ...] = ()

    def for_language(self, lang: Lang) -> list[Path]:
        return sorted([*(p for (_, code), p in self.datasets.items() if code is lang), self.site[lang]])


def _card_figures(d: Dataset, lang: Lang) -> list[str]:
    from generator.render import t

    figures = []
    for key, fig in (("images", d.stats.images), ("classes", d.stats.classes)):
        if fig.value is not None:
            form = f"card_{key}_one" if fig.value == 1 else f"card_{key}"
            figures.append(t(form, lang).format(n=format_count(fig.value, lang)))
    figures.append(f"{d.year} · {d.venue[lang]}"[:60])
    return figures


def _social_cards(project: Project, catalog: Catalog, report: images.ImageReport, thumbs_dir: Path) -> SocialCards:
    """1200x630 previews in each language, cached by a hash of what is drawn."""
    from generator.render import display_title, t

    out_dir = project.cache_dir / "social"
    out_dir.mkdir(parents=True, exist_ok=True)
    # the drawing code and the font are part of the key: a change to how cards look redraws them
    font = images.cjk_font()
    drawer = hashlib.sha256(Path(images.__file__).read_bytes() + str(font).encode()).hexdigest()[:12]
    warnings = () if font else (f"no CJK font ({images.CARD_CJK_FONTS[0]}; Debian package fonts-noto-cjk): the Chinese preview cards show '?' for Chinese characters",)

    def card(name: str, title: str, figures: list[str], thumb_path: Path | None, lang: Lang) -> Path:
        key = hashlib.sha256(repr((title, figures, thumb_path.name if thumb_path else None, drawer)).encode()).hexdigest()[:12]
        path = out_dir / f"{name}.{lang.value}.{key}{SOCIAL_CARD_SUFFIX}"
        if not path.exists():
            images.make_social_card(title, figures, thumb_path, path, font=font)
        return path

    cards: dict[tuple[str, Lang], Path] = {}
    site: dict[Lang, Path] = {}
    for lang in Lang:
        for d in catalog.datasets:
            thumb = report.thumbnails.get((d.id, 0))
            thumb_path = thumbs_dir / thumb.jpeg[-1].name if thumb else None
            cards[(d.id, lang)] = card(d.id, display_title(d, lang), _card_figures(d, lang), thumb_path, lang)
        count = t("card_datasets", lang).format(n=len(catalog.datasets))
        site[lang] = card("site", t("site_name", lang), [count, t("site_description", lang)], None, lang)
    return SocialCards(cards, site, warnings)


def _link_statuses(project: Project) -> tuple[dict[str, LinkStatus], bool, tuple[str, ...]]:
    # a damaged report is ignored with a warning (links.read_report), never a failed build
    run, warnings = links.read_report(project.link_report)
    results = run.results if run is not None else ()
    try:
        history = links.LinkCache.load(project.link_report.with_name("cache.json"))
    except links.LinkCacheError:
        history = links.LinkCache()  # a damaged history only costs the pages their dates

    def checked(url: str) -> str:
        entry = history.entry(url)
        stamp = str(entry["last_checked"]) if entry else ""
        return stamp[:10]  # the date part of an ISO timestamp: readers need the day, not the microsecond

    statuses = {r.url: LinkStatus(verdict=str(r.verdict), reason=r.reason, checked=checked(r.url)) for r in results}
    return statuses, bool(results), warnings


def _source_date_epoch(catalog: Catalog) -> str:
    """The newest ``added`` date: MkDocs stamps the sitemap with it instead of today's date."""
    newest = max(d.added for d in catalog.datasets)
    return str(int(dt.datetime.combine(newest, dt.time(), tzinfo=dt.timezone.utc).timestamp()))


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


class _CollectWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def language_config(
    project: Project, lang: Lang, docs_dir: Path, site_dir: Path, overrides: Path, card: str = "", base_url: str | None = None
) -> dict[str, object]:
    """The per-language MkDocs config that INHERITs the shared mkdocs.yml; ``base_url``
    replaces its site_url (the live preview serves at its own address's root)."""
    from generator.render import t

    base_url = base_url or site_url(project)
    stage_root = docs_dir.parent  # the search files are staged beside the docs folders
    url = base_url if lang is Lang.ZH else base_url + "en/"
    home_path = "/" + base_url.split("://", 1)[-1].partition("/")[2]
    return {
        "INHERIT": str(project.mkdocs_yml.resolve()),
        "site_name": t("site_name", lang),
        "site_description": t("site_description", lang),
        "site_url": url,
        "copyright": t("copyright", lang),
        "docs_dir": str(docs_dir),
        "site_dir": str(site_dir),
        "theme": {
            "language": THEME_LANGUAGE[lang],
            "custom_dir": str(overrides),
            "palette": _palette(project, lang),
        },
        "nav": [{t(key, lang): path} for key, path in NAV],
        "markdown_extensions": _markdown_extensions(project, lang),
        "plugins": [
            {
                "search": {
                    "lang": "zh" if lang is Lang.ZH else "en",
                    "separator": search.SEPARATOR,
                    "fields": {name: {"boost": boost} for name, boost in search.FIELD_BOOSTS.items()},
                    "jieba_dict_user": str(stage_root / search.USER_DICT_FILE),
                }
            }
        ],
        # adds the cross-language terms to the index and writes the browser's word list
        "hooks": [str(Path(search.__file__).with_name("search_hook.py"))],
        "extra": {
            "search_terms": str(stage_root / search.TERMS_FILE.format(lang=lang.value)),
            "site_lang": lang.value,
            "lang_base": {"zh": base_url, "en": base_url + "en/"},
            "home": {"zh": home_path, "en": home_path + "en/"},
            "alternate": [
                {"name": LANG_NAMES[Lang.ZH], "link": "/", "lang": "zh"},
                {"name": LANG_NAMES[Lang.EN], "link": "/en/", "lang": "en"},
            ],
            "made_with": t("made_with", lang),
            "back_to_compare": t("back_to_compare", lang),
            "on_this_page": t("on_this_page", lang),
            "feed_title": t("site_name", lang) + t("colon", lang) + t("whats_new", lang),
            "card": card,
            "not_found": {
                code.value: {"title": t("not_found_title", code), "text": t("not_found_text", code), "home": t("not_found_home", code)}
                for code in Lang
            },
        },
    }


def _markdown_extensions(project: Project, lang: Lang) -> list[object]:
    """mkdocs.yml's extensions with the heading permalinks' title in the page's language."""
    from generator.render import t

    data = yaml.safe_load(project.mkdocs_yml.read_text(encoding="utf-8")) or {}
    out: list[object] = []
    for ext in data.get("markdown_extensions") or ():
        if isinstance(ext, dict) and "toc" in ext:
            ext = {"toc": {**(ext["toc"] or {}), "permalink_title": t("permalink", lang)}}
        out.append(ext)
    return out


def _palette(project: Project, lang: Lang) -> list[dict[str, object]]:
    """mkdocs.yml's palette with the toggle's names in the page's language."""
    from generator.render import t

    data = yaml.safe_load(project.mkdocs_yml.read_text(encoding="utf-8")) or {}
    palette = [dict(option) for option in (data.get("theme") or {}).get("palette") or ()]
    for option in palette:
        if isinstance(option.get("toggle"), dict):
            to = "light" if option.get("scheme") == "slate" else "dark"
            option["toggle"] = {**option["toggle"], "name": t(f"switch_to_{to}", lang)}
    return palette


def site_url(project: Project) -> str:
    """mkdocs.yml's site_url (the one place it is set), ending in a slash."""
    data = yaml.safe_load(project.mkdocs_yml.read_text(encoding="utf-8")) or {}
    url = str(data.get("site_url") or "http://127.0.0.1:8000/")
    return url if url.endswith("/") else url + "/"


def run_mkdocs(config_file: Path) -> None:
    """One strict MkDocs build; raises BuildError with MkDocs' own warnings on failure."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    import jieba  # Material segments Chinese with it; silence its start-up chatter

    jieba.setLogLevel(logging.WARNING)
    collector = _CollectWarnings()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collector)
    try:
        config = load_config(config_file=str(config_file))
        build(config)
    except MkDocsException as err:
        details = "; ".join(collector.messages) or str(err)
        raise BuildError("mkdocs", f"{config_file.name}: {details}") from None
    finally:
        logger.removeHandler(collector)
    if collector.messages:
        raise BuildError("mkdocs", f"{config_file.name}: " + "; ".join(collector.messages))


def _timed_mkdocs(config_file: Path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run_mkdocs(config_file)
    return time.perf_counter() - wall, time.process_time() - cpu


def _run_mkdocs_builds(configs: Mapping[Lang, Path]) -> dict[Lang, tuple[float, float]]:
    """Both languages' MkDocs builds, at the same time when the machine has the cores: each is
    one CPU-bound process, and two at once took 0.6x the time of one after the other.

    The second language builds in a forked child (it starts with MkDocs, Material and jieba
    already imported) that exits when its build is done, so a killed parent leaves no process
    waiting for work. Each build writes its own folder of the new tree, so the output is the
    same either way. The parent waits for the child before raising anything, so the caller
    never deletes the tree under it.
    """
    first, *rest = configs
    if not rest or (os.cpu_count() or 1) < 2:
        return {lang: _timed_mkdocs(config) for lang, config in configs.items()}
    (second,) = rest
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_build_in_child, args=(configs[second], send), name=f"mkdocs-{second.value}", daemon=True)
    child.start()
    send.close()
    try:
        times = {first: _timed_mkdocs(configs[first])}
    finally:
        try:
            outcome = receive.recv()
        except EOFError:
            outcome = None
        child.join()
        receive.close()
    if outcome is None:
        raise BuildError("mkdocs", f"the {second.value} build process ended without a result (exit code {child.exitcode})")
    if isinstance(outcome, BuildError):
        raise outcome
    times[second] = outcome
    return times


def _build_in_child(config_file: Path, send: Connection) -> None:
    try:
        send.send(_timed_mkdocs(config_file))
    except BuildError as err:
        send.send(err)
    except Exception as err:  # noqa: BLE001 - the child's top level: the parent must hear of any failure
        send.send(BuildError("mkdocs", f"{config_file.name}: {type(err).__name__}: {err}"))
    finally:
        send.close()


def stage_docs(
    project: Project,
    catalog: Catalog,
    report: images.ImageReport,
    thumbs_dir: Path,
    social: SocialCards,
    statuses: Mapping[str, LinkStatus],
    has_report: bool,
    stage_root: Path,
    banner: str = "",
) -> tuple[dict[Lang, Path], int, int]:
    """Write both languages' docs folders; returns them, the pages per language and files changed."""
    base_url = site_url(project)
    inputs = RenderInputs(
        catalog=catalog,
        thumbs={k: _thumb_view(v) for k, v in report.thumbnails.items()},
        links=statuses,
        social={k: f"{SOCIAL_URL_DIR}/{path.name}" for k, path in social.datasets.items()},
        has_link_report=has_report,
    )
    docs: dict[Lang, Path] = {}
    pages = 0
    changed = 0
    shared_exports = exports(catalog, base_url)
    for lang in Lang:
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
        for page in shared_exports:
            writer.write(page.path, page.text)
        writer.write(compare.FACTS_FILE, compare.facts_json(compare.pick_facts(catalog, lang, t, format_count, inputs.dataset_keys)))
        if lang is Lang.ZH:  # robots.txt is read at the host's root only: the Chinese site's
            writer.write("robots.txt", robots_txt(base_url))
        for thumb in report.thumbnails.values():
            for f in (*thumb.webp, *thumb.jpeg):
                writer.copy_named_by_content(f"{THUMBS_URL_DIR}/{f.name}", thumbs_dir / f.name)
        for path in social.for_language(lang):
            writer.copy_named_by_content(f"{SOCIAL_URL_DIR}/{path.name}", path)
        writer.remove_leftovers()
        save_cache(keys_file, json.dumps(keys, indent=0, sort_keys=True).encode("utf-8"))
        _write_if_changed(stage_root / search.TERMS_FILE.format(lang=lang.value), search.terms_json(search.catalog_terms(catalog, lang)))
        docs[lang] = root
        changed += writer.changed
    _write_if_changed(stage_root / search.USER_DICT_FILE, search.user_dictionary(catalog))
    overrides = StageWriter(stage_root / "overrides")
    overrides.copy_tree(project.site_src / "overrides")
    overrides.write(BANNER_FILE, banner)  # empty unless the live preview has an error to show
    overrides.remove_leftovers()
    return docs, pages // len(Lang), changed + overrides.changed  # both languages have the same pages


def _write_if_changed(path: Path, text: str) -> None:
    raw = text.encode("utf-8")
    try:
        if path.read_bytes() == raw:
            return
    except OSError:
        pass
    write_atomic(path, raw)


def _decode_page_keys(raw: bytes) -> dict[str, str]:
    keys = json.loads(raw)
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise ValueError("not a mapping of page path to key")
    return keys


def _read_page_keys(path: Path) -> dict[str, str]:
    return read_cache(path, _decode_page_keys, "record of rendered pages") or {}  # none: render every page


def swap_in(new_site: Path, site_dir: Path, discard: Callable[[Path], None] = shutil.rmtree) -> None:
    """Put ``new_site`` where ``site_dir`` is, so that a reader (or a kill) at any moment finds
    one complete site there, then ``discard`` the old one.

    Linux exchanges two paths in one step (renameat2 RENAME_EXCHANGE); where it cannot
    (another kernel, a file system without it), two renames leave a moment without the site.
    """
    if site_dir.exists() and _exchange(new_site, site_dir):
        discard(new_site)  # it now holds the old site
        return
    old = site_dir.with_name(f"{SITE_OLD_PREFIX.format(name=site_dir.name)}{os.getpid()}")
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(new_site, site_dir)
    discard(old)


def discard_in_background(tree: Path) -> None:
    """Delete ``tree`` from a detached process: deleting a large old site took seconds the
    build need not wait for. Its name is a leftover's, so if the process dies the next build
    removes it."""
    subprocess.Popen(
        [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(tree)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


@dataclass(frozen=True)
class Staged:
    """Everything MkDocs needs, written under ``stage_root``."""

    catalog: Catalog
    stage_root: Path
    docs: Mapping[Lang, Path]
    pages: int
    files_written: int
    report: images.ImageReport
    times: StageTimes
    cards: SocialCards
    link_warnings: tuple[str, ...] = ()


def stage(project: Project, options: BuildOptions, banner: str = "") -> Staged:
    """load -> validate -> thumbnails -> social cards -> render into the persistent staging folder."""
    with _fewer_collections():
        return _stage(project, options, banner)


def _stage(project: Project, options: BuildOptions, banner: str) -> Staged:
    times = StageTimes()
    try:
        with times.measure("load"):
            doc = load_document(project.data_file, project.display(project.data_file), project.cache_dir / "load" / "items.marshal")
        with times.measure("validate"):
            catalog = validate_document(doc, project.data_dir)
    except LoadError as err:
        raise BuildError("validate", f"{len(err.problems)} problem(s) in the data", err.problems) from None

    thumbs_dir = project.cache_dir / "thumbs"
    with times.measure("thumbnails"):
        report = images.make_thumbnails(
            _samples(project, catalog),
            thumbs_dir,
            project.cache_dir / "images",
            options.image_settings,
            offline=options.offline,
            mirror=options.sample_mirror,
            progress=options.progress,
        )
    try:
        with times.measure("social cards"):
            social = _social_cards(project, catalog, report, thumbs_dir)
    except OSError as err:
        raise BuildError("thumbnails", f"cannot write a preview card: {err}") from None
    statuses, has_report, link_warnings = _link_statuses(project)

    stage_root = project.cache_dir / "stage"
    try:
        with times.measure("render"):
            docs, pages, changed = stage_docs(project, catalog, report, thumbs_dir, social, statuses, has_report, stage_root, banner)
    except OSError as err:
        raise BuildError("render", str(err)) from None
    return Staged(catalog, stage_root, docs, pages, changed, report, times, social, link_warnings)


def write_language_config(project: Project, staged: Staged, lang: Lang, site_dir: Path, base_url: str | None = None) -> Path:
    card = f"{SOCIAL_URL_DIR}/{staged.cards.site[lang].name}"
    config = language_config(project, lang, staged.docs[lang], site_dir, staged.stage_root / "overrides", card, base_url)
    config_file = staged.stage_root / f"mkdocs.{lang.value}.yml"
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    if not config_file.exists() or config_file.read_text(encoding="utf-8") != text:
        config_file.write_text(text, encoding="utf-8")
    return config_file


def build_site(project: Project, options: BuildOptions) -> BuildResult:
    """validate -> thumbnails -> render -> mkdocs (zh, en) -> swap. See the module docstring."""
    with _fewer_collections():
        return _build_site(project, options)


def _build_site(project: Project, options: BuildOptions) -> BuildResult:
    site_dir = options.site_dir.resolve()
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(project.cache_dir / LOCK_FILE):
        remove_leftovers(project.cache_dir)
        patterns = (SITE_NEW_PREFIX.format(name=site_dir.name) + "*", SITE_OLD_PREFIX.format(name=site_dir.name) + "*")
        remove_leftovers(site_dir.parent, patterns, temporaries=False)
        return _build_locked(project, options, site_dir)


def _build_locked(project: Project, options: BuildOptions, site_dir: Path) -> BuildResult:
    staged = stage(project, options)
    times = staged.times
    tmp = Path(tempfile.mkdtemp(prefix=SITE_NEW_PREFIX.format(name=site_dir.name), dir=site_dir.parent))
    try:
        configs = {lang: write_language_config(project, staged, lang, tmp if lang is Lang.ZH else tmp / "en") for lang in Lang}
        with _env("SOURCE_DATE_EPOCH", _source_date_epoch(staged.catalog)):
            if options.engine == zensical_engine.ENGINE:
                builds = zensical_engine.run_builds(configs, BuildError)
            else:
                builds = _run_mkdocs_builds(configs)
            for lang, (wall, cpu) in builds.items():
                times.wall[f"{options.engine} {lang.value}"] = wall
                times.cpu[f"{options.engine} {lang.value}"] = cpu
        with times.measure("swap in"):
            swap_in(tmp, site_dir, discard_in_background)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(
        site_dir=site_dir,
        datasets=len(staged.catalog.datasets),
        pages=staged.pages,
        warnings=(*(w.message for w in staged.report.warnings), *staged.cards.warnings, *staged.link_warnings),
        thumbnails_encoded=staged.report.encoded,
        thumbnails_reused=staged.report.reused,
        files_written=staged.files_written,
        times=times,
    )


# ---------------------------------------------------------------- live preview

SERVE_POLL_SECONDS = 0.5


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
    from generator.render import t

    lines = [p.render(lang.value) for p in err.problems] or [str(err)]
    return (
        f'<div class="validation-errors" role="alert"><strong>{escape(t("banner_data_errors", lang))}</strong>\n'
        f"<pre>{escape(chr(10).join(lines))}</pre></div>\n"
    )


def serve_site(
    project: Project,
    options: BuildOptions,
    lang: Lang,
    dev_addr: str,
    report: Callable[[str], None],
) -> None:
    """Stage, then run ``mkdocs serve`` on one language while a thread re-stages on every edit.

    A data error keeps the server running: it is reported through ``report`` (the terminal)
    and shown in a banner on every page, over the last valid pages.
    """
    from mkdocs.commands.serve import serve

    lock = project.cache_dir / LOCK_FILE
    with exclusive(lock):
        staged = stage(project, options)
    # mkdocs serve mounts the site at site_url's path; the preview lives at the root of dev_addr
    config_file = write_language_config(project, staged, lang, project.cache_dir / "serve-site", f"http://{dev_addr}/")
    stop = threading.Event()

    def watch() -> None:
        state = _watched_state(project)
        while not stop.wait(SERVE_POLL_SECONDS):
            now = _watched_state(project)
            if now == state:
                continue
            state = now
            try:
                with exclusive(lock):
                    result = stage(project, options)
                report(f"rebuilt: {result.files_written} staged file(s) changed")
            except BuildError as err:
                for line in (str(p) for p in err.problems) or [str(err)]:
                    report(line)
                _write_banner(staged.stage_root, _problems_banner(err, lang))
            except Exception as err:  # noqa: BLE001 - this thread is the preview's top level: it must outlive any edit
                report(f"rebuild failed: {type(err).__name__}: {err} (a bug in sku-survey; the preview keeps the last pages)")
                _write_banner(staged.stage_root, _problems_banner(BuildError("stage", f"{type(err).__name__}: {err}"), lang))

    thread = threading.Thread(target=watch, name="sku-survey-watch", daemon=True)
    thread.start()
    try:
        serve(config_file=str(config_file), livereload=True, watch_theme=True, dev_addr=dev_addr)
    finally:
        stop.set()


def _write_banner(stage_root: Path, html: str) -> None:
    write_atomic(stage_root / "overrides" / BANNER_FILE, html.encode("utf-8"))
