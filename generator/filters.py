"""How a value is shown on a page: counts (万 and 亿 in Chinese), dates, titles, licences,
scores. Pure functions of a value and a language; the templates call them.
"""

from __future__ import annotations

import re

from generator.model import (
    Dataset,
    Figure,
    Lang,
    Licence,
    Result,
    ResultUnit,
)
from generator.strings import t


def format_count(value: int, lang: Lang) -> str:
    """83739 -> '83,739' (en) or '8.37 万' (zh): Chinese readers count in 万 and 亿."""
    if lang is Lang.ZH and value >= 10_000:
        unit, div = ("亿", 100_000_000) if value >= 100_000_000 else ("万", 10_000)
        shown = f"{value / div:.2f}".rstrip("0").rstrip(".")
        return f"{shown} {unit}"
    return f"{value:,}"


def display_title(d: Dataset, lang: Lang) -> str:
    """'RPC: Retail Product Checkout', but never 'AliProducts: AliProducts: ...': a full name
    that already starts with the short name is the title on its own."""
    full = d.full_name[lang].strip()
    if not full or full.casefold() == d.name.casefold():
        return d.name
    if full.casefold().startswith(d.name.casefold()) or d.name.casefold() in full.casefold():
        return full
    return f"{d.name}: {full}"


_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


def format_date(iso: str, lang: Lang) -> str:
    """'2026-12-01' -> '2026 年 12 月 1 日' or '1 December 2026'."""
    year, month, day = (int(part) for part in iso[:10].split("-"))
    if lang is Lang.ZH:
        return f"{year} 年 {month} 月 {day} 日"
    return f"{day} {_MONTHS_EN[month - 1]} {year}"


_ISO_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")


def readable_reason(reason: str, lang: Lang) -> str:
    """A link checker's reason with its timestamps as dates."""
    return _ISO_STAMP.sub(lambda m: format_date(m.group(1), lang), reason)


def licence_text(lic: Licence, lang: Lang) -> str:
    if lic.spdx:
        return lic.spdx
    if lic.terms:
        return lic.terms[lang]
    return t("unknown", lang)


def licence_key(lic: Licence) -> str:
    """Filter value of a licence: the SPDX id, 'custom' or 'unknown'."""
    return lic.spdx or ("custom" if lic.terms else "unknown")


def result_value(result: Result) -> str:
    """86.69 -> '86.69%', a ratio as written (0.492): the number as its source printed it."""
    number = f"{result.value:g}"
    return number + "%" if result.unit is ResultUnit.PERCENT else number


def sort_value(fig: Figure | None) -> str:
    return "" if fig is None or fig.value is None else str(fig.value)


def page_prefix(path: str) -> str:
    """Relative prefix from a page (docs path) to the site root, for raw HTML links.

    MkDocs rewrites links in Markdown, not in raw HTML; with directory URLs
    ``datasets/rpc.md`` is served at ``datasets/rpc/`` (two levels down).
    """
    if path == "index.md":
        return ""
    depth = path.count("/") + (0 if path.endswith("/index.md") else 1)
    return "../" * depth
