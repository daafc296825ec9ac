"""The built site in a real browser (Debian's Chromium driven by Playwright), both languages.

A module fixture builds the site from a temporary copy of the project, serves it on
127.0.0.1 and opens Chromium with every request to another origin aborted and recorded: a
site that asks the network for anything proves it does not work offline, and fails here.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from chromium import missing
from loopback import serve

from generator.citations import bibtex_for, page_citation
from generator.cli import load_catalog
from generator.model import Lang
from generator.project import Project
from generator.render import t
from generator.site import BuildOptions, build_site

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
PREFIX = {Lang.ZH: "", Lang.EN: "en/"}
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
SETTLE_POLL_MS = 25
SETTLE_POLLS = 200
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# the site builder these tests run on; tests/test_browser_zensical.py runs a part of them on Zensical
ENGINE = os.environ.get("SKU_SURVEY_ENGINE", "mkdocs")


# ---------------------------------------------------------------- build and serve


SITE_PREFIX = "/sku-survey/"  # served like a GitHub project site, under the repository's name


@dataclass(frozen=True)
class Site:
    root: Path  # the built site folder
    base: str  # http://127.0.0.1:PORT/sku-survey/, also the build's site_url
    project: Project

    @property
    def origin(self) -> str:
        return self.base[: self.base.index("/", len("http://"))] + "/"

    def url(self, lang: Lang, path: str = "") -> str:
        return f"{self.base}{PREFIX[lang]}{path}"

    def pages(self, lang: Lang) -> list[str]:
        """Every page the language's sitemap lists, as a path relative to the language root."""
        tree = ET.parse(self.root / PREFIX[lang] / "sitemap.xml")
        locs = [el.text or "" for el in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
        home = min(locs, key=len)  # the language's home page is the shortest address
        assert home == self.url(lang), f"the sitemap's addresses are not under site_url: {home}"
        return [loc[len(home):] for loc in locs]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_mirror: Path) -> Iterator[Site]:
    """The real catalogue built with site_url under a path prefix, served under that prefix."""
    yield from served_site(tmp_path_factory, sample_mirror, ENGINE)


def served_site(tmp_path_factory: pytest.TempPathFactory, sample_mirror: Path, engine: str) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "data", root / "data")
    shutil.copytree(REPO / "site_src", root / "site_src")
    # like GitHub Pages serves a project site: under SITE_PREFIX, and the one root 404.html
    # for every missing address, /en/… included
    server = serve(root / "site", prefix=SITE_PREFIX, root_404=True)
    base = server.base
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    configured = re.sub(r"(?m)^site_url: .*$", f"site_url: {base}", config)
    assert configured != config, "mkdocs.yml has no site_url line"
    (root / "mkdocs.yml").write_text(configured, encoding="utf-8")
    project = Project(root)
    build_site(
        project,
        BuildOptions(site_dir=root / "site", offline=True, sample_mirror=sample_mirror, engine=engine),
    )
    try:
        yield Site(root / "site", base, project)
    finally:
        server.close()


# ---------------------------------------------------------------- one watched browser context


