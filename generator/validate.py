"""Loaded document -> ``Catalog``, or every problem at once, each with file:line:column.

Input: a ``Document`` from ``load.py`` and the project's data folder (to check local
sample paths). Output: a valid, immutable ``Catalog``; otherwise ``LoadError`` with every
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

from generator.load import Document, YamlPath
from generator.model import Access, Catalog, Dataset, Text
from generator.problems import LoadError, Problem

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


def _message(err: dict[str, Any], model_at: type[BaseModel] | None) -> tuple[str, bool]:
    """(message, points_at_key) for one pydantic error."""
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    if kind == "missing":
        name = loc[-1]
        hint = " (every text needs both `zh:` and `en:`)" if model_at is Text or name in ("zh", "en") else ""
        return f"required field `{name}` is missing{hint}", False
    if kind == "extra_forbidden":
        name = str(loc[-1])
        hint = ""
        if model_at is not None:
            close = difflib.get_close_matches(name, list(model_at.model_fields), n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean `{close[0]}`?"
            else:
                hint = f"; allowed fields here: {', '.join(model_at.model_fields)}"
        return f"unknown field `{name}`{hint}", True
    if kind in ("int_type", "int_parsing", "int_from_float"):
        extra = "; write the whole number without separators or units" if isinstance(value, str) else ""
        return f"expected a whole number ≥ 0, got {_show(value)}{extra}", False
    if kind in ("float_type", "float_parsing"):
        extra = "; write the number without its unit and give the unit in `unit:`" if isinstance(value, str) else ""
        return f"expected a number ≥ 0, got {_show(value)}{extra}", False
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {"greater_than_equal": "≥", "less_than_equal": "≤", "greater_than": ">", "less_than": "<"}
        limit = next(iter(ctx.values())) if ctx else "?"
        return f"expected a number {bounds[kind]} {limit}, got {_show(value)}", False
    if kind == "enum" or kind == "literal_error":
        options = _QUOTED.findall(str(ctx.get("expected", "")))
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean '{close[0]}'?"
        return f"expected one of {', '.join(options)}; got {_show(value)}{hint}", False
    if kind == "string_type":
        hint = "; put it in quotes" if isinstance(value, (int, float, bool)) else ""
        return f"expected text, got {_show(value)}{hint}", False
    if kind == "bool_type":
        return f"expected true or false, got {_show(value)}", False
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping (indented `key: value` lines), got {_show(value)}", False
    if kind in ("tuple_type", "list_type"):
        return f"expected a list (lines starting with '- '), got {_show(value)}", False
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"):
        return f"expected a date written YYYY-MM-DD, got {_show(value)}", False
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length', 1)} item(s), got none", False
    if kind == "value_error":
        return str(ctx.get("error", err["msg"])), False
    return f"{err['msg']}, got {_show(value)}", False


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

    def add(self, path: YamlPath, message: str, *, at_key: bool = False, severity: str = "error") -> None:
        pos = self.doc.key_position(path) if at_key else self.doc.position(path)
        self.problems.append(Problem(self.doc.display, pos.line, pos.column, self.label(path), message, severity))  # type: ignore[arg-type]

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
            message, at_key = _message(err, model_at)
            path = base + loc
            if err["type"] == "missing":
                path = path[:-1]
            self.add(path, message, at_key=at_key or at_key_error)


def validate_document(doc: Document, data_dir: Path) -> Catalog:
    """Check the whole document; return the catalogue or raise ``LoadError`` with every problem."""
    out = _Collector(doc)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), list):
        out.add((), "expected a top-level `datasets:` key holding a list of datasets")
        raise LoadError(out.problems)
    if not data["datasets"]:
        out.add(("datasets",), "the `datasets:` list is empty; add at least one dataset")
    for key in data:
        if key != "datasets":
            out.add((key,), f"unknown top-level key `{key}`; the file holds only `datasets:`", at_key=True)

    valid: list[tuple[int, Dataset]] = []
    for index, item in enumerate(data["datasets"]):
        try:
            valid.append((index, Dataset.model_validate(item)))
        except ValidationError as err:
            out.add_pydantic(("datasets", index), Dataset, err)

    _cross_checks(out, data["datasets"], valid, data_dir)
    if out.problems:
        raise LoadError(out.problems)
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
                out.add(base + ("samples", j, "path"), f"expected a path inside data/, got {sample.path!r}")
            elif not target.is_file():
                out.add(base + ("samples", j, "path"), f"no such file: data/{sample.path}")
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
                )
