"""`sku-survey changelog`: datasets, figures and links changed between two versions in git."""

from __future__ import annotations

from pathlib import Path

import pytest
from edits import replace_once
from gitrepo import git

from generator.changelog import (
    Changelog,
    ChangelogError,
    DatasetRef,
    FigureChange,
    FigureValue,
    LinkChange,
    changelog,
    format_changelog,
    raw_urls,
)
from generator.load import load_document
from generator.model import Qualifier
from generator.urls import catalog_links
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")
DATA = "data/datasets.yaml"


def commit(repo: Path, text: str, tag: str, extra: dict[str, str] | None = None) -> None:
    data = repo / DATA
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(text, encoding="utf-8")
    for name, content in (extra or {}).items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", tag)
    git(repo, "tag", tag)


def edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        text = replace_once(text, old, new)
    return text


BETA_START = MINIMAL.index("  - id: beta\n")
GAMMA = replace_once(replace_once(MINIMAL[BETA_START:], "id: beta", "id: gamma"), "name: Beta", "name: Gamma")

# v2: alpha grows (images and a split), its homepage and one solution link move; beta goes,
# gamma comes.
V2 = edit(
    MINIMAL[:BETA_START] + GAMMA,
    ("      images:\n        value: 1000\n", "      images:\n        value: 1200\n"),
    ("train: {value: 800,", "train: {value: 1000,"),
    ("homepage: https://example.org/alpha\n", "homepage: https://example.org/alpha/home\n"),
    ("url: https://example.org/w1}", "url: https://example.org/w1-report}"),
)

EXPECTED = Changelog(
    path=DATA,
    rev1="v1",
    rev2="v2",
    added=(DatasetRef("gamma", "Gamma"),),
    removed=(DatasetRef("beta", "Beta"),),
    figures=(
        FigureChange("alpha", "images", FigureValue(1000), FigureValue(1200)),
        FigureChange("alpha", "splits.train", FigureValue(800), FigureValue(1000)),
    ),
    links=(
        LinkChange(
            "alpha",
            added=("https://example.org/alpha/home", "https://example.org/w1-report"),
            removed=("https://example.org/w1",),
        ),
    ),
)

EXPECTED_TEXT = """\
Changes to data/datasets.yaml: v1 → v2

Datasets added (1):
  + gamma (Gamma)

Datasets removed (1):
  - beta (Beta)

Figures changed (2):
  alpha: stats.images: 1,000 → 1,200
  alpha: stats.splits.train: 800 → 1,000

Links changed (3 in 1 dataset):
  alpha:
    + https://example.org/alpha/home
    + https://example.org/w1-report
    - https://example.org/w1
"""

