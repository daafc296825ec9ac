"""Messages to contributors: at the line of the mistake, with the fix, in the contributor's language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from edits import replace_once

from generator.cli import message_language
from generator.errors import ProblemsFound
from generator.load import load_document
from generator.problems import Problem
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
TEXT = FIXTURE.read_text(encoding="utf-8")


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "datasets.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProblemsFound) as caught:
        validate_document(load_document(path, "data/datasets.yaml"), tmp_path)
    return caught.value.problems


def edit(old: str, new: str) -> tuple[str, int]:
    """The fixture with one edit, and the line the edit is on."""
    assert old in TEXT, old
    line = TEXT[: TEXT.index(old)].count("\n") + 1
    return replace_once(TEXT, old, new), line


@pytest.mark.parametrize(
    ("old", "new", "says_en", "says_zh"),
    [
        ("    name: Alpha\n", "\tname: Alpha\n", "replace the tab with spaces", "换成空格"),
        ("    name: Alpha\n", "    name：Alpha\n", "full-width colon", "全角冒号"),
        ("    tasks: [detection]\n", "    tasks: [detection，counting]\n", "ASCII comma", "半角逗号"),
        (
            "    summary: {zh: 一句话简介。, en: One-line summary.}\n", "    summary: {zh: 一句话简介。, en: Note: one line}\n",
            "put the text in quotes", "加上引号",
        ),
        ("    year: 2020\n", "     year: 2020\n", "indent it like the other keys", "对齐"),
        ("    year: 2020\n", "   year: 2020\n", "indent it like the other keys", "对齐"),
    ],
)
def test_a_syntax_mistake_is_reported_at_its_line_with_the_fix(tmp_path, old, new, says_en, says_zh):
    text, line = edit(old, new)
    (problem,) = problems_of(tmp_path, text)
    assert problem.line == line, problem
    assert says_en in problem.message and says_zh in problem.message_zh


def test_a_quoted_year_is_told_to_drop_the_quotes(tmp_path):
    text, line = edit("    year: 2020\n", "    year: '2020'\n")
    (problem,) = problems_of(tmp_path, text)
    assert problem.line == line and "a year like 2019" in problem.message and "不加引号" in problem.message_zh


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    year: 2020\n", "    year: '2020'\n"),
        ("    access: open\n", "    access: opne\n"),
        ("    access: open\n", "    acess: open\n"),
        ("      homepage: https://example.org/alpha\n", "      homepage: example.org/alpha\n"),
        ("    licence: unknown\n", "    licence: {spdx: CC-BY-5.0}\n"),
        ("        url: https://example.org/alpha\n    added: 2026-11-25\n", "        url: https://example.org/alpha\n    added: 25.11.2026\n"),
        ("    summary: {zh: 一句话简介。, en: One-line summary.}\n", "    summary: {zh: 一句话简介。}\n"),
        ("    name: Alpha\n", "    name: Beta\n"),
        ("    scenes: [shelf]\n", "    scenes: shelf\n"),
        ("    year: 2020\n", "    year: 2020\n    year: 2021\n"),
    ],
)
def test_every_message_about_the_data_has_a_chinese_version(tmp_path, old, new):
    problems = problems_of(tmp_path, edit(old, new)[0])
    assert problems
    for p in problems:
        assert p.message_zh and p.message_zh != p.message, p
        assert p.render("zh").count("错误") == 1 and p.render("en").count("error") >= 1


def _validate(tmp_path: Path, text: str, *args: str, env: dict[str, str] | None = None) -> str:
    path = tmp_path / "datasets.yaml"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "generator", *args, "validate", str(path)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **(env or {})},
    )
    assert done.returncode == 2, done.stderr
    return done.stderr


def test_the_cli_speaks_chinese_when_asked_or_when_the_locale_is_chinese(tmp_path):
    text = edit("    access: open\n", "    access: opne\n")[0]
    assert "错误" not in _validate(tmp_path, text, env={"LANG": "C.UTF-8"})
    assert "应为以下之一" in _validate(tmp_path, text, "--lang", "zh")
    assert "应为以下之一" in _validate(tmp_path, text, env={"LANG": "zh_CN.UTF-8"})
    assert "expected one of" in _validate(tmp_path, text, "--lang", "en", env={"LANG": "zh_CN.UTF-8"})


def test_message_language_follows_the_first_locale_variable_that_is_set():
    assert message_language(None, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_GB.UTF-8"}) == "zh"
    assert message_language(None, {"LANG": "en_GB.UTF-8"}) == "en"
    assert message_language(None, {}) == "en"
    assert message_language("zh", {"LANG": "en_GB.UTF-8"}) == "zh"