@dataclass
class Watch:
    """What the pages of one context did wrong: console errors, failed and foreign requests."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    pending: set[object] = field(default_factory=set)
    foreign_reported: int = 0

    def problems(self) -> list[str]:
        foreign = self.foreign[self.foreign_reported:]
        return [*self.console_errors, *self.failed, *(f"request to another origin (not offline): {u}" for u in foreign)]

    def clear(self) -> None:
        """Forget the problems seen so far (foreign requests are kept for the final check)."""
        self.console_errors.clear()
        self.failed.clear()
        self.foreign_reported = len(self.foreign)

    def attach(self, page) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(f"console error on {page.url}: {msg.text}"))
        page.on("pageerror", lambda err: self.console_errors.append(f"uncaught exception on {page.url}: {err}"))
        page.on("request", lambda request: self.pending.add(request))
        page.on("requestfinished", lambda request: self.pending.discard(request))
        page.on("response", self._response)
        page.on("requestfailed", self._request_failed)

    def settle(self, page) -> None:
        """Wait until no request of the page is in flight, so that late errors are counted."""
        for _ in range(SETTLE_POLLS):
            if not self.pending:
                return
            page.wait_for_timeout(SETTLE_POLL_MS)

    def _same_origin(self, url: str) -> bool:
        return url.startswith(self.origin)

    def _response(self, response) -> None:
        if self._same_origin(response.url) and response.status >= 400:
            self.failed.append(f"HTTP {response.status}: {response.url}")

    def _request_failed(self, request) -> None:
        self.pending.discard(request)
        # ERR_ABORTED: a request cut short because the test navigated on, not a fault of the site
        if self._same_origin(request.url) and request.failure != "net::ERR_ABORTED":
            self.failed.append(f"request failed ({request.failure}): {request.url}")


@pytest.fixture
def make_context(browser, site: Site) -> Iterator:
    """Factory for browser contexts that reach only the local server; asserts that at teardown."""
    contexts: list[tuple[object, Watch]] = []

    def make(viewport: dict[str, int] = DESKTOP, clipboard: bool = False, color_scheme: str = "light"):
        watch = Watch(site.base)
        context = browser.new_context(viewport=viewport, service_workers="block", color_scheme=color_scheme)
        context.set_default_timeout(TIMEOUT_MS)
        if clipboard:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.origin.rstrip("/"))

        def route(r) -> None:
            if r.request.url.startswith(site.base):
                r.continue_()
            else:
                watch.foreign.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        context.on("page", watch.attach)
        contexts.append((context, watch))
        return context, watch

    yield make
    foreign = sorted({url for _, w in contexts for url in w.foreign})
    for context, _ in contexts:
        context.close()
    assert not foreign, "the site asked for another origin (it must work offline):\n" + "\n".join(foreign)


def _open(make_context, site: Site, lang: Lang, path: str = "", **kwargs):
    context, watch = make_context(**kwargs)
    page = context.new_page()
    response = page.goto(site.url(lang, path), wait_until="load")
    assert response is not None and response.status == 200, f"{site.url(lang, path)}: HTTP {response and response.status}"
    return page, watch


# ---------------------------------------------------------------- helpers run in the page

CHECK_IMAGES_JS = """
async () => {
  const settle = (img) => new Promise((resolve) => {
    if (img.complete) return resolve();
    const done = () => resolve();
    img.addEventListener("load", done, { once: true });
    img.addEventListener("error", done, { once: true });
    setTimeout(done, 5000);
  });
  const out = [];
  for (const img of Array.from(document.images)) {
    img.scrollIntoView({ block: "center" });
    await settle(img);
    if (img.decode) { try { await img.decode(); } catch (e) {} }
    out.push({ src: img.currentSrc || img.src, width: img.naturalWidth, alt: (img.getAttribute("alt") || "").trim() });
  }
  window.scrollTo(0, 0);
  return out;
}
"""


def _image_problems(page) -> list[str]:
    problems = []
    for img in page.evaluate(CHECK_IMAGES_JS):
        if img["width"] <= 0:
            problems.append(f"image not decoded on {page.url}: {img['src']}")
        if not img["alt"]:
            problems.append(f"image without alt text on {page.url}: {img['src']}")
    return problems


def _check_page(page, watch: Watch, url: str) -> list[str]:
    watch.clear()
    response = page.goto(url, wait_until="load")
    problems = [] if response is not None and response.status == 200 else [f"{url}: HTTP {response and response.status}"]
    problems += _image_problems(page)
    watch.settle(page)
    return problems + watch.problems()


# ---------------------------------------------------------------- every page


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_every_page_loads_cleanly_with_decoded_images_that_have_alt_text(make_context, site: Site, lang: Lang) -> None:
    context, watch = make_context()
    page = context.new_page()
    paths = site.pages(lang)
    assert "" in paths and "datasets/rpc/" in paths and "compare/" in paths, paths
    problems: list[str] = []
    for path in paths:
        problems += _check_page(page, watch, site.url(lang, path))
    assert not problems, "\n".join(problems)


def test_page_check_catches_a_missing_thumbnail_and_a_console_error(make_context, site: Site) -> None:
    context, watch = make_context()
    context.route("**/assets/thumbs/**", lambda r: r.fulfill(status=404, body="gone"))
    context.add_init_script("console.error('planted by the test')")
    page = context.new_page()
    problems = _check_page(page, watch, site.url(Lang.ZH, "datasets/rpc/"))
    assert any("HTTP 404" in p and "/assets/thumbs/" in p for p in problems), problems
    assert any(p.startswith("image not decoded") for p in problems), problems
    assert any("planted by the test" in p for p in problems), problems


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_unknown_address_gets_a_404_in_the_language_of_the_address(make_context, site: Site, lang: Lang) -> None:
    """The server has one root 404.html (as GitHub Pages does); the page reads the address."""
    context, watch = make_context()
    page = context.new_page()
    response = page.goto(site.url(lang, "no-such/deep/page/"), wait_until="load")
    assert response is not None and response.status == 404
    # on an /en/ address the page fetches the English 404 after "load" and shows itself
    # (drops not-found-swap) only once it is in English: wait for that, not for "load"
    page.wait_for_function("!document.documentElement.classList.contains('not-found-swap')")
    shown = page.locator("article [data-lang]:visible")
    assert shown.count() == 1 and shown.get_attribute("data-lang") == lang.value
    assert shown.locator("h1").inner_text() == t("not_found_title", lang)
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang is Lang.ZH else "en")
    shown.locator("a", has_text=t("not_found_home", lang)).click()
    page.wait_for_url(site.url(lang))
    assert page.locator("article h1").first.inner_text().rstrip("¶") == t("site_name", lang)
    assert [p for p in watch.problems() if "no-such" not in p] == []


# what a reader sees of a page: its text and the attributes that are shown or read out
READER_TEXTS_JS = """
() => {
  const out = [document.title];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (n.textContent.trim() && el && !el.closest("script, style, template") && visible(el)) out.push(n.textContent.trim());
  }
  for (const el of document.body.querySelectorAll("[placeholder], [aria-label], [title], img[alt]")) {
    if (!visible(el) && el.tagName !== "INPUT") continue;
    for (const name of ["placeholder", "aria-label", "title", "alt"]) {
      if (el.getAttribute(name)) out.push(el.getAttribute(name));
    }
  }
  return out;
}
"""
_HAN_TEXT = re.compile(r"[\u3400-\u9fff]")


def test_unknown_address_under_en_answers_wholly_in_english(make_context, site: Site) -> None:
    """On /en/… the root 404.html becomes the English site's: title, header, navigation, search,
    footer in English, and links that resolve under the path prefix. Then the theme works."""
    context, watch = make_context()
    page = context.new_page()
    response = page.goto(site.url(Lang.EN, "no-such/deep/page/"), wait_until="load")
    assert response is not None and response.status == 404
    page.wait_for_selector("html:not(.not-found-swap)")
    assert page.title() == t("not_found_title", Lang.EN)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".md-header__topic").first.inner_text().strip() == t("site_name", Lang.EN)
    chinese = [text for text in page.evaluate(READER_TEXTS_JS) if _HAN_TEXT.search(text) and text != "中文"]
    assert chinese == [], chinese  # the language switch names Chinese in Chinese, as it should
    search = page.locator("input.md-search__input")
    assert search.get_attribute("placeholder") == "Search"
    compare = page.locator(".md-sidebar--primary a.md-nav__link", has_text=t("compare", Lang.EN)).first
    assert compare.get_attribute("href") == f"{SITE_PREFIX}en/compare/"
    # the theme's scripts run on the English page: the search answers in English
    search.click()
    search.fill("checkout")
    page.wait_for_selector(".md-search-result__meta")
    assert not _HAN_TEXT.search(page.locator(".md-search-result__meta").inner_text())
    page.keyboard.press("Escape")
    compare.click()
    page.wait_for_url(site.url(Lang.EN, "compare/"))
    assert page.locator("article h1").first.inner_text().rstrip("¶") == t("compare", Lang.EN)
    assert [p for p in watch.problems() if "no-such" not in p] == []


def test_head_has_exact_hreflang_links_and_no_request_answers_404(make_context, site: Site) -> None:
    """rel="alternate" hreflang links, exact, for readers without scripts (crawlers); Chromium,
    running Material's script, asks for nothing that is not there."""
    from urllib.request import urlopen

    for lang in (Lang.ZH, Lang.EN):
        with urlopen(site.url(lang, "datasets/rpc/")) as answer:
            head = answer.read().decode("utf-8").split("</head>", 1)[0]
        links = dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', head))
        assert links == {"zh-CN": site.url(Lang.ZH, "datasets/rpc/"), "en": site.url(Lang.EN, "datasets/rpc/"), "x-default": site.url(Lang.ZH, "datasets/rpc/")}
        page, watch = _open(make_context, site, lang, "datasets/rpc/")
        page.wait_for_load_state("networkidle")
        watch.settle(page)
        assert watch.problems() == []
        for href in links.values():
            assert page.request.get(href).status == 200


