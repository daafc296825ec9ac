"""What the search index carries beyond the pages, and the word list the browser segments with.

Input: a valid ``Catalog`` (at stage time) and, after MkDocs wrote it, a language's
``search/search_index.json``. Output: per language a ``SearchTerms`` file staged beside the
docs folder, a jieba user dictionary, and (through ``search_hook.py``, run by MkDocs) the
index with those terms added and ``assets/search-words.json`` next to it.

Why: Material segments Chinese with jieba when it writes the index, but its worker cuts a
query greedily against the index and never keeps a run's last character, so ``细粒度``
searched as ``细*``. The word list lets ``assets/search-query.js`` cut the query the way the
index was cut (see there). Each language's page for a dataset also carries the other
language's names and labels, so ``货架`` finds the shelf datasets on the English site.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.memo import PerDataset
from generator.model import Catalog, Dataset, Lang
from generator.strings import catalogue, label

HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Material's separator (engine.py sets it): what the worker splits index text at
SEPARATOR = r'[\s\u200b\-_,:!=\[\]()"`/]+|\.(?!\d)|&[lg]t;|(?!\b)(?=[A-Z][a-z])'
TERMS_FILE = "search-terms.{lang}.json"  # beside the staged docs folders, not in them
USER_DICT_FILE = "jieba-user.txt"
WORDS_URL = "assets/search-words.json"
# jieba user-dictionary frequency: high enough that a name is kept whole (码隆, 京东)
USER_WORD_FREQ = 100_000
# Field boosts: a title match counts most; the carried names and labels come next (they are
# what a dataset is called and what it is about), body text least. Material's default for
# tags is 1e6, which let one label outrank a dataset's own title.
FIELD_BOOSTS = {"title": 1000.0, "tags": 100.0, "text": 1.0}

# Pages with no entry in the index (front matter ``search: exclude``, Material's documented
# switch). Each lists or tabulates what the dataset pages say (names, summaries, figures,
# links, credits) or is a table of fields, and grows with the catalogue: at 3,000 datasets
# their sections were megabytes that every query searched and highlighted, and a word found
# there led to a list instead of the dataset. The navigation reaches them. The Downloads page
# and Contributing stay: a few paragraphs of their own, the same size at any N.
UNINDEXED_PAGES = frozenset(
    {"compare.md", "tasks.md", "scenes.md", "reference.md", "credits.md", "links.md", "whats-new.md"}
)
# Sections the templates mark ``{ data-search-exclude }`` (Material drops the whole section):
# on the home page the chart and the cards (every dataset's name, summary and figures); on a
# dataset page the badges (labels every page shares; the SKU level is under Facts too), the
# results table, the citation (the paper line under Links says the same), the sources
# (titles and addresses) and the related datasets (their summaries are indexed on their own
# pages). The sample captions stay: their credits and image licences are said nowhere else
# in the index once the credits page is out. By the headings' strings.yaml keys, for the
# tests; the templates say it.
UNINDEXED_SECTIONS = {
    "index.md": ("chart_title", "datasets"),
    "datasets/*.md": ("results", "citation", "sources", "related"),
}


def page_meta(path: str, meta: dict[str, object]) -> dict[str, object]:
    """A page's front matter with the search switch added when the page is not indexed."""
    return {**meta, "search": {"exclude": True}} if path in UNINDEXED_PAGES else meta


# Spellings that mean the same word: the browser adds the others to a query that has one.
VARIANTS: tuple[tuple[str, ...], ...] = (
    ("licence", "license"),
    ("licences", "licenses"),
    ("licensed", "licenced"),
    ("catalogue", "catalog"),
    ("colour", "color"),
    ("organisation", "organization"),
    ("organisations", "organizations"),
    ("centre", "center"),
    ("grey", "gray"),
    ("selfcheckout", "self checkout"),
    ("handheld", "hand held"),
)


@dataclass(frozen=True)
class SearchTerms:
    """Words a dataset's page is found by beyond its text, for one language's index."""

    location: str  # the page's address relative to the language root, as the index has it
    tags: tuple[str, ...]


def _other(lang: Lang) -> Lang:
    return Lang.EN if lang is Lang.ZH else Lang.ZH


def dataset_terms(d: Dataset, lang: Lang) -> SearchTerms:
    """Its names and aliases, its SPDX licence id, its task and scene labels in both languages,
    and the other language's full name and labels (not its prose).

    The licence id is a name too: as body text of the Facts table, ``CC-BY-NC-SA-4.0`` ranked
    every page with any CC licence alike. The task and scene rows of the Facts table are
    left out of the index (the template marks them) and their labels are here instead: a
    label query then matches one entry per dataset, not two, and at 3,000 datasets every
    entry a query matches is one more that Material's worker scores and highlights.
    """
    other = _other(lang)
    words = [
        d.name,
        *d.aliases,
        *([d.licence.spdx] if d.licence.spdx else []),
        *(label(x, lang) for x in d.tasks),
        *(label(x, lang) for x in d.scenes),
        d.full_name[other],
        *(label(x, other) for x in d.tasks),
        *(label(x, other) for x in d.scenes),
        label(d.sku_level.level, other),
        *(o[other] for o in d.organisations),
    ]
    seen: dict[str, None] = {}
    for w in words:
        seen.setdefault(w, None)
    return SearchTerms(location=f"datasets/{d.id}/", tags=tuple(seen))


