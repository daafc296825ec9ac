"""Both languages' MkDocs builds run at once: neither may delete the other's output."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import jieba
import pytest

from generator.project import Project
from generator.site import BuildOptions, build_site

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
LATE_S = 4.0  # longer than the en build of the small fixture takes to write its pages


def test_a_zh_build_that_starts_late_keeps_the_en_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MkDocs empties its site_dir when it starts; the zh site's is the root of the tree
    that holds en/. A zh build slowed before that point (jieba loading its dictionary, on a
    machine without jieba's cache or under load) once deleted the en site built meanwhile:
    a fresh clone's hostile site had 15 pages instead of 30."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("the two builds run one after the other on one core")
    for name in ("site_src",):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "data").mkdir()
    shutil.copy(FIXTURE, tmp_path / "data" / "datasets.yaml")
    parent = os.getpid()
    load_userdict = jieba.load_userdict

    def slow_in_the_parent(path: str) -> None:
        # the zh build runs in this process, the en build in a forked child
        if os.getpid() == parent:
            time.sleep(LATE_S)
        load_userdict(path)

    monkeypatch.setattr(jieba, "load_userdict", slow_in_the_parent)
    build_site(Project(tmp_path), BuildOptions(site_dir=tmp_path / "site", offline=True))
    site = tmp_path / "site"
    zh = {p.relative_to(site).as_posix() for p in site.rglob("*.html") if not p.relative_to(site).as_posix().startswith("en/")}
    en = {p.relative_to(site / "en").as_posix() for p in (site / "en").rglob("*.html")}
    assert zh and en == zh, f"en pages missing: {sorted(zh - en)}"
    # both trees were made by mkdtemp (0700): a web server running as another user must read them
    assert all((folder.stat().st_mode & 0o005) == 0o005 for folder in (site, site / "en")), "the site is not world-readable"
