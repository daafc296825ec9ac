"""Located problems: the value every stage uses to report bad input to a contributor."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

# How a report names the severity in each language the messages are written in.
SEVERITY_WORDS = {"en": {"error": "error", "warning": "warning"}, "zh": {"error": "错误", "warning": "警告"}}


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    path: str  # e.g. "datasets[3] (rpc).stats.images"
    message: str  # English
    severity: Literal["error", "warning"] = "error"
    message_zh: str = ""  # the same in Chinese; empty where no translation is written yet

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str) -> str:
        """One report line in ``lang`` ("zh" or "en"); English where no Chinese text exists."""
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        field = f"{self.path}: " if self.path else ""
        words = SEVERITY_WORDS.get(lang, SEVERITY_WORDS["en"])
        message = self.message_zh if lang == "zh" and self.message_zh else self.message
        return _one_line(f"{where}: {words[self.severity]}: {field}{message}")

    def github(self) -> str:
        # workflow commands need %, CR and LF escaped in the message
        msg = str(f"{self.path}: {self.message}" if self.path else self.message)
        msg = msg.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{self.severity} file={self.file},line={max(self.line, 1)},col={max(self.column, 1)}::{msg}"


def _one_line(text: str) -> str:
    # a key or value may hold line breaks or control characters; a report line must not
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def problems_json(problems: list[Problem]) -> str:
    return json.dumps([asdict(p) for p in problems], ensure_ascii=False, indent=2)


class DataError(ValueError):
    """A model's objection to a value, in both languages (pydantic carries it to validate.py)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh
