"""`sku-survey build --engine zensical`: the real catalogue built with MkDocs and with Zensical.

Both sites must have the same pages in both languages with the same text, thumbnails that
resolve inside each language's own site, a working language switch, and the same failure
rule. Skipped only when Zensical (the optional extra `.[zensical]`) is not installed.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from generator import zensical_engine
from generator.citations import bibtex_for, bibtex_key
from generator.load import load_document
from generator.model import Lang
from generator.project import Project
from generator.render import display_title, format_count
from generator.search import catalog_terms
from generator.site import BuildOptions, build_site
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]

needs_zensical = pytest.mark.skipif(
    not zensical_engine.available(), reason="zensical is not importable: install the extra with pip install -e '.[zensical]' (./dev test does)"
)

# files that only one engine writes: its search index and word list, MkDocs' gzipped sitemap
ENGINE_ONLY = re.compile(r"^(en/)?(search/search_index\.json|search\.json|assets/search-words\.json|sitemap\.xml\.gz)$")
THEME_FILES = re.compile(r"^(en/)?assets/(javascripts|stylesheets|images)/")
ARTICLE = re.compile(r'<article class="md-content__inner[^"]*">(.*?)</article>', re.S)
URL_ATTR = re.compile(r'\b(href|src|srcset)="([^"]*)"')


def copy_project(dest: Path) -> Project:
    for name in ("site_src", "data"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    return Project(dest)


def files(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}


def article_text(page: Path) -> str:
    """A page's article as text: what a reader reads, without the theme around it."""
    found = ARTICLE.search(page.read_text(encoding="utf-8"))
    assert found, f"{page}: no article"
    body = re.sub(r'<a class="headerlink"[^>]*>.*?</a>', "", found.group(1), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def page_urls(page: Path, site: Path) -> list[tuple[str, str]]:
    """(attribute, URL) of each relative URL on ``page``, srcset candidates one by one."""
    out = []
    for attr, value in URL_ATTR.findall(page.read_text(encoding="utf-8")):
        value = html.unescape(value)
        for url in ([c.strip().split(" ")[0] for c in value.split(",")] if attr == "srcset" else [value]):
            if url and not re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/|#)", url):
                out.append((attr, url))
    return out


def target(page: Path, site: Path, url: str) -> str:
    """The site path ``url`` on ``page`` leads to (a browser's resolution, without the host)."""
    folder = "/" + posixpath.dirname(page.relative_to(site).as_posix())
    return posixpath.normpath(posixpath.join(folder, unquote(urlsplit(url).path)))


def exists(site: Path, path: str) -> bool:
    f = site / path.lstrip("/")
    return f.is_file() or (f / "index.html").is_file()


@pytest.fixture(scope="module")
def sites(tmp_path_factory, sample_mirror):
    """The real catalogue, offline, built by each engine from the same project."""
    if not zensical_engine.available():
        pytest.skip("zensical is not importable: install the extra with pip install -e '.[zensical]' (./dev test does)")
    project = copy_project(tmp_path_factory.mktemp("engines"))
    out = {}
    for engine in ("mkdocs", "zensical"):
        options = BuildOptions(site_dir=project.root / f"site-{engine}", offline=True, sample_mirror=sample_mirror, engine=engine)
        result = build_site(project, options)
        assert result.times.wall[f"{engine} zh"] > 0 and result.times.wall[f"{engine} en"] > 0
        out[engine] = options.site_dir
    catalog = validate_document(load_document(project.data_file, "data/datasets.yaml"), project.data_dir)
    return project, catalog, out


@needs_zensical
def test_both_engines_write_the_same_pages_and_files_in_both_languages(sites):
    _, catalog, built = sites
    mkdocs, zensical = ({f for f in files(built[e]) if not THEME_FILES.match(f) and not ENGINE_ONLY.match(f)} for e in ("mkdocs", "zensical"))
    assert mkdocs == zensical
    for d in catalog.datasets:
        for prefix in ("", "en/"):
            assert f"{prefix}datasets/{d.id}/index.html" in zensical
    assert (built["zensical"] / "search.json").is_file() and (built["zensical"] / "en" / "search.json").is_file()


@needs_zensical
def test_every_page_reads_the_same_with_both_engines(sites):
    _, _, built = sites
    pages = sorted(f for f in files(built["mkdocs"]) if f.endswith("index.html"))
    assert any(p.startswith("en/datasets/") for p in pages) and any(p.startswith("datasets/") for p in pages)
    for rel in pages:
        assert article_text(built["zensical"] / rel) == article_text(built["mkdocs"] / rel), rel


@needs_zensical
def test_a_dataset_page_has_its_title_figures_and_citation_with_both_engines(sites):
    _, catalog, built = sites
    d = next(d for d in catalog.datasets if d.samples and d.stats.images.value and bibtex_for(d))
    for engine, site in built.items():
        for lang in Lang:
            page = site / ("" if lang is Lang.ZH else "en") / "datasets" / d.id / "index.html"
            text = page.read_text(encoding="utf-8")
            h1 = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
            assert h1 and html.unescape(re.sub(r"<[^>]+>", "", h1.group(1))).strip().rstrip("¶").strip() == display_title(d, lang), (engine, lang)
            body = article_text(page)
            assert format_count(d.stats.images.value, lang) in body, (engine, lang)
            assert bibtex_key(d) in body, (engine, lang)
            assert re.search(r"<picture>.*?assets/thumbs/.*?</picture>", text, re.S), (engine, lang)


@needs_zensical
def test_thumbnails_and_links_resolve_inside_each_languages_own_site(sites):
    """Zensical reads raw HTML's relative URLs from the Markdown file's folder; written from the
    page's address they came out a level too deep, and /en/ pages showed the zh site's images."""
    _, _, built = sites
    for engine, site in built.items():
        thumbs = 0
        for page in sorted(site.rglob("*.html")):
            rel = page.relative_to(site).as_posix()
            if rel == "404.html":  # one page for both sites: its links are absolute paths
                continue
            for attr, url in page_urls(page, site):
                path = target(page, site, url)
                assert exists(site, path), f"{engine}: {rel}: {attr}={url} -> {path} is missing"
                if "assets/thumbs/" in url:
                    thumbs += 1
                    own = "/en/" if rel.startswith("en/") else "/"
                    assert path.startswith(own + "assets/thumbs/"), f"{engine}: {rel}: {url} leaves its site"
        assert thumbs, f"{engine}: no thumbnail on any page"


@needs_zensical
def test_the_language_switch_leads_to_the_same_page_in_the_other_language(sites):
    _, catalog, built = sites
    d = catalog.datasets[0]
    site = built["zensical"]
    for rel, other in ((f"datasets/{d.id}/index.html", f"/en/datasets/{d.id}"), (f"en/datasets/{d.id}/index.html", f"/datasets/{d.id}")):
        text = (site / rel).read_text(encoding="utf-8")
        links = re.findall(r'<a href="([^"]*)" hreflang="[^"]*" lang="[^"]*" class="md-select__link" data-lang-switch="(\w+)"', text)
        switch = {code: href for href, code in links}
        assert set(switch) == {"zh", "en"}, rel
        other_code = "en" if rel.startswith("datasets/") else "zh"
        assert target(site / rel, site, switch[other_code]) == other, rel


@needs_zensical
def test_zensical_search_index_has_the_cross_language_terms(sites):
    _, catalog, built = sites
    for lang in Lang:
        terms = {t.location: t for t in catalog_terms(catalog, lang)}
        index = json.loads((built["zensical"] / ("" if lang is Lang.ZH else "en") / "search.json").read_text(encoding="utf-8"))
        pages = [i for i in index["items"] if i["location"] in terms]
        assert len(pages) == len(catalog.datasets)
        for item in pages:
            # escaped as the rest of the text: a name is text in the results, never markup;
            # cut by jieba like the rest (zero-width spaces between Chinese words)
            text = item["text"].replace("\u200b", "")
            assert text.endswith(" " + html.escape(" · ".join(terms[item["location"]].tags), quote=False)), item["location"]
        # Chinese cut into jieba's words, which the worker is told to keep whole
        assert not [x for x in index["config"]["lang"] if x.lower().startswith("zh")]
        rpc = next(i for i in index["items"] if i["location"] == "datasets/rpc/")
        assert "\u200b结账\u200b" in rpc["text"] or rpc["text"].endswith("\u200b结账")


def run_build(project: Project, site_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", "--root", str(project.root), "build", "--offline", "--site-dir", str(site_dir), *extra],
        capture_output=True, text=True, timeout=600,
    )


@needs_zensical
def test_a_failed_zensical_build_leaves_the_previous_site_untouched(sites, tmp_path):
    project, _, built = sites
    broken = copy_project(tmp_path / "bad-page")
    (broken.site_src / "en" / "contributing.md").write_text("# Contributing\n\nSee [the guide](missing-page.md).\n", encoding="utf-8")
    shutil.copytree(built["zensical"], broken.root / "site")
    before = {f: (broken.root / "site" / f).read_bytes() for f in sorted(files(broken.root / "site"))}
    result = run_build(broken, broken.root / "site", "--engine", "zensical")
    assert result.returncode == 2, result.stderr  # a dead link is the pages' fault, as with MkDocs
    assert "Traceback" not in result.stderr
    assert "build failed at the zensical stage" in result.stderr and "mkdocs.en.yml" in result.stderr and "contributing.md" in result.stderr
    assert {f: (broken.root / "site" / f).read_bytes() for f in sorted(files(broken.root / "site"))} == before
    assert not [p for p in broken.root.iterdir() if p.name.startswith(".site.new-")], "temporary build folder left behind"


def test_raw_html_urls_are_rewritten_from_the_markdown_files_folder():
    page = (
        '<img src="../../assets/thumbs/a.jpg" srcset="../../assets/thumbs/a-320w.webp 320w, ../../assets/thumbs/a.webp 419w">\n'
        '<a href="../../compare/">x</a> <a href="https&#58;//example.org/">y</a> <a href="#top">z</a> <a href="../">up</a>\n'
        "[md link](../compare.md)\n"
        "```html\n<img src=\"../../left/alone.jpg\">\n```\n"
    )
    out = zensical_engine._source_relative(page, "datasets/rpc.md")
    assert out == (
        '<img src="../assets/thumbs/a.jpg" srcset="../assets/thumbs/a-320w.webp 320w, ../assets/thumbs/a.webp 419w">\n'
        '<a href="../compare/">x</a> <a href="https&#58;//example.org/">y</a> <a href="#top">z</a> <a href="./">up</a>\n'
        "[md link](../compare.md)\n"
        "```html\n<img src=\"../../left/alone.jpg\">\n```\n"
    )
    assert zensical_engine._source_relative(page, "datasets/index.md") == page  # served from its own folder


def test_inherit_is_merged_the_way_mkdocs_merges_it():
    parent = {"theme": {"name": "material", "palette": [1, 2], "features": ["a"]}, "nav": ["x"], "strict": True}
    child = {"theme": {"palette": [3]}, "nav": ["y"]}
    assert zensical_engine.merge(parent, child) == {"theme": {"name": "material", "palette": [3], "features": ["a"]}, "nav": ["y"], "strict": True}
