"""Hostile data never becomes markup: every text field of a catalogue filled with injection
payloads, built for real (both languages), then read back with an HTML parser and in Chromium.

What "stays text" means here: the built pages hold no element or attribute the same site
built from harmless data does not have, no event-handler attribute, no javascript: address,
every payload is shown literally (in a text node or an attribute value), the search index
and JSON-LD stay inert, and no dialog opens in the browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from edits import replace_each, replace_once
from loopback import Reply, serve

from generator.load import load_document
from generator.project import Project
from generator.site import BuildOptions, build_site

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
CHROMIUM = Path("/usr/bin/chromium")

PAYLOADS = [
    '<script>alert("p0")</script>',
    "<img src=x onerror=alert('p1')>",
    '"><svg onload=alert("p2")>',
    "'><img src=x onerror=alert('p3')>",
    "![p4](x){: onerror=alert(4) }",
    "*p5*{: onmouseover=alert(5) }",
    "[p6](javascript:alert(6))",
    '<a href="javascript:alert(7)">p7</a>',
    '</script><script>alert("p8")</script>',
    "`p9` **bold** _it_ ~~del~~",
    "{: .p10 onclick=alert(10) }",
    "<https://evil.example/p11>",
    "https://evil.example/p12 www.evil.example user@evil.example",
    "| p13 | <b>cell</b> |",
    "# p14 heading",
    "line one\n\n<div onclick=alert(15)>p15</div>\n\n# h",
    "&lt;script&gt;p16&lt;/script&gt; &amp; &#60;",
    "\\*p17\\* \\<b>",
    "{{ p18 }} {% raw %}",
    '--8<-- "/etc/passwd" p19',
    ":smile: $p20$ ==mark== ^^ins^^",
    "<!-- p21 --> <![CDATA[x]]>",
    "```\n</code></pre><script>alert('p22')</script>\n```",
    "[p23]: javascript:alert(23)\n[x][p23]",
    '<iframe srcdoc="<script>alert(24)</script>">p24',
    "1. p25 looks like a list",
    "- p26 looks like a list",
    "p27 ends with two spaces  ",
    "<style>body{display:none}</style>p28",
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">p29',
]

# Values that are not free text: structured, enumerated or checked by the model.
STRUCTURED_KEYS = {
    "id", "url", "path", "added", "year", "level", "access", "confidence", "tasks", "scenes",
    "qualifier", "spdx", "arxiv", "doi", "expect", "rank", "verified", "in_seed", "value", "levels",
    "bibtex", "licence", "homepage", "unit", "kind",
}


def _poison(node: Any, texts: list[str], counter: list[int], key: str = "") -> Any:
    """Every free-text string replaced by the next text (plus a unique tag, as names must differ)."""
    if isinstance(node, dict):
        return {k: (v if k in STRUCTURED_KEYS and not isinstance(v, dict) else _poison(v, texts, counter, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_poison(v, texts, counter, key) for v in node]
    if isinstance(node, str) and key not in STRUCTURED_KEYS:
        counter[0] += 1
        return f"{texts[counter[0] % len(texts)]} n{counter[0]}"
    return node


def fixture_data() -> Any:
    # the project's loader: PyYAML's own reads the fixture's `level: yes` as true
    return json.loads(json.dumps(load_document(FIXTURE).data, default=str))


def catalogue(texts: list[str]) -> tuple[str, list[str]]:
    """The fixture with every free text taken from ``texts``, and samples, aliases, custom licence
    terms and a verbatim BibTeX entry added, so that every kind of field is there."""
    counter = [0]
    data = _poison(fixture_data(), texts, counter)

    def next_text() -> str:
        return _poison("x", texts, counter)

    for d in data["datasets"]:
        d["samples"] = [{"url": "https://example.org/sample.png", "credit": next_text(), "licence": next_text(),
                         "caption": {"zh": next_text(), "en": next_text()}}]
        d["aliases"] = [next_text(), next_text()]
        title = texts[0].replace("{", "").replace("}", "")
        d["citation"]["bibtex"] = f"@misc{{{d['id']},\n  title = {{```\n{title}\n```}}\n}}\n"
    data["datasets"][0]["licence"] = {"terms": {"zh": next_text(), "en": next_text()}, "note": {"zh": next_text(), "en": next_text()}}
    assert counter[0] > 40, "the fixture should have dozens of text fields to poison"
    shown = sorted({texts[i % len(texts)] + f" n{i}" for i in range(1, counter[0] + 1)})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False), shown


def make_project(root: Path, data_text: str) -> Project:
    shutil.copytree(ROOT / "site_src", root / "site_src")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    (root / "data").mkdir()
    (root / "data" / "datasets.yaml").write_text(data_text, encoding="utf-8")
    return Project(root)


class _Page(HTMLParser):
    """Elements with their attributes, and the visible text, of one HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shapes: set[tuple[str, str]] = set()
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.shapes.add((tag, ""))
        for name, value in attrs:
            self.shapes.add((tag, name))
            self.attributes.append((tag, name, value or ""))
        if tag == "script":
            self._script = {k: v or "" for k, v in attrs}
            self.scripts.append((self._script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        else:
            self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def build(root: Path, data_text: str) -> Path:
    project = make_project(root, data_text)
    build_site(project, BuildOptions(site_dir=root / "site", offline=True))
    return root / "site"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    text, payloads = catalogue(PAYLOADS)
    hostile = build(tmp_path_factory.mktemp("hostile"), text)
    harmless = build(tmp_path_factory.mktemp("harmless"), catalogue(["plain words"])[0])
    return harmless, hostile, payloads


def pages_of(site: Path) -> dict[str, _Page]:
    return {p.relative_to(site).as_posix(): parse(p.read_text(encoding="utf-8")) for p in sorted(site.rglob("*.html"))}


def test_hostile_text_adds_no_element_or_attribute(sites):
    harmless, hostile, _ = sites
    allowed = set().union(*(p.shapes for p in pages_of(harmless).values()))
    for path, page in pages_of(hostile).items():
        extra = page.shapes - allowed
        assert not extra, f"{path}: the hostile data made {sorted(extra)}"


def test_no_event_handler_or_script_address_anywhere(sites):
    _, hostile, _ = sites
    for path, page in pages_of(hostile).items():
        for tag, name, value in page.attributes:
            assert not name.startswith("on"), f"{path}: <{tag} {name}={value!r}>"
            if name in ("href", "src", "action", "formaction", "srcset", "xlink:href"):
                assert not re.match(r"\s*(javascript|vbscript|data):", value, re.I), f"{path}: <{tag} {name}={value!r}>"
                assert "evil.example" not in value, f"{path}: an address in the text became a link: <{tag} {name}={value!r}>"


def test_every_payload_is_shown_as_the_text_it_is(sites):
    _, hostile, payloads = sites
    shown: list[str] = []
    for page in pages_of(hostile).values():
        shown.append(normalise(" ".join(page.text)))
        shown += (normalise(value) for _, _, value in page.attributes)
    everything = "\n".join(shown)
    missing = [p for p in payloads if normalise(p) not in everything]
    assert not missing, f"{len(missing)} of {len(payloads)} texts were not shown literally, e.g. {missing[:3]}"


def test_scripts_on_pages_are_only_the_sites_own(sites):
    harmless, hostile, _ = sites

    def kinds(site: Path) -> set[str]:
        out = set()
        for page in pages_of(site).values():
            for attrs, body in page.scripts:
                out.add(attrs.get("src", "").rsplit("/", 1)[-1] or attrs.get("type", "inline") + attrs.get("id", ""))
                if attrs.get("type") == "application/ld+json":
                    assert "</" not in body
                    json.loads(body)
        return out

    assert kinds(hostile) == kinds(harmless)


def test_search_index_and_feed_stay_inert(sites):
    harmless, hostile, _ = sites
    allowed = set()
    for prefix in ("", "en/"):
        for doc in json.loads((harmless / prefix / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]:
            allowed |= parse(doc["title"]).shapes | parse(doc["text"]).shapes
    for prefix in ("", "en/"):
        index = json.loads((hostile / prefix / "search" / "search_index.json").read_text(encoding="utf-8"))
        for doc in index["docs"]:
            for field in ("title", "text"):
                extra = parse(doc[field]).shapes - allowed
                assert not extra, f"{prefix}search index {doc['location']} {field}: {sorted(extra)}"
        feed = ET.parse(hostile / prefix / "feed.xml")  # well-formed, or this raises
        titles = [el.text or "" for el in feed.iter("{http://www.w3.org/2005/Atom}title")]
        assert any("<" in t for t in titles), "the feed should carry the names as text"


# ---------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def served(sites) -> Iterator[tuple[str, list[str]]]:
    _, hostile, _ = sites
    server = serve(hostile)
    pages = [p.relative_to(hostile).as_posix() for p in sorted(hostile.rglob("*.html"))]
    try:
        yield server.base, pages
    finally:
        server.close()


@pytest.mark.browser
def test_no_dialog_opens_on_any_page_in_chromium(served):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (./dev test installs it)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    base, pages = served
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            context = browser.new_context()
            # nothing may leave loopback: a payload that loads a remote resource fails here too
            context.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), lambda route: route.abort())
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(f"{page.url}: {d.message}"), d.dismiss()))
            for path in pages:
                page.goto(base + path, wait_until="load")
                # hover and focus everything a payload could have hooked, then open the search
                page.evaluate("() => document.querySelectorAll('*').forEach(el => {"
                              " for (const t of ['mouseover', 'mouseenter', 'focus', 'error', 'load'])"
                              " el.dispatchEvent(new Event(t)); })")
            page.goto(base + "en/", wait_until="load")
            page.keyboard.press("s")
            page.keyboard.type("alert")
            page.wait_for_timeout(500)
            injected = page.evaluate("() => document.querySelectorAll('.md-search-result img, .md-search-result svg[onload], .md-search-result script').length")
        finally:
            browser.close()
    # both languages' whole sites were visited: every dataset's page and the home page, and
    # the same pages in English as in Chinese (a count hid an en site deleted by the zh build)
    zh = {p for p in pages if not p.startswith("en/")}
    en = {p.removeprefix("en/") for p in pages if p.startswith("en/")}
    expected = {"index.html"} | {f"datasets/{d['id']}/index.html" for d in fixture_data()["datasets"]}
    assert expected <= zh and en == zh, (sorted(expected - zh), sorted(zh ^ en))
    assert dialogs == []
    assert injected == 0