def catalog_terms(catalog: Catalog, lang: Lang) -> list[SearchTerms]:
    return [dataset_terms(d, lang) for d in catalog.datasets]


def terms_json(terms: Iterable[SearchTerms]) -> str:
    return json.dumps([_terms_record(t) for t in terms], ensure_ascii=False, indent=0)


def catalog_terms_json(catalog: Catalog, lang: Lang) -> str:
    """``terms_json(catalog_terms(catalog, lang))``, each dataset's part made once while its
    model lives and the UI words are the same (memo.py; with ``indent=0`` an item's JSON does
    not depend on its depth, so the parts join into the same bytes)."""
    words = catalogue()
    parts = []
    for d in catalog.datasets:
        texts = _terms_texts(d)
        hit = texts.get(lang)
        if hit is None or hit[0] is not words:
            hit = texts[lang] = (words, json.dumps(_terms_record(dataset_terms(d, lang)), ensure_ascii=False, indent=0))
        parts.append(hit[1])
    return "[\n" + ",\n".join(parts) + "\n]" if parts else "[]"


def _terms_record(terms: SearchTerms) -> dict[str, object]:
    return {"location": terms.location, "tags": list(terms.tags)}


# per model: language -> (the UI words it was made with, its JSON)
_terms_texts: PerDataset[dict[Lang, tuple[object, str]]] = PerDataset(lambda d: {})


def read_terms(path: Path) -> list[SearchTerms]:
    return [SearchTerms(location=str(x["location"]), tags=tuple(str(t) for t in x["tags"])) for x in json.loads(path.read_text(encoding="utf-8"))]


def user_dictionary(catalog: Catalog) -> str:
    """jieba user dictionary: every Chinese run of a name or alias, kept whole (organisations
    are left to jieba: 码隆科技 cut as 码隆/科技 is found by either word)."""
    words: set[str] = set()
    for d in catalog.datasets:
        for text in (d.name, *d.aliases):
            words.update(w for w in HAN_RUN.findall(text) if len(w) >= 2)
    return "".join(f"{w} {USER_WORD_FREQ}\n" for w in sorted(words))


def segment(text: str) -> str:
    """Chinese runs cut by jieba and joined by zero-width spaces, as Material does for page text."""
    import jieba

    def cut(match: re.Match[str]) -> str:
        return "\u200b" + "\u200b".join(jieba.cut(match.group(0))) + "\u200b"

    return HAN_RUN.sub(cut, text).strip("\u200b")


def add_terms(index: dict[str, object], terms: Iterable[SearchTerms]) -> None:
    """Give each dataset page's first entry (the page, not its sections) its terms as tags.

    Escaped as HTML: Material's results insert index fields as markup (its own title and
    text come escaped from the page), so a name like ``<img onerror=…>`` must stay text.
    """
    by_location = {t.location: t for t in terms}
    docs = index.get("docs")
    if not isinstance(docs, list):
        return
    for doc in docs:
        if isinstance(doc, dict) and doc.get("location") in by_location:
            found = by_location.pop(str(doc["location"]))
            doc["tags"] = [_tag(w) for w in found.tags]


@functools.lru_cache(maxsize=1 << 16)
def _tag(word: str) -> str:
    """A term as an index tag. Cached: the live preview adds every page's terms again after
    each rebuild, and the same few thousand words come back."""
    return segment(html.escape(word, quote=False))


def index_words(index: dict[str, object]) -> list[str]:
    """Every Chinese token of the index of two or more characters, sorted: the browser's word list.

    Reads Material's index (entries under ``docs``) and Zensical's (``items``, with the
    breadcrumb ``path`` as a searched field)."""
    separator = re.compile(SEPARATOR)
    words: set[str] = set()
    docs = index.get("docs", index.get("items"))
    for doc in docs if isinstance(docs, list) else []:
        if not isinstance(doc, dict):
            continue
        texts = [doc.get("title"), doc.get("text"), *(doc.get("tags") or []), *(doc.get("path") or [])]
        for text in texts:
            if not isinstance(text, str):
                continue
            for token in separator.split(text):
                if token and len(token) >= 2 and HAN_RUN.fullmatch(token):
                    words.add(token)
    return sorted(words)


def words_json(words: list[str]) -> str:
    variants = [list(group) for group in VARIANTS]
    return json.dumps({"words": words, "variants": variants}, ensure_ascii=False, separators=(",", ":"))
