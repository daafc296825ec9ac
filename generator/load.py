"""YAML text -> plain data plus the line and column of every value.

Input: a path. Output: a ``Document`` (data, positions), or ``LoadError`` carrying one or
more located ``Problem``s. Nothing here knows the catalogue's model.

The loader reads a deliberately small YAML: booleans are only ``true``/``false``, numbers
only plain decimals, and timestamps are never guessed. PyYAML's YAML 1.1 defaults would turn
a bare ``no`` into ``False``, ``2020-01-02`` into a date and ``012`` into ten, silently.
Duplicate keys, explicit tags and unbounded alias expansion are refused.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.cache import StaleFormat, read_cache, save_cache
from generator.errors import LoadError
from generator.problems import Problem

MAX_FILE_BYTES = 32 * 1024 * 1024
# A "billion laughs" file expands a few aliases into billions of values; real catalogues
# have a few hundred values per dataset.
MAX_NODES = 2_000_000
MAX_DEPTH = 64
# Counted on the parser's event stream before any node is built: composing is what costs
# memory (a 33 MB file of tiny flow items took 5 GB), and events come one at a time.
MAX_EVENTS = 2_000_000
# Figures are below 10**12 and years have four digits; Python refuses to read an integer of
# more than 4,300 digits at all.
MAX_INT_DIGITS = 30
# Characters a text may not hold even when YAML lets an escape ("\0", "\x1b", "\ud800")
# produce them: they corrupt the feed (XML), terminals and file names.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"

YamlPath = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


# libyaml's parser and composer when PyYAML was built with it (its wheels are): about 4x
# faster on a large catalogue; the pure-Python loader gives the same nodes and marks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What YAML allows in a stream (YAML 1.1, 5.1), checked before parsing so that the message
# and its position are the same whichever parser runs.
_DISALLOWED_CHARACTER = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


class _CatalogLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader with YAML 1.2-core-like implicit types (see module docstring)."""


_CatalogLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9][0-9_]*$", list("-+0123456789")),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9]+(?:[eE][-+]?[0-9]+)?$", list("-+0123456789.")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _CatalogLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _construct_bool(loader: yaml.SafeLoader, node: ScalarNode) -> bool:
    return loader.construct_scalar(node).lower() == "true"


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    # always decimal: YAML 1.1 reads a leading zero as octal (010 -> 8)
    return int(loader.construct_scalar(node).replace("_", ""), 10)


_CatalogLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_CatalogLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class Position(NamedTuple):
    # a tuple, not a dataclass: one is made per value, and a large catalogue has 100,000s
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class Document:
    """Loaded data plus where each value (and each mapping key) sits in the file."""

    path: Path
    display: str  # how messages name the file, e.g. "data/datasets.yaml"
    data: Any
    values: Mapping[YamlPath, Position] = field(default_factory=dict)
    keys: Mapping[YamlPath, Position] = field(default_factory=dict)

    def position(self, path: YamlPath) -> Position:
        """The position of ``path``, or of its nearest existing ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return Position(1, 1)

    def key_position(self, path: YamlPath) -> Position:
        return self.keys.get(path) or self.position(path)


def _pos(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _decode(raw: bytes, display: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise LoadError(
            [
                Problem(
                    display,
                    line,
                    column,
                    "",
                    f"the file is not valid UTF-8 (byte 0x{raw[err.start]:02x}); save it as UTF-8",
                    message_zh=f"文件不是有效的 UTF-8 编码（字节 0x{raw[err.start]:02x}）；请以 UTF-8 编码保存",
                )
            ]
        ) from None


class _Walker:
    """Walks the composed node graph once: positions, duplicate keys, tags, size bounds."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.values: dict[YamlPath, Position] = {}
        self.keys: dict[YamlPath, Position] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def walk(self, node: Node, path: YamlPath, depth: int = 0) -> None:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise LoadError(
                [
                    Problem(
                        self.display,
                        *_pos(node),
                        _fmt(path),
                        f"the document is too large or too deeply nested (more than {MAX_NODES:,} values or "
                        f"{MAX_DEPTH} levels once aliases are expanded); do not use YAML anchors and aliases here",
                        message_zh=f"文档过大或嵌套过深（展开别名后超过 {MAX_NODES:,} 个值或 {MAX_DEPTH} 层）；这里不要使用 YAML 锚点和别名",
                    )
                ]
            )
        position = self.values[path] = _pos(node)
        if isinstance(node, ScalarNode):
            self._check_scalar(node, path, position)
        if node.tag not in _STANDARD_TAGS:
            self.problems.append(
                Problem(
                    self.display,
                    *position,
                    _fmt(path),
                    f"the tag {node.tag!r} is not allowed; write plain values without '!' tags",
                    message_zh=f"不允许使用标签 {node.tag!r}；请直接写值，不要用 '!' 标签",
                )
            )
            return
        if isinstance(node, MappingNode):
            seen: dict[Any, Position] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    self.problems.append(
                        Problem(self.display, *_pos(key_node), _fmt(path), "a mapping key must be plain text",
                                message_zh="映射的键必须是普通文字")
                    )
                    continue
                key = key_node.value
                if key in seen:
                    first = seen[key]
                    self.problems.append(
                        Problem(
                            self.display,
                            *_pos(key_node),
                            _fmt(path + (key,)),
                            f"duplicate key '{key}' (first given on line {first.line}); YAML keeps only one of them, so remove or merge one",
                            message_zh=f"键 '{key}' 重复（第 {first.line} 行已经给出）；YAML 只保留其中一个，请删除或合并",
                        )
                    )
                    continue
                child = path + (key,)
                seen[key] = self.keys[child] = _pos(key_node)
                self.walk(value_node, child, depth + 1)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, path + (index,), depth + 1)


    def _check_scalar(self, node: ScalarNode, path: YamlPath, position: Position) -> None:
        if node.tag == _INT_TAG and len(node.value) > MAX_INT_DIGITS:
            self.problems.append(
                Problem(
                    self.display,
                    *position,
                    _fmt(path),
                    f"a number of {len(node.value):,} digits is not a figure any dataset has; "
                    f"write at most {MAX_INT_DIGITS} digits (or quote it if it is text)",
                    message_zh=f"{len(node.value):,} 位的数字不可能是数据集的数字；最多写 {MAX_INT_DIGITS} 位（如果它是文字，请加引号）",
                )
            )
        elif node.tag == _STR_TAG:
            bad = _CONTROL_IN_TEXT.search(node.value)
            if bad:
                self.problems.append(
                    Problem(
                        self.display,
                        *position,
                        _fmt(path),
                        f"the text holds the control character U+{ord(bad.group()):04X} "
                        "(probably from an escape such as \"\\0\" or \"\\x1b\" in double quotes); delete it",
                        message_zh=f"文字里有控制字符 U+{ord(bad.group()):04X}（多半来自双引号里的 \"\\0\"、\"\\x1b\" 之类的转义）；请删除",
                    )
                )


def _compose(text: str, display: str) -> tuple[_CatalogLoader, Node | None]:
    """Parse ``text`` into its node graph, refusing one too large before building any node."""
    for count, event in enumerate(yaml.parse(text, Loader=_CatalogLoader), 1):
        if count > MAX_EVENTS:
            mark = event.start_mark
            raise LoadError(
                [
                    Problem(
                        display,
                        mark.line + 1,
                        mark.column + 1,
                        "",
                        f"the file holds more than {MAX_EVENTS:,} values; split it or remove what is repeated",
                        message_zh=f"文件中的值超过 {MAX_EVENTS:,} 个；请拆分文件或删除重复的内容",
                    )
                ]
            )
    loader = _CatalogLoader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


