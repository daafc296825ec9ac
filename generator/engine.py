"""The MkDocs engine: each language's config, and the two strict builds of the site.

Input: the staged docs folders (``staging.StagedDocs``) and the folder the new site goes in.
Output: a complete site tree there (Chinese at its root, English under ``en/``) and how long
each language took. Failure: ``BuildError`` of the ``mkdocs`` stage with MkDocs' own
warnings; a strict build's warning is about the pages (the project's input: exit 2).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import yaml

from generator import search
from generator.cards import SOCIAL_URL_DIR, SocialCards
from generator.errors import BuildError
from generator.model import Catalog, Lang
from generator.project import Project
from generator.staging import StagedDocs, site_url
from generator.strings import t

# Material's language file for each site; zh-CN is Material's "zh" declared as Simplified
# Chinese (site_src/overrides/partials/languages/zh-CN.html)
THEME_LANGUAGE = {Lang.ZH: "zh-CN", Lang.EN: "en"}
# in the cache folder, what build_cache_hook.py keeps: compiled theme templates, converted pages
TEMPLATE_CACHE_DIR = "templates"
PAGE_CACHE_FILE = "pages.{lang}.marshal"
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


@dataclass(frozen=True)
class EngineTime:
    """Wall and CPU seconds of one language's MkDocs build."""

    wall: float
    cpu: float


class _CollectWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def write_language_config(
    project: Project,
    docs: StagedDocs,
    cards: SocialCards,
    lang: Lang,
    site_dir: Path,
    base_url: str | None = None,
    preview_marker: Path | None = None,
    preview_lock: Path | None = None,
) -> Path:
    """Write ``lang``'s MkDocs config beside the staged docs (only when it changed: serve watches it)."""
    card = f"{SOCIAL_URL_DIR}/{cards.site[lang].name}"
    config = language_config(project, lang, docs.docs[lang], site_dir, docs.overrides, card, base_url, preview_marker, preview_lock)
    config_file = docs.root / f"mkdocs.{lang.value}.yml"
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    if not config_file.exists() or config_file.read_text(encoding="utf-8") != text:
        config_file.write_text(text, encoding="utf-8")
    return config_file


def language_config(
    project: Project,
    lang: Lang,
    docs_dir: Path,
    site_dir: Path,
    overrides: Path,
    card: str = "",
    base_url: str | None = None,
    preview_marker: Path | None = None,
    preview_lock: Path | None = None,
) -> dict[str, object]:
    """The per-language MkDocs config that INHERITs the shared mkdocs.yml; ``base_url``
    replaces its site_url (the live preview serves at its own address's root), and
    ``preview_marker`` makes the search hook merge dirty rebuilds (see search_hook.py);
    ``preview_lock`` makes each build wait for the staging (preview_hook.py)."""
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
        # search_hook adds the cross-language terms to the index and writes the browser's word
        # list; build_cache_hook keeps converted pages and compiled templates between builds
        "hooks": [str(Path(search.__file__).with_name(name)) for name in _hooks(preview_lock is not None)],
        "extra": {
            "search_terms": str(stage_root / search.TERMS_FILE.format(lang=lang.value)),
            "site_lang": lang.value,
            "lang_base": {"zh": base_url, "en": base_url + "en/"},
            "home": {"zh": home_path, "en": home_path + "en/"},
            "alternate": [
                {"name": t("language_zh", lang), "link": "/", "lang": "zh"},
                {"name": t("language_en", lang), "link": "/en/", "lang": "en"},
            ],
            "made_with": t("made_with", lang),
            "back_to_compare": t("back_to_compare", lang),
            "on_this_page": t("on_this_page", lang),
            "feed_title": t("site_name", lang) + t("colon", lang) + t("whats_new", lang),
            "card": card,
            "template_cache": str(project.cache_dir / TEMPLATE_CACHE_DIR / lang.value),
            "page_cache": str(project.cache_dir / PAGE_CACHE_FILE.format(lang=lang.value)),
            **({"preview_full_build": str(preview_marker)} if preview_marker else {}),
            **({"preview_lock": str(preview_lock)} if preview_lock else {}),
            "not_found": {
                code.value: {"title": t("not_found_title", code), "text": t("not_found_text", code), "home": t("not_found_home", code)}
                for code in Lang
            },
        },
    }


