"""Each page's Markdown -> HTML, and its search entries, kept between MkDocs builds.

Why: converting Markdown is most of a MkDocs build (about 6 ms a dataset page, 3,009 pages per
language at 3,000 datasets), and MkDocs converts every page on every build, though a rebuild
after a one-dataset edit changes one page per language.

What a page's conversion depends on, and so its key: its Markdown (after the plugins'
``on_page_markdown``), its place (source path and address), the Markdown extensions and
their settings, every file a link could resolve to (name and address), and the versions of
this module, MkDocs, Python-Markdown and pymdown-extensions. What is kept is what
``Page.render`` leaves on the page: the HTML, the table of contents, the title found in the
text, the anchors it holds and the links it makes to other pages' anchors (which MkDocs
checks after every page is converted, so that check still runs on every build).

Material's search plugin reads each page's HTML back into sections (a third of a build once
the pages come from here); its entries for a page are kept too, keyed by the HTML, the
address, the title and the front matter they are made from, the plugin's settings and
jieba's user dictionary (which cuts their Chinese).

A page whose conversion logged anything (a link MkDocs could not resolve, say) is not kept:
the next build converts it again and says it again, so a strict build keeps failing until
the page is fixed.

Stored in one file per language (``extra.page_cache``), plain values only (marshal), read
through ``cache.read_cache`` (a damaged or foreign file is dropped with one warning), and
written only when an entry was added or dropped; a full build drops the entries of pages it
did not convert, so the file holds one build's pages (the preview's dirty builds only add).

MkDocs has no switch for this, so ``Page.render`` is wrapped, once per process, by the hook
module ``build_cache_hook.py``; without ``extra.page_cache`` the wrapper calls MkDocs' own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import sys
import zlib
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from material.plugins.search.plugin import SearchIndex
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import AnchorLink, TableOfContents, get_toc

from generator.cache import StaleFormat, read_cache, save_cache

_FORMAT = (
    hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
    version("mkdocs"),
    version("markdown"),
    version("pymdown-extensions"),
    version("mkdocs-material"),
    version("jieba"),
    sys.version_info[:2],
)

# (html as zlib-compressed UTF-8, toc tokens, title from the text, anchor ids,
#  {linked file's source path: {anchor: link}})
Entry = tuple[bytes, list[Any], str | None, list[str], dict[str, dict[str, str]]]
# The cache is held in memory for the whole build, beside every page MkDocs holds: compressed,
# its HTML takes a sixth of the room (and of the file); level 1 costs 0.2 ms a page
_ZLIB_LEVEL = 1
# A page's search index entries, as Material's search plugin made them from its HTML
Indexed = list[dict[str, Any]]


@dataclass
class PageCache:
    path: Path
    settings: str  # the extensions, their settings and the files, hashed: part of every page's key
    search_settings: str  # the search plugin's settings and jieba's user dictionary, hashed
    entries: dict[str, Entry | Indexed]
    pages: int  # the build's pages: a build that converts fewer is dirty (the preview's)
    used: set[str] = field(default_factory=set)
    converted: int = 0  # pages this build converted or took from here (not their search entries)
    added: int = 0

    def key(self, page: Page) -> str:
        assert page.markdown is not None
        place = f"{page.file.src_uri}\n{page.file.url}\n"
        return _digest(self.settings + place + page.markdown)

    def save(self) -> None:
        """Write this build's entries when they differ from the file's. A full build keeps
        only its own pages' entries; a dirty one (the preview's) adds to the others."""
        full = self.converted >= self.pages
        if not self.added and (not full or len(self.used) == len(self.entries)):
            return
        kept = {k: v for k, v in self.entries.items() if k in self.used} if full else self.entries
        try:
            save_cache(self.path, marshal.dumps((_FORMAT, kept)), remember=(_decode, kept))
        except (OSError, ValueError):
            pass  # a cache that cannot be written only costs time


_active: PageCache | None = None
_mkdocs_render = Page.render


def _decode(raw: bytes) -> dict[str, Entry | Indexed]:
    fmt, entries = marshal.loads(raw)
    if fmt != _FORMAT:
        raise StaleFormat("another version's converted pages")
    if not isinstance(entries, dict):
        raise ValueError("not a table of pages")
    return entries


def start(config: Any, files: Files) -> None:
    """Open the build's cache (``extra.page_cache``), or none: then pages convert as always."""
    global _active
    path = config["extra"].get("page_cache")
    if not path:
        _active = None
        return
    # every file a link could resolve to; a file's address follows from its source path and
    # use_directory_urls (asking MkDocs for 9,000 addresses took 0.4 s of each preview rebuild)
    settings = json.dumps(
        [config["markdown_extensions"], config["mdx_configs"], config["use_directory_urls"], sorted(f.src_uri for f in files)],
        default=repr,
        sort_keys=True,
    )
    # a copy: this build adds to it, and the remembered value stays what the file holds
    entries = dict(read_cache(Path(path), _decode, "cache of converted pages", remember=True) or {})
    _active = PageCache(Path(path), _digest(settings), _search_settings(config), entries, len(files.documentation_pages()))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _search_settings(config: Any) -> str:
    """What Material's entries for a page depend on beyond the page: its plugin's settings and
    the words of jieba's user dictionary (a name added to the catalogue cuts other pages'
    Chinese differently)."""
    plugin = config["plugins"].get("material/search")
    if plugin is None:
        return ""
    options = dict(plugin.config.items())
    user_dict = options.get("jieba_dict_user")
    try:
        words = Path(user_dict).read_text(encoding="utf-8") if user_dict else ""
    except OSError:
        words = ""  # Material reports a missing dictionary itself
    return _digest(json.dumps(options, default=repr, sort_keys=True) + "\n" + words)