# ---------------------------------------------------------------- text a linked server chooses


HOSTILE_TITLE = b"<html><head><title>Page not found &lt;img src=x onerror=alert('title')&gt; *e*{: onclick=alert(1) }</title></head><body>gone</body></html>"
HOSTILE_LOCATION = "/new?x=%22%3E%3Csvg%20onload=alert(1)%3E&y=[a](javascript:alert(2))"


def test_titles_and_redirects_from_a_linked_server_stay_text_on_the_link_health_page(tmp_path, server):
    from generator.cli import main

    server.route("/soft", Reply(200, HOSTILE_TITLE, content_type="text/html"))
    server.route("/moved", Reply(301, b"", {"Location": HOSTILE_LOCATION}))
    server.fallback = Reply(200, b"ok", content_type="text/html")
    base = server.url("")
    data = fixture_data()
    data["datasets"][0]["links"]["homepage"] = f"{base}/soft"
    data["datasets"][0]["links"]["code"] = [{"url": f"{base}/moved"}]
    # every other address of the fixture to the same server: tests talk to loopback only
    text = replace_each(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "https://example.org/", f"{base}/ok/")
    project = make_project(tmp_path, text)
    main(["--root", str(project.root), "links", "--allow-private"])
    report = json.loads(project.link_report.read_text(encoding="utf-8"))
    assert "onerror" in json.dumps(report) and "svg" in json.dumps(report), "the hostile texts should be in the report"
    build_site(project, BuildOptions(site_dir=tmp_path / "site", offline=True))
    for prefix in ("", "en/"):
        page = parse((tmp_path / "site" / prefix / "links" / "index.html").read_text(encoding="utf-8"))
        assert ("img", "") not in page.shapes and ("svg", "onload") not in page.shapes
        assert not any(name.startswith("on") for _, name, _ in page.attributes)
        assert not any(re.match(r"\s*javascript:", v, re.I) for _, name, v in page.attributes if name == "href")
        assert "<img src=x onerror=alert('title')>" in " ".join(page.text)


