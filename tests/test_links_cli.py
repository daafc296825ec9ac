"""`sku-survey links` on a catalogue: YAML positions in reports, exit codes, the report the site reads."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")


class Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_HEAD(self) -> None:
        Handler.hits.append(self.path)
        self.send_response(404 if self.path.startswith("/gone") else 200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    Handler.hits = []
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def project_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "datasets.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "site_src").mkdir()
    return tmp_path


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", "--root", str(root), "links", *args],
        capture_output=True, text=True, timeout=120,
    )


def test_offline_checks_nothing_and_exits_zero_on_the_real_catalogue():
    result = run(ROOT, "--offline", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["links"]
    assert len(report) > 100
    assert {r["verdict"] for r in report} == {"skipped"}
    rpc = next(r for r in report if r["url"] == "https://rpc-dataset.github.io/")
    assert {p["role"] for p in rpc["positions"]} >= {"homepage", "licence"}


def test_broken_link_exits_3_with_an_annotation_on_its_yaml_line(tmp_path, server):
    text = MINIMAL.replace("https://example.org/w1", f"{server}/gone").replace("https://example.org/", f"{server}/")
    root = project_with(tmp_path, text)
    result = run(root, "--allow-private", "--format", "github", "--cache", str(tmp_path / "cache.json"))
    line = next(i + 1 for i, row in enumerate(text.splitlines()) if "/gone" in row)
    assert result.returncode in (0, 3)
    assert f"file=data/datasets.yaml,line={line}," in result.stdout
    report = json.loads((root / ".cache" / "links" / "report.json").read_text(encoding="utf-8"))["links"]
    gone = next(r for r in report if r["url"].endswith("/gone"))
    assert gone["verdict"] == "broken" and gone["http_status"] == 404
    assert any(h.startswith("/alpha") for h in Handler.hits)


def test_private_addresses_are_refused_without_the_flag(tmp_path, server):
    root = project_with(tmp_path, MINIMAL.replace("https://example.org/", f"{server}/"))
    result = run(root, "--format", "json", "--cache", str(tmp_path / "cache.json"))
    report = json.loads(result.stdout)["links"]
    assert Handler.hits == []
    local = [r for r in report if r["url"].startswith(server)]
    assert local
    for r in local:
        assert r["verdict"] in ("skipped", "broken") and "loopback address" in r["reason"], r


def test_bad_arguments_exit_2(tmp_path):
    assert run(ROOT, "--format", "yaml").returncode == 2
    assert run(ROOT, "--url-file", str(tmp_path / "missing.txt")).returncode == 2


def test_only_updates_the_links_it_checked_and_keeps_the_others(tmp_path, server):
    text = MINIMAL.replace("https://example.org/w1", f"{server}/gone").replace("https://example.org/", f"{server}/")
    root = project_with(tmp_path, text)
    cache = str(tmp_path / "cache.json")
    assert run(root, "--allow-private", "--cache", cache).returncode in (0, 3)
    path = root / ".cache" / "links" / "report.json"
    before = {r["url"]: r for r in json.loads(path.read_text(encoding="utf-8"))["links"]}
    listed = tmp_path / "changed.txt"
    listed.write_text(f"{server}/gone\n", encoding="utf-8")
    Handler.hits = []
    result = run(root, "--allow-private", "--only", str(listed), "--format", "github", "--cache", cache)
    assert Handler.hits == ["/gone"] * len(Handler.hits) and Handler.hits
    after = {r["url"]: r for r in json.loads(path.read_text(encoding="utf-8"))["links"]}
    assert set(after) == set(before) and len(after) > 1  # the unchecked links keep their status
    assert after[f"{server}/gone"]["verdict"] == "broken"
    # a link that never worked gets no grace: the pull request's check fails
    assert result.returncode == 3 and "::error " in result.stdout


def test_a_damaged_history_is_one_warning_and_the_run_goes_on(tmp_path, server):
    root = project_with(tmp_path, MINIMAL.replace("https://example.org/", f"{server}/"))
    cache = tmp_path / "cache.json"
    cache.write_text('{"version": 1, "links": {"x": ', encoding="utf-8")
    result = run(root, "--allow-private", "--cache", str(cache))
    assert result.returncode in (0, 3), result.stderr
    assert result.stderr.count("warning:") == 1 and str(cache) in result.stderr
    assert json.loads(cache.read_text(encoding="utf-8"))["version"] == 1  # rewritten whole
