"""Where URLs come from: the data (with file:line positions), a URL list, hand-written Markdown."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from generator.errors import InvalidData
from generator.problems import Problem

URL_FILE_ROLE = "listed"
MARKDOWN_ROLE = "page"

@dataclass(frozen=True, order=True)
class LinkSource:
    """One place a URL appears (1-based line and column)."""

    file: str
    line: int
    column: int
    role: str
    dataset_id: str | None = None

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _source_key(s: LinkSource) -> tuple[str, int, int, str, str]:
    return (s.file, s.line, s.column, s.role, s.dataset_id or "")


@dataclass(frozen=True)
class LinkTarget:
    """One URL to check, deduplicated; keeps every position."""

    url: str
    sources: tuple[LinkSource, ...]
    expect: frozenset[int] = frozenset()


def dedupe_targets(items: Iterable[tuple[str, LinkSource, frozenset[int]]]) -> list[LinkTarget]:
    """One target per URL (exact string), sorted by URL, sources sorted by position.

    Declared statuses are merged: if any place says a 403 is normal for this URL, it is.
    """
    sources: dict[str, set[LinkSource]] = {}
    expects: dict[str, set[int]] = {}
    for url, source, expect in items:
        sources.setdefault(url, set()).add(source)
        expects.setdefault(url, set()).update(expect)
    return [
        LinkTarget(url=url, sources=tuple(sorted(sources[url], key=_source_key)), expect=frozenset(expects[url]))
        for url in sorted(sources)
    ]


def targets_from_url_file(path: Path) -> list[LinkTarget]:
    """A plain list, one URL a line; blank lines and lines starting with '#' are ignored.

    Raises ``InvalidData`` with every line that is not an http(s) URL.
    """
    name = str(path)
    items: list[tuple[str, LinkSource, frozenset[int]]] = []
    problems: list[Problem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        column = len(line) - len(line.lstrip()) + 1
        if not is_http_url(text):
            problems.append(Problem(name, number, column, "", f"expected one http(s) URL on the line, got {text!r}"))
            continue
        items.append((text, LinkSource(name, number, column, URL_FILE_ROLE, None), frozenset()))
    if problems:
        raise InvalidData(problems)
    return dedupe_targets(items)


def is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in text)


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
_URL_START = re.compile(r"https?://", re.IGNORECASE)
# GFM drops these from the end of a bare autolink.
_TRAILING_PUNCTUATION = "?!.,:;*_~'\""


def targets_from_markdown(root: Path, files: Iterable[Path]) -> list[tuple[str, LinkSource, frozenset[int]]]:
    """External http(s) links in hand-written Markdown: ``[text](url)``, reference
    definitions, ``<url>``, HTML ``href``/``src`` and bare URLs; code is skipped.

    Positions name the file relative to ``root`` (POSIX separators) and the 1-based column of
    the URL's first character.
    """
    found: list[tuple[str, LinkSource, frozenset[int]]] = []
    for path in sorted(files):
        try:
            name = path.relative_to(root).as_posix()
        except ValueError:
            name = path.as_posix()
        text = path.read_text(encoding="utf-8")
        for line, column, url in _markdown_urls(text):
            found.append((url, LinkSource(name, line, column, MARKDOWN_ROLE, None), frozenset()))
    return found


def _markdown_urls(text: str) -> Iterator[tuple[int, int, str]]:
    fence: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        code = [m.span() for m in _CODE_SPAN.finditer(line)]
        taken_until = 0
        for match in _URL_START.finditer(line):
            start = match.start()
            if start < taken_until or any(a <= start < b for a, b in code):
                continue
            url, end = _url_at(line, start)
            taken_until = end
            if url is not None and is_http_url(url):
                yield number, start + 1, url


def _url_at(line: str, start: int) -> tuple[str | None, int]:
    """The URL starting at ``start`` and where it ends, by the syntax that introduces it."""
    before = line[:start]
    if before.endswith("<"):
        end = line.find(">", start)
        end = len(line) if end < 0 else end
        return line[start:end], end
    if before.endswith(('"', "'")):
        end = line.find(before[-1], start)
        end = len(line) if end < 0 else end
        return html.unescape(line[start:end]), end
    if before.endswith("](") or re.search(r"^\s{0,3}\[[^\]]+\]:\s*$", before):
        end = start
        depth = 0
        while end < len(line) and not line[end].isspace():
            if line[end] == "(":
                depth += 1
            elif line[end] == ")":
                if depth == 0:
                    break
                depth -= 1
            end += 1
        return line[start:end], end
    # Bare autolink (GFM): up to whitespace or '<', minus trailing punctuation and unbalanced ')'.
    end = start
    while end < len(line) and not line[end].isspace() and line[end] not in "<]":
        end += 1
    url = line[start:end]
    while url:
        if url[-1] in _TRAILING_PUNCTUATION or (url[-1] == ")" and url.count(")") > url.count("(")):
            url = url[:-1]
        else:
            break
    if line.startswith("](", end):
        return None, end  # the text of a link is not itself a link
    return url, end