# ---------------------------------------------------------------- language switch


@pytest.mark.parametrize("path", ["", "datasets/rpc/"], ids=["home", "rpc"])
@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_language_switch_leads_to_the_same_page_in_the_other_language(make_context, site: Site, lang: Lang, path: str) -> None:
    other = Lang.EN if lang is Lang.ZH else Lang.ZH
    page, watch = _open(make_context, site, lang, path)
    page.locator(".md-header__option .md-select").first.hover()
    page.locator(f"a[data-lang-switch='{other}']").click()
    page.wait_for_url(site.url(other, path))
    assert page.locator("html").get_attribute("lang").startswith(other.value)
    assert not watch.problems(), watch.problems()


# ---------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("lang", "query", "target"),
    [
        (Lang.ZH, "结账", "datasets/rpc/"),
        (Lang.EN, "checkout", "datasets/rpc/"),
        (Lang.ZH, "京东", "datasets/products-10k/"),
    ],
    ids=["zh-jiezhang-rpc", "en-checkout-rpc", "zh-jingdong-products-10k"],
)
def test_search_finds_the_dataset(make_context, site: Site, lang: Lang, query: str, target: str) -> None:
    page, watch = _open(make_context, site, lang)
    box = page.locator(".md-search__input")
    box.click()  # at desktop width the search box sits in the header
    box.fill(query)
    box.press("End")  # Material reads the query on keyup; fill() alone (like an IME commit) has none
    links = page.locator(".md-search-result__item a.md-search-result__link, .md-search-result__item > a")
    links.first.wait_for()
    hrefs = [urlsplit(h).path for h in links.evaluate_all("els => els.map(e => e.href)")]
    wanted = urlsplit(site.url(lang, target)).path
    assert wanted in hrefs, f"search for {query!r} did not list {wanted}: {hrefs}"
    assert not watch.problems(), watch.problems()


