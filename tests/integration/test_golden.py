"""Golden output: the staged pages of a small catalogue, compared byte for byte.

The catalogue is tests/fixtures/minimal.yaml with samples added (one in a mirror folder made
here, one missing, so both `<picture>` and the placeholder are shown) and a link report with
one link of each status, so the pages' status icons are covered too.

After an intended change, rewrite the golden files and review the diff:
    ./dev golden
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from edits import replace_once
from PIL import Image, ImageDraw

from generator.links import LinkResult, LinkRun, LinkSource, Verdict, write_report
from generator.project import Project
from generator.site import BuildOptions, stage

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
GOLDEN = ROOT / "tests" / "golden"
REGENERATE = "./dev golden"
# what the pages are made of; images are checked through the content-hashed names the pages cite
TEXT_SUFFIXES = frozenset({".md", ".xml", ".json", ".csv", ".bib", ".txt", ".yml", ".html"})

LINKS = (
    "      homepage: https://example.org/alpha\n"
    "      paper: {title: Alpha, authors: [A. Author], venue: CVPR, year: 2020, url: https://example.org/alpha/paper.pdf}\n"
    "      code:\n"
    "        - url: https://example.org/alpha/code\n"
    "        - url: https://example.org/alpha/old\n"
)
SAMPLES = (
    "    samples:\n"
    "      - url: https://example.org/samples/shelf.jpg\n"
    "        credit: Alpha authors\n"
    "        licence: CC-BY-4.0\n"
    "        caption: {zh: 货架照片, en: A shelf photo}\n"
    "      - url: https://example.org/samples/missing.jpg\n"
    "        credit: Alpha authors\n"
    "        licence: CC-BY-4.0\n"
    "        caption: {zh: 没有镜像的照片, en: A photo the mirror does not have}\n"
    "    competitions:\n"
)


def _mirror(folder: Path) -> Path:
    """A --sample-mirror folder with one small photo, drawn here (never a committed image)."""
    folder.mkdir()
    im = Image.new("RGB", (480, 320), (40, 120, 160))
    ImageDraw.Draw(im).rectangle((60, 60, 420, 260), fill=(230, 200, 60))
    im.save(folder / "shelf.jpg", "JPEG", quality=85)
    return folder


def _report(project: Project) -> None:
    """One link of each status the pages show, at the fixture's own addresses."""
    src = LinkSource("data/datasets.yaml", 1, 1, "homepage", "alpha")

    def result(url: str, verdict: Verdict, status: int | None, reason: str, **kw: object) -> LinkResult:
        return LinkResult(url, verdict, status, url, 1, 0.1, reason, (src,), **kw)  # type: ignore[arg-type]

    write_report(project.link_report, LinkRun((
        result("https://example.org/alpha", Verdict.OK, 200, "200 OK"),
        result("https://example.org/alpha/code", Verdict.TRANSIENT, None, "no answer within 20 s"),
        result("https://example.org/alpha/old", Verdict.REDIRECTED, 301,
               "moved to https://example.org/alpha/new: update the data"),
        result("https://example.org/alpha/paper.pdf", Verdict.BROKEN, 404, "answered 404 Not Found", fails_run=True),
        result("https://example.org/beta/download", Verdict.BLOCKED, 403,
               "answered 403 Forbidden, as the data declares", expected=True),
    )))


def staged_pages(root: Path) -> dict[str, bytes]:
    """Every text file the build stages for MkDocs, as bytes, by language-relative path."""
    (root / "data").mkdir(parents=True)
    text = replace_once(FIXTURE.read_text(encoding="utf-8"), "    competitions:\n", SAMPLES)
    text = replace_once(text, "      homepage: https://example.org/alpha\n", LINKS)
    (root / "data" / "datasets.yaml").write_text(text, encoding="utf-8")
    for lang in ("zh", "en"):
        (root / "site_src" / lang).mkdir(parents=True)
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(replace_once_re(config, r"(?m)^site_url: .*$", "site_url: https://example.org/"), encoding="utf-8")
    project = Project(root)
    _report(project)
    staged = stage(project, BuildOptions(site_dir=root / "site", offline=True, sample_mirror=_mirror(root / "mirror")))
    out: dict[str, bytes] = {}
    for lang, docs in staged.docs.docs.items():
        for path in sorted(docs.rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                out[f"{lang.value}/{path.relative_to(docs).as_posix()}"] = path.read_bytes()
    return out


def replace_once_re(text: str, pattern: str, new: str) -> str:
    changed, found = re.subn(pattern, new, text)
    assert found == 1, f"{pattern!r} matched {found} times"
    return changed


def test_staged_pages_match_the_golden_files_byte_for_byte(tmp_path: Path) -> None:
    pages = staged_pages(tmp_path / "project")
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in pages.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    expected = {p.relative_to(GOLDEN).as_posix(): p.read_bytes() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    added, removed = sorted(set(pages) - set(expected)), sorted(set(expected) - set(pages))
    assert not added and not removed, f"pages added {added} or removed {removed}: run {REGENERATE} and review the diff"
    differ = [rel for rel in pages if pages[rel] != expected[rel]]
    assert not differ, f"{differ} differ from their golden files: run {REGENERATE} and review the diff"


def test_the_golden_pages_show_pictures_placeholders_and_every_link_status() -> None:
    """The golden files cover what they are for (guards against a fixture that lost them)."""
    page = (GOLDEN / "en" / "datasets" / "alpha.md").read_text(encoding="utf-8")
    assert "<picture" in page and 'class="placeholder"' in page
    links = (GOLDEN / "en" / "links.md").read_text(encoding="utf-8")
    for verdict in ("ok", "broken", "redirected", "transient", "blocked"):
        assert f'class="link-status link-{verdict}"' in links, verdict


def test_a_second_project_stages_the_same_bytes(tmp_path: Path) -> None:
    assert staged_pages(tmp_path / "one") == staged_pages(tmp_path / "two")