def _hooks(preview: bool) -> tuple[str, ...]:
    """The hook modules (in generator/) of a build; the preview has one more."""
    return ("search_hook.py", "build_cache_hook.py", *(("preview_hook.py",) if preview else ()))


def _markdown_extensions(project: Project, lang: Lang) -> list[object]:
    """mkdocs.yml's extensions with the heading permalinks' title in the page's language."""
    data = yaml.safe_load(project.mkdocs_yml.read_text(encoding="utf-8")) or {}
    out: list[object] = []
    for ext in data.get("markdown_extensions") or ():
        if isinstance(ext, dict) and "toc" in ext:
            ext = {"toc": {**(ext["toc"] or {}), "permalink_title": t("permalink", lang)}}
        out.append(ext)
    return out


def _palette(project: Project, lang: Lang) -> list[dict[str, object]]:
    """mkdocs.yml's palette with the toggle's names in the page's language."""
    data = yaml.safe_load(project.mkdocs_yml.read_text(encoding="utf-8")) or {}
    palette = [dict(option) for option in (data.get("theme") or {}).get("palette") or ()]
    for option in palette:
        if isinstance(option.get("toggle"), dict):
            to = "light" if option.get("scheme") == "slate" else "dark"
            option["toggle"] = {**option["toggle"], "name": t(f"switch_to_{to}", lang)}
    return palette


def run_mkdocs(config_file: Path) -> None:
    """One strict MkDocs build; raises BuildError with MkDocs' own warnings on failure."""
    import jieba  # Material segments Chinese with it; silence its start-up chatter
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    jieba.setLogLevel(logging.WARNING)
    collector = _CollectWarnings()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collector)
    try:
        config = load_config(config_file=str(config_file))
        build(config)
    except MkDocsException as err:
        details = "; ".join(collector.messages) or str(err)
        raise BuildError("mkdocs", f"{config_file.name}: {details}", bad_input=True) from None
    finally:
        logger.removeHandler(collector)
    if collector.messages:
        raise BuildError("mkdocs", f"{config_file.name}: " + "; ".join(collector.messages), bad_input=True)


def _timed_mkdocs(config_file: Path) -> EngineTime:
    wall, cpu = time.perf_counter(), time.process_time()
    run_mkdocs(config_file)
    return EngineTime(time.perf_counter() - wall, time.process_time() - cpu)


def _run_mkdocs_builds(configs: Mapping[Lang, Path]) -> dict[Lang, EngineTime]:
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


def newest_added(catalog: Catalog) -> dt.date:
    """The date the pages are stamped with (see build_languages)."""
    return max(d.added for d in catalog.datasets)


def _source_date_epoch(newest: dt.date) -> str:
    """The newest ``added`` date: MkDocs stamps the sitemap with it instead of today's date."""
    return str(int(dt.datetime.combine(newest, dt.time(), tzinfo=dt.UTC).timestamp()))


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


def build_languages(configs: Mapping[Lang, Path], newest: dt.date, builder: str = "mkdocs") -> dict[Lang, EngineTime]:
    """Both languages' strict builds, dated by the data (``newest_added``, not today), each into
    its own folder; ``builder`` "zensical" builds them with Zensical instead
    (generator/zensical_engine.py)."""
    with _env("SOURCE_DATE_EPOCH", _source_date_epoch(newest)):
        if builder == "zensical":
            from generator import zensical_engine  # imports nothing of Zensical until it runs

            return zensical_engine.run_builds(configs)
        return _run_mkdocs_builds(configs)
