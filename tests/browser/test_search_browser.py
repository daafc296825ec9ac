"""Search, compare filters and pick-to-compare in a real browser (Debian's Chromium), both languages.

The site is built once from a temporary copy of the project and served on 127.0.0.1; every
request to another origin is aborted and recorded, and a test that made one fails. Queries
are typed into Material's search box as a reader would; the expectations name datasets of
the real catalogue, and each test first checks that those datasets exist, so a catalogue
without them fails loudly instead of passing with nothing to find.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from chromium import launched
from loopback import serve

from generator.cli import load_catalog
from generator.model import Lang
from generator.project import Project
from generator.render import t
from generator.site import BuildOptions, build_site

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
PREFIX = {Lang.ZH: "", Lang.EN: "en/"}
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Site:
    root: Path
    base: str
    ids: frozenset[str]

    def url(self, lang: Lang, path: str = "") -> str:
        return f"{self.base}{PREFIX[lang]}{path}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_mirror: Path) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("project")
    for name in ("data", "site_src"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    project = Project(root)
    build_site(project, BuildOptions(site_dir=root / "site", offline=True, sample_mirror=sample_mirror))
    catalog = load_catalog(project)
    server = serve(root / "site")
    try:
        yield Site(root / "site", server.base, frozenset(d.id for d in catalog.datasets))
    finally:
        server.close()


@dataclass
class Browser:
    page: object
    chromium: object
    outside: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    """One page at desktop width that reaches only the local server (asserted at the end);
    in this module it stands in for conftest.py's bare browser."""
    with launched() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        result = Browser(page=context.new_page(), chromium=chromium)
        local = urlsplit(site.base).netloc

        def route(r: object) -> None:
            if urlsplit(r.request.url).netloc == local:  # type: ignore[attr-defined]
                r.continue_()  # type: ignore[attr-defined]
            else:
                result.outside.append(r.request.url)  # type: ignore[attr-defined]
                r.abort()  # type: ignore[attr-defined]

        context.route("**/*", route)
        try:
            yield result
        finally:
            context.close()
    assert not result.outside, f"requests to another origin: {result.outside}"


# ---------------------------------------------------------------- search


