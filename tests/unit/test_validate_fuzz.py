"""Property: whatever the input, the validator returns a catalogue or clean located problems, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from edits import replace_once
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.document import Document, parse_document
from generator.errors import ProblemsFound
from generator.load import load_document
from generator.model import Catalog
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
REAL = (ROOT / "data" / "datasets.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
DATA_DIR = ROOT / "data"

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(raw: bytes) -> None:
    try:
        doc = parse_document(raw, DATA_DIR / "datasets.yaml", "data/datasets.yaml")
        result = validate_document(doc, DATA_DIR)
    except ProblemsFound as err:
        assert err.problems
        for p in err.problems:
            assert p.file == "data/datasets.yaml"
            assert p.line >= 1 and p.column >= 1
            assert "Traceback" not in str(p) and str(p).count("\n") == 0
        return
    assert isinstance(result, Catalog)


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text):
    outcome(text.encode("utf-8", "surrogatepass"))


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.floats(allow_nan=False))
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)


@FUZZ
@given(yaml_values)
def test_arbitrary_yaml_structures_never_crash(value):
    import yaml

    outcome(yaml.safe_dump({"datasets": [value]}, allow_unicode=True).encode("utf-8"))


mutation = st.tuples(
    st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "replace-char", "insert-text"]),
    st.integers(min_value=0, max_value=10_000),
    st.text(max_size=8),
)


def mutated(mutations: list[tuple[str, int, str]]) -> bytes:
    lines = list(REAL)
    for kind, pos, text in mutations:
        i = pos % len(lines)
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            lines[i] = "  " + lines[i]
        elif kind == "dedent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        elif kind == "replace-char" and lines[i].strip():
            k = pos % len(lines[i])
            lines[i] = lines[i][:k] + (text[:1] or ":") + lines[i][k + 1 :]
        else:
            lines[i] = lines[i].rstrip("\n") + text + "\n"
    return "".join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutations_of_the_real_file_never_crash(mutations):
    outcome(mutated(mutations))


def loaded(path: Path, cache: Path | None) -> Document | list[str]:
    try:
        return load_document(path, "data/datasets.yaml", cache)
    except ProblemsFound as err:
        return [str(p) for p in err.problems]


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=4), st.lists(mutation, min_size=1, max_size=4))
def test_loading_dataset_by_dataset_with_a_cache_gives_what_a_whole_parse_gives(tmp_path_factory, first, second):
    folder = tmp_path_factory.mktemp("load")
    path, cache = folder / "datasets.yaml", folder / "items.marshal"
    for raw in (mutated(first), mutated(first), mutated(first + second)):  # cold, warm, after an edit
        path.write_bytes(raw)
        whole, by_item = loaded(path, None), loaded(path, cache)
        if isinstance(whole, list):
            assert by_item == whole
        else:
            assert isinstance(by_item, Document)
            assert (by_item.data, dict(by_item.values), dict(by_item.keys)) == (whole.data, whole.values, whole.keys)


def test_the_real_file_loads_dataset_by_dataset_and_an_edit_reparses_one(tmp_path, monkeypatch):
    from generator import load

    path, cache = tmp_path / "datasets.yaml", tmp_path / "items.marshal"
    path.write_text("".join(REAL), encoding="utf-8")
    whole = load_document(path, "data/datasets.yaml")
    parsed: list[str] = []
    parse_item = load._parse_item
    monkeypatch.setattr(load, "_parse_item", lambda text: parsed.append(text) or parse_item(text))

    cold = load_document(path, "data/datasets.yaml", cache)
    assert len(parsed) == len(whole.data["datasets"]) and cache.is_file()
    parsed.clear()
    assert load_document(path, "data/datasets.yaml", cache).data == whole.data and parsed == []

    # the last dataset, whichever it is: the catalogue grows and is reordered
    last = whole.data["datasets"][-1]["id"]
    path.write_text(replace_once("".join(REAL), f"  - id: {last}\n", f"  - id: {last}-edited\n"), encoding="utf-8")
    edited = load_document(path, "data/datasets.yaml", cache)
    assert len(parsed) == 1 and f"id: {last}-edited" in parsed[0]
    assert edited.data["datasets"][-1]["id"] == f"{last}-edited"
    assert dict(cold.values) == whole.values and edited.position(("datasets", 1, "name")) == whole.position(("datasets", 1, "name"))


@pytest.mark.parametrize("where", ["header", "item"])
@pytest.mark.parametrize("bad", ["\x07", "\r", "\u2028"])
def test_with_a_warm_cache_a_character_yaml_forbids_is_still_found_where_it_is(tmp_path, where, bad):
    """The dataset-by-dataset way checks only the text it has not seen: a forbidden
    character (or a line break other than LF) in an edited dataset or before the first one
    gives what the whole file's parse gives."""
    path, cache = tmp_path / "datasets.yaml", tmp_path / "items.marshal"
    text = "".join(REAL)
    path.write_text(text, encoding="utf-8")
    load_document(path, "data/datasets.yaml", cache)  # every dataset cached
    if where == "header":
        edited = bad + "# a comment\n" + text if bad != "\r" else text.replace("\n", "\r\n", 1)
    else:
        second = text.index("\n  - id: ", text.index("\n  - id: ") + 1)
        edited = text[:second] + " " + bad + text[second:]
    path.write_bytes(edited.encode("utf-8"))
    assert loaded(path, cache) == loaded(path, None)
    if bad == "\x07":
        problems = loaded(path, cache)
        assert isinstance(problems, list) and "U+0007" in problems[0], problems
