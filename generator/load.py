"""Read the data file: a path -> a ``Document``, parsing only the datasets whose text changed.

Input: a path (and the cache file of parsed datasets). Output: the same ``Document`` that
``document.parse_document`` makes of the whole file, or ``LoadError`` with located problems.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import SequenceNode

from generator import document
from generator.cache import StaleFormat, keep_in_memory, read_cache, save_cache
from generator.document import (
    MAX_FILE_BYTES,
    MAX_NODES,
    Document,
    Position,
    Walker,
    YamlPath,
    check_characters,
    compose,
    decode_unchecked,
    has_disallowed_character,
    parse_text,
)
from generator.errors import LoadError
from generator.problems import Problem


def load_document(path: Path, display: str | None = None, cache: Path | None = None) -> Document:
    """Read and parse ``path``; raise ``LoadError`` with located problems on any failure.

    With ``cache`` (a file of this module's own), datasets whose text is unchanged since the
    last load are not parsed again; the result is the same either way.
    """
    display = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(
                [Problem(display, 1, 1, "", f"the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
                         message_zh=f"文件有 {size:,} 字节，上限是 {MAX_FILE_BYTES:,}")]
            )
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat
        if len(raw) > MAX_FILE_BYTES:
            raise LoadError([Problem(display, 1, 1, "", f"the file is over {MAX_FILE_BYTES:,} bytes, the limit",
                                     message_zh=f"文件超过了 {MAX_FILE_BYTES:,} 字节的上限")])
    except OSError as err:
        raise LoadError([Problem(display, 0, 0, "", f"cannot read the file: {err.strerror or err}",
                                 message_zh=f"无法读取文件：{err.strerror or err}")]) from None
    text = decode_unchecked(raw, display)
    if cache is not None:
        doc = _parse_by_dataset(text, path, display, cache)
        if doc is not None:
            return doc
    check_characters(text, display)
    return parse_text(text, path, display)


# ---------------------------------------------------------------- loading dataset by dataset
#
# A rebuild after an edit to one dataset of a thousand would spend most of its time parsing
# the 999 it did not touch. So a file of the usual shape (comments, `datasets:`, then one
# block-sequence item per dataset) is cut at the lines where an item starts, and each
# item's text is parsed on its own, or taken from the cache when that text was seen before.
# Anything unusual (another shape, a YAML error, a problem of any kind, a structure that
# crosses a cut, which always leaves an unclosed quote or bracket behind) sends the whole
# file through ``parse_document`` instead, so messages and results never depend on the
# cache. tests/unit/test_validate_fuzz.py checks that both ways agree.

# marshal, not pickle: the cache holds only plain values, which it reads about 4x faster.
# What a cached item means depends on this module, document.py, PyYAML and (for marshal's format) Python.
_CACHE_FORMAT = (
    hashlib.sha256(Path(__file__).read_bytes() + Path(document.__file__).read_bytes()).hexdigest(),
    yaml.__version__,
    sys.version_info[:2],
)
_OTHER_LINE_BREAKS = re.compile("[\r\x85\u2028\u2029]")

# One item parsed alone: (data, value positions, key positions, node count), with paths
# relative to the item and (line, column) tuples whose lines count from its first line.
_RelPositions = dict[YamlPath, tuple[int, int]]
_Item = tuple[Any, _RelPositions, _RelPositions, int]


class _Unusual(Exception):
    """The dataset-by-dataset way does not apply; parse the whole file."""


class _ItemPositions(Mapping[YamlPath, Position]):
    """The positions of a file loaded item by item, each resolved when asked (most never are)."""

    def __init__(self, top: dict[YamlPath, Position], items: list[tuple[int, _RelPositions]]) -> None:
        self._top = top
        self._items = items  # (line offset, positions relative to the item)

    def __getitem__(self, path: YamlPath) -> Position:
        if len(path) >= 2 and path[0] == "datasets" and type(path[1]) is int and 0 <= path[1] < len(self._items):
            offset, relative = self._items[path[1]]
            line, column = relative[path[2:]]
            return Position(line + offset, column)
        return self._top[path]

    def __iter__(self) -> Iterator[YamlPath]:
        yield from self._top
        for index, (_, relative) in enumerate(self._items):
            for rel in relative:
                yield ("datasets", index, *rel)

    def __len__(self) -> int:
        return len(self._top) + sum(len(relative) for _, relative in self._items)


def _parse_by_dataset(text: str, path: Path, display: str, cache_file: Path) -> Document | None:
    try:
        key_line, indent, items, head_end = _cut(text)
        # The characters are checked here, not over the whole file, only where they are new:
        # the text before the first item, and each item not in the cache. A cached item's
        # text passed these checks when it was cached (its digest names that very text),
        # and the items and the line breaks between them make up the rest of the file.
        # Scanning 7 MB twice was 0.07 s of every preview rebuild at 1,000 datasets.
        if _unchecked(text[:head_end]):
            raise _Unusual
        cached = _read_items(cache_file)
        used: dict[str, _Item] = {}
        values: list[tuple[int, _RelPositions]] = []
        keys: list[tuple[int, _RelPositions]] = []
        data: list[Any] = []
        digests: list[str] = []
        nodes = 2  # the top mapping and the sequence
        for first, item_text in items:
            digest = hashlib.sha256(item_text.encode("utf-8")).hexdigest()
            digests.append(digest)
            item = used.get(digest) or cached.get(digest)
            if item is None:
                if _unchecked(item_text):
                    raise _Unusual  # the whole file's checks give the located error
                item = _parse_item(item_text)
            used[digest] = item
            item_data, item_values, item_keys, item_nodes = item
            nodes += item_nodes
            if nodes > MAX_NODES:
                raise _Unusual
            data.append(item_data)
            values.append((first, item_values))
            keys.append((first, item_keys))
    except _Unusual:
        return None
    if used.keys() != cached.keys():
        _write_items(cache_file, used)
    top_line = Position(key_line + 1, 1)
    first_dash = Position(items[0][0] + 1, indent + 1)
    return Document(
        path=path,
        display=display,
        data={"datasets": data},
        values=_ItemPositions({(): top_line, ("datasets",): first_dash}, values),
        keys=_ItemPositions({("datasets",): top_line}, keys),
        item_digests=tuple(digests),
    )


def _unchecked(text: str) -> bool:
    """Whether ``text`` holds what the dataset-by-dataset way leaves to the whole file's
    checks: a line break other than LF (it would move the cuts) or a character YAML forbids."""
    return _OTHER_LINE_BREAKS.search(text) is not None or has_disallowed_character(text)


def _cut(text: str) -> tuple[int, int, list[tuple[int, str]], int]:
    """The index of the `datasets:` line, the items' indent, each item's (first line index,
    text) and where the first item starts."""
    # regular expressions over the whole text: a loop over its lines was 0.1 s of every
    # preview rebuild at 1,000 datasets (140,000 lines)
    head = _HEAD.match(text)
    if head is None:
        raise _Unusual
    key_line = text.count("\n", 0, head.start("key"))
    first = head.start("item")
    indent = head.group("indent")
    body = text[first:]
    if indent and _re_for(_LESS_INDENTED, indent).search(body):
        raise _Unusual  # something less indented than the items: not this shape
    starts = [0, *(m.start() + 1 for m in _re_for(_ITEM_LINE, indent).finditer(body))]
    items = []
    line = text.count("\n", 0, first)
    for start, end in zip(starts, [*starts[1:], len(body) + 1], strict=True):
        item = body[start : end - 1]  # without the line break before the next item
        items.append((line, item))
        line += item.count("\n") + 1
    return key_line, len(indent), items, first


# comments and blank lines, `datasets:`, more of them, then the first item's indent and dash
_HEAD = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n)*(?P<key>datasets:[ \t]*(?:#[^\n]*)?)\n(?:[ \t]*(?:#[^\n]*)?\n)*(?P<item>(?P<indent> *)-(?:[ \t]|\n|\Z))")
# anchored on "\n", not on "^" with MULTILINE, which tries every position (5x slower here)
_ITEM_LINE = r"\n{indent}-(?=[ \t\n]|\Z)"
_LESS_INDENTED = r"\n(?!{indent})(?![ \t]*(?:#|\n|\Z))"  # a line neither blank, a comment nor indented


@functools.cache
def _re_for(pattern: str, indent: str) -> re.Pattern[str]:
    return re.compile(pattern.format(indent=re.escape(indent)))


def _parse_item(item_text: str) -> _Item:
    try:
        loader, node = compose(item_text, "")
    except (yaml.YAMLError, LoadError):
        raise _Unusual from None
    try:
        if not isinstance(node, SequenceNode) or len(node.value) != 1:
            raise _Unusual
        walker = Walker("")
        walker.walk(node.value[0], (), depth=2)  # as deep as it sits in the whole file
        if walker.problems:
            raise _Unusual
        data = loader.construct_document(node)[0]
    except (yaml.YAMLError, LoadError):
        raise _Unusual from None
    finally:
        loader.dispose()
    return (data, {k: tuple(v) for k, v in walker.values.items()}, {k: tuple(v) for k, v in walker.keys.items()}, walker.count)


def _decode_items(raw: bytes) -> dict[str, _Item]:
    fmt, items = marshal.loads(raw)
    if fmt != _CACHE_FORMAT:
        raise StaleFormat("another version's parsed datasets")
    if not isinstance(items, dict) or not all(isinstance(v, tuple) and len(v) == 4 for v in items.values()):
        raise ValueError("not a mapping of dataset text to parsed item")
    return items


def _read_items(cache_file: Path) -> dict[str, _Item]:
    return read_cache(cache_file, _decode_items, "cache of parsed datasets", remember=True) or {}  # none: parse everything


def _write_items(cache_file: Path, items: dict[str, _Item]) -> None:
    if keep_in_memory(cache_file, _decode_items, items):
        return  # the live preview: writing 1,000 datasets' items after each edit took 0.2 s
    try:
        save_cache(cache_file, marshal.dumps((_CACHE_FORMAT, items)), remember=(_decode_items, items))
    except (OSError, ValueError):
        pass  # a cache that cannot be written (or a value marshal cannot hold) only costs time
