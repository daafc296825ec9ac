"""Part of the browser tests on the site Zensical builds (`sku-survey build --engine zensical`).

The tests are tests/browser/test_browser.py's own, imported so that they run here against a `site`
fixture built by Zensical. Search is typed into Zensical's own dialog (a shadow root, its own
worker), with the query set of tests/browser/test_search_browser.py: the same queries must find
the same datasets on both engines. `SKU_SURVEY_ENGINE=zensical` runs every test of
tests/browser/test_browser.py on Zensical; the ones left out here fail there for the reasons
README.md's engine table gives (Material's search box).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_browser import (  # noqa: F401 - fixtures and tests, collected again here
    Site,
    make_context,
    served_site,
    test_citation_copy_button_puts_the_bibtex_on_the_clipboard,
    test_compare_table_sorts_by_images_and_filters_by_task,
    test_every_link_and_asset_resolves_under_the_path_prefix,
    test_every_page_loads_cleanly_with_decoded_images_that_have_alt_text,
    test_language_switch_leads_to_the_same_page_in_the_other_language,
    test_unknown_address_gets_a_404_in_the_language_of_the_address,
)
from test_search_browser import QUERIES, dataset_ids

from generator import zensical_engine
from generator.model import Lang

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not zensical_engine.available(), reason="zensical is not importable: pip install -e '.[zensical]' (./dev test does)"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_mirror: Path) -> Iterator[Site]:
    yield from served_site(tmp_path_factory, sample_mirror, zensical_engine.ENGINE)


MORE_RESULT_PAGES = 3  # of ten results each, after the first


def zensical_search(page, site: Site, lang: Lang, query: str) -> list[str]:
    """Type ``query`` into Zensical's search dialog; the datasets of the results, best first."""
    page.goto(site.url(lang, "compare/"))
    page.locator(".md-search__button").click()
    box = page.locator("dialog input[role=combobox]")  # Playwright's CSS reaches into the open shadow root
    box.fill(query)
    box.press("End")
    links = page.locator("dialog ol[role=listbox] a[role=option]")
    try:
        links.first.wait_for(timeout=5_000)
    except PlaywrightTimeout:
        return []
    page.wait_for_timeout(200)  # the answer to the whole query, not to a prefix of it
    # Zensical lists sections, ten at a time, and loads more as the list scrolls: a reader
    # scrolls to see the datasets behind the first one's sections
    for _ in range(MORE_RESULT_PAGES):
        shown = links.count()
        links.nth(shown - 1).scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        if links.count() == shown:
            break
    return dataset_ids(links.evaluate_all("els => els.map(e => e.href)"))


@pytest.fixture(scope="module")
def search_page(browser, site: Site) -> Iterator[object]:
    """One page for the query set, reaching only the local server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    outside: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(site.origin):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert not outside, f"requests to another origin: {outside}"


# Where Zensical's own search differs from Material's (README's engine table says so too):
# - it ranks sections by its own measure, so these datasets come a place or a few lower:
ZENSICAL_TOP = {(Lang.ZH, "实例分割"): 2, (Lang.ZH, "selfcheckout"): 2, (Lang.EN, "检索"): 7, (Lang.EN, "实例分割"): 3}
# - it requires every typed word (lunr, on the MkDocs site, ranks by any): no page says "self"
ZENSICAL_EVERY_WORD = {(Lang.EN, "self checkout"), (Lang.EN, "self-checkout")}
ZENSICAL_QUERIES = [(lang, q, expected, ZENSICAL_TOP.get((lang, q), top)) for lang, q, expected, top in QUERIES if (lang, q) not in ZENSICAL_EVERY_WORD]


@pytest.mark.parametrize(("lang", "query", "expected", "top"), ZENSICAL_QUERIES, ids=[f"{q[0].value}:{q[1]}" for q in ZENSICAL_QUERIES])
def test_zensical_search_finds_what_material_search_finds(search_page, site: Site, lang: Lang, query: str, expected: tuple[str, ...], top: int) -> None:
    """The query set of the MkDocs site: Chinese cut by jieba in the index and by the word
    list in the query, cross-language names, spelling variants."""
    assert set(ZENSICAL_TOP) | ZENSICAL_EVERY_WORD <= {(lang, q) for lang, q, *_ in QUERIES}  # no stale exception
    found = zensical_search(search_page, site, lang, query)
    assert set(expected) <= set(found[:top]), f"{lang.value} {query!r}: expected {expected} in the first {top}, got {found[: top + 3]}"


@pytest.mark.parametrize(("lang", "query", "target"), [(Lang.EN, "licence SKU-110K", "sku-110k"), (Lang.ZH, "货架 SKU-110K", "sku-110k")])
def test_a_query_sent_as_a_tree_is_split_as_zensical_splits_text(search_page, site: Site, lang: Lang, query: str, target: str) -> None:
    """A variant or a Chinese word makes the query a tree; a hyphenated name in it still finds
    its dataset (Zensical cuts a tree's words as it cuts typed text)."""
    assert target in zensical_search(search_page, site, lang, query)[:3]


def test_zensical_worker_keeps_jieba_words_whole(site: Site) -> None:
    """The index is cut by jieba (zero-width spaces between words) and tells the worker not to
    cut Chinese again; the word list is made from it."""
    index = json.loads((site.root / "search.json").read_text(encoding="utf-8"))
    assert not [x for x in index["config"]["lang"] if x.lower().startswith("zh")]
    rpc = next(i for i in index["items"] if i["location"] == "datasets/rpc/")
    assert "\u200b结账\u200b" in rpc["text"] or "\u200b结账" in rpc["text"]
    words = json.loads((site.root / "assets" / "search-words.json").read_text(encoding="utf-8"))["words"]
    assert "结账" in words and "货架" in words
