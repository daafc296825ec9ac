"""The field reference page's rows, generated from the model's JSON Schema, in both languages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from generator.model import (
    Lang,
    catalog_json_schema,
)
from generator.strings import read_when_changed

TEMPLATES = Path(__file__).parent / "templates"

def field_meanings_zh() -> dict[str, str]:
    """The Chinese of the model's field descriptions (templates/fields.zh.yaml), keyed Model.field;
    read again when the file changes, as strings.yaml is."""
    return read_when_changed(TEMPLATES / "fields.zh.yaml", "generator/templates/fields.zh.yaml", lambda data: {str(k): str(v) for k, v in data.items()})


_TYPE_WORDS_ZH = (("mapping of name → ", "名称 → "), ("list of ", "列表："), (" or ", " 或 "))


@dataclass(frozen=True)
class ReferenceRow:
    key: str  # Model.field, the key of fields.zh.yaml
    field: str  # the path a contributor writes, e.g. links.downloads[].url
    type: str
    required: str  # "yes" or "no", as the template compares it
    meaning: str
    example: str  # JSON, or empty


def reference_rows(lang: Lang = Lang.EN) -> list[ReferenceRow]:
    """One row per field of the data file, generated from the JSON Schema of the model; in
    Chinese the meaning comes from fields.zh.yaml and the type's few words are translated."""
    rows = _reference_rows()
    if lang is Lang.EN:
        return list(rows)
    zh = field_meanings_zh()
    out = []
    for row in rows:
        typ = row.type
        for en, word in _TYPE_WORDS_ZH:
            typ = typ.replace(en, word)
        out.append(replace(row, type=typ, meaning=zh.get(row.key, "") if row.meaning else ""))
    return out


@cache
def _reference_rows() -> tuple[ReferenceRow, ...]:
    return tuple(_reference_rows_uncached())


def _reference_rows_uncached() -> list[ReferenceRow]:
    schema = catalog_json_schema()
    defs = schema["$defs"]
    rows: list[ReferenceRow] = []

    def type_of(prop: dict[str, Any]) -> tuple[str, str | None]:
        if "$ref" in prop:
            name = prop["$ref"].rsplit("/", 1)[-1]
            return name, name
        if "anyOf" in prop:
            parts = [type_of(p) for p in prop["anyOf"] if p.get("type") != "null"]
            ref = next((r for _, r in parts if r), None)
            return " or ".join(p for p, _ in parts), ref
        if prop.get("type") == "array":
            inner, ref = type_of(prop.get("items", {}))
            return f"list of {inner}", ref
        if prop.get("type") == "object" and "additionalProperties" in prop:
            inner, ref = type_of(prop["additionalProperties"])
            return f"mapping of name → {inner}", ref
        if "enum" in prop:
            return " | ".join(str(v) for v in prop["enum"]), None
        if "const" in prop:
            return repr(prop["const"]), None
        return str(prop.get("type", "any")), None

    seen: set[str] = set()

    def walk(def_name: str, prefix: str) -> None:
        if def_name in seen and def_name not in ("Figure", "Text", "Link"):
            return
        seen.add(def_name)
        node = defs[def_name]
        if "anyOf" in node:  # Licence
            node = next(p for p in node["anyOf"] if "properties" in p)
        required = set(node.get("required", []))
        for name, prop in node.get("properties", {}).items():
            typ, ref = type_of(prop)
            example = prop.get("examples", [prop.get("default")] if "default" in prop and prop.get("default") not in (None, [], {}, ()) else [])
            rows.append(
                ReferenceRow(
                    key=f"{def_name}.{name}",
                    field=f"{prefix}{name}",
                    type=typ,
                    required="yes" if name in required else "no",
                    meaning=prop.get("description", ""),
                    example=json.dumps(example[0], ensure_ascii=False) if example else "",
                )
            )
            if ref and ref in defs and "enum" not in defs[ref] and ref not in ("Text",) and prefix.count(".") < 3:
                walk(ref, f"{prefix}{name}{'[]' if typ.startswith('list') else ''}.")

    walk("Dataset", "")
    return rows
