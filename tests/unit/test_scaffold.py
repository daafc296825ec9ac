"""`sku-survey new`: the skeleton entry fails with located messages until filled, then validates."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from edits import replace_once

from generator.document import parse_document
from generator.errors import ProblemsFound
from generator.scaffold import append_entry, existing_ids, skeleton
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")
TODAY = dt.date(2026, 11, 25)

# What a contributor writes in place of each `~`, by the key it stands under.
FILL = {
    "name": "Gamma",
    "zh": "伽马商品数据集",
    "en": "Gamma product dataset",
    "year": "2022",
    "level": "partly",
    "value": "1200",
    "source": "https://example.org/gamma",
    "licence": "unknown",
    "access": "open",
    "homepage": "https://example.org/gamma",
    "confidence": "medium",
    "title": "Gamma homepage",
    "url": "https://example.org/gamma",
}
LIST_FILL = {"tasks": "detection", "scenes": "shelf"}
PLACEHOLDER = re.compile(r"^(?P<lead>\s*(?:- )?(?P<key>[a-z_]+): )(?P<value>~|\[~\])(?P<rest>\s*(?:#.*)?)$")


def fill(text: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        m = PLACEHOLDER.match(line.rstrip("\n"))
        if m:
            key = m["key"]
            value = f"[{LIST_FILL[key]}]" if m["value"] == "[~]" else FILL[key]
            line = f"{m['lead']}{value}{m['rest']}\n"
        out.append(line)
    return "".join(out)


def validate_text(tmp_path: Path, text: str):
    doc = parse_document(text.encode("utf-8"), tmp_path / "datasets.yaml", "data/datasets.yaml")
    return validate_document(doc, tmp_path)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ProblemsFound) as info:
        validate_text(tmp_path, text)
    return [str(p) for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_skeleton_is_indented_to_sit_under_datasets_and_carries_id_and_date():
    text = skeleton("gamma", TODAY)
    assert "  - id: gamma\n" in text
    assert text.endswith("    added: 2026-11-25\n")
    assert all(line.startswith("  ") for line in text.splitlines())


def test_skeleton_lists_the_allowed_values_from_the_model():
    text = skeleton("gamma", TODAY)
    assert "tasks: [~]  # one or more of: classification, retrieval, detection," in text
    assert "level: ~  # yes, partly, no or unverified" in text
    assert "confidence: ~  # high, medium or low" in text


def test_skeleton_is_deterministic_and_reads_no_clock():
    assert skeleton("gamma", TODAY) == skeleton("gamma", TODAY)
    assert "added: 2001-02-03" in skeleton("gamma", dt.date(2001, 2, 3))


def test_unfilled_skeleton_fails_with_one_located_message_per_placeholder(tmp_path):
    text = MINIMAL + skeleton("gamma", TODAY)
    problems = problems_of(tmp_path, text)
    # every message is about the new entry and names its file, line and field
    assert all(p.startswith("data/datasets.yaml:") and "datasets[2] (gamma)." in p for p in problems)
    assert len(problems) == len(required_placeholders(skeleton("gamma", TODAY)))
    name_line = line_of(text, "    name: ~")
    assert f"data/datasets.yaml:{name_line}:11: error: datasets[2] (gamma).name: expected text, got nothing (null)" in problems
    tasks_line = line_of(text, "tasks: [~]")
    assert any(p.startswith(f"data/datasets.yaml:{tasks_line}:13: error: datasets[2] (gamma).tasks[0]: expected one of classification") for p in problems)
    confidence_line = line_of(text, "confidence: ~")
    assert f"data/datasets.yaml:{confidence_line}:17: error: datasets[2] (gamma).confidence: expected one of high, medium, low; got nothing (null)" in problems


def required_placeholders(entry: str) -> list[str]:
    # a `~` may stay for the homepage and a source's URL (none known), and for a figure's
    # value (unknown), which is then reported through its figure until `verified: false`
    optional = {"homepage", "url", "value"}
    return [
        line
        for line in entry.splitlines()
        if (m := PLACEHOLDER.match(line)) and m["key"] not in optional and not line.lstrip().startswith("#")
    ]


def test_filled_skeleton_validates(tmp_path):
    entry = fill(skeleton("gamma", TODAY))
    assert not any(PLACEHOLDER.match(line) for line in entry.splitlines())
    text = MINIMAL + entry
    catalog = validate_text(tmp_path, text)
    gamma = next(d for d in catalog.datasets if d.id == "gamma")
    assert gamma.name == "Gamma"
    assert gamma.stats.images.value == 1200
    assert gamma.added == TODAY
    assert gamma.licence.unknown


def test_skeleton_alone_under_datasets_validates_once_filled(tmp_path):
    catalog = validate_text(tmp_path, "datasets:\n" + fill(skeleton("gamma", TODAY)))
    assert [d.id for d in catalog.datasets] == ["gamma"]


def test_unknown_figure_left_as_placeholder_asks_for_verified_false(tmp_path):
    text = "datasets:\n" + replace_once(fill(skeleton("gamma", TODAY)), "images:\n        value: 1200", "images:\n        value: ~")
    problems = problems_of(tmp_path, text)
    assert problems == [
        f"data/datasets.yaml:{line_of(text, 'images:') + 1}:9: error: datasets[0] (gamma).stats.images: "
        "a figure without a value must say `verified: false`"
    ]


@pytest.mark.parametrize("bad", ["Gamma", "gamma_1", "-gamma", "gamma--1", "", "gam ma", "ga/mma"])
def test_id_that_is_not_a_slug_is_refused_with_the_rule(bad):
    with pytest.raises(ValueError, match=r"expected a dataset id that is a slug \(lower-case letters, digits and single hyphens"):
        skeleton(bad, TODAY)


def test_taken_id_is_refused():
    with pytest.raises(ValueError, match="the id 'alpha' is already used"):
        skeleton("alpha", TODAY, taken={"alpha", "beta"})


def test_existing_ids_reads_ids_without_validating(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text(MINIMAL + skeleton("gamma", TODAY), encoding="utf-8")
    assert existing_ids(path) == {"alpha", "beta", "gamma"}


def test_append_entry_adds_the_skeleton_at_the_end(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    entry = skeleton("gamma", TODAY, taken=existing_ids(path))
    append_entry(path, entry)
    assert path.read_text(encoding="utf-8") == MINIMAL + entry
    assert existing_ids(path) == {"alpha", "beta", "gamma"}
    assert [p.name for p in tmp_path.iterdir()] == ["datasets.yaml"]  # no temporary file left


def test_append_entry_adds_a_missing_final_newline_first(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text(MINIMAL.rstrip("\n"), encoding="utf-8")
    append_entry(path, skeleton("gamma", TODAY))
    assert path.read_text(encoding="utf-8") == MINIMAL + skeleton("gamma", TODAY)


def test_append_entry_refuses_an_id_already_in_the_file_and_leaves_it_untouched(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(ValueError, match="already has a dataset with id 'beta'; choose another id"):
        append_entry(path, skeleton("beta", TODAY))
    assert path.read_text(encoding="utf-8") == MINIMAL


def test_append_entry_refuses_a_file_that_is_not_yaml(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text("datasets: [\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is not readable YAML; fix it first"):
        append_entry(path, skeleton("gamma", TODAY))
    assert path.read_text(encoding="utf-8") == "datasets: [\n"


def test_append_entry_refuses_a_file_where_the_entry_would_not_land_in_the_list(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text("datasets: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="would not land in the `datasets:` list"):
        append_entry(path, skeleton("gamma", TODAY))
    assert path.read_text(encoding="utf-8") == "datasets: []\n"


def test_append_entry_keeps_the_file_mode(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    path.chmod(0o640)
    append_entry(path, skeleton("gamma", TODAY))
    assert path.stat().st_mode & 0o777 == 0o640
