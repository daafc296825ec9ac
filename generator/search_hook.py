"""MkDocs hook (``hooks:`` in the per-language config engine.py writes): index post-processing.

Runs after Material's search plugin has written ``search/search_index.json`` (MkDocs runs
hooks after the plugins), in ``build`` and in ``serve`` alike. It adds each dataset page's
cross-language terms (staged by staging.py, named by ``extra.search_terms``) to the index, then
writes the word list the browser cuts Chinese queries with, made from the index's own tokens.
Both files are written with sorted, fixed-order JSON: same input, same bytes.

In the live preview (``sku-survey serve``) MkDocs builds dirty: it renders only the pages
whose staged Markdown changed, and Material then writes an index of those pages alone (its
own merge keeps the first page's entries only). The hook keeps the last full index and
replaces the rebuilt pages' entries in it. When the preview asks for a full build (templates,
config or the page list changed: ``extra.preview_full_build`` names the marker file it
writes), the hook empties the site folder first, so every page is rebuilt and nothing stale
stays.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.files import write_atomic
from generator.search import WORDS_URL, add_terms, index_words, read_terms, words_json

INDEX_FILE = "search/search_index.json"

# The preview's last full index, kept between its dirty rebuilds. MkDocs loads a hook module
# once per process, so this lives as long as the preview server does; a build never reads
# it unless ``extra.preview_full_build`` is set.
_preview_index: dict[str, Any] | None = None
_preview_words: set[str] = set()  # and the word list made with it


def on_pre_build(config: Any) -> None:
    global _preview_index
    marker = config["extra"].get("preview_full_build")
    if not marker:
        return
    site_dir = Path(config["site_dir"])
    marker_file = Path(marker)
    if marker_file.exists() or _preview_index is None:
        from mkdocs.utils import clean_directory

        clean_directory(str(site_dir))  # a full build: every page is rebuilt, no stale file stays
        marker_file.unlink(missing_ok=True)
        _preview_index = None
        _preview_words.clear()
    search = config["plugins"].get("material/search")
    if search is not None:
        search.search_index_prev = None  # this hook merges (Material's merge keeps one page only)


def _page(location: object) -> str:
    return str(location).partition("#")[0]


def merge_pages(previous: dict[str, Any], rebuilt: dict[str, Any]) -> dict[str, Any]:
    """``previous`` with every entry of the pages ``rebuilt`` holds replaced by ``rebuilt``'s,
    in ``previous``' order (a page new to the index goes last)."""
    fresh: dict[str, list[Any]] = {}
    for doc in rebuilt.get("docs") or ():
        fresh.setdefault(_page(doc.get("location")), []).append(doc)
    replaced = set(fresh)
    docs: list[Any] = []
    for doc in previous.get("docs") or ():
        page = _page(doc.get("location"))
        if page not in replaced:
            docs.append(doc)
        elif page in fresh:
            docs.extend(fresh.pop(page))
    for entries in fresh.values():
        docs.extend(entries)
    return {**previous, **{k: v for k, v in rebuilt.items() if k != "docs"}, "docs": docs}


def on_post_build(config: Any) -> None:
    global _preview_index
    site_dir = Path(config["site_dir"])
    index_file = site_dir / INDEX_FILE
    if not index_file.is_file():
        return  # search disabled: nothing to add to
    index = json.loads(index_file.read_text(encoding="utf-8"))
    rebuilt = index
    merged = False
    if config["extra"].get("preview_full_build"):
        if _preview_index is not None:
            index = merge_pages(_preview_index, index)
            merged = True
        _preview_index = index
    terms_file = config["extra"].get("search_terms")
    if terms_file:
        add_terms(index, read_terms(Path(terms_file)))
    if merged or terms_file:
        # the separators Material writes with, so an index without terms is unchanged
        write_atomic(index_file, json.dumps(index, separators=(",", ":"), default=str).encode("utf-8"))
    words_file = site_dir / WORDS_URL
    if merged and _preview_words:
        # a dirty rebuild: the last list and the rebuilt pages' words (their tags are in
        # ``index``'s entries for them). A word an edit removed stays until the next full
        # build: the list only cuts queries, and reading every entry again cost 0.4 s.
        pages = {_page(doc.get("location")) for doc in rebuilt.get("docs") or ()}
        fresh = {"docs": [doc for doc in index["docs"] if _page(doc.get("location")) in pages]}
        words = sorted(_preview_words.union(index_words(fresh)))
    else:
        words = index_words(index)
    if config["extra"].get("preview_full_build"):
        _preview_words.clear()
        _preview_words.update(words)
    # as MkDocs' own writes do: the folder may not be there (the two languages build at once)
    words_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(words_file, words_json(words).encode("utf-8"))