# ---------------------------------------------------------------- damaged state, kills, symlinks


def test_damaged_caches_are_discarded_with_one_warning_each(tmp_path, caplog):
    project = make_project(tmp_path, FIXTURE.read_text(encoding="utf-8"))
    options = BuildOptions(site_dir=tmp_path / "site", offline=True)
    build_site(project, options)
    damaged = {
        project.cache_dir / "load" / "items.marshal": b"\x00\x01 not marshal",
        project.cache_dir / "stage" / "page-keys.en.json": b'{"index.md": ',
        project.cache_dir / "stage" / "page-keys.zh.json": b"[1, 2, 3]",
    }
    for path, raw in damaged.items():
        assert path.is_file(), f"the build should keep {path}"
        path.write_bytes(raw)
    before = (tmp_path / "site" / "en" / "index.html").read_bytes()
    caplog.clear()
    with caplog.at_level("WARNING", logger="sku_survey"):
        build_site(project, options)
    warned = [r.getMessage() for r in caplog.records if r.name == "sku_survey"]
    for path in damaged:
        assert sum(str(path) in m for m in warned) == 1, (path, warned)
    assert (tmp_path / "site" / "en" / "index.html").read_bytes() == before


def test_a_build_removes_what_a_killed_build_left(tmp_path):
    project = make_project(tmp_path, FIXTURE.read_text(encoding="utf-8"))
    left = [tmp_path / ".site.new-x1y2", tmp_path / ".site.old-123"]
    for folder in left:
        (folder / "en").mkdir(parents=True)
        (folder / "en" / "index.html").write_text("half a site", encoding="utf-8")
    temp = project.cache_dir / "stage" / ".page-keys.en.json.abc123.tmp"
    temp.parent.mkdir(parents=True)
    temp.write_bytes(b"half")
    keep = tmp_path / ".site.notes"  # not a name the build makes
    keep.mkdir()
    build_site(project, BuildOptions(site_dir=tmp_path / "site", offline=True))
    assert not any(p.exists() for p in left) and not temp.exists()  # no old site: nothing left to delete
    assert keep.is_dir() and (tmp_path / "site" / "index.html").is_file()