# ---------------------------------------------------------------- comparison table


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_compare_table_sorts_by_images_and_filters_by_task(make_context, site: Site, lang: Lang) -> None:
    page, watch = _open(make_context, site, lang, "compare/")
    labels = page.locator("table[data-compare] thead th").all_text_contents()
    column = [label.strip() for label in labels].index(t("images", lang))
    header = page.locator("table[data-compare] thead th").nth(column)
    for _ in range(2):
        if header.get_attribute("aria-sort") == "descending":
            break
        header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    rows = page.locator("table[data-compare] tbody tr")
    values = rows.evaluate_all(f"rows => rows.map(r => r.cells[{column}].dataset.value)")
    largest = max(int(v) for v in values if v)
    first = page.locator("table[data-compare] tbody tr:not([hidden])").first
    assert int(first.evaluate(f"r => r.cells[{column}].dataset.value")) == largest
    assert values[0] == str(largest)

    # one task ticked at a time (multi-select, URL state and counts: tests/browser/test_search_browser.py)
    boxes = page.locator("form[data-compare-filters] input[name=task]")
    tasks = boxes.evaluate_all("bs => bs.map(b => b.value)")
    for task in tasks:
        page.goto(site.url(lang, f"compare/?task={task}"))
        shown = page.locator("table[data-compare] tbody tr:not([hidden])").evaluate_all("rs => rs.map(r => r.dataset.task)")
        hidden = page.locator("table[data-compare] tbody tr[hidden]").evaluate_all("rs => rs.map(r => r.dataset.task)")
        assert all(task in s.split() for s in shown), (task, shown)
        assert not any(task in h.split() for h in hidden), (task, hidden)
    assert page.locator("table[data-compare] tbody tr:not([hidden])").count() >= 1
    assert not watch.problems(), watch.problems()


# ---------------------------------------------------------------- citation


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_citation_copy_button_puts_the_bibtex_on_the_clipboard(make_context, site: Site, lang: Lang) -> None:
    rpc = next(d for d in load_catalog(site.project).datasets if d.id == "rpc")
    entry = bibtex_for(rpc)
    assert entry
    bibtex = entry.text
    page, watch = _open(make_context, site, lang, "datasets/rpc/", clipboard=True)
    block = page.locator("article .highlight", has_text=bibtex.splitlines()[0])
    block.hover()
    # Material 9.7 draws the copy button as .md-code__button[data-md-type=copy]; older as .md-clipboard
    block.locator(".md-clipboard, .md-code__button[data-md-type='copy']").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert " ".join(copied.split()) == " ".join(bibtex.split())
    assert not watch.problems(), watch.problems()


# ---------------------------------------------------------------- mobile, accessibility, screenshots


@pytest.mark.parametrize("path", ["", "datasets/rpc/"], ids=["home", "rpc"])
@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_no_horizontal_scroll_at_390_px(make_context, site: Site, lang: Lang, path: str) -> None:
    page, watch = _open(make_context, site, lang, path, viewport=MOBILE)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if widths[0] > widths[1]:
        culprits = page.evaluate(
            """w => Array.from(document.querySelectorAll('body *'))
                 .filter(e => e.getBoundingClientRect().right > w + 1)
                 .slice(0, 8).map(e => e.tagName.toLowerCase() + '.' + e.className)""",
            widths[1],
        )
        pytest.fail(f"scrollWidth {widths[0]} > clientWidth {widths[1]}; wider than the screen: {culprits}")
    assert not watch.problems(), watch.problems()


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "390"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_accessibility_violation_on_any_page(make_context, site: Site, scheme: str, viewport: dict[str, int]) -> None:
    """Every page of both languages, in the scheme Material picks from the reader's system."""
    if not AXE.is_file():
        missing(str(AXE.relative_to(REPO)))
    context, watch = make_context(viewport=viewport, color_scheme=scheme)
    context.add_init_script(AXE.read_text(encoding="utf-8"))
    page = context.new_page()
    serious: list[str] = []
    checked = 0
    for lang in Lang:
        for path in site.pages(lang):
            page.goto(site.url(lang, path), wait_until="load")
            expected = "slate" if scheme == "dark" else "default"
            assert page.locator("body").get_attribute("data-md-color-scheme") == expected
            result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
            checked += 1
            serious += [
                f"{lang}/{path}: {v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
                for v in result["violations"]
                if v["impact"] in BLOCKING_IMPACTS
            ]
    assert checked > 20
    assert not serious, "\n".join(serious)
    assert not watch.problems(), watch.problems()


