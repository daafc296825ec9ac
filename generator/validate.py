"""Loaded document -> ``Catalog``, or every problem at once, each with file:line:column.

Input: a ``Document`` from ``load.py`` and the project's data folder (to check local
sample paths). Output: a valid, immutable ``Catalog``; otherwise ``InvalidData`` with every
problem found, sorted by position, each written for a contributor who has never read the
code: place, field, what was expected, what was found, and a hint where there is one.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from generator.cache import is_remembering
from generator.document import Document, YamlPath
from generator.errors import InvalidData
from generator.model import Access, Catalog, Dataset, Text
from generator.problems import Problem

_QUOTED = re.compile(r"'([^']*)'")


def _show(value: Any) -> str:
    """A value as the contributor wrote it in YAML."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _model_fields_at(root: type[BaseModel], loc: Iterable[str | int]) -> type[BaseModel] | None:
    """The model class that a pydantic error location points into, if any."""
    current: Any = root
    for part in loc:
        model = _as_model(current)
        if model is None:
            # inside a list or dict: the element type carries on
            current = _element_type(current)
            model = _as_model(current)
            if model is None:
                return None
            if isinstance(part, int) or part not in model.model_fields:
                continue
        if isinstance(part, int):
            current = _element_type(current)
            continue
        if part not in model.model_fields:
            return model
        current = model.model_fields[part].annotation
    return _as_model(current)


def _as_model(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp) if _is_union(tp) else ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _element_type(tp: Any) -> Any:
    if _is_union(tp):
        tp = next((a for a in typing.get_args(tp) if a is not type(None)), tp)
    args = typing.get_args(tp)
    if typing.get_origin(tp) is dict and len(args) == 2:
        return args[1]
    if args:
        return args[0]
    return tp


def _show_zh(value: Any) -> str:
    if value is None:
        return "空值（null）"
    if isinstance(value, dict):
        return "一个映射"
    if isinstance(value, list):
        return "一个列表"
    return _show(value)