def test_the_swap_never_leaves_a_moment_without_a_site(tmp_path):
    from generator.swap import swap_in

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("0", encoding="utf-8")
    stop = threading.Event()
    misses: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            if not (site / "index.html").is_file():
                misses.append(1)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(1, 200):
            new = tmp_path / f".site.new-{i}"
            new.mkdir()
            (new / "index.html").write_text(str(i), encoding="utf-8")
            swap_in(new, site)
            assert not new.exists()
    finally:
        stop.set()
        thread.join()
    assert (site / "index.html").read_text(encoding="utf-8") == "199"
    assert misses == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_kill_during_a_build_leaves_the_previous_site_and_the_next_build_cleans_up(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    project = make_project(tmp_path, FIXTURE.read_text(encoding="utf-8"))
    cmd = [sys.executable, "-m", "generator", "--root", str(tmp_path), "build", "--offline"]
    subprocess.run(cmd, check=True, capture_output=True)
    before = {p.relative_to(tmp_path / "site"): p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    (project.data_file).write_text(replace_once(FIXTURE.read_text(encoding="utf-8"), "One-line summary.", "Changed."), encoding="utf-8")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill it once MkDocs is writing the new tree (bounded by polls, not by a clock)
    for _ in range(20_000):
        if any(tmp_path.glob(".site.new-*/*")) or proc.poll() is not None:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = {p.relative_to(tmp_path / "site"): p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    assert after == before or proc.returncode == 0
    subprocess.run(cmd, check=True, capture_output=True)
    # the killed build's folder goes at once; the replaced site is deleted in the background
    for _ in range(20_000):
        if not list(tmp_path.glob(".site.*")):
            break
        time.sleep(0.005)
    assert not list(tmp_path.glob(".site.*")), "the next build should remove the killed build's folders"
    assert "Changed." in " ".join(parse((tmp_path / "site" / "en" / "index.html").read_text(encoding="utf-8")).text)


@pytest.mark.parametrize("target", ["/etc/hostname", "/proc/self/environ"])
def test_a_symlink_out_of_site_src_is_refused_and_nothing_is_published(tmp_path, target):
    from generator.cli import main

    project = make_project(tmp_path, FIXTURE.read_text(encoding="utf-8"))
    (project.site_src / "assets" / "env.txt").symlink_to(target)
    code = main(["--root", str(tmp_path), "build", "--offline"])
    assert code == 2
    assert not (tmp_path / "site").exists()
    assert not list(tmp_path.glob(".site.*"))


# ---------------------------------------------------------------- YAML that must not crash anything


def _validate(tmp_path: Path, text: str) -> tuple[int, str]:
    import subprocess
    import sys

    path = tmp_path / "datasets.yaml"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "generator", "validate", str(path)], capture_output=True, text=True)
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("old", "new", "field", "says"),
    [
        ("year: 2020", "year: " + "9" * 5000, "year", "digits"),
        ("name: Alpha", 'name: "Alpha\\x1b[31m"', "name", "U+001B"),
        ("name: Alpha", 'name: "Al\\0pha"', "name", "U+0000"),
        ("summary: {zh: 一句话简介。, en: One-line summary.}", 'summary: {zh: 一句话简介。, en: "C1 \\x85 next line"}', "summary.en", "U+0085"),
        ("homepage: https://example.org/alpha", 'homepage: "https://example.org/\\0x"', "homepage", "U+0000"),
    ],
)
def test_hostile_scalars_get_a_located_error(tmp_path, old, new, field, says):
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    code, err = _validate(tmp_path, replace_once(text, old, new))
    assert code == 2, err
    line = next(i for i, row in enumerate(text.splitlines(), 1) if old in row)
    assert re.search(rf"datasets\.yaml:{line}:\d+: error: datasets\[0\][^:]*{re.escape(field)}", err), err
    assert says in err and "Traceback" not in err


def test_a_sample_path_with_a_nul_is_an_error_not_a_crash(tmp_path):
    text = replace_once(
        FIXTURE.read_text(encoding="utf-8"),
        "    competitions:\n",
        '    samples:\n      - {path: "a\\0b.jpg", credit: me, licence: CC0-1.0, caption: {zh: 图, en: image}}\n    competitions:\n',
    )
    code, err = _validate(tmp_path, text)
    assert code == 2 and "U+0000" in err and "Traceback" not in err, err


def test_a_file_of_too_many_values_is_refused_before_it_is_built(tmp_path):
    from generator.document import MAX_EVENTS

    code, err = _validate(tmp_path, "datasets: [" + "1," * (MAX_EVENTS + 10) + "1]\n")
    assert code == 2 and f"more than {MAX_EVENTS:,} values" in err and "Traceback" not in err, err
