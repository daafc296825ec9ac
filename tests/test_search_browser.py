"""Search, compare filters and pick-to-compare in a real browser (Debian's Chromium), both languages.

The site is built once from a temporary copy of the project and served on 127.0.0.1; every
request to another origin is aborted and recorded, and a test that made one fails. Queries
are typed into Material's search box as a reader would; the expectations name datasets of
the real catalogue, and each test first checks that those datasets exist, so a catalogue
without them fails loudly instead of passing with nothing to find.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from generator.cli import load_catalog
from generator.model import Lang
from generator.project import Project
from generator.render import t
from generator.site import BuildOptions, build_site

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
PREFIX = {Lang.ZH: "", Lang.EN: "en/"}
TIMEOUT_MS = 10_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


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
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root / "site")))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Site(root / "site", f"http://127.0.0.1:{server.server_address[1]}/", frozenset(d.id for d in catalog.datasets))
    finally:
        server.shutdown()


@dataclass
class Browser:
    page: object
    outside: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is missing (run ./dev test, which installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        result = Browser(page=context.new_page())
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
            chromium.close()
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
    (Lang.ZH, "自助结账", ("rpc",), 1),
    (Lang.ZH, "自动结账", ("rpc",), 1),
    (Lang.ZH, "密集货架", ("sku-110k",), 1),
    (Lang.ZH, "水果蔬菜", ("grocery-store",), 1),
    (Lang.ZH, "商品检索", ("product1m", "eproduct"), 3),
    (Lang.ZH, "细粒度", ("rp2k", "zju-capg-grocery"), 3),
    (Lang.ZH, "码隆", ("imaterialist-product-2019",), 1),
    (Lang.ZH, "结账", ("rpc",), 1),
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
    (Lang.ZH, "checkout", ("rpc", "mvtec-d2s"), 2),
    (Lang.ZH, "vending machine", ("smartuvm", "holoselecta", "tgfs"), 3),
    (Lang.ZH, "selfcheckout", ("rpc",), 1),
    (Lang.ZH, "text recognition", ("unitail",), 1),
    # Chinese on the English site
    (Lang.EN, "货架", ("sku-110k", "locount", "grocery-products"), 8),
    (Lang.EN, "结账台", ("rpc", "mvtec-d2s"), 2),
    (Lang.EN, "售货机", ("smartuvm", "holoselecta", "tgfs"), 3),
    (Lang.EN, "细粒度", ("rp2k",), 2),
    (Lang.EN, "检索", ("eproduct", "product1m", "retail-786k"), 4),
    (Lang.EN, "实例分割", ("mvtec-d2s",), 1),
    (Lang.EN, "文字识别", ("unitail",), 1),
    # English
    (Lang.EN, "self checkout", ("rpc",), 1),
    (Lang.EN, "self-checkout", ("rpc",), 1),
    (Lang.EN, "retail product checkout", ("rpc",), 1),
    (Lang.EN, "Locount", ("locount",), 1),
    (Lang.EN, "counting", ("locount",), 2),
    (Lang.EN, "densely packed", ("sku-110k",), 1),
    (Lang.EN, "Freiburg", ("freiburg-groceries",), 1),
    (Lang.EN, "D2S", ("mvtec-d2s",), 1),
    (Lang.EN, "Malong", ("imaterialist-product-2019",), 1),
    (Lang.EN, "handheld", ("short",), 3),
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