def _message(err: dict[str, Any], model_at: type[BaseModel] | None) -> tuple[str, str, bool]:
    """(English message, Chinese message, points_at_key) for one pydantic error."""
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    got, got_zh = _show(value), _show_zh(value)
    if kind == "missing":
        name = loc[-1]
        text = model_at is Text or name in ("zh", "en")
        return (
            f"required field `{name}` is missing" + (" (every text needs both `zh:` and `en:`)" if text else ""),
            f"缺少必填字段 `{name}`" + ("（每段文字都要同时有 `zh:` 和 `en:`）" if text else ""),
            False,
        )
    if kind == "extra_forbidden":
        name = str(loc[-1])
        hint = hint_zh = ""
        if model_at is not None:
            close = difflib.get_close_matches(name, list(model_at.model_fields), n=1, cutoff=0.6)
            if close:
                hint, hint_zh = f"; did you mean `{close[0]}`?", f"；是不是想写 `{close[0]}`？"
            else:
                fields = ", ".join(model_at.model_fields)
                hint, hint_zh = f"; allowed fields here: {fields}", f"；这里可用的字段：{fields}"
        return f"unknown field `{name}`{hint}", f"未知字段 `{name}`{hint_zh}", True
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if loc and loc[-1] == "year":
            return (f"expected a year like 2019 (a number, without quotes), got {got}", f"应为年份，如 2019（数字，不加引号），实际是 {got_zh}", False)
        quoted = isinstance(value, str)
        return (
            f"expected a whole number ≥ 0, got {got}" + ("; write the whole number without separators or units" if quoted else ""),
            f"应为不小于 0 的整数，实际是 {got_zh}" + ("；请直接写整数，不加分隔符或单位" if quoted else ""),
            False,
        )
    if kind in ("float_type", "float_parsing"):
        quoted = isinstance(value, str)
        return (
            f"expected a number ≥ 0, got {got}" + ("; write the number without its unit and give the unit in `unit:`" if quoted else ""),
            f"应为不小于 0 的数字，实际是 {got_zh}" + ("；请只写数字，单位写在 `unit:` 里" if quoted else ""),
            False,
        )
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {"greater_than_equal": "≥", "less_than_equal": "≤", "greater_than": ">", "less_than": "<"}
        limit = next(iter(ctx.values())) if ctx else "?"
        return f"expected a number {bounds[kind]} {limit}, got {got}", f"应为 {bounds[kind]} {limit} 的数字，实际是 {got_zh}", False
    if kind == "enum" or kind == "literal_error":
        options = _QUOTED.findall(str(ctx.get("expected", "")))
        hint = hint_zh = ""
        if isinstance(value, str) and ("，" in value or "、" in value):
            hint = "; separate list items with an ASCII comma ',' (this has a full-width '，' or '、')"
            hint_zh = "；列表各项请用半角逗号“,”分隔（这里用了全角“，”或“、”）"
        elif isinstance(value, str):
            close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            if close:
                hint, hint_zh = f"; did you mean '{close[0]}'?", f"；是不是想写 '{close[0]}'？"
        listed = ", ".join(options)
        return f"expected one of {listed}; got {got}{hint}", f"应为以下之一：{listed}；实际是 {got_zh}{hint_zh}", False
    if kind == "string_type":
        scalar = isinstance(value, (int, float, bool))
        return (
            f"expected text, got {got}" + ("; put it in quotes" if scalar else ""),
            f"应为文字，实际是 {got_zh}" + ("；请加上引号" if scalar else ""),
            False,
        )
    if kind == "bool_type":
        return f"expected true or false, got {got}", f"应为 true 或 false，实际是 {got_zh}", False
    if kind == "model_type" and ctx.get("class_name") == "Text" and isinstance(value, str):
        return (
            f"this text is shown on both sites: write it in both languages as `{{zh: …, en: …}}`, got {got}",
            f"这段文字两个站点都会显示：请用 `{{zh: …, en: …}}` 写出两种语言，实际是 {got_zh}",
            False,
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (
            f"expected a mapping (indented `key: value` lines), got {got}",
            f"应为映射（缩进的 `键: 值` 行），实际是 {got_zh}",
            False,
        )
    if kind in ("tuple_type", "list_type"):
        return f"expected a list (lines starting with '- '), got {got}", f"应为列表（以 '- ' 开头的行），实际是 {got_zh}", False
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"):
        return f"expected a date written YYYY-MM-DD, got {got}", f"应为 YYYY-MM-DD 格式的日期，实际是 {got_zh}", False
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"expected at least {least} item(s), got none", f"至少需要 {least} 项，实际一项也没有", False
    if kind == "value_error":
        error = ctx.get("error")
        en = str(error or err["msg"])
        return en, getattr(error, "zh", "") or en, False
    return f"{err['msg']}, got {got}", f"{err['msg']}，实际是 {got_zh}", False


class _Collector:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def label(self, path: YamlPath) -> str:
        out = ""
        datasets = self.doc.data.get("datasets") if isinstance(self.doc.data, dict) else None
        for i, part in enumerate(path):
            if isinstance(part, int):
                out += f"[{part}]"
                if i == 1 and path[0] == "datasets" and isinstance(datasets, list) and part < len(datasets):
                    item = datasets[part]
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        out += f" ({item['id']})"
            else:
                out += f".{part}" if out else str(part)
        return out

    def add(self, path: YamlPath, message: str, zh: str = "", *, at_key: bool = False, severity: str = "error") -> None:
        pos = self.doc.key_position(path) if at_key else self.doc.position(path)
        self.problems.append(Problem(self.doc.display, pos.line, pos.column, self.label(path), message, severity, zh))  # type: ignore[arg-type]

    def add_pydantic(self, base: YamlPath, root: type[BaseModel], error: ValidationError) -> None:
        errors = error.errors(include_url=False)
        inner = [e["loc"] for e in errors if e["type"] != "too_short"]
        for err in errors:
            # a list whose items all failed is also "too short": the item errors say it better
            if err["type"] == "too_short" and any(loc[: len(err["loc"])] == err["loc"] for loc in inner):
                continue
            loc = tuple(p for p in err["loc"] if p != "[key]")
            at_key_error = "[key]" in err["loc"]
            model_at = _model_fields_at(root, loc[:-1]) if err["type"] in ("extra_forbidden", "missing") else None
            message, zh, at_key = _message(err, model_at)
            path = base + loc
            if err["type"] == "missing":
                path = path[:-1]
            self.add(path, message, zh, at_key=at_key or at_key_error)


# A dataset's text hash (Document.item_digests) -> its model, from the last document checked
# while ``cache.remembering`` (the live preview). The model depends on nothing but the data
# (it is frozen), so the preview re-checks only the datasets an edit touched; the checks
# across datasets run every time.
_checked: dict[str, Dataset] = {}


def validate_document(doc: Document, data_dir: Path) -> Catalog:
    """Check the whole document; return the catalogue or raise ``InvalidData`` with every problem."""
    out = _Collector(doc)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), list):
        out.add((), "expected a top-level `datasets:` key holding a list of datasets", "文件顶层应当是 `datasets:`，下面是数据集列表")
        raise InvalidData(out.problems)
    if not data["datasets"]:
        out.add(("datasets",), "the `datasets:` list is empty; add at least one dataset", "`datasets:` 列表是空的；请至少添加一个数据集")
    for key in data:
        if key != "datasets":
            out.add((key,), f"unknown top-level key `{key}`; the file holds only `datasets:`", f"未知的顶层键 `{key}`；文件里只能有 `datasets:`", at_key=True)

    valid: list[tuple[int, Dataset]] = []
    digests = doc.item_digests if doc.item_digests is not None and len(doc.item_digests) == len(data["datasets"]) else None
    checked: dict[str, Dataset] = {}
    for index, item in enumerate(data["datasets"]):
        digest = digests[index] if digests is not None else None
        model = _checked.get(digest) if digest is not None else None
        if model is None:
            try:
                model = Dataset.model_validate(item)
            except ValidationError as err:
                out.add_pydantic(("datasets", index), Dataset, err)
                continue
        valid.append((index, model))
        if digest is not None:
            checked[digest] = model
    # only this file's datasets stay: the memory holds one catalogue, not every edit's;
    # and only in a process that builds again (the preview)
    _checked.clear()
    if is_remembering():
        _checked.update(checked)

    _cross_checks(out, data["datasets"], valid, data_dir)
    if out.problems:
        raise InvalidData(out.problems)
    return Catalog(datasets=tuple(d for _, d in valid))


