"""`sku-survey serve`: a real preview server that follows edits to the data and shows data errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from edits import replace_once
from test_site import copy_project, site_fixture_text

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.read().decode("utf-8")
    except OSError:
        return None


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def index_pages(url: str) -> tuple[list[str], dict[str, str]]:
    """The search index's entry locations, and each page's whole text (title + sections)."""
    raw = fetch(url)
    docs = json.loads(raw)["docs"] if raw else []
    texts: dict[str, str] = {}
    for doc in docs:
        page = doc["location"].partition("#")[0]
        texts[page] = texts.get(page, "") + " " + doc["title"] + " " + doc["text"]
    return [doc["location"] for doc in docs], texts


def test_serve_follows_edits_and_shows_errors_without_stopping(tmp_path):
    project = copy_project(tmp_path, site_fixture_text())
    port = free_port()
    log_file = tmp_path / "serve.log"
    log = log_file.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "--root", str(project.root), "serve", "--offline", "--lang", "en", "--dev-addr", f"127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}/en/"
    page, index = base + "datasets/checkout/", base + "search/search_index.json"
    try:
        assert wait_for(lambda: "Top-down checkout photos" in (fetch(page) or ""), 90), log_file.read_text()
        assert wait_for(lambda: index_pages(index)[0], 30), "no search index"
        locations, texts = index_pages(index)
        assert "datasets/plain/" in texts and "datasets/checkout/" in texts

        # one dataset's text: MkDocs rebuilds only the pages whose Markdown changed, and the
        # index must still hold every page once, with the new text
        text = project.data_file.read_text(encoding="utf-8")
        edited = replace_once(text, "en: Top-down checkout photos.", "en: Top-down checkout photos (edited).")
        project.data_file.write_text(edited, encoding="utf-8")
        assert wait_for(lambda: "(edited)" in (fetch(page) or ""), 60), "the page did not follow the edit"
        assert wait_for(lambda: "(edited)" in index_pages(index)[1].get("datasets/checkout/", ""), 30), "the index kept the old text"
        after, texts_after = index_pages(index)
        assert sorted(after) == sorted(locations), "a dirty rebuild lost or doubled index entries"
        # the data files the edit changed are copied too (the preview tells MkDocs which)
        assert "(edited)" in (fetch(base + "datasets.checkout.croissant.json") or ""), "the dataset's Croissant file is stale"
        assert "(edited)" in (fetch(base + "datasets.json") or ""), "the catalogue's JSON is stale"
        assert "(edited)" not in (fetch(base + "datasets.shelf.croissant.json") or "(edited)")
        assert "Products on shelves" in texts_after["datasets/shelf/"]

        project.data_file.write_text(replace_once(edited, "value: 83739", "value: 3M"), encoding="utf-8")
        assert wait_for(lambda: "validation-errors" in (fetch(page) or ""), 60), "no error banner on the page"
        assert wait_for(lambda: "validation-errors" in (fetch(base + "datasets/shelf/") or ""), 30), "the banner is not on every page"
        html = fetch(page) or ""
        assert "expected a whole number" in html and "(edited)" in html  # the last valid page stays
        assert proc.poll() is None, "the server stopped on a data error"
        assert "stats.images.value: expected a whole number" in log_file.read_text()

        project.data_file.write_text(edited, encoding="utf-8")
        assert wait_for(lambda: "validation-errors" not in (fetch(page) or "validation-errors"), 60), "the banner stayed after the fix"
        assert wait_for(lambda: "validation-errors" not in (fetch(base + "datasets/shelf/") or "validation-errors"), 30)

        # a dataset gone: the page list changed, so the preview builds in full
        start = edited.index("  - id: plain")
        project.data_file.write_text(edited[:start], encoding="utf-8")
        assert wait_for(lambda: fetch(base + "datasets/plain/") is None, 60), "the removed dataset's page stayed"
        def plain_gone() -> bool:
            pages = index_pages(index)[1]
            return "datasets/checkout/" in pages and "datasets/plain/" not in pages

        assert wait_for(plain_gone, 30), "the removed page stayed in the index"

        # a template edit (the overrides, which MkDocs itself does not watch): every page
        main_html = project.site_src / "overrides" / "main.html"
        marked = replace_once(main_html.read_text(encoding="utf-8"), "{% block scripts %}", '{% block scripts %}<div id="template-edit-marker"></div>')
        main_html.write_text(marked, encoding="utf-8")
        assert wait_for(lambda: "template-edit-marker" in (fetch(page) or ""), 60), "the page did not follow the template edit"
        assert "template-edit-marker" in (fetch(base + "datasets/shelf/") or "")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
