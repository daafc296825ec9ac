"""`sku-survey links` on a catalogue: YAML positions in reports, exit codes, the report the site reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from edits import replace_each, replace_once
from loopback import Loopback, Reply

from generator.cli import load_catalog
from generator.project import Project
from generator.urls import catalog_links

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")


@pytest.fixture()
def server(server: Loopback) -> Loopback:
    """Every address answers 200, but /gone is gone."""
    server.fallback = Reply(200, b"", content_type="text/plain")
    server.route("/gone", Reply(404, b"", content_type="text/plain"))
    return server


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
    # every link of the catalogue, whatever its size, and none of them asked
    catalogue = {link.url.split("#")[0] for link in catalog_links(load_catalog(Project(ROOT)))}
    assert catalogue and catalogue <= {r["url"].split("#")[0] for r in report}
    assert {r["verdict"] for r in report} == {"skipped"}


def test_a_url_at_several_places_is_one_report_row_with_every_position(tmp_path):
    root = project_with(tmp_path, MINIMAL)
    result = run(root, "--offline", "--format", "json")
    assert result.returncode == 0, result.stderr
    (alpha,) = [r for r in json.loads(result.stdout)["links"] if r["url"] == "https://example.org/alpha"]
    assert {p["role"] for p in alpha["positions"]} >= {"homepage", "source"}


def test_broken_link_exits_3_with_an_annotation_on_its_yaml_line(tmp_path, server):
    text = replace_each(replace_once(MINIMAL, "https://example.org/w1", f"{server.base}gone"), "https://example.org/", f"{server.base}")
    root = project_with(tmp_path, text)
    result = run(root, "--allow-private", "--format", "github", "--cache", str(tmp_path / "cache.json"))
    line = next(i + 1 for i, row in enumerate(text.splitlines()) if "/gone" in row)
    assert result.returncode in (0, 3)
    assert f"file=data/datasets.yaml,line={line}," in result.stdout
    report = json.loads((root / ".cache" / "links" / "report.json").read_text(encoding="utf-8"))["links"]
    gone = next(r for r in report if r["url"].endswith("/gone"))
    assert gone["verdict"] == "broken" and gone["http_status"] == 404
    assert any(r.path.startswith("/alpha") for r in server.requests())


def test_private_addresses_are_refused_without_the_flag(tmp_path, server):
    root = project_with(tmp_path, replace_each(MINIMAL, "https://example.org/", f"{server.base}"))
    result = run(root, "--format", "json", "--cache", str(tmp_path / "cache.json"))
    report = json.loads(result.stdout)["links"]
    assert server.count() == 0
    local = [r for r in report if r["url"].startswith(server.base)]
    assert local
    for r in local:
        assert r["verdict"] in ("skipped", "broken") and "loopback address" in r["reason"], r


def test_bad_arguments_exit_2(tmp_path):
    assert run(ROOT, "--format", "yaml").returncode == 2
    assert run(ROOT, "--url-file", str(tmp_path / "missing.txt")).returncode == 2


def test_only_updates_the_links_it_checked_and_keeps_the_others(tmp_path, server):
    text = replace_each(replace_once(MINIMAL, "https://example.org/w1", f"{server.base}gone"), "https://example.org/", f"{server.base}")
    root = project_with(tmp_path, text)
    cache = str(tmp_path / "cache.json")
    assert run(root, "--allow-private", "--cache", cache).returncode in (0, 3)
    path = root / ".cache" / "links" / "report.json"
    before = {r["url"]: r for r in json.loads(path.read_text(encoding="utf-8"))["links"]}
    listed = tmp_path / "changed.txt"
    listed.write_text(f"{server.base}gone\n", encoding="utf-8")
    before_only = server.count()
    result = run(root, "--allow-private", "--only", str(listed), "--format", "github", "--cache", cache)
    asked = [r.path for r in server.requests()[before_only:]]
    assert asked and asked == ["/gone"] * len(asked)
    after = {r["url"]: r for r in json.loads(path.read_text(encoding="utf-8"))["links"]}
    assert set(after) == set(before) and len(after) > 1  # the unchecked links keep their status
    assert after[f"{server.base}gone"]["verdict"] == "broken"
    # a link that never worked gets no grace: the pull request's check fails
    assert result.returncode == 3 and "::error " in result.stdout


def test_a_damaged_history_is_one_warning_and_the_run_goes_on(tmp_path, server):
    root = project_with(tmp_path, replace_each(MINIMAL, "https://example.org/", f"{server.base}"))
    cache = tmp_path / "cache.json"
    cache.write_text('{"version": 1, "links": {"x": ', encoding="utf-8")
    result = run(root, "--allow-private", "--cache", str(cache))
    assert result.returncode in (0, 3), result.stderr
    assert result.stderr.count("warning:") == 1 and str(cache) in result.stderr
    assert json.loads(cache.read_text(encoding="utf-8"))["version"] == 1  # rewritten whole