def _cross_checks(out: _Collector, raw: list[Any], valid: list[tuple[int, Dataset]], data_dir: Path) -> None:
    # Uniqueness is checked on the raw values so that a broken record still counts.
    for field in ("id", "name"):
        first: dict[str, int] = {}
        for index, item in enumerate(raw):
            value = item.get(field) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            key = value.strip().casefold()
            if key in first:
                other = first[key]
                line = out.doc.position(("datasets", other, field)).line
                out.add(
                    ("datasets", index, field),
                    f"duplicate {field} {value!r}: datasets[{other}] on line {line} has the same {field}; each must be unique",
                    f"{field} {value!r} 重复：第 {line} 行的 datasets[{other}] 也用了它；每个数据集的 {field} 必须不同",
                )
            else:
                first[key] = index

    data_root = data_dir.resolve()
    for index, d in valid:
        base: YamlPath = ("datasets", index)
        for j, sample in enumerate(d.samples):
            if sample.path is None:
                continue
            target = (data_root / sample.path).resolve()
            if not target.is_relative_to(data_root):
                out.add(base + ("samples", j, "path"), f"expected a path inside data/, got {sample.path!r}", f"路径应当在 data/ 之内，实际是 {sample.path!r}")
            elif not target.is_file():
                out.add(base + ("samples", j, "path"), f"no such file: data/{sample.path}", f"文件不存在：data/{sample.path}")
        for j, comp in enumerate(d.competitions):
            seen: dict[int, int] = {}
            for k, sol in enumerate(comp.solutions):
                if sol.rank is None:
                    continue
                if sol.rank in seen:
                    line = out.doc.position(base + ("competitions", j, "solutions", seen[sol.rank], "rank")).line
                    out.add(
                        base + ("competitions", j, "solutions", k, "rank"),
                        f"rank {sol.rank} is given twice in this competition (also on line {line})",
                        f"名次 {sol.rank} 在这个比赛中出现了两次（另一次在第 {line} 行）",
                    )
                else:
                    seen[sol.rank] = k
        if d.access is Access.UNKNOWN:
            # a confirmed public download is a fact about access: "unknown" would be a guess
            for j, link in enumerate(d.links.downloads):
                if link.verified:
                    line = out.doc.position(base + ("links", "downloads", j, "url")).line
                    out.add(
                        base + ("access",),
                        f"access is 'unknown' but links.downloads[{j}] (line {line}, {link.url}) is a confirmed download; "
                        "write how it is obtained (open, registration or application), or mark that link `verified: false`",
                        f"access 写的是 'unknown'，但 links.downloads[{j}]（第 {line} 行，{link.url}）是已确认的下载地址；"
                        "请写明获取方式（open、registration 或 application），或把该链接标为 `verified: false`",
                    )
                    break
        stats = d.stats
        parts = list(stats.splits.values())
        if (
            parts
            and stats.images.value is not None
            and all(p.value is not None and p.qualifier == "exact" for p in parts)
            and stats.images.qualifier == "exact"
        ):
            total = sum(p.value for p in parts if p.value is not None)
            if total != stats.images.value:
                out.add(
                    base + ("stats", "splits"),
                    f"the splits add up to {total:,} images but stats.images says {stats.images.value:,}; "
                    "fix one of them, or mark the figures `qualifier: approx`",
                    f"各划分的图像数加起来是 {total:,}，但 stats.images 是 {stats.images.value:,}；请改正其一，或把这些数字标为 `qualifier: approx`",
                )
