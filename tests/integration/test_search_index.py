"""The search index holds each text once, and nothing of the pages that only list or tabulate.

Built with the real pipeline (a strict MkDocs build of both languages) from the small site
catalogue in tests/fixtures/site.yaml, so it never depends on what data/datasets.yaml holds.
What it checks is in generator/search.py: the pages of ``UNINDEXED_PAGES`` have no entry, the
sections of ``UNINDEXED_SECTIONS`` are on their pages but not in the index, no paragraph is
in two entries, and the words a list page used to carry for a dataset (its labels, licence,
organisations, summary, sample credits) are still in the entries of the dataset's own page.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from generator.cli import load_catalog
from generator.filters import licence_text
from generator.model import Catalog, Lang
from generator.project import Project
from generator.search import UNINDEXED_PAGES, UNINDEXED_SECTIONS
from generator.site import BuildOptions, build_site
from generator.strings import label, t

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "site.yaml"
PREFIX = {Lang.ZH: "", Lang.EN: "en/"}
# a paragraph this long that is in two entries is the same text indexed twice, not a label
SHORTEST_DUPLICATE = 24


@dataclass(frozen=True)
class Entry:
    location: str
    title: str  # as a reader sees it: jieba's zero-width spaces and HTML escapes removed
    text: str
    tags: tuple[str, ...]

    @property
    def page(self) -> str:
        return self.location.partition("#")[0]

    def words(self) -> str:
        return " ".join((self.title, self.text, *self.tags))


def _plain(value: str) -> str:
    return html.unescape(value.replace("\u200b", ""))


@dataclass(frozen=True)
class Built:
    site: Path
    catalog: Catalog

    def entries(self, lang: Lang) -> list[Entry]:
        index = json.loads((self.site / PREFIX[lang] / "search" / "search_index.json").read_text(encoding="utf-8"))
        return [
            Entry(d["location"], _plain(d["title"]), _plain(re.sub(r"</?\w+>", "\n", d["text"])), tuple(_plain(x) for x in d.get("tags", ())))
            for d in index["docs"]
        ]

    def headings(self, lang: Lang, page: str) -> list[str]:
        """The texts of a built page's h2 headings."""
        text = (self.site / PREFIX[lang] / page / "index.html").read_text(encoding="utf-8")
        return [html.unescape(h) for h in re.findall(r"<h2[^>]*>([^<]*)", text)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("project")
    for name in ("site_src", "data"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copy(FIXTURE, root / "data" / "datasets.yaml")
    mirror = tmp_path_factory.mktemp("mirror")
    for name in ("wide.jpg", "narrow.jpg"):
        Image.new("RGB", (800, 600), (40, 120, 160)).save(mirror / name, "JPEG")
    project = Project(root)
    build_site(project, BuildOptions(site_dir=root / "site", offline=True, sample_mirror=mirror))
    return Built(root / "site", load_catalog(project))


def _url(path: str) -> str:
    """The index's location of a Markdown page: tasks.md -> tasks/, index.md -> ''."""
    return "" if path == "index.md" else path.removesuffix(".md") + "/"


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_list_pages_are_built_but_have_no_entry(built: Built, lang: Lang) -> None:
    entries = built.entries(lang)
    assert len({e.page for e in entries}) > len(built.catalog.datasets)  # the dataset pages are in it
    for path in sorted(UNINDEXED_PAGES):
        assert (built.site / PREFIX[lang] / _url(path) / "index.html").is_file(), path
        assert not [e.location for e in entries if e.page == _url(path)], path


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_excluded_sections_are_on_their_pages_but_not_in_the_index(built: Built, lang: Lang) -> None:
    entries = built.entries(lang)
    for pattern, keys in UNINDEXED_SECTIONS.items():
        pages = [f"datasets/{d.id}.md" for d in built.catalog.datasets] if pattern == "datasets/*.md" else [pattern]
        for key in keys:
            heading = t(key, lang)
            shown = [p for p in pages if heading in built.headings(lang, _url(p))]
            assert shown, f"{heading!r} is on none of {pages}: the test would prove nothing"
            for p in shown:
                titles = [e.title for e in entries if e.page == _url(p)]
                assert titles, f"{p} has no entry at all"
                assert heading not in titles, f"{lang.value} {p}: section {heading!r} is indexed"
    # the dataset pages keep what only they say
    for d in built.catalog.datasets:
        titles = {e.title for e in entries if e.page == _url(f"datasets/{d.id}.md")}
        assert {t("facts", lang), t("description", lang), t("samples", lang), t("links", lang)} <= titles, d.id


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_no_paragraph_is_indexed_twice(built: Built, lang: Lang) -> None:
    where: dict[str, set[str]] = defaultdict(set)
    for e in built.entries(lang):
        for line in e.text.split("\n"):
            line = " ".join(line.split())
            if len(line) >= SHORTEST_DUPLICATE:
                where[line].add(e.location)
    assert len(where) > 3 * len(built.catalog.datasets)
    twice = {line: sorted(locations) for line, locations in where.items() if len(locations) > 1}
    assert not twice, twice
    # each dataset's summary and description are in exactly one entry, on its own page (the
    # home page's cards, the lists, what's new and the related datasets repeated them)
    for d in built.catalog.datasets:
        for text in (d.summary[lang], d.description[lang]):
            found = [e.location for e in built.entries(lang) if text in e.text]
            assert len(found) == 1 and found[0].startswith(f"datasets/{d.id}/"), (d.id, text, found)


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_words_the_list_pages_carried_are_on_the_dataset_pages(built: Built, lang: Lang) -> None:
    """Labels, licence, organisations and sample credits: a search for one still reaches the dataset."""
    entries = built.entries(lang)
    other = Lang.EN if lang is Lang.ZH else Lang.ZH
    for d in built.catalog.datasets:
        page = " ".join(e.words() for e in entries if e.page == f"datasets/{d.id}/")
        words = [
            d.name,
            licence_text(d.licence, lang),
            *(label(x, lang) for x in d.tasks),
            *(label(x, other) for x in d.tasks),
            *(label(x, lang) for x in d.scenes),
            *(label(x, other) for x in d.scenes),
            *(o[lang] for o in d.organisations),
            *(s.credit[lang] for s in d.samples),
            *(s.licence if isinstance(s.licence, str) else s.licence[lang] for s in d.samples),
        ]
        missing = [w for w in words if w not in page]
        assert not missing, (lang.value, d.id, missing)
