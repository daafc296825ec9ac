"""The data file's loader and validator: located, one-line messages for each kind of mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from edits import replace_once

from generator import load
from generator.cli import main
from generator.errors import ProblemsFound
from generator.load import load_document
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")


def problems_for(tmp_path: Path, text: str | bytes) -> list[str]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    path = data_dir / "datasets.yaml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    with pytest.raises(ProblemsFound) as info:
        validate_document(load_document(path, "data/datasets.yaml"), data_dir)
    return [str(p) for p in info.value.problems]


def valid(tmp_path: Path, text: str):
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    path = data_dir / "datasets.yaml"
    path.write_text(text, encoding="utf-8")
    return validate_document(load_document(path, "data/datasets.yaml"), data_dir)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    lines = text.splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    return hits[nth - 1]


def test_real_catalogue_validates(capsys):
    assert main(["--root", str(ROOT), "validate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("data/datasets.yaml: ") and out.rstrip().endswith("valid")


def test_minimal_fixture_validates(tmp_path):
    catalog = valid(tmp_path, MINIMAL)
    assert [d.id for d in catalog.datasets] == ["alpha", "beta"]
    assert catalog.datasets[1].licence.spdx == "CC-BY-4.0"
    assert catalog.datasets[0].licence.unknown


def test_yaml_syntax_error_is_one_message_with_its_line(tmp_path):
    text = replace_once(MINIMAL, "    year: 2020\n", "    year: [2020\n")
    (msg,) = problems_for(tmp_path, text)
    assert msg.startswith("data/datasets.yaml:")
    assert "YAML syntax error" in msg
    line = int(msg.split(":")[1])
    assert abs(line - line_of(text, "year: [2020")) <= 1


def test_duplicate_key_reports_both_lines(tmp_path):
    text = replace_once(MINIMAL, "    year: 2020\n", "    year: 2020\n    year: 2019\n")
    first, second = line_of(text, "year: 2020"), line_of(text, "year: 2019")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{second}:5: error: datasets[0].year: duplicate key 'year' (first given on line {first}); "
        "YAML keeps only one of them, so remove or merge one"
    ]


def test_duplicate_id_reports_both_lines(tmp_path):
    text = replace_once(MINIMAL, "id: beta", "id: alpha")
    first, second = line_of(text, "id: alpha"), line_of(text, "id: alpha", 2)
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{second}:9: error: datasets[1] (alpha).id: duplicate id 'alpha': datasets[0] on line {first} has the same id; each must be unique"
    ]


def test_duplicate_name_is_case_insensitive(tmp_path):
    text = replace_once(MINIMAL, "name: Beta", "name: ALPHA")
    (msg,) = problems_for(tmp_path, text)
    assert f"duplicate name 'ALPHA': datasets[0] on line {line_of(text, 'name: Alpha')}" in msg


def test_figure_with_units_names_the_field_and_value(tmp_path):
    text = replace_once(MINIMAL, "        value: 1000\n", "        value: 3M\n")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{line_of(text, 'value: 3M')}:16: error: datasets[0] (alpha).stats.images.value: "
        "expected a whole number ≥ 0, got '3M'; write the whole number without separators or units"
    ]


def test_negative_figure_is_out_of_range(tmp_path):
    text = replace_once(MINIMAL, "        value: 10\n", "        value: -5\n")
    (msg,) = problems_for(tmp_path, text)
    assert msg.endswith("datasets[0] (alpha).stats.classes.value: expected a number ≥ 0, got -5")


def test_unknown_key_suggests_the_close_field(tmp_path):
    text = replace_once(MINIMAL, "      homepage: https://example.org/alpha", "      homepgae: https://example.org/alpha")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{line_of(text, 'homepgae')}:7: error: datasets[0] (alpha).links.homepgae: "
        "unknown field `homepgae`; did you mean `homepage`?"
    ]


def test_missing_language_names_the_text(tmp_path):
    text = replace_once(MINIMAL, "summary: {zh: 一句话简介。, en: One-line summary.}", "summary: {zh: 一句话简介。}")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{line_of(text, 'summary: {zh: 一句话简介。}')}:14: error: datasets[0] (alpha).summary: "
        "required field `en` is missing (every text needs both `zh:` and `en:`)"
    ]


def test_unknown_vocabulary_value_suggests_the_closest(tmp_path):
    text = replace_once(MINIMAL, "tasks: [detection]", "tasks: [detecton]")
    (msg,) = problems_for(tmp_path, text)
    assert msg.startswith(f"data/datasets.yaml:{line_of(text, 'detecton')}:13: error: datasets[0] (alpha).tasks[0]: expected one of classification,")
    assert msg.endswith("got 'detecton'; did you mean 'detection'?")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd", "arxiv 1904.00853"])
def test_only_http_urls_are_accepted(tmp_path, url):
    text = replace_once(MINIMAL, "      homepage: https://example.org/alpha", f"      homepage: '{url}'")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{line_of(text, url)}:17: error: datasets[0] (alpha).links.homepage: expected an http(s) URL, got {url!r}"
    ]


def test_local_sample_path_must_stay_inside_data(tmp_path):
    sample = (
        "    samples:\n"
        "      - path: ../../etc/passwd\n"
        "        credit: me\n"
        "        licence: CC0-1.0\n"
        "        caption: {zh: 图, en: picture}\n"
    )
    text = replace_once(MINIMAL, "    competitions:\n", sample + "    competitions:\n")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{line_of(text, 'path: ../../etc/passwd')}:15: error: datasets[0] (alpha).samples[0].path: "
        "expected a path inside data/, got '../../etc/passwd'"
    ]


def test_local_sample_path_that_exists_is_accepted(tmp_path):
    (tmp_path / "data" / "samples").mkdir(parents=True)
    (tmp_path / "data" / "samples" / "a.jpg").write_bytes(b"x")
    sample = "    samples:\n      - {path: samples/a.jpg, credit: me, licence: CC0-1.0, caption: {zh: 图, en: picture}}\n"
    catalog = valid(tmp_path, replace_once(MINIMAL, "    competitions:\n", sample + "    competitions:\n"))
    assert catalog.datasets[0].samples[0].path == "samples/a.jpg"


def test_duplicate_rank_names_both_lines(tmp_path):
    text = replace_once(MINIMAL, "{rank: 2, title: Runner-up}", "{rank: 1, title: Runner-up}")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{line_of(text, 'Runner-up')}:20: error: datasets[0] (alpha).competitions[0].solutions[1].rank: "
        f"rank 1 is given twice in this competition (also on line {line_of(text, 'title: Winner')})"
    ]


def test_splits_must_add_up_when_exact(tmp_path):
    text = replace_once(MINIMAL, "test: {value: 200,", "test: {value: 250,")
    (msg,) = problems_for(tmp_path, text)
    assert msg.endswith("stats.splits: the splits add up to 1,050 images but stats.images says 1,000; fix one of them, or mark the figures `qualifier: approx`")


def test_yaml11_booleans_stay_text_and_are_refused_where_a_boolean_is_expected(tmp_path):
    # `no` is Norway, not false: it stays text where text is expected ...
    catalog = valid(tmp_path, replace_once(MINIMAL, "name: Beta", "name: no"))
    assert catalog.datasets[1].name == "no"
    # ... and is reported where true/false is expected
    text = replace_once(MINIMAL, "    year: 2020\n", "    year: 2020\n    in_seed: yes\n")
    assert problems_for(tmp_path, text) == [
        f"data/datasets.yaml:{line_of(text, 'in_seed: yes')}:14: error: datasets[0] (alpha).in_seed: expected true or false, got 'yes'"
    ]


def test_dates_are_not_guessed_where_text_is_expected(tmp_path):
    catalog = valid(tmp_path, replace_once(MINIMAL, "name: Beta", "name: 2020-01-02"))
    assert catalog.datasets[1].name == "2020-01-02"
    text = replace_once(
        MINIMAL, "        url: https://example.org/alpha\n    added: 2026-11-25\n", "        url: https://example.org/alpha\n    added: 2026-13-45\n"
    )
    (msg,) = problems_for(tmp_path, text)
    assert msg.endswith("datasets[0] (alpha).added: expected a date written YYYY-MM-DD, got '2026-13-45'")


def test_number_where_text_is_expected_asks_for_quotes(tmp_path):
    text = replace_once(MINIMAL, "name: Beta", "name: 10")
    (msg,) = problems_for(tmp_path, text)
    assert msg.endswith("datasets[1] (beta).name: expected text, got 10; put it in quotes")


def test_octal_looking_numbers_are_decimal(tmp_path):
    catalog = valid(tmp_path, replace_once(MINIMAL, "        value: 10\n", "        value: 010\n"))
    assert catalog.datasets[0].stats.classes.value == 10


def test_unsafe_tag_is_refused(tmp_path):
    text = replace_once(MINIMAL, "name: Alpha", "name: !!python/object/apply:os.system ['true']")
    (msg,) = problems_for(tmp_path, text)
    where = f"data/datasets.yaml:{line_of(text, 'os.system')}:11"
    assert msg.startswith(f"{where}: error: datasets[0].name: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed")


def test_billion_laughs_fails_fast_with_a_message(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    lines.append("datasets: *a9")
    (msg,) = problems_for(tmp_path, "\n".join(lines) + "\n")
    assert "too large or too deeply nested" in msg and "aliases" in msg


def test_invalid_utf8_is_located(tmp_path):
    raw = replace_once(MINIMAL, "name: Alpha", "name: Al\udcffpha").encode("utf-8", "surrogateescape")
    (msg,) = problems_for(tmp_path, raw)
    assert msg == f"data/datasets.yaml:{line_of(MINIMAL, 'name: Alpha')}:13: error: the file is not valid UTF-8 (byte 0xff); save it as UTF-8"


def test_control_character_is_located_after_chinese_text(tmp_path):
    # the column counts characters, not UTF-8 bytes, even with Chinese text before it
    text = replace_once(MINIMAL, "name: Alpha", "name: 阿尔法\x07Alpha")
    (msg,) = problems_for(tmp_path, text)
    assert msg == (
        f"data/datasets.yaml:{line_of(MINIMAL, 'name: Alpha')}:14: error: YAML syntax error: "
        "the file contains a control character YAML does not allow (U+0007); delete it"
    )


def test_byte_order_mark_is_accepted(tmp_path):
    catalog = valid(tmp_path, "\ufeff" + MINIMAL)
    assert len(catalog.datasets) == 2


def test_file_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 100)
    (msg,) = problems_for(tmp_path, MINIMAL)
    assert msg.startswith("data/datasets.yaml:1:1: error: the file is") and msg.endswith("bytes; the limit is 100")


def test_every_problem_is_reported_at_once_sorted_by_position(tmp_path):
    text = (
        replace_once(
            replace_once(replace_once(MINIMAL, "year: 2020", "year: twenty"), "licence: {spdx: CC-BY-4.0", "licence: {spdx: CC-BY-4"),
            "access: open",
            "access: opne",
        )
    )
    msgs = problems_for(tmp_path, text)
    assert len(msgs) == 3
    lines = [int(m.split(":")[1]) for m in msgs]
    assert lines == sorted(lines)
    assert "did you mean 'open'?" in msgs[1]
    assert "expected an SPDX licence id" in msgs[2]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_cli_exit_codes_and_formats_never_traceback(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "datasets.yaml").write_text(replace_once(MINIMAL, "year: 2020", "year: 1800"), encoding="utf-8")
    before = sorted(p.name for p in tmp_path.rglob("*"))

    text = run_cli("--root", str(tmp_path), "validate", cwd=ROOT)
    assert text.returncode == 2
    assert "Traceback" not in text.stderr
    assert "datasets[0] (alpha).year: expected a number ≥ 1990, got 1800" in text.stderr

    gh = run_cli("--root", str(tmp_path), "validate", "--format", "github", cwd=ROOT)
    assert gh.returncode == 2
    assert gh.stdout.startswith(f"::error file=data/datasets.yaml,line={line_of(MINIMAL, 'year: 2020')},col=11::datasets[0] (alpha).year: ")

    js = run_cli("--root", str(tmp_path), "validate", "--format", "json", cwd=ROOT)
    assert js.returncode == 2
    (problem,) = json.loads(js.stdout)
    assert problem["file"] == "data/datasets.yaml" and problem["line"] == line_of(MINIMAL, "year: 2020")
    assert problem["path"] == "datasets[0] (alpha).year"
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written

    ok = run_cli("validate", cwd=ROOT)
    assert ok.returncode == 0 and "datasets" in ok.stdout


def test_committed_schema_is_current():
    result = run_cli("schema", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_data_file_names_its_schema_on_the_first_line():
    first = (ROOT / "data" / "datasets.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=datasets.schema.json"
    assert (ROOT / "data" / "datasets.schema.json").is_file()


def test_empty_dataset_list_is_a_located_problem(tmp_path):
    assert problems_for(tmp_path, "datasets: []\n") == [
        "data/datasets.yaml:1:11: error: datasets: the `datasets:` list is empty; add at least one dataset"
    ]


def test_result_value_above_its_unit_names_the_fix(tmp_path):
    text = replace_once(MINIMAL, "        value: 0.802\n", "        value: 80.2\n")
    (msg,) = problems_for(tmp_path, text)
    assert msg.startswith(f"data/datasets.yaml:{line_of(text, 'method: Better')}:")
    assert "datasets[0] (alpha).results[1]: a value in 'ratio' is at most 1, got 80.2; write it as a percentage with `unit: '%'`" in msg


def test_result_value_with_its_unit_in_the_number_is_refused_at_its_line(tmp_path):
    text = replace_once(MINIMAL, "        value: 71.5\n", '        value: "71.5%"\n')
    (msg,) = problems_for(tmp_path, text)
    line = line_of(text, '"71.5%"')
    assert msg.startswith(f"data/datasets.yaml:{line}:")
    assert msg.endswith("datasets[0] (alpha).results[0].value: expected a number ≥ 0, got '71.5%'; "
                        "write the number without its unit and give the unit in `unit:`")


def test_result_source_kind_is_a_closed_vocabulary(tmp_path):
    text = replace_once(MINIMAL, "kind: competitor}", "kind: competitors}")
    (msg,) = problems_for(tmp_path, text)
    assert f"data/datasets.yaml:{line_of(text, 'kind: competitors')}:" in msg
    assert "results[1].source.kind" in msg and "competitor" in msg


def test_best_result_compares_only_the_first_results_metric_and_split(tmp_path):
    alpha = valid(tmp_path, MINIMAL).datasets[0]
    best = alpha.best_result()
    # 0.802 (a ratio) beats 71.5 %; the top-5 error of 3.1 % is another metric and never competes
    assert best is not None and best.method == "Better <b>method</b>" and best.percent == pytest.approx(80.2)


def test_confirmed_download_with_unknown_access_is_located_at_access(tmp_path):
    text = replace_once(MINIMAL, "    access: registration\n", "    access: unknown\n")
    (msg,) = problems_for(tmp_path, text)
    assert msg == (
        f"data/datasets.yaml:{line_of(text, 'access: unknown')}:13: error: datasets[1] (beta).access: access is 'unknown' "
        f"but links.downloads[0] (line {line_of(text, 'beta/download')}, https://example.org/beta/download) is a confirmed "
        "download; write how it is obtained (open, registration or application), or mark that link `verified: false`"
    )
    # an unconfirmed address does not tell how the data is obtained
    unconfirmed = replace_once(text, "          expect: [403]\n", "          expect: [403]\n          verified: false\n")
    assert valid(tmp_path, unconfirmed).datasets[1].access == "unknown"


def test_a_rule_broken_is_invalid_data_and_unreadable_yaml_a_load_error(tmp_path):
    from generator.errors import Exit, InvalidData, LoadError

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / "datasets.yaml"
    path.write_text("datasets:\n  - id: Not A Slug\n", encoding="utf-8")
    with pytest.raises(InvalidData) as invalid:
        validate_document(load_document(path, "data/datasets.yaml"), data_dir)
    assert not isinstance(invalid.value, LoadError) and invalid.value.exit_code is Exit.BAD_INPUT
    path.write_text("datasets:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(LoadError) as unreadable:
        load_document(path, "data/datasets.yaml")
    assert unreadable.value.exit_code is Exit.BAD_INPUT


def test_build_errors_exit_by_whose_fault_it_is():
    from generator.errors import BuildError, Exit

    assert BuildError("mkdocs", "a page links to a missing page", bad_input=True).exit_code is Exit.BAD_INPUT
    assert BuildError("render", "No space left on device", environment=True).exit_code is Exit.ENVIRONMENT
    assert BuildError("render", "an unexpected state").exit_code is Exit.INTERNAL
