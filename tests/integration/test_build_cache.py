"""The work MkDocs repeats, cut (generator/page_cache.py, build_cache_hook.py): the same site,
byte for byte, from far less work; never a warning lost; a damaged cache dropped; static files
linked, never changed under a published site.

The real catalogue is built for real. The Chinese site builds in this process (the English
one in a forked child), so counting the calls of MkDocs' own Markdown conversion here shows
which pages a build converted rather than took from the cache.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from edits import replace_once
from test_site import copy_project, tree_digest

from generator import page_cache
from generator.engine import PAGE_CACHE_FILE
from generator.errors import BuildError
from generator.project import Project
from generator.site import BuildOptions, build_site, stage


def with_marked_description(text: str, marker: str) -> str:
    """The data with ``marker`` put before the first dataset's Chinese description."""
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == "description:" and lines[i + 1].lstrip().startswith("zh:"))
    zh = lines[at + 1]
    if zh.rstrip().endswith((">-", ">", "|-", "|")):  # a block: the text starts on the next line
        body = lines[at + 2]
        indent = body[: len(body) - len(body.lstrip())]
        lines[at + 2] = indent + marker + body.lstrip()
    else:
        lines[at + 1] = replace_once(zh, "zh: ", "zh: " + marker)
    return "".join(lines)


def zh_pages(project: Project) -> list[str]:
    """The Chinese site's pages, as MkDocs names them: every staged Markdown file."""
    docs = project.cache_dir / "stage" / "zh"
    return sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))


def build(project: Project, sample_mirror: Path) -> None:
    build_site(project, BuildOptions(site_dir=project.site_dir, offline=True, sample_mirror=sample_mirror))


@pytest.fixture
def converted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source paths of the pages MkDocs converted itself (in this process: the zh site)."""
    pages: list[str] = []
    mkdocs_render = page_cache._mkdocs_render

    def counting(page, config, files) -> None:
        pages.append(page.file.src_uri)
        mkdocs_render(page, config, files)

    monkeypatch.setattr(page_cache, "_mkdocs_render", counting)
    return pages


def test_a_rebuild_from_the_cache_is_the_same_site_and_converts_only_the_edited_page(tmp_path: Path, sample_mirror: Path, converted: list[str]) -> None:
    project = copy_project(tmp_path / "project")
    build(project, sample_mirror)
    pages = zh_pages(project)
    assert sorted(converted) == pages  # every page, the first time
    first = tree_digest(project.site_dir)
    assert (project.cache_dir / PAGE_CACHE_FILE.format(lang="zh")).is_file()

    converted.clear()
    build(project, sample_mirror)
    assert converted == []  # nothing changed: every page from the cache
    assert tree_digest(project.site_dir) == first  # the same bytes, search index included

    project.data_file.write_text(with_marked_description(project.data_file.read_text(encoding="utf-8"), "缓存测试。"), encoding="utf-8")
    converted.clear()
    build(project, sample_mirror)
    assert len(converted) == 1 and converted[0].startswith("datasets/"), converted
    assert "缓存测试" in (project.site_dir / converted[0].removesuffix(".md") / "index.html").read_text(encoding="utf-8")

    # a word new to jieba's user dictionary (another dataset's alias) cuts the Chinese of the
    # page above differently, though that page did not change: its search entries are new
    text = project.data_file.read_text(encoding="utf-8")
    second = text.index("    aliases: [", text.index("    aliases: [") + 1) + len("    aliases: [")
    project.data_file.write_text(text[:second] + "缓存测试, " + text[second:], encoding="utf-8")
    build(project, sample_mirror)
    edited = tree_digest(project.site_dir)

    # and the same bytes as a build that starts with no cache at all
    fresh = copy_project(tmp_path / "fresh", project.data_file.read_text(encoding="utf-8"))
    build(fresh, sample_mirror)
    assert tree_digest(fresh.site_dir) == edited


def test_a_page_mkdocs_warns_about_is_never_taken_from_the_cache(tmp_path: Path, sample_mirror: Path) -> None:
    """A strict build fails on a broken link every time, not only the first."""
    project = copy_project(tmp_path)
    (project.site_src / "zh" / "broken.md").write_text("# 坏链接\n\n[看这里](no-such-page.md)\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(BuildError, match="no-such-page.md"):
            build(project, sample_mirror)


def test_a_damaged_page_cache_is_dropped_with_a_warning(tmp_path: Path, sample_mirror: Path, caplog: pytest.LogCaptureFixture, converted: list[str]) -> None:
    project = copy_project(tmp_path)
    build(project, sample_mirror)
    first = tree_digest(project.site_dir)
    cache_file = project.cache_dir / PAGE_CACHE_FILE.format(lang="zh")
    cache_file.write_bytes(cache_file.read_bytes()[:1000])  # cut short, as by a full disk
    converted.clear()
    with caplog.at_level(logging.WARNING):
        build(project, sample_mirror)
    assert any(str(cache_file) in r.getMessage() and "discarded" in r.getMessage() for r in caplog.records)
    assert sorted(converted) == zh_pages(project)  # converted again
    assert tree_digest(project.site_dir) == first


def test_static_files_are_linked_from_the_stage_and_keep_their_bytes_when_it_changes(tmp_path: Path, sample_mirror: Path) -> None:
    project = copy_project(tmp_path)
    build(project, sample_mirror)
    published = project.site_dir / "assets" / "site.css"
    staged = project.cache_dir / "stage" / "zh" / "assets" / "site.css"
    assert os.stat(published).st_ino == os.stat(staged).st_ino  # linked, not copied
    theme = next((project.site_dir / "assets" / "javascripts").glob("bundle.*.js"))
    assert os.stat(theme).st_nlink == 1  # the installed theme's files are copied
    before = published.read_bytes()
    source = project.site_src / "assets" / "site.css"
    source.write_text(source.read_text(encoding="utf-8") + "\n/* edited */\n", encoding="utf-8")
    stage(project, BuildOptions(site_dir=project.site_dir, offline=True, sample_mirror=sample_mirror))
    assert b"edited" in staged.read_bytes()
    assert published.read_bytes() == before  # the published site is not changed by staging