def test_palette_toggle_switches_to_dark_and_back(make_context, site: Site) -> None:
    page, watch = _open(make_context, site, Lang.ZH, "", color_scheme="light")
    body = page.locator("body")
    assert body.get_attribute("data-md-color-scheme") == "default"
    page.locator(f"label[title='{t('switch_to_dark', Lang.ZH)}']").click()
    assert body.get_attribute("data-md-color-scheme") == "slate"
    page.locator(f"label[title='{t('switch_to_light', Lang.ZH)}']").click()
    assert body.get_attribute("data-md-color-scheme") == "default"
    assert not watch.problems(), watch.problems()


# ---------------------------------------------------------------- layout of the wide pages

TEXT_BOXES_JS = """
(selector) => Array.from(document.querySelectorAll(selector)).filter(e => e.getClientRects().length).map(e => {
  const r = e.getBoundingClientRect();
  return { text: e.textContent.trim(), left: r.left, top: r.top, right: r.right, bottom: r.bottom,
           size: parseFloat(getComputedStyle(e).fontSize) * (e.ownerSVGElement ? e.ownerSVGElement.getScreenCTM().a : 1) };
})
"""


def _overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5 and a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5:
                out.append((a["text"], b["text"]))
    return out


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_chart_fills_the_content_width_with_legible_labels_that_never_overlap(make_context, site: Site, lang: Lang) -> None:
    page, watch = _open(make_context, site, lang, "")
    svg = page.locator("figure.chart svg").bounding_box()
    content = page.locator("article.md-content__inner").bounding_box()
    assert svg and content and svg["width"] >= content["width"] * 0.9, (svg, content)
    labels = page.evaluate(TEXT_BOXES_JS, "figure.chart svg text")
    marks = page.evaluate(TEXT_BOXES_JS, "figure.chart svg circle")
    named = [b for b in labels if b["text"]]
    catalog = load_catalog(site.project)
    plotted = {d.name for d in catalog.datasets if d.stats.images.value and d.stats.classes.value}
    assert plotted & {b["text"] for b in named}, "the chart names none of its marks"
    assert min(b["size"] for b in named) >= 11, sorted(b["size"] for b in named)[:3]
    assert not _overlapping(named), _overlapping(named)
    assert not [(b["text"], m["text"]) for b in named for m in marks if _overlapping([b, m])]
    # what the chart cannot show is said under it, in words
    caption = page.locator("figure.chart figcaption").inner_text()
    assert t("chart_missing", lang) in caption
    for d in catalog.datasets:
        if not (d.stats.images.value and d.stats.classes.value):
            assert d.name in caption
    # every plotted dataset is named on the chart or listed under it, however many there are
    listed = page.locator("figure.chart").inner_text()
    assert all(name in {b["text"] for b in named} or name in listed for name in plotted)
    assert not watch.problems(), watch.problems()


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_chart_on_a_phone_names_marks_that_never_overlap_and_lists_the_rest(make_context, site: Site, lang: Lang) -> None:
    """At 390 px: fewer names, ≥ 11 px, touching no other name and no mark; every plotted
    dataset the chart does not name is listed, visibly, under it."""
    page, watch = _open(make_context, site, lang, "", viewport=MOBILE)
    labels = page.evaluate(TEXT_BOXES_JS, "figure.chart svg text.label")
    marks = page.evaluate(TEXT_BOXES_JS, "figure.chart svg circle")
    assert len(labels) >= 5, labels
    assert min(b["size"] for b in labels) >= 11, sorted(b["size"] for b in labels)[:3]
    assert not _overlapping(labels), _overlapping(labels)
    assert not [(b["text"], m["text"]) for b in labels for m in marks if _overlapping([b, m])]
    svg = page.locator("figure.chart svg").bounding_box()
    assert svg and all(svg["x"] <= b["left"] and b["right"] <= svg["x"] + svg["width"] for b in labels)
    key = page.locator("figure.chart .chart-unlabelled:visible")
    assert key.count() == 1
    listed = key.inner_text()
    named = {b["text"] for b in labels}
    catalog = load_catalog(site.project)
    plotted = [d for d in catalog.datasets if d.stats.images.value and d.stats.classes.value]
    assert len(named) < len(plotted), "a phone shows fewer names than there are marks"
    for d in plotted:
        assert d.name in named or d.name in listed, d.name
    assert page.locator("figure.chart .chart-key").is_visible()
    assert not watch.problems(), watch.problems()


