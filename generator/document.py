"""YAML text -> plain data plus the line and column of every value.

Input: the bytes of a file. Output: a ``Document`` (data, positions), or ``LoadError`` carrying one or
more located ``Problem``s. Nothing here knows the catalogue's model.

The loader reads a deliberately small YAML: booleans are only ``true``/``false``, numbers
only plain decimals, and timestamps are never guessed. PyYAML's YAML 1.1 defaults would turn
a bare ``no`` into ``False``, ``2020-01-02`` into a date and ``012`` into ten, silently.
Duplicate keys, explicit tags and unbounded alias expansion are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.errors import LoadError
from generator.problems import Problem
from generator.yaml_hints import syntax_problem

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
    # when the file was loaded dataset by dataset (load.py): a hash of each dataset's text,
    # in order; the same text is the same data, so its checked model can be reused
    item_digests: tuple[str, ...] | None = None

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


class Walker:
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


def compose(text: str, display: str) -> tuple[_CatalogLoader, Node | None]:
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


def decode_text(raw: bytes, display: str) -> str:
    text = decode_unchecked(raw, display)
    check_characters(text, display)
    return text


def decode_unchecked(raw: bytes, display: str) -> str:
    """The text of ``raw`` (UTF-8, a BOM dropped), or ``LoadError``; its characters unchecked."""
    return _decode(raw, display)


def has_disallowed_character(text: str) -> bool:
    return _DISALLOWED_CHARACTER.search(text) is not None


def check_characters(text: str, display: str) -> None:
    """``LoadError`` at the first character YAML does not allow."""
    bad = _DISALLOWED_CHARACTER.search(text)
    if bad:
        before = text[: bad.start()]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        code = f"U+{ord(bad.group()):04X}"
        raise LoadError([Problem(display, line, column, "", f"YAML syntax error: the file contains a control character YAML does not allow ({code}); delete it",
                                 message_zh=f"YAML 语法错误：文件里有 YAML 不允许的控制字符（{code}）；请删除")])


def parse_document(raw: bytes, path: Path, display: str) -> Document:
    return parse_text(decode_text(raw, display), path, display)


def parse_text(text: str, path: Path, display: str) -> Document:
    loader: _CatalogLoader | None = None
    try:
        try:
            loader, node = compose(text, display)
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
        walker = Walker(display)
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