def search(browser: Browser, site: Site, lang: Lang, query: str) -> list[str]:
    """Type ``query`` into the search box; the addresses of the results, best first."""
    page = browser.page
    page.goto(site.url(lang, "compare/"))  # type: ignore[attr-defined]
    box = page.locator("input.md-search__input")  # type: ignore[attr-defined]
    box.click()
    box.type(query, delay=5)
    # Chinese is inserted as text, without the keyup Material listens to (an IME sends one)
    box.press("End")
    page.wait_for_function(  # type: ignore[attr-defined]
        """q => { const list = document.querySelector('.md-search-result__list');
                  const box = document.querySelector('input.md-search__input');
                  return box.value === q && list && (list.children.length > 0
                      || document.querySelector('.md-search-result__meta').textContent.match(/\\d|no /i)); }""",
        arg=query,
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(150)  # type: ignore[attr-defined]  # the last keystroke's answer
    return page.eval_on_selector_all(".md-search-result__item > a", "els => els.map(e => e.href)")  # type: ignore[attr-defined]


def dataset_ids(hrefs: list[str]) -> list[str]:
    """Dataset ids in result order, each once."""
    out: list[str] = []
    for href in hrefs:
        m = re.search(r"/datasets/([a-z0-9-]+)/", unquote(href))
        if m and m.group(1) not in out:
            out.append(m.group(1))
    return out


# (language, query, datasets expected among the first `top` datasets found, top)
QUERIES: list[tuple[Lang, str, tuple[str, ...], int]] = [
    # compound Chinese queries: found by their words, best match first
    (Lang.ZH, "自助结账", ("rpc", "aicity-retail-checkout"), 2),
    (Lang.ZH, "自动结账", ("rpc", "aicity-retail-checkout"), 2),
    (Lang.ZH, "密集货架", ("sku-110k",), 1),
    (Lang.ZH, "水果蔬菜", ("grocery-store",), 1),
    (Lang.ZH, "商品检索", ("product1m", "eproduct"), 3),
    (Lang.ZH, "细粒度", ("rp2k", "zju-capg-grocery"), 3),
    (Lang.ZH, "码隆", ("imaterialist-product-2019",), 1),
    (Lang.ZH, "结账", ("rpc", "aicity-retail-checkout"), 2),
    (Lang.ZH, "售货机", ("smartuvm", "holoselecta", "tgfs"), 3),
    (Lang.ZH, "京东", ("products-10k",), 1),
    (Lang.ZH, "阿里巴巴", ("aliproducts",), 1),
    (Lang.ZH, "弗莱堡", ("freiburg-groceries",), 1),
    (Lang.ZH, "杂货", ("grocery-store", "freiburg-groceries"), 4),
    (Lang.ZH, "实例分割", ("mvtec-d2s",), 1),
    (Lang.ZH, "零售商品", ("rpc",), 4),
    # names, and English on the Chinese site
    (Lang.ZH, "RPC", ("rpc",), 1),
    (Lang.ZH, "SKU-110K", ("sku-110k",), 1),
    (Lang.ZH, "shelf", ("sku-110k", "locount"), 7),
    (Lang.ZH, "checkout", ("rpc", "mvtec-d2s", "aicity-retail-checkout"), 3),
    (Lang.ZH, "vending machine", ("smartuvm", "holoselecta", "tgfs"), 3),
    (Lang.ZH, "selfcheckout", ("rpc",), 1),
    (Lang.ZH, "text recognition", ("unitail",), 1),
    # Chinese on the English site
    (Lang.EN, "货架", ("sku-110k", "locount", "grocery-products"), 8),
    (Lang.EN, "结账台", ("rpc", "mvtec-d2s", "aicity-retail-checkout"), 3),
    (Lang.EN, "售货机", ("smartuvm", "holoselecta", "tgfs"), 3),
    (Lang.EN, "细粒度", ("rp2k",), 2),
    (Lang.EN, "检索", ("eproduct", "product1m"), 4),
    (Lang.EN, "实例分割", ("mvtec-d2s", "deepfashion2"), 2),
    (Lang.EN, "文字识别", ("unitail",), 1),
    # English
    (Lang.EN, "self checkout", ("rpc", "aicity-retail-checkout"), 2),
    (Lang.EN, "self-checkout", ("rpc", "aicity-retail-checkout"), 2),
    (Lang.EN, "retail product checkout", ("rpc", "aicity-retail-checkout"), 2),
    (Lang.EN, "Locount", ("locount",), 1),
    (Lang.EN, "counting", ("locount",), 2),
    (Lang.EN, "densely packed", ("sku-110k",), 1),
    (Lang.EN, "Freiburg", ("freiburg-groceries",), 1),
    (Lang.EN, "D2S", ("mvtec-d2s",), 1),
    (Lang.EN, "Malong", ("imaterialist-product-2019",), 1),
    (Lang.EN, "handheld", ("short",), 3),
    # words the list pages and the excluded sections also carried, now only on the dataset
    # pages (licence ids, image credits and their terms, organisations, paper authors,
    # download hosts, scene labels)
    (Lang.EN, "CC-BY-NC-ND-4.0", ("retail-786k",), 1),
    (Lang.ZH, "CC-BY-NC-SA-4.0", ("rpc",), 1),
    (Lang.EN, "academic purposes only", ("unitail",), 2),
    (Lang.EN, "Megvii", ("rpc",), 1),
    (Lang.ZH, "旷视", ("rpc",), 1),
    (Lang.EN, "Xiu-Shen Wei", ("rpc",), 1),
    (Lang.EN, "Kaggle", ("products-10k",), 3),
    (Lang.EN, "leaflet", ("leaflet-product-classification", "retail-786k"), 2),
    (Lang.ZH, "促销传单", ("leaflet-product-classification", "retail-786k"), 2),
]


def test_the_query_set_names_real_datasets(site: Site) -> None:
    named = {x for _, _, expected, _ in QUERIES for x in expected}
    assert len(QUERIES) >= 30
    assert {lang for lang, *_ in QUERIES} == set(Lang)
    assert named <= site.ids, f"the query set names datasets the catalogue lacks: {sorted(named - site.ids)}"


@pytest.mark.parametrize(("lang", "query", "expected", "top"), QUERIES, ids=[f"{q[0].value}:{q[1]}" for q in QUERIES])
def test_query_finds_the_expected_datasets_first(browser: Browser, site: Site, lang: Lang, query: str, expected: tuple[str, ...], top: int) -> None:
    assert set(expected) <= site.ids
    found = dataset_ids(search(browser, site, lang, query))
    assert set(expected) <= set(found[:top]), f"{lang.value} {query!r}: expected {expected} in the first {top}, got {found[:top + 3]}"


def test_spelling_variants_find_the_same_pages(browser: Browser, site: Site) -> None:
    us = search(browser, site, Lang.EN, "license")
    uk = search(browser, site, Lang.EN, "licence")
    assert len(uk) > 3
    assert sorted(us) == sorted(h.replace("h=licence+license", "h=license+licence") for h in uk) or set(dataset_ids(us)) == set(dataset_ids(uk))


def test_a_compound_query_finds_what_its_words_find(browser: Browser, site: Site) -> None:
    both = set(dataset_ids(search(browser, site, Lang.ZH, "水果蔬菜")))
    fruit = set(dataset_ids(search(browser, site, Lang.ZH, "水果")))
    vegetables = set(dataset_ids(search(browser, site, Lang.ZH, "蔬菜")))
    assert fruit and vegetables
    assert fruit | vegetables <= both


def test_the_word_list_is_the_index_vocabulary(site: Site) -> None:
    for lang in Lang:
        words = json.loads((site.root / PREFIX[lang] / "assets" / "search-words.json").read_text(encoding="utf-8"))["words"]
        index = (site.root / PREFIX[lang] / "search" / "search_index.json").read_text(encoding="unicode_escape")
        assert words == sorted(set(words)) and len(words) > 10
        assert all(w in index for w in words[:: max(1, len(words) // 50)])
        assert "货架" in words  # a scene label: in the Chinese text, and in the English index's tags


# ---------------------------------------------------------------- compare page


def _rows(page: object, selector: str = "tbody tr:not([hidden])") -> list[dict[str, str]]:
    return page.locator(f"table[data-compare] {selector}").evaluate_all(  # type: ignore[attr-defined]
        "rs => rs.map(r => ({id: r.dataset.id, task: r.dataset.task, scene: r.dataset.scene, licence: r.dataset.licence, year: r.dataset.year}))"
    )


def _params(page: object) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(urlsplit(page.url).query))  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_facets_take_several_values_count_and_live_in_the_address(browser: Browser, site: Site, lang: Lang) -> None:
    assert {"rpc", "locount", "sku-110k"} <= site.ids
    page = browser.page
    page.goto(site.url(lang, "compare/"))  # type: ignore[attr-defined]
    everything = _rows(page)
    form = page.locator("form[data-compare-filters]")  # type: ignore[attr-defined]
    assert form.is_visible()
    counting = form.locator("label[data-option=counting]")
    # the count an option shows is the number of rows ticking it leaves
    promised = int(counting.locator("[data-count]").inner_text())
    counting.locator("input").check()
    assert len(_rows(page)) == promised == sum("counting" in r["task"].split() for r in everything)
    form.locator("label[data-option=detection] input").check()
    shown = _rows(page)
    assert shown and all({"counting", "detection"} & set(r["task"].split()) for r in shown)
    assert len(shown) == sum(bool({"counting", "detection"} & set(r["task"].split())) for r in everything)
    assert _params(page)["task"] in ("counting,detection", "detection,counting")
    # an option that would leave no row is not offered (studio scene with shelf-only tasks, say)
    for label in form.locator("fieldset[data-facet=scene] label[data-option]").all():
        n = int(label.locator("[data-count]").inner_text())
        assert label.is_hidden() == (n == 0), label.get_attribute("data-option")
    # sort, reload, Back
    page.locator("table[data-compare] thead button[data-key=images]").click()  # type: ignore[attr-defined]
    assert _params(page)["sort"] == "images" and _params(page)["dir"] == "descending"
    page.reload()  # type: ignore[attr-defined]
    assert [r["id"] for r in _rows(page)] == [r["id"] for r in shown_sorted(page)]
    assert form.locator("label[data-option=counting] input").is_checked()
    assert page.locator("table[data-compare] thead th[aria-sort=descending] button").get_attribute("data-key") == "images"  # type: ignore[attr-defined]
    page.go_back()  # type: ignore[attr-defined]  # before the sort
    assert "sort" not in _params(page)
    assert page.locator("table[data-compare] thead th[aria-sort=descending]").count() == 0  # type: ignore[attr-defined]
    page.go_back()  # type: ignore[attr-defined]  # before ticking detection
    assert _params(page)["task"] == "counting"
    assert not form.locator("label[data-option=detection] input").is_checked()
    assert all("counting" in r["task"].split() for r in _rows(page))


def shown_sorted(page: object) -> list[dict[str, str]]:
    """The visible rows in the order the images column's values say, largest first, unknown last."""
    rows = page.locator("table[data-compare] tbody tr:not([hidden])").evaluate_all(  # type: ignore[attr-defined]
        """rs => { const i = [...document.querySelectorAll('table[data-compare] thead th')].findIndex(th => th.querySelector('[data-key=images]'));
                   return rs.map(r => ({id: r.dataset.id, v: r.cells[i].dataset.value})); }"""
    )
    known = sorted((r for r in rows if r["v"]), key=lambda r: -int(r["v"]))
    return known + [r for r in rows if not r["v"]]


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_licence_groups_year_range_and_name_filter(browser: Browser, site: Site, lang: Lang) -> None:
    assert "sku-110k" in site.ids
    page = browser.page
    page.goto(site.url(lang, "compare/?licence=non-commercial,unknown&from=2019&to=2020"))  # type: ignore[attr-defined]
    shown = _rows(page)
    assert shown and all(r["licence"] in ("non-commercial", "unknown") and 2019 <= int(r["year"]) <= 2020 for r in shown)
    assert page.locator("form[data-compare-filters] input[name=from]").input_value() == "2019"  # type: ignore[attr-defined]
    page.goto(site.url(lang, "compare/"))  # type: ignore[attr-defined]
    box = page.locator("form[data-compare-filters] input[name=q]")  # type: ignore[attr-defined]
    box.fill("sku110")  # an alias written without the hyphen
    assert sorted(r["id"] for r in _rows(page)) == ["sku-110k", "sku110k-r"]  # SKU110K-R is named after it
    box.press("Enter")
    assert _params(page)["q"] == "sku110"
    page.locator("form[data-compare-filters] button[type=reset]").click()  # type: ignore[attr-defined]
    assert len(_rows(page)) == len(site.ids) and not _params(page)


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_pick_to_compare_from_the_table_and_a_dataset_page(browser: Browser, site: Site, lang: Lang) -> None:
    assert {"rpc", "sku-110k", "locount"} <= site.ids
    page = browser.page
    page.goto(site.url(lang, "compare/"))  # type: ignore[attr-defined]
    page.evaluate("localStorage.clear()")  # type: ignore[attr-defined]
    page.goto(site.url(lang, "compare/"))  # type: ignore[attr-defined]
    page.locator("input[data-pick=rpc]").check()  # type: ignore[attr-defined]
    page.locator("input[data-pick=sku-110k]").check()  # type: ignore[attr-defined]
    assert _params(page)["pick"] == "rpc,sku-110k"
    view = page.locator("[data-pick-table]")  # type: ignore[attr-defined]
    view.locator("tbody").wait_for()
    heads = view.locator("thead th a").all_text_contents()
    assert heads == ["RPC", "SKU-110K"]
    labels = view.locator("tr.pick-label th").all_text_contents()
    for key in ("images", "classes", "splits", "annotation", "tasks", "scenes", "licence", "access", "year", "paper"):
        assert t(key, lang) in labels, key
    images = view.locator("tr[data-fact=images] td").all_text_contents()
    assert len(images) == 2 and all(any(ch.isdigit() for ch in v) for v in images)
    # a dataset page adds a third, and its link names all three
    page.goto(site.url(lang, "datasets/locount/"))  # type: ignore[attr-defined]
    toggle = page.locator("[data-pick-toggle]")  # type: ignore[attr-defined]
    assert toggle.inner_text() == t("pick_add", lang)
    toggle.click()
    assert toggle.inner_text() == t("pick_remove", lang)
    go = page.locator("[data-pick-go]")  # type: ignore[attr-defined]
    assert go.get_attribute("href").endswith("compare/?pick=rpc,sku-110k,locount")
    go.click()
    page.locator("[data-pick-table] tbody").wait_for()  # type: ignore[attr-defined]
    assert page.locator("[data-pick-table] thead th a").all_text_contents() == ["RPC", "SKU-110K", "Locount"]  # type: ignore[attr-defined]
    # the address alone restores the view, in the other language too
    other = Lang.EN if lang is Lang.ZH else Lang.ZH
    page.goto(site.url(other, "compare/?pick=locount,rpc"))  # type: ignore[attr-defined]
    page.locator("[data-pick-table] tbody").wait_for()  # type: ignore[attr-defined]
    assert page.locator("[data-pick-table] thead th a").all_text_contents() == ["Locount", "RPC"]  # type: ignore[attr-defined]
    assert t("images", other) in page.locator("[data-pick-table] tr.pick-label th").all_text_contents()  # type: ignore[attr-defined]
    page.locator("[data-pick-table] thead button.pick-remove").first.click()  # type: ignore[attr-defined]
    assert _params(page)["pick"] == "rpc"
    assert page.locator("[data-pick-table] tbody").count() == 0  # type: ignore[attr-defined]
    assert page.locator("[data-pick-status]").inner_text() == t("pick_more", other)  # type: ignore[attr-defined]


def test_pick_view_is_readable_on_a_phone(browser: Browser, site: Site) -> None:
    assert {"rpc", "sku-110k", "locount", "rp2k"} <= site.ids
    context = browser.chromium.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(site.url(Lang.ZH, "compare/?pick=rpc,sku-110k,locount,rp2k"))
        page.locator("[data-pick-table] tbody").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        widths = page.locator("[data-pick-table] thead th").evaluate_all("ths => ths.map(th => th.getBoundingClientRect().width)")
        assert len(widths) == 4 and min(widths) >= 70  # four readable columns, no sideways scrolling
    finally:
        context.close()


def test_without_javascript_the_table_is_all_there_with_a_note(browser: Browser, site: Site) -> None:
    context = browser.chromium.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        for lang in Lang:
            page.goto(site.url(lang, "compare/?task=counting"))
            assert page.locator("table[data-compare] tbody tr:visible").count() == len(site.ids)
            note = page.locator("p.compare-noscript")
            assert note.is_visible() and note.inner_text() == t("compare_noscript", lang)
            assert page.locator("form[data-compare-filters]").is_hidden()
            assert page.locator("[data-pick-view]").is_hidden()
    finally:
        context.close()


def test_site_js_inserts_data_as_text_only() -> None:
    for name in ("site.js", "search-query.js"):
        source = (REPO / "site_src" / "assets" / name).read_text(encoding="utf-8")
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function", source), name