EXPECTED_MARKDOWN = """\
## Changes to `data/datasets.yaml`: `v1` → `v2`

### Datasets added (1)

- **Gamma** (`gamma`)

### Datasets removed (1)

- **Beta** (`beta`)

### Figures changed (2)

| Dataset | Figure | Old | New |
| --- | --- | ---: | ---: |
| `alpha` | `stats.images` | 1,000 | 1,200 |
| `alpha` | `stats.splits.train` | 800 | 1,000 |

### Links changed (1 dataset)

- `alpha`
  - added: <https://example.org/alpha/home>
  - added: <https://example.org/w1-report>
  - removed: <https://example.org/w1>
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    commit(tmp_path, MINIMAL, "v1")
    commit(tmp_path, V2, "v2")
    return tmp_path


def test_changelog_between_two_commits(repo):
    assert changelog(repo, "v1", "v2") == EXPECTED


def test_changelog_as_text(repo):
    assert format_changelog(changelog(repo, "v1", "v2"), "text") == EXPECTED_TEXT


def test_changelog_as_markdown(repo):
    assert format_changelog(changelog(repo, "v1", "v2"), "markdown") == EXPECTED_MARKDOWN


def test_same_revision_twice_is_an_empty_changelog(repo):
    log = changelog(repo, "v2", "HEAD")
    assert log.empty
    assert format_changelog(log, "text") == (
        "Changes to data/datasets.yaml: v2 → HEAD\nNo dataset added or removed, no figure or link changed.\n"
    )


def test_working_tree_is_compared_when_no_second_revision_is_given(repo):
    (repo / DATA).write_text(
        edit(
            V2,
            ("      classes:\n        value: 10\n", "      classes:\n        value: null\n        verified: false\n"),
            (
                "      splits:\n        train",
                "      instances: {value: 5000, qualifier: at-least, source: paper}\n      splits:\n        train",
            ),
        ),
        encoding="utf-8",
    )
    log = changelog(repo, "v2", None)
    assert log.rev2 is None
    assert log.figures == (
        FigureChange("alpha", "classes", FigureValue(10), FigureValue(None)),
        FigureChange("alpha", "instances", None, FigureValue(5000, Qualifier.AT_LEAST)),
    )
    assert format_changelog(log, "text") == (
        "Changes to data/datasets.yaml: v2 → the working tree\n"
        "\n"
        "Figures changed (2):\n"
        "  alpha: stats.classes: 10 → unknown\n"
        "  alpha: stats.instances: not given → ≥5,000\n"
    )


def test_old_revision_that_does_not_validate_is_compared_from_raw_data(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    # a figure written the way the model no longer accepts, and an unknown field
    old = edit(
        MINIMAL,
        ("        value: 1000\n", "        value: '1,000'\n"),
        ("    year: 2020\n", "    year: 2020\n    obsolete: 1\n"),
    )
    commit(tmp_path, old, "v1")
    commit(tmp_path, V2, "v2")
    log = changelog(tmp_path, "v1", "v2")
    assert log.raw_fallback == ("v1",)
    assert log.added == EXPECTED.added and log.removed == EXPECTED.removed
    assert log.links == EXPECTED.links
    # the old images figure was not a number, so it reads as not given
    assert log.figures == (
        FigureChange("alpha", "images", None, FigureValue(1200)),
        FigureChange("alpha", "splits.train", FigureValue(800), FigureValue(1000)),
    )
    assert format_changelog(log, "text").endswith(
        "\nNote: v1 did not validate, so it was compared from the raw data by dataset id.\n"
    )
    assert format_changelog(log, "markdown").endswith(
        "\n> Note: v1 did not validate, so it was compared from the raw data by dataset id.\n"
    )


def test_revision_before_the_data_file_existed_lists_every_dataset_as_added(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "README").write_text("hello\n", encoding="utf-8")
    git(tmp_path, "add", "README")
    git(tmp_path, "commit", "-q", "-m", "start")
    git(tmp_path, "tag", "start")
    commit(tmp_path, MINIMAL, "v1")
    log = changelog(tmp_path, "start", "v1")
    assert log.added == (DatasetRef("alpha", "Alpha"), DatasetRef("beta", "Beta"))
    assert not (log.removed or log.figures or log.links or log.raw_fallback)


def test_local_sample_paths_are_checked_against_the_revisions_own_files(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    with_sample = edit(
        MINIMAL,
        (
            "    competitions:\n",
            "    samples:\n"
            "      - path: samples/alpha.jpg\n"
            "        credit: Alpha authors\n"
            "        licence: CC-BY-4.0\n"
            "        caption: {zh: 货架, en: A shelf}\n"
            "    competitions:\n",
        ),
    )
    commit(tmp_path, with_sample, "v1", extra={"data/samples/alpha.jpg": "not really a jpeg"})
    git(tmp_path, "rm", "-q", "data/samples/alpha.jpg")
    commit(tmp_path, MINIMAL, "v2")
    assert not (tmp_path / "data" / "samples" / "alpha.jpg").exists()
    log = changelog(tmp_path, "v1", "v2")
    assert log.raw_fallback == ()
    assert log.empty


def test_unknown_revision_is_a_clear_error(repo):
    with pytest.raises(ChangelogError, match=r"'v9' is not a commit of the git repository at"):
        changelog(repo, "v9", None)


def test_option_like_revision_is_refused(repo):
    with pytest.raises(ChangelogError, match=r"expected a git revision, got '--output=x'"):
        changelog(repo, "--output=x", "v2")


def test_revision_that_is_not_yaml_is_a_clear_error(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    commit(tmp_path, "datasets: [\n", "v1")
    commit(tmp_path, MINIMAL, "v2")
    with pytest.raises(ChangelogError, match=r"v1:data/datasets.yaml is not readable YAML"):
        changelog(tmp_path, "v1", "v2")


def test_unknown_format_is_refused(repo):
    with pytest.raises(ValueError, match="expected text or markdown"):
        format_changelog(changelog(repo, "v1", "v2"), "html")  # type: ignore[arg-type]


def test_raw_url_places_match_catalog_links_on_the_real_catalogue():
    # the raw fallback must find the same URLs as the model does, or a model change would
    # show up as links changed
    path = ROOT / DATA
    doc = load_document(path, DATA)
    catalog = validate_document(doc, path.parent)
    for index, dataset in enumerate(catalog.datasets):
        expected = [link.url for link in catalog_links(catalog) if link.dataset_id == dataset.id]
        assert sorted(raw_urls(doc.data["datasets"][index])) == sorted(expected), dataset.id