@pytest.mark.parametrize(
    "viewport",
    [{"width": 390, "height": 844}, {"width": 768, "height": 1024}, {"width": 1280, "height": 900}, {"width": 1920, "height": 1080}],
    ids=lambda v: str(v["width"]),
)
@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_compare_table_is_readable_at_every_width(make_context, site: Site, lang: Lang, viewport: dict[str, int]) -> None:
    page, watch = _open(make_context, site, lang, "compare/", viewport=viewport)
    table = page.locator("table[data-compare]")
    sizes = table.evaluate("t => Array.from(t.querySelectorAll('td, th')).map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert min(sizes) >= 14
    badges = table.evaluate("t => Array.from(t.querySelectorAll('.badge, .flag')).map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert badges and min(badges) >= 11
    # names break between words at most, never inside one
    for cell in table.locator("tbody th a").all():
        words = cell.evaluate("""a => {
          const range = document.createRange(), out = [];
          const text = a.firstChild;
          let start = 0;
          for (const word of text.data.split(/[ ]/)) {
            range.setStart(text, start); range.setEnd(text, start + word.length);
            out.push(range.getClientRects().length);
            start += word.length + 1;
          }
          return out;
        }""")
        assert all(n == 1 for n in words), (cell.inner_text(), words)
    # numbers are padded away from their neighbours
    padding = table.evaluate("t => parseFloat(getComputedStyle(t.querySelector('td.num')).paddingLeft)")
    assert padding >= 8
    # the page gives the table the whole content width (no contents sidebar)
    assert not page.locator(".md-sidebar--secondary:visible nav ul li").count()
    box = page.locator(".table-scroll").first
    scrolls = box.evaluate("b => b.scrollWidth > b.clientWidth + 1")
    hint = page.locator(".scroll-hint")
    assert hint.is_visible() == scrolls
    if scrolls:
        name = table.locator("tbody tr th").first
        header = table.locator("thead th").nth(3)
        before_name, before_header = name.bounding_box(), header.bounding_box()
        box.evaluate("b => { b.scrollLeft = 400; b.scrollTop = 300; }")
        after_name, after_header = name.bounding_box(), header.bounding_box()
        assert abs(after_name["x"] - before_name["x"]) < 1, "the name column scrolled away"
        assert abs(after_header["y"] - before_header["y"]) < 1, "the header row scrolled away"
    assert not watch.problems(), watch.problems()


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_dataset_page_on_a_phone_has_contents_and_a_way_back(make_context, site: Site, lang: Lang) -> None:
    page, watch = _open(make_context, site, lang, "datasets/rpc/", viewport=MOBILE)
    toc = page.locator("nav.page-toc")
    assert toc.is_visible()
    toc.locator("summary").click()
    entries = toc.locator("a")
    assert entries.count() >= 5
    target = entries.last.get_attribute("href")
    entries.last.click()
    assert page.evaluate("() => location.hash") == target
    page.locator(".page-back a").click()
    page.wait_for_url(site.url(lang, "compare/"))
    assert not watch.problems(), watch.problems()


# ---------------------------------------------------------------- every link and asset, under the prefix

COLLECT_LINKS_JS = """
() => [
  ...Array.from(document.querySelectorAll('a[href]')).map(a => new URL(a.getAttribute('href'), document.baseURI).href),
  ...Array.from(document.querySelectorAll('link[href]')).map(l => l.href),
  ...Array.from(document.querySelectorAll('[src]')).map(e => e.src),
  ...Array.from(document.querySelectorAll('meta[property="og:image"], meta[property="og:url"]')).map(m => m.content),
]
"""


def test_every_link_and_asset_resolves_under_the_path_prefix(make_context, site: Site) -> None:
    """Built with site_url under SITE_PREFIX and served there: every address a page names on
    this host (links, stylesheets, scripts, images, og:url, og:image, the feed) answers 200."""
    import urllib.error
    import urllib.request

    context, watch = make_context()
    page = context.new_page()
    seen: dict[str, str] = {}
    for lang in Lang:
        for path in site.pages(lang):
            url = site.url(lang, path)
            page.goto(url, wait_until="load")
            for found in page.evaluate(COLLECT_LINKS_JS):
                target = found.split("#", 1)[0]
                if target.startswith(site.origin):
                    seen.setdefault(target, url)
    assert any(u.endswith("feed.xml") for u in seen) and any("/assets/social/" in u for u in seen)
    broken = []
    for target, where in sorted(seen.items()):
        if not target.startswith(site.base):
            broken.append(f"{target} (on {where}) is outside {SITE_PREFIX}")
            continue
        try:
            with urllib.request.urlopen(target) as answer:  # loopback only: the local server
                status = answer.status
        except urllib.error.HTTPError as err:
            status = err.code
        if status != 200:
            broken.append(f"HTTP {status}: {target} (on {where})")
    for extra in ("robots.txt", "sitemap.xml", "en/sitemap.xml"):
        with urllib.request.urlopen(site.base + extra) as answer:
            body = answer.read().decode("utf-8")
        # unescaped: Zensical writes "/" in the sitemap as &#x2f;, which XML readers decode
        assert site.base in html.unescape(body), f"{extra} does not use site_url"
    assert not broken, "\n".join(broken)
    assert not watch.problems(), watch.problems()


@pytest.mark.parametrize("path", ["", "datasets/rpc/"], ids=["home", "rpc"])
@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_screenshots_are_saved(make_context, site: Site, lang: Lang, path: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"{lang}-{path.strip('/').replace('/', '-') or 'home'}"
    for label, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page, watch = _open(make_context, site, lang, path, viewport=viewport)
        _image_problems(page)  # load the lazy images so that the picture is complete
        target = ARTIFACTS / f"{name}-{label}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 0
        assert not watch.problems(), watch.problems()


# ---------------------------------------------------------------- every word of the Chinese site

_SKIPPED_TAGS = frozenset({"script", "style", "code", "pre"})
_READ_ATTRIBUTES = ("title", "aria-label", "alt", "placeholder", "content")
_VOID_TAGS = frozenset({"meta", "link", "img", "input", "br", "hr", "source", "wbr", "col", "area", "base", "embed", "param", "track"})
# what is neither a word of a language nor a name: addresses, numbers, signs, punctuation
_URL = re.compile(r"https?://[^\s（）()，、；：]+")
_NOT_WORDS = re.compile(r"[\W\d_]+")
# a count as zh pages write it: 8.37 万, 1.2 亿 (render.format_count)
_ZH_COUNT = re.compile(r"\d+(?:\.\d+)? [万亿]")
_PLACEHOLDER = re.compile(r"\{\w+\}")
# proper names of the page furniture, not of the data: the theme credited in the footer, the
# code host, and each language's own name in the language switch
_FURNITURE_NAMES = ("Material for MkDocs", "GitHub", "English", "中文")
# names of formats and identifier schemes, which the templates mark as English
_FORMAT_NAMES = ("arXiv", "BibTeX", "DOI")


class _VisibleText(__import__("html.parser").parser.HTMLParser):
    """Text a reader can meet on a page: text nodes and the attributes that are read out or
    shown, outside code and scripts. Text inside an element that declares a language other
    than Chinese (lang="en") is kept apart, whole, as ``foreign``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str]] = []  # (tag, "skip" | "foreign" | "")
        self.chunks: list[str] = []
        self.foreign: list[str] = []
        self._foreign_text: list[list[str]] = []

    def _state(self) -> str:
        states = {state for _, state in self.stack}
        return "skip" if "skip" in states else ("foreign" if "foreign" in states else "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = (values.get("lang") or "").lower()
        hidden = "hidden" in values  # not shown (the 404 page's other language, say)
        state = "skip" if tag in _SKIPPED_TAGS or hidden else ("foreign" if lang and not lang.startswith("zh") else "")
        if not state and not self._state():
            for name in _READ_ATTRIBUTES:
                if values.get(name) and (name != "content" or values.get("name") == "description" or values.get("property") in ("og:title", "og:description")):
                    self.chunks.append(values[name] or "")
        if tag in _VOID_TAGS:
            return
        if state == "foreign" and self._state() != "skip":
            self._foreign_text.append([])
        self.stack.append((tag, state))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, state = self.stack.pop()
            if state == "foreign" and self._state() != "skip" and self._foreign_text:
                text = " ".join("".join(self._foreign_text.pop()).split())
                if text:
                    self.foreign.append(text)
                    if self._foreign_text:  # a name inside a name: the outer one holds it
                        self._foreign_text[-1].append(text)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        state = self._state()
        if state == "foreign" and self._foreign_text:
            self._foreign_text[-1].append(data)
        elif not state and data.strip():
            self.chunks.append(data)


def _markdown_words(text: str) -> list[str]:
    """A text written in Markdown (a catalogue paragraph, a hand-written page) as its words
    appear on a page: rendered, in the text nodes that its markup separates."""
    import markdown

    parser = _VisibleText()
    parser.feed(markdown.markdown(text, extensions=["tables", "attr_list"]))
    return parser.chunks


@dataclass(frozen=True)
class _ZhSources:
    ui: tuple[str, ...]  # the Chinese interface: catalogue, labels, field meanings, the theme's zh strings
    data_zh: tuple[str, ...]  # every Chinese text of the data
    neutral: tuple[str, ...]  # the same in both languages, shown unmarked: dataset names and aliases
    names: tuple[str, ...]  # the data's proper names, which a zh page shows only inside lang="en"


def _zh_sources(project: Project) -> _ZhSources:
    from generator.model import Script, Text, script_of
    from generator.reference import field_meanings_zh
    from generator.strings import catalogue

    ui: list[str] = []
    for key, text in catalogue().items():  # the vocabularies' names included
        # a catalogue text with {name} slots is shown in pieces around what fills them
        ui += [piece for line in (_markdown_words(text.zh) if key.endswith("_md") else [text.zh]) for piece in _PLACEHOLDER.split(line)]
    ui += list(field_meanings_zh().values())
    material = Path(__import__("material").__file__).parent / "templates" / "partials" / "languages" / "zh.html"
    ui += re.findall(r'": "([^"]*)"', material.read_text(encoding="utf-8"))
    ui += _markdown_words((project.site_src / "zh" / "contributing.md").read_text(encoding="utf-8"))

    catalog = load_catalog(project)
    data_zh: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, Text):
            data_zh.append(value.zh)
        elif isinstance(value, __import__("pydantic").BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                walk(inner)

    walk(catalog)
    # the same in both languages: dataset names (in titles and navigation, where no markup can
    # say their language) and identifiers
    neutral = [n for d in catalog.datasets for n in (d.name, *d.aliases)]
    neutral += [d.links.paper.doi for d in catalog.datasets if d.links.paper and d.links.paper.doi]
    names: list[str] = [*_FORMAT_NAMES, *_FURNITURE_NAMES]
    for d in catalog.datasets:
        names += [d.name, *d.aliases, *d.stats.splits]
        paper = d.links.paper
        if paper:
            names += [paper.title, paper.venue, *(str(a) for a in paper.authors)]
        names += [s.title for s in d.sources]
        for r in d.results:
            names += [r.method, r.metric, r.split, r.source.title]
        for c in d.competitions:
            names += [x for s in c.solutions for x in (s.title, s.team) if x]
        if d.licence.spdx:
            names.append(d.licence.spdx)
        names += [s.licence for s in d.samples if isinstance(s.licence, str)]
    names += [c.gbt7714 for c in map(page_citation, catalog.datasets) if c.gbt7714]

    # a name written in Chinese is in the page's own language: it needs no lang mark
    data_zh += [n for n in names if script_of(n) is Script.HAN]

    def tidy(texts: list[str]) -> tuple[str, ...]:
        return tuple(sorted({" ".join(s.split()) for s in texts if s.strip()}, key=len, reverse=True))

    return _ZhSources(tidy(ui), tidy(data_zh), tidy(neutral), tidy(names))


def _unexplained(chunk: str, whole: str, known: tuple[str, ...]) -> str:
    """What is left of a visible text once every known string in it is taken out, and addresses,
    numbers and punctuation: '' when every word of it is accounted for."""
    rest = " ".join(chunk.split())
    if f"\0{rest}\0" in whole:
        return ""  # the common case, a known string as it is
    for text in known:
        if text in rest:
            rest = rest.replace(text, "\0")
    rest = _ZH_COUNT.sub(" ", _URL.sub(" ", rest))
    return " ".join(_NOT_WORDS.sub(" ", rest).split())


def _zh_page_problems(html: str, sources: _ZhSources) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    known = tuple(sorted(sources.ui + sources.data_zh + sources.neutral, key=len, reverse=True))
    whole = "\0" + "\0".join(known) + "\0"
    names = set(sources.names)
    problems = []
    for chunk in parser.chunks:
        left = _unexplained(chunk, whole, known)
        if left:
            problems.append(f"{left!r} in {' '.join(chunk.split())[:90]!r}")
    for text in parser.foreign:
        if text not in names and not _URL.fullmatch(text):
            problems.append(f"lang=\"en\" holds {text[:90]!r}, which is no proper name of the data")
    return problems


def test_every_chinese_page_says_its_interface_words_in_chinese(site: Site) -> None:
    """Every text a reader meets on a zh page comes from the zh catalogue, the data's Chinese
    texts, a dataset's name, or is a proper name of the data marked lang="en"."""
    sources = _zh_sources(site.project)
    pages = [p for p in site.root.rglob("*.html") if not p.relative_to(site.root).as_posix().startswith("en/")]
    # every dataset's page is read, however many the catalogue holds
    expected = {"index.html"} | {f"datasets/{d.id}/index.html" for d in load_catalog(site.project).datasets}
    assert expected <= {p.relative_to(site.root).as_posix() for p in pages}
    found = []
    for path in sorted(pages):
        for problem in _zh_page_problems(path.read_text(encoding="utf-8"), sources):
            found.append(f"{path.relative_to(site.root)}: {problem}")
    assert not found, f"{len(found)} texts on Chinese pages from neither the zh catalogue nor the data's zh texts:\n" + "\n".join(found[:80])


def test_the_chinese_page_scan_catches_an_english_interface_word(site: Site) -> None:
    """The scan above is not vacuous: an English UI word put back into a real zh page, as text
    or as a tooltip, or an English word wrapped in lang="en" that is no name of the data, fails."""
    sources = _zh_sources(site.project)
    page = (site.root / "compare" / "index.html").read_text(encoding="utf-8")
    assert _zh_page_problems(page, sources) == []
    english = t("images", Lang.EN)
    assert _zh_page_problems(page.replace(f">{t('images', Lang.ZH)}<", f">{english}<", 1), sources)
    assert _zh_page_problems(page.replace("</main>", f'<p title="{t("unverified_tip", Lang.EN)}">未核实</p></main>', 1), sources)
    assert _zh_page_problems(page.replace("</main>", '<p><span lang="en">Download</span></p></main>', 1), sources)
    assert _zh_page_problems(page.replace("</main>", "<p>图像数 Images</p></main>", 1), sources)
