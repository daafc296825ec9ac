"""The built site in a real browser (Debian's Chromium driven by Playwright), both languages.

A module fixture builds the site from a temporary copy of the project, serves it on
127.0.0.1 and opens Chromium with every request to another origin aborted and recorded: a
site that asks the network for anything proves it does not work offline, and fails here.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from generator.cli import load_catalog
from generator.model import Lang
from generator.project import Project
from generator.citations import bibtex_for
from generator.render import t
from generator.site import BuildOptions, build_site

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PREFIX = {Lang.ZH: "", Lang.EN: "en/"}
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
SETTLE_POLL_MS = 25
SETTLE_POLLS = 200
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def _missing(what: str) -> None:
    """In CI a missing browser or axe-core is a failure; on a workstation, a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing (run ./dev test, which installs it)")
    pytest.skip(f"{what} is missing (run ./dev test, which installs it)")


# ---------------------------------------------------------------- build and serve


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves the built site like a static host: unknown paths get the language's 404 page."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / ("en/404.html" if self.path.startswith("/en/") else "404.html")
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@dataclass(frozen=True)
class Site:
    root: Path  # the built site folder
    base: str  # http://127.0.0.1:PORT/
    project: Project

    def url(self, lang: Lang, path: str = "") -> str:
        return f"{self.base}{PREFIX[lang]}{path}"

    def pages(self, lang: Lang) -> list[str]:
        """Every page the language's sitemap lists, as a path relative to the language root."""
        tree = ET.parse(self.root / PREFIX[lang] / "sitemap.xml")
        locs = [el.text or "" for el in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
        home = min(locs, key=len)  # the language's home page is the shortest address
        return [loc[len(home):] for loc in locs]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_mirror: Path) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "data", root / "data")
    shutil.copytree(REPO / "site_src", root / "site_src")
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    project = Project(root)
    build_site(
        project,
        BuildOptions(site_dir=root / "site", offline=True, sample_mirror=sample_mirror),
    )
    handler = functools.partial(_SiteHandler, directory=str(root / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(root / "site", f"http://127.0.0.1:{server.server_address[1]}/", project)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


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

    def attach(self, page) -> None:  # noqa: ANN001 - playwright Page
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(f"console error on {page.url}: {msg.text}"))
        page.on("pageerror", lambda err: self.console_errors.append(f"uncaught exception on {page.url}: {err}"))
        page.on("request", lambda request: self.pending.add(request))
        page.on("requestfinished", lambda request: self.pending.discard(request))
        page.on("response", self._response)
        page.on("requestfailed", self._request_failed)

    def settle(self, page) -> None:  # noqa: ANN001
        """Wait until no request of the page is in flight, so that late errors are counted."""
        for _ in range(SETTLE_POLLS):
            if not self.pending:
                return
            page.wait_for_timeout(SETTLE_POLL_MS)

    def _same_origin(self, url: str) -> bool:
        return url.startswith(self.origin)

    def _response(self, response) -> None:  # noqa: ANN001
        if self._same_origin(response.url) and response.status >= 400:
            self.failed.append(f"HTTP {response.status}: {response.url}")

    def _request_failed(self, request) -> None:  # noqa: ANN001
        self.pending.discard(request)
        # ERR_ABORTED: a request cut short because the test navigated on, not a fault of the site
        if self._same_origin(request.url) and request.failure != "net::ERR_ABORTED":
            self.failed.append(f"request failed ({request.failure}): {request.url}")


@pytest.fixture
def make_context(browser, site: Site) -> Iterator:  # noqa: ANN001
    """Factory for browser contexts that reach only the local server; asserts that at teardown."""
    contexts: list[tuple[object, Watch]] = []

    def make(viewport: dict[str, int] = DESKTOP, clipboard: bool = False):  # noqa: ANN202
        watch = Watch(site.base)
        context = browser.new_context(viewport=viewport, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        if clipboard:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base.rstrip("/"))

        def route(r) -> None:  # noqa: ANN001
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


def _open(make_context, site: Site, lang: Lang, path: str = "", **kwargs):  # noqa: ANN001, ANN202
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


def _image_problems(page) -> list[str]:  # noqa: ANN001
    problems = []
    for img in page.evaluate(CHECK_IMAGES_JS):
        if img["width"] <= 0:
            problems.append(f"image not decoded on {page.url}: {img['src']}")
        if not img["alt"]:
            problems.append(f"image without alt text on {page.url}: {img['src']}")
    return problems


def _check_page(page, watch: Watch, url: str) -> list[str]:  # noqa: ANN001
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
def test_unknown_address_gets_the_language_404_page(make_context, site: Site, lang: Lang) -> None:
    context, watch = make_context()
    page = context.new_page()
    response = page.goto(site.url(lang, "no-such-page/"), wait_until="load")
    assert response is not None and response.status == 404
    assert "404" in page.locator("article h1").inner_text()
    page.locator("article a", has_text="首页" if lang is Lang.ZH else "home page").click()
    page.wait_for_url(site.url(lang))
    assert [p for p in watch.problems() if "no-such-page" not in p] == []


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

    # one task ticked at a time (multi-select, URL state and counts: tests/test_search_browser.py)
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


@pytest.mark.parametrize("path", ["", "compare/", "datasets/rpc/"], ids=["home", "compare", "rpc"])
@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_axe_finds_no_serious_accessibility_violation(make_context, site: Site, lang: Lang, path: str) -> None:
    if not AXE.is_file():
        _missing(str(AXE.relative_to(REPO)))
    page, watch = _open(make_context, site, lang, path)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]
    assert not serious, "\n".join(serious)
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
