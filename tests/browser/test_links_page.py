"""The link-health page made from a real link report, read in a real browser.

`sku-survey links` checks the small site fixture's links against a loopback server that
answers each one differently (works, moved for good, gone, redirects somewhere not
checked); the site is built from the report it writes and the page is read at 390 and
1280 px in both languages, as a reader would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from edits import replace_each, replace_once
from loopback import FINE, Loopback, Reply, Request, serve
from test_browser import DESKTOP, MOBILE, _zh_page_problems, _zh_sources
from test_site import copy_project, site_fixture_text

from generator.model import Lang
from generator.render import format_date, t
from generator.site import BuildOptions, build_site

pytestmark = pytest.mark.browser

PREFIX = {Lang.ZH: "", Lang.EN: "en/"}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# what a developer, not a reader, would be told: commands, options, file names of the tooling
_DEVELOPER_WORDS = ("sku-survey", "--", "links.json", "cache.json", "run ", "运行")


def _linked(request: Request) -> Reply:
    """Each path answers one way: /gone 404, /moved 301 for good, /elsewhere a temporary
    redirect to an ftp:// address (which the checker does not follow), anything else 200."""
    if request.path.startswith("/gone"):
        return Reply(404)
    if request.path.startswith("/moved"):
        return Reply(301, b"", headers={"Location": "/new-home"})
    if request.path.startswith("/elsewhere"):
        return Reply(302, b"", headers={"Location": "ftp://files.example/data.zip"})
    return Reply(200, FINE)


@pytest.fixture(scope="module")
def checked_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str], str]]:
    """(site folder, its address, the URL of each kind of link, the day the check ran)."""
    from generator.cli import main

    linked = Loopback(fallback=_linked)
    base = linked.url("").rstrip("/")
    urls = {"broken": f"{base}/gone/shelf", "redirected": f"{base}/moved/checkout", "ok": f"{base}/ok/checkout/download", "skipped": f"{base}/elsewhere/plain"}
    text = site_fixture_text()
    text = replace_once(text, "homepage: https://example.org/shelf\n", f"homepage: {urls['broken']}\n")
    text = replace_once(text, "homepage: https://example.org/checkout\n", f"homepage: {urls['redirected']}\n")
    text = replace_once(text, "- url: https://example.org/checkout/download", f"- url: {urls['ok']}")
    text = replace_once(text, "- url: https://example.org/plain/download", f"- url: {urls['skipped']}")
    text = replace_each(text, "https://arxiv.org/", f"{base}/ok/arxiv/")
    text = replace_each(text, "https://example.org/", f"{base}/ok/")  # every other address too: tests talk to loopback only
    root = tmp_path_factory.mktemp("checked")
    project = copy_project(root, text)
    try:
        main(["--root", str(project.root), "links", "--allow-private"])
    finally:
        linked.close()
    report = json.loads(project.link_report.read_text(encoding="utf-8"))
    verdicts = {row["url"]: row["verdict"] for row in report["links"]}
    assert {kind: verdicts[url] for kind, url in urls.items()} == {k: k for k in urls}, verdicts
    history = json.loads(project.link_report.with_name("cache.json").read_text(encoding="utf-8"))
    day = max(str(entry["last_checked"]) for entry in history["links"].values())[:10]
    build_site(project, BuildOptions(site_dir=root / "site", offline=True))
    server = serve(root / "site")
    try:
        yield root / "site", server.base, urls, day
    finally:
        server.close()


@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["390", "1280"])
@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_link_health_page_tells_readers_what_was_checked_when_and_what_is_broken(browser, checked_site, lang: Lang, viewport: dict[str, int]) -> None:
    site, address, urls, day = checked_site
    context = browser.new_context(viewport=viewport)
    foreign: list[str] = []
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(address) else (foreign.append(r.request.url), r.abort()))
    page = context.new_page()
    try:
        page.goto(f"{address}{PREFIX[lang]}links/", wait_until="load")
        article = page.locator("article")
        text = article.inner_text()
        # when: the day of the check, as the language writes a date; no timestamp anywhere
        assert t("link_checked_on", lang).split("{date}")[0].strip() in text
        assert format_date(day, lang) in text
        assert not _TIMESTAMP.search(page.content())
        # nothing about commands or the checker's own (English) wording
        assert not any(word in text for word in _DEVELOPER_WORDS), text
        assert article.locator("code").count() == 0
        assert "update the data" not in page.content()
        # what is broken: the gone link, under its heading, with what the server said
        broken = page.locator("table.links").first
        assert page.locator("h2", has_text=t("link_broken_heading", lang)).count() == 1
        (row,) = [r for r in broken.locator("tbody tr").all() if urls["broken"] in r.inner_text()]
        assert t("link_broken", lang) in row.inner_text() and "404" in row.inner_text()
        assert len(broken.locator("tbody tr").all()) == 1, "only the broken link is in the broken table"
        # every kind of link in the full table, each with its status in words, on screen
        full = page.locator("table.links").last
        expected = {"ok": t("link_ok", lang), "redirected": t("link_redirected", lang), "broken": t("link_broken", lang), "skipped": t("link_skipped", lang)}
        for kind, url in urls.items():
            (row,) = [r for r in full.locator("tbody tr").all() if url in r.inner_text()]
            status = row.locator("td.status")
            assert expected[kind] in status.inner_text(), (kind, status.inner_text())
            status.scroll_into_view_if_needed()
            box = status.bounding_box()
            assert box is not None and box["width"] > 0
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{kind}: the status is off screen at {viewport['width']} px: {box}"
            if kind == "redirected":
                assert t("link_moved_to", lang).strip(" ;，：:") in status.inner_text() and "/new-home" in status.inner_text()
        assert foreign == []
    finally:
        context.close()


def test_chinese_link_health_page_has_no_english_interface_words(checked_site) -> None:
    site, _, _, _ = checked_site
    from generator.project import Project

    sources = _zh_sources(Project(site.parent))
    assert _zh_page_problems((site / "links" / "index.html").read_text(encoding="utf-8"), sources) == []