def finish() -> None:
    """Save and close the build's cache."""
    global _active
    done, _active = _active, None
    if done is not None:
        done.save()


def abandon() -> None:
    """Close the build's cache unsaved (the build failed): the next build reads the file as it was."""
    global _active
    _active = None


class _Heard(logging.Handler):
    """Whether MkDocs said anything while a page was converted."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.said = False

    def emit(self, record: logging.LogRecord) -> None:
        self.said = True


def _tokens(items: list[AnchorLink]) -> list[Any]:
    return [{"level": a.level, "id": a.id, "name": a.title, "children": _tokens(a.children)} for a in items]


def render(page: Page, config: Any, files: Files) -> None:
    """``Page.render``, from the cache when the page's key is there."""
    cache = _active
    if cache is None or page.markdown is None:
        _mkdocs_render(page, config, files)
        return
    key = cache.key(page)
    entry = cache.entries.get(key)
    cache.converted += 1
    if isinstance(entry, tuple) and _restore(page, entry, files):
        cache.used.add(key)
        return
    heard = _Heard()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(heard)
    try:
        _mkdocs_render(page, config, files)
    finally:
        logger.removeHandler(heard)
    if heard.said or page.content is None:
        return
    toc = page.toc.items if isinstance(page.toc, TableOfContents) else []
    links = {f.src_uri: dict(anchors) for f, anchors in (page.links_to_anchors or {}).items()}
    html = zlib.compress(page.content.encode("utf-8"), _ZLIB_LEVEL)
    cache.entries[key] = (html, _tokens(toc), page._title_from_render, sorted(page.present_anchor_ids or ()), links)
    cache.used.add(key)
    cache.added += 1


def _restore(page: Page, entry: Entry, files: Files) -> bool:
    content, toc, title, anchors, links = entry
    try:
        html = zlib.decompress(content).decode("utf-8")
    except (zlib.error, UnicodeDecodeError, TypeError):
        return False  # a damaged entry: convert the page again
    linked = {}
    for src_uri, anchor_links in links.items():
        target = files.get_file_from_path(src_uri)
        if target is None:
            return False  # cannot happen with the files in the key; convert it to be sure
        linked[target] = anchor_links
    page.content = html
    page.toc = get_toc(toc)
    page._title_from_render = title
    page.present_anchor_ids = set(anchors)
    page.links_to_anchors = linked
    return True


def index(search_index: SearchIndex, page: Page) -> None:
    """Material's ``SearchIndex.add_entry_from_context``, from the cache when the page's HTML,
    address, title and front matter are the ones its entries were made from."""
    cache = _active
    if cache is None or page.content is None:
        _material_index(search_index, page)
        return
    toc = page.toc.items if isinstance(page.toc, TableOfContents) else []
    made_from = json.dumps([page.url, str(page.title), page.meta, _tokens(toc)], default=repr, sort_keys=True)
    key = "search:" + _digest(cache.search_settings + made_from + page.content)
    entries = cache.entries.get(key)
    if isinstance(entries, list):
        search_index.entries.extend(dict(e) for e in entries)
        cache.used.add(key)
        return
    before = len(search_index.entries)
    _material_index(search_index, page)
    cache.entries[key] = [dict(e) for e in search_index.entries[before:]]
    cache.used.add(key)
    cache.added += 1


_material_index = SearchIndex.add_entry_from_context


def install() -> None:
    """Wrap ``Page.render`` and Material's page indexing (once per process)."""
    if Page.render is not render:
        Page.render = render  # type: ignore[method-assign]
    if SearchIndex.add_entry_from_context is not index:
        SearchIndex.add_entry_from_context = index  # type: ignore[method-assign]
