"""Property: whatever the input, the validator returns a catalogue or clean located problems, never a crash."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.load import parse_document
from generator.model import Catalog
from generator.problems import LoadError
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parent.parent
REAL = (ROOT / "data" / "datasets.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
DATA_DIR = ROOT / "data"

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(raw: bytes) -> None:
    try:
        doc = parse_document(raw, DATA_DIR / "datasets.yaml", "data/datasets.yaml")
        result = validate_document(doc, DATA_DIR)
    except LoadError as err:
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


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutations_of_the_real_file_never_crash(mutations):
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
    outcome("".join(lines).encode("utf-8", "surrogatepass"))