def _fmt(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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
    text = _text(raw, display)
    if cache is not None:
        doc = _parse_by_dataset(text, path, display, cache)
        if doc is not None:
            return doc
    return _parse_text(text, path, display)


def _text(raw: bytes, display: str) -> str:
    text = _decode(raw, display)
    bad = _DISALLOWED_CHARACTER.search(text)
    if bad:
        before = text[: bad.start()]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        code = f"U+{ord(bad.group()):04X}"
        raise LoadError([Problem(display, line, column, "", f"YAML syntax error: the file contains a control character YAML does not allow ({code}); delete it",
                                 message_zh=f"YAML 语法错误：文件里有 YAML 不允许的控制字符（{code}）；请删除")])
    return text


# The mistakes behind most YAML syntax errors, which PyYAML names in its own terms and often
# one line late. Each is looked for on the lines up to the one PyYAML points at.
_FULLWIDTH_COLON = re.compile(r"^\s*(?:-\s+)?[A-Za-z_][\w-]*\s*(：)")
_FLOW_TEXT_WITH_COLON = re.compile(r"[{,]\s*[A-Za-z_]+:\s+([^,{}\"']*?:\s[^,{}]*)")
_INDENT_ERRORS = ("mapping values are not allowed", "expected '-' indicator", "expected <block end>", "could not find expected ':'", "did not find expected key")
_LOOK_BACK = 3


def syntax_problem(text: str, display: str, line: int, column: int, message: str) -> Problem:
    """A YAML syntax error, at the line where the mistake is and with its fix when it is one
    of the usual ones (a tab, full-width punctuation, ': ' in an unquoted flow value, an
    indent that does not match its siblings)."""
    lines = text.split("\n")
    en, zh = f"YAML syntax error: {message}", f"YAML 语法错误：{message}"
    for n in range(line, max(0, line - 1 - _LOOK_BACK), -1):
        row = lines[n - 1] if 0 < n <= len(lines) else ""
        lead = row[: len(row) - len(row.lstrip(" \t"))]
        if "\t" in lead:
            return Problem(display, n, lead.index("\t") + 1, "", "a tab is used for indentation; replace the tab with spaces (YAML indents with spaces only)",
                           message_zh="缩进里用了制表符（Tab）；请把它换成空格（YAML 只能用空格缩进）")
        colon = _FULLWIDTH_COLON.match(row)
        if colon:
            return Problem(display, n, colon.start(1) + 1, "", "the key is followed by a full-width colon '：'; write an ASCII colon and a space (': ')",
                           message_zh="键后面用了全角冒号“：”；请改成半角冒号加空格（\": \"）")
        if "，" in row and ("[" in row or "{" in row):
            return Problem(display, n, row.index("，") + 1, "", "items are separated by a full-width comma '，'; write an ASCII comma ','",
                           message_zh="列表或映射中的各项用了全角逗号“，”分隔；请改成半角逗号“,”")
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    quoted = _FLOW_TEXT_WITH_COLON.search(row) if "{" in row else None
    if quoted:
        return Problem(display, line, quoted.start(1) + 1, "", f"the text {quoted.group(1).strip()!r} inside {{…}} contains ': '; put the text in quotes",
                       message_zh=f"{{…}} 里的文字 {quoted.group(1).strip()!r} 含有 \": \"；请给这段文字加上引号")
    if any(marker in message for marker in _INDENT_ERRORS):
        for n in range(line, max(1, line - _LOOK_BACK), -1):
            indent = _indent(lines[n - 1])
            previous = next((lines[k] for k in range(n - 2, -1, -1) if lines[k].strip() and not lines[k].lstrip().startswith("#")), None)
            if indent is None or previous is None:
                continue
            before = _indent(previous) or 0
            siblings = before + (2 if previous.lstrip().startswith("- ") else 0)
            if indent != siblings and not previous.rstrip().endswith(":"):
                return Problem(display, n, indent + 1, "", f"this line is indented {indent} spaces but the line above it {siblings}; "
                               "indent it like the other keys at its level",
                               message_zh=f"这一行缩进了 {indent} 个空格，而上一行是 {siblings} 个；请与同一层的其他键对齐")
    return Problem(display, line, column, "", en, message_zh=zh)


def _indent(row: str) -> int | None:
    if not row.strip() or row.lstrip().startswith("#"):
        return None
    return len(row) - len(row.lstrip(" "))


def parse_document(raw: bytes, path: Path, display: str) -> Document:
    return _parse_text(_text(raw, display), path, display)


def _parse_text(text: str, path: Path, display: str) -> Document:
    loader: _CatalogLoader | None = None
    try:
        try:
            loader, node = _compose(text, display)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            message = err.problem or str(err)
            if err.context:
                message = f"{err.context}, {message}"
            raise LoadError([syntax_problem(text, display, line, column, message)]) from None
        except yaml.YAMLError as err:  # an error without a position
            raise LoadError([Problem(display, 1, 1, "", f"YAML syntax error: {err}", message_zh=f"YAML 语法错误：{err}")]) from None
        if node is None:
            raise LoadError([Problem(display, 1, 1, "", "the file is empty; expected `datasets:` with a list of datasets",
                                     message_zh="文件是空的；应当以 `datasets:` 开头，下面列出各个数据集")])
        walker = _Walker(display)
        walker.walk(node, ())
        if walker.problems:
            raise LoadError(walker.problems)
        try:
            data = loader.construct_document(node)
        except yaml.constructor.ConstructorError as err:
            mark = err.problem_mark
            raise LoadError(
                [Problem(display, (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1, "", f"cannot read value: {err.problem}",
                         message_zh=f"无法读取这个值：{err.problem}")]
            ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return Document(path=path, display=display, data=data, values=walker.values, keys=walker.keys)


# ---------------------------------------------------------------- loading dataset by dataset
#
# A rebuild after an edit to one dataset of a thousand would spend most of its time parsing
# the 999 it did not touch. So a file of the usual shape (comments, `datasets:`, then one
# block-sequence item per dataset) is cut at the lines where an item starts, and each
# item's text is parsed on its own, or taken from the cache when that text was seen before.
# Anything unusual (another shape, a YAML error, a problem of any kind, a structure that
# crosses a cut, which always leaves an unclosed quote or bracket behind) sends the whole
# file through ``parse_document`` instead, so messages and results never depend on the
# cache. tests/test_validate_fuzz.py checks that both ways agree.

# marshal, not pickle: the cache holds only plain values, which it reads about 4x faster.
# What a cached item means depends on this module, PyYAML and (for marshal's format) Python.
_CACHE_FORMAT = (hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), yaml.__version__, sys.version_info[:2])
_DATASETS_KEY = re.compile(r"datasets:[ \t]*(?:#.*)?")
_ITEM_START = re.compile(r"-(?:[ \t]|$)")
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
    if _OTHER_LINE_BREAKS.search(text):
        return None
    try:
        key_line, indent, items = _cut(text.split("\n"))
        cached = _read_items(cache_file)
        used: dict[str, _Item] = {}
        values: list[tuple[int, _RelPositions]] = []
        keys: list[tuple[int, _RelPositions]] = []
        data: list[Any] = []
        nodes = 2  # the top mapping and the sequence
        for first, item_text in items:
            digest = hashlib.sha256(item_text.encode("utf-8")).hexdigest()
            item = used.get(digest) or cached.get(digest) or _parse_item(item_text)
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
    )


def _cut(lines: list[str]) -> tuple[int, int, list[tuple[int, str]]]:
    """The index of the `datasets:` line, the items' indent and each item's (first line index, text)."""
    n = 0
    while n < len(lines) and _is_blank_or_comment(lines[n]):
        n += 1
    if n == len(lines) or not _DATASETS_KEY.fullmatch(lines[n]):
        raise _Unusual
    key_line = n
    n += 1
    while n < len(lines) and _is_blank_or_comment(lines[n]):
        n += 1
    if n == len(lines):
        raise _Unusual
    indent = lines[n][: len(lines[n]) - len(lines[n].lstrip(" "))]
    starts = []
    for i in range(n, len(lines)):
        line = lines[i]
        if line.startswith(indent) and _ITEM_START.match(line, len(indent)):
            starts.append(i)
        elif not line.startswith(indent) and not _is_blank_or_comment(line):
            raise _Unusual  # something less indented than the items: not this shape
    if not starts or starts[0] != n:
        raise _Unusual
    ends = starts[1:] + [len(lines)]
    return key_line, len(indent), [(s, "\n".join(lines[s:e])) for s, e in zip(starts, ends)]


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip(" \t")
    return not stripped or stripped.startswith("#")


def _parse_item(item_text: str) -> _Item:
    try:
        loader, node = _compose(item_text, "")
    except (yaml.YAMLError, LoadError):
        raise _Unusual from None
    try:
        if not isinstance(node, SequenceNode) or len(node.value) != 1:
            raise _Unusual
        walker = _Walker("")
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
    return read_cache(cache_file, _decode_items, "cache of parsed datasets") or {}  # none: parse everything


def _write_items(cache_file: Path, items: dict[str, _Item]) -> None:
    try:
        save_cache(cache_file, marshal.dumps((_CACHE_FORMAT, items)))
    except (OSError, ValueError):
        pass  # a cache that cannot be written (or a value marshal cannot hold) only costs time
