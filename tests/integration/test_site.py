"""The site: a real strict MkDocs build of both languages, determinism, atomicity
(the golden pages are tests/integration/test_golden.py's)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
from edits import replace_once

from generator import staging
from generator.cli import load_catalog
from generator.load import load_document
from generator.model import Lang
from generator.project import Project
from generator.render import UNLISTED_FIELDS, RenderInputs, exports, plan_pages, render_pages
from generator.site import BuildError, BuildOptions, build_site, stage
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
# the built-site tests use their own small catalogue, never the real one (which grows)
SITE_FIXTURE = ROOT / "tests" / "fixtures" / "site.yaml"
NARROW = (419, 513)  # as wide as a real sample (RPC's) that was once shown stretched 2x


def fixture_catalog():
    return validate_document(load_document(FIXTURE, "tests/fixtures/minimal.yaml"), FIXTURE.parent)


def rendered_fixture() -> dict[str, str]:
    inputs = RenderInputs(catalog=fixture_catalog())
    out: dict[str, str] = {}
    for lang in Lang:
        for page in render_pages(inputs, lang, "https://example.org/" + ("" if lang is Lang.ZH else "en/")):
            out[f"{lang.value}/{page.path}"] = page.text
    for page in exports(inputs.catalog):
        out[f"data/{page.path}"] = page.text
    return out


def test_compare_filters_offer_only_values_some_dataset_has():
    page = html_unescape(rendered_fixture()["en/compare.md"])
    rows = re.findall(r"<tr data-id=[^>]*>", page)
    assert rows
    for name in ("task", "scene", "sku", "licence", "access"):
        (facet,) = re.findall(rf'<fieldset data-facet="{name}">(.*?)</fieldset>', page, re.S)
        values = re.findall(r'<label data-option="([^"]*)"', facet)
        assert values, name
        for value in values:
            assert any(re.search(rf'data-{name}="(?:[^"]* )?{re.escape(value)}(?: [^"]*)?"', row) for row in rows), (name, value)


def test_rendering_is_pure_and_repeatable():
    assert rendered_fixture() == rendered_fixture()


def test_page_keys_change_only_where_the_page_would():
    catalog = fixture_catalog()
    before = {p.path: p.key for p in plan_pages(RenderInputs(catalog=catalog), Lang.EN)}
    assert before == {p.path: p.key for p in plan_pages(RenderInputs(catalog=catalog), Lang.EN)}

    alpha, beta = catalog.datasets
    text = beta.description.model_copy(update={"en": beta.description.en + " One more sentence."})
    edited = catalog.model_copy(update={"datasets": (alpha, beta.model_copy(update={"description": text}))})
    after = {p.path: p.key for p in plan_pages(RenderInputs(catalog=edited), Lang.EN)}
    differ = {path for path in before if before[path] != after[path]}
    # beta's own page only: no list shows a description, and alpha's page shows only beta's
    # name and summary
    assert differ == {"datasets/beta.md"}

    summary = beta.summary.model_copy(update={"en": beta.summary.en + " Also counted."})
    edited = catalog.model_copy(update={"datasets": (alpha, beta.model_copy(update={"summary": summary}))})
    after = {p.path: p.key for p in plan_pages(RenderInputs(catalog=edited), Lang.EN)}
    differ = {path for path in before if before[path] != after[path]}
    # beta's page and the lists
    assert {"datasets/beta.md", "compare.md", "index.md", "feed.xml"} <= differ
    assert "reference.md" not in differ


@pytest.mark.parametrize("field", sorted(UNLISTED_FIELDS))
@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_no_catalogue_wide_page_shows_an_unlisted_field(field: str, lang: Lang):
    """The lists are kept when only such a field changed: they must render the same bytes."""
    catalog = fixture_catalog()
    alpha, beta = catalog.datasets
    value = getattr(beta, field)
    marked = value.model_copy(update={code.value: f"{value[code]} Marker {field} {code.value}." for code in Lang})
    edited = catalog.model_copy(update={"datasets": (alpha, beta.model_copy(update={field: marked}))})
    pages = {p.path: p for p in plan_pages(RenderInputs(catalog=catalog), lang)}
    edited_pages = {p.path: p for p in plan_pages(RenderInputs(catalog=edited), lang)}
    kept = [path for path, page in pages.items() if page.key == edited_pages[path].key]
    assert "compare.md" in kept and "index.md" in kept
    for path in kept:
        assert pages[path].render() == edited_pages[path].render(), path
    assert f"Marker {field} {lang.value}." in edited_pages["datasets/beta.md"].render()


def copy_project(dest: Path, data_text: str | None = None) -> Project:
    for name in ("site_src", "data"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    if data_text is not None:
        (dest / "data" / "datasets.yaml").write_text(data_text, encoding="utf-8")
    return Project(dest)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def site_fixture_text() -> str:
    return SITE_FIXTURE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site_mirror(tmp_path_factory):
    """A --sample-mirror folder for tests/fixtures/site.yaml: one wide and one narrow photo."""
    from PIL import Image, ImageDraw

    folder = tmp_path_factory.mktemp("site-mirror")
    for name, size in (("wide.jpg", (1400, 900)), ("narrow.jpg", NARROW)):
        im = Image.new("RGB", size, (40, 120, 160))
        ImageDraw.Draw(im).rectangle((50, 50, size[0] - 50, size[1] - 50), fill=(230, 200, 60))
        im.save(folder / name, "JPEG", quality=85)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory, site_mirror):
    """The small site catalogue, built once into a temporary project (offline; samples from a mirror)."""
    project = copy_project(tmp_path_factory.mktemp("project"), site_fixture_text())
    options = BuildOptions(site_dir=project.root / "site", offline=True, sample_mirror=site_mirror)
    result = build_site(project, options)
    return project, options, result


@pytest.fixture(scope="module")
def real_built(tmp_path_factory, sample_mirror):
    """The real catalogue, built once: its tests assert properties, never counts or names."""
    project = copy_project(tmp_path_factory.mktemp("real"))
    options = BuildOptions(site_dir=project.root / "site", offline=True, sample_mirror=sample_mirror)
    result = build_site(project, options)
    return project, options, result


def test_real_catalogue_has_a_page_pair_for_every_dataset_and_a_source_for_every_figure(real_built):
    project, options, result = real_built
    site = options.site_dir
    catalog = validate_document(load_document(project.data_file, "data/datasets.yaml"), project.data_dir)
    assert result.datasets == len(catalog.datasets)
    for d in catalog.datasets:
        for prefix in ("", "en/"):
            assert (site / prefix / "datasets" / d.id / "index.html").is_file(), f"missing {prefix}datasets/{d.id}/"
    exported = json.loads((site / "datasets.json").read_text(encoding="utf-8"))
    assert sorted(d["id"] for d in exported["datasets"]) == sorted(d.id for d in catalog.datasets)
    for d in exported["datasets"]:
        stats = d["stats"]
        figures = [stats["images"], stats["classes"], *([stats["instances"]] if stats["instances"] else []), *stats["splits"].values()]
        for figure in figures:
            source = figure["source"]  # an address, or a description in both languages
            assert (source.strip() if isinstance(source, str) else source["zh"].strip() and source["en"].strip()), d["id"]
            assert figure["value"] is not None or figure["verified"] is False, d["id"]
        for r in d["results"]:
            assert r["source"]["title"].strip() and r["source"]["kind"] in ("authors", "competitor", "third-party"), d["id"]


def test_real_catalogue_thumbnails_are_never_wider_than_their_source(real_built, sample_mirror):
    from PIL import Image

    project, options, result = real_built
    catalog = validate_document(load_document(project.data_file, "data/datasets.yaml"), project.data_dir)
    assert result.thumbnails_encoded + result.thumbnails_reused == sum(len(d.samples) for d in catalog.datasets)
    for d in catalog.datasets:
        html = html_unescape((options.site_dir / "en" / "datasets" / d.id / "index.html").read_text(encoding="utf-8"))
        shown = re.findall(r'<img src="[^"]+" srcset="([^"]+)"[^>]*width="(\d+)"', html)
        if not d.samples:
            assert "The authors publish no sample image." in html and not shown, d.id
            continue
        assert len(shown) == len(d.samples), d.id
        for sample, (srcset, width) in zip(d.samples, shown, strict=True):
            with Image.open(sample_mirror / sample.url.rsplit("/", 1)[-1]) as im:
                source_width = im.width
            widths = [int(w) for w in re.findall(r" (\d+)w", srcset)]
            assert max(widths) == int(width) <= source_width, (d.id, widths, width, source_width)


def test_build_writes_every_page_in_both_languages(built):
    project, options, result = built
    site = options.site_dir
    catalog = validate_document(load_document(project.data_file, "data/datasets.yaml"), project.data_dir)
    for prefix in ("", "en/"):
        for page in ("index.html", "404.html", "compare/index.html", "tasks/index.html", "scenes/index.html",
                     "downloads/index.html", "reference/index.html", "credits/index.html", "links/index.html",
                     "contributing/index.html", "whats-new/index.html", "sitemap.xml", "search/search_index.json",
                     "datasets.json", "datasets.csv", "datasets.bib", "feed.xml"):
            assert (site / prefix / page).is_file(), f"missing {prefix}{page}"
        for d in catalog.datasets:
            assert (site / prefix / "datasets" / d.id / "index.html").is_file(), f"missing {prefix}datasets/{d.id}/"
    assert result.datasets == len(catalog.datasets)
    exported = json.loads((site / "datasets.json").read_text(encoding="utf-8"))
    # reading order: the original survey's datasets first, in file order, then the rest
    assert [d["id"] for d in exported["datasets"]] == ["shelf", "checkout", "plain"]


def test_pages_are_in_their_language_with_a_switch_to_the_same_page(built):
    _, options, _ = built
    zh = (options.site_dir / "datasets" / "checkout" / "index.html").read_text(encoding="utf-8")
    en = (options.site_dir / "en" / "datasets" / "checkout" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN"' in zh and '<html lang="en"' in en
    assert 'href="../../en/datasets/checkout/" hreflang="en"' in zh
    assert 'href="../../../datasets/checkout/" hreflang="zh"' in en
    sitemap = (options.site_dir / "sitemap.xml").read_text(encoding="utf-8")
    entry = sitemap.split("<loc>https://sku-survey.github.io/sku-survey/datasets/checkout/</loc>", 1)[1].split("</url>", 1)[0]
    assert '<xhtml:link rel="alternate" hreflang="en" href="https://sku-survey.github.io/sku-survey/en/datasets/checkout/"/>' in entry
    assert '<xhtml:link rel="alternate" hreflang="zh-CN" href="https://sku-survey.github.io/sku-survey/datasets/checkout/"/>' in entry
    # Material's script fetches a sitemap.xml beside every alternate link it sees (those
    # outside <noscript>): each must have one
    for page, base in ((zh, "datasets/checkout/"), (en, "en/datasets/checkout/")):
        scripted = re.sub(r"(?s)<noscript>.*?</noscript>", "", page.split("</head>", 1)[0])
        alternates = re.findall(r'<link rel="alternate"[^>]* href="([^"]+)"', scripted)
        assert alternates, "the feed and the Croissant file are linked from <head>"
        for href in alternates:
            target = urljoin(f"https://h/{base}", href)
            assert (options.site_dir / target.removeprefix("https://h/")).is_file(), href
            assert (options.site_dir / urljoin(target, "sitemap.xml").removeprefix("https://h/")).is_file(), href
    head = zh.split("</head>", 1)[0]
    # hreflang in the head too, exact, inside <noscript> (see main.html)
    (hreflang,) = re.findall(r"(?s)<noscript>(.*?)</noscript>", head)
    assert '<link rel="alternate" hreflang="en" href="https://sku-survey.github.io/sku-survey/en/datasets/checkout/">' in hreflang
    assert '<link rel="alternate" hreflang="zh-CN" href="https://sku-survey.github.io/sku-survey/datasets/checkout/">' in hreflang
    assert '<link rel="alternate" hreflang="x-default" href="https://sku-survey.github.io/sku-survey/datasets/checkout/">' in hreflang
    assert "alternate " not in head
    assert '<meta property="og:url" content="https://sku-survey.github.io/sku-survey/datasets/checkout/">' in head
    assert "结账" in zh and "checkout" in en.lower()


def test_dataset_page_head_has_schema_org_dataset(built):
    _, options, _ = built
    html = (options.site_dir / "en" / "datasets" / "checkout" / "index.html").read_text(encoding="utf-8")
    head = html.split("</head>", 1)[0]
    (payload,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', head, re.S)
    data = json.loads(payload)
    assert data["@type"] == "Dataset" and data["name"] == "Checkout Set"
    assert data["url"] == "https://sku-survey.github.io/sku-survey/en/datasets/checkout/"
    assert data["license"] == "https://creativecommons.org/licenses/by-nc-sa/4.0/"  # CC-BY-NC-SA-4.0's own page
    for key in ("description", "sameAs", "creator", "datePublished", "keywords", "citation", "distribution"):
        assert data[key], key


def test_nothing_loads_from_another_origin(built):
    _, options, _ = built
    for page in options.site_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img|source|iframe)\b[^>]*>", html):
            if 'rel="canonical"' in tag or "og:" in tag or "hreflang=" in tag:  # named, never loaded
                continue
            for url in map(html_unescape, re.findall(r'(?:src|href|srcset)="([^"]*)"', tag)):
                assert not re.match(r"(?:https?:)?//", url), f"{page}: {tag}"
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html


def test_sample_thumbnails_are_on_pages(built):
    _, options, result = built
    html = (options.site_dir / "datasets" / "shelf" / "index.html").read_text(encoding="utf-8")
    srcs = re.findall(r'<img src="([^"]+)"[^>]*width="(\d+)" height="(\d+)"', html)
    assert srcs, "no thumbnail on the shelf page"
    for src, _, _ in srcs:
        assert (options.site_dir / "datasets" / "shelf" / html_unescape(src)).resolve().is_file()
    assert result.thumbnails_encoded + result.thumbnails_reused == 2


def test_a_narrow_sample_is_shown_at_its_own_size_never_upscaled(built):
    _, options, _ = built
    html = html_unescape((options.site_dir / "en" / "datasets" / "checkout" / "index.html").read_text(encoding="utf-8"))
    (tag,) = re.findall(r"<img [^>]*>", html)
    srcset = re.search(r'srcset="([^"]+)"', tag).group(1)
    assert sorted(int(w) for w in re.findall(r" (\d+)w", srcset)) == [320, NARROW[0]]
    assert f'width="{NARROW[0]}" height="{NARROW[1]}"' in tag
    assert f'sizes="(max-width: 700px) 100vw, {NARROW[0]}px"' in tag


def test_a_dataset_without_a_sample_says_so_in_words(built):
    _, options, _ = built
    for prefix, words in (("", "作者没有公开样例图片。"), ("en/", "The authors publish no sample image.")):
        page = html_unescape((options.site_dir / prefix / "datasets" / "plain" / "index.html").read_text(encoding="utf-8"))
        assert words in page and 'class="placeholder"' not in page
        home = html_unescape((options.site_dir / prefix / "index.html").read_text(encoding="utf-8"))
        cards = home.split('<div class="cards">', 1)[1]  # the chart above links the dataset too
        card = cards.split('href="datasets/plain/"', 1)[0].rsplit('<article class="card">', 1)[1]
        assert words in card and 'class="placeholder"' not in card


def test_dataset_page_lists_reported_results_with_their_source_kind(built):
    _, options, _ = built
    en = html_unescape((options.site_dir / "en" / "datasets" / "checkout" / "index.html").read_text(encoding="utf-8"))
    zh = html_unescape((options.site_dir / "datasets" / "checkout" / "index.html").read_text(encoding="utf-8"))
    assert "Reported results" in en and "已报告结果" in zh
    assert "56.68%" in en and "dataset authors" in en and "数据集作者" in zh
    compare = html_unescape((options.site_dir / "en" / "compare" / "index.html").read_text(encoding="utf-8"))
    row = compare.split('data-id="checkout"', 1)[1].split("</tr>", 1)[0]
    assert "56.68% checkout accuracy (cAcc)" in row


def test_dataset_page_has_a_1200x630_preview_card(built):
    from PIL import Image

    _, options, _ = built
    for prefix in ("", "en/"):
        html = (options.site_dir / prefix / "datasets" / "checkout" / "index.html").read_text(encoding="utf-8")
        (url,) = re.findall(r'<meta property="og:image" content="([^"]+)"', html)
        assert re.findall(r'<meta name="twitter:image" content="([^"]+)"', html) == [url]
        path = url.removeprefix("https://sku-survey.github.io/sku-survey/")
        with Image.open(options.site_dir / path) as card:
            assert card.format == "JPEG" and card.size == (1200, 630)


def test_build_records_the_time_of_every_stage(built):
    _, _, result = built
    stages = ["load", "validate", "thumbnails", "social cards", "render", "mkdocs zh", "mkdocs en", "swap in"]
    assert list(result.times.wall) == stages and list(result.times.cpu) == stages
    assert all(seconds >= 0 for seconds in result.times.wall.values())
    assert result.times.wall["mkdocs zh"] > 0


def test_two_builds_are_byte_identical(built, tmp_path):
    project, options, _ = built
    again = BuildOptions(site_dir=tmp_path / "site2", offline=True, sample_mirror=options.sample_mirror)
    result = build_site(project, again)
    assert tree_digest(options.site_dir) == tree_digest(again.site_dir)
    assert result.files_written == 0 and result.thumbnails_encoded == 0


def test_an_edit_re_renders_only_the_pages_it_changes_and_matches_a_full_render(tmp_path, site_mirror):
    project = copy_project(tmp_path / "edited", site_fixture_text())
    options = BuildOptions(site_dir=tmp_path / "site", offline=True, sample_mirror=site_mirror)
    stage_root = stage(project, options).docs.root
    before = {p: p.stat().st_mtime_ns for p in stage_root.rglob("*.md")}

    # the dataset's name shows on the pages that list it as related; its description only on its own
    text = project.data_file.read_text(encoding="utf-8")
    assert text.count("\n    name: Checkout Set\n") == 1
    project.data_file.write_text(replace_once(text, "\n    name: Checkout Set\n", "\n    name: Checkout renamed\n"), encoding="utf-8")
    stage(project, options)
    changed = {p.relative_to(stage_root).as_posix() for p, mtime in before.items() if p.stat().st_mtime_ns != mtime}
    listing_it = {p.relative_to(stage_root).as_posix() for p in before if "](checkout.md)" in p.read_text(encoding="utf-8")}
    wide_pages = ("index.md", "compare.md", "tasks.md", "scenes.md", "credits.md", "links.md", "whats-new.md")
    catalogue_wide = {f"{lang}/{page}" for lang in ("zh", "en") for page in wide_pages}
    assert listing_it and changed == {"zh/datasets/checkout.md", "en/datasets/checkout.md"} | listing_it | catalogue_wide

    fresh = copy_project(tmp_path / "fresh", project.data_file.read_text(encoding="utf-8"))
    stage(fresh, options)
    assert tree_digest(fresh.cache_dir / "stage") == tree_digest(stage_root)


def test_the_data_files_are_made_again_only_when_the_catalogue_changed(tmp_path, site_mirror, monkeypatch):
    project = copy_project(tmp_path / "edited", site_fixture_text())
    options = BuildOptions(site_dir=tmp_path / "site", offline=True, sample_mirror=site_mirror)
    made: list[int] = []

    def counting(catalog, site_url=""):
        made.append(len(catalog.datasets))
        return exports(catalog, site_url)

    monkeypatch.setattr(staging, "exports", counting)
    stage_root = stage(project, options).docs.root
    assert made == [len(load_catalog(project).datasets)]  # once for both languages
    before = tree_digest(stage_root)
    stage(project, options)
    assert made == made[:1] and tree_digest(stage_root) == before  # nothing changed: kept unread

    (stage_root / "en" / "datasets.csv").unlink()  # a file gone is made again
    stage(project, options)
    assert len(made) == 2 and tree_digest(stage_root) == before

    text = project.data_file.read_text(encoding="utf-8")
    project.data_file.write_text(replace_once(text, "\n    name: Checkout Set\n", "\n    name: Checkout renamed\n"), encoding="utf-8")
    stage(project, options)
    assert len(made) == 3
    assert "Checkout renamed" in (stage_root / "zh" / "datasets.json").read_text(encoding="utf-8")


def run_build(project: Project, site_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", "--root", str(project.root), "build", "--offline", "--site-dir", str(site_dir)],
        capture_output=True, text=True, timeout=300,
    )


def test_staging_restores_the_garbage_collector_thresholds(built):
    import gc

    project, options, _ = built
    before = gc.get_threshold()
    stage(project, options)
    assert gc.get_threshold() == before


def test_build_command_prints_stage_times_on_request(built, tmp_path):
    project, _, _ = built
    done = subprocess.run(
        [sys.executable, "-m", "generator", "--root", str(project.root), "build", "--offline",
         "--site-dir", str(tmp_path / "site"), "--timings"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^  (\S.*?)\s+(\d+\.\d\d) s  \((\d+\.\d\d) s CPU\)$", done.stderr, re.M)
    assert [name for name, _, _ in rows] == ["load", "validate", "thumbnails", "social cards", "render",
                                             "mkdocs zh", "mkdocs en", "swap in", "total"]


def test_failed_build_leaves_the_previous_site_untouched(built, tmp_path):
    project, options, _ = built
    before = tree_digest(options.site_dir)

    bad_data = replace_once(project.data_file.read_text(encoding="utf-8"), "value: 83739", "value: 3M")
    broken = copy_project(tmp_path / "bad-data", bad_data)
    shutil.copytree(options.site_dir, broken.root / "site")
    result = run_build(broken, broken.root / "site")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "datasets[1] (checkout).stats.images.value: expected a whole number ≥ 0, got '3M'" in result.stderr
    assert "build failed at the validate stage" in result.stderr
    assert tree_digest(broken.root / "site") == before

    dead_link = copy_project(tmp_path / "bad-page")
    (dead_link.site_src / "en" / "contributing.md").write_text("# Contributing\n\nSee [the guide](missing-page.md).\n", encoding="utf-8")
    shutil.copytree(options.site_dir, dead_link.root / "site")
    result = run_build(dead_link, dead_link.root / "site")
    assert result.returncode == 2  # the hand-written page is at fault, not the tool
    assert "build failed at the mkdocs stage" in result.stderr and "missing-page.md" in result.stderr
    assert tree_digest(dead_link.root / "site") == before
    assert not [p for p in dead_link.root.iterdir() if p.name.startswith(".site.new-")], "temporary build folder left behind"


def test_build_error_names_the_stage(tmp_path):
    project = copy_project(tmp_path, "datasets: []\n")
    with pytest.raises(BuildError) as info:
        build_site(project, BuildOptions(site_dir=tmp_path / "site", offline=True))
    assert info.value.stage == "validate"
    assert not (tmp_path / "site").exists()
