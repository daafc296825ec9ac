"""How a value is shown on a page: counts (万 and 亿 in Chinese), dates, titles, licences,
scores. Pure functions of a value and a language; the templates call them.
"""

from __future__ import annotations

from markupsafe import Markup

from generator.model import (
    Dataset,
    Figure,
    Lang,
    Licence,
    Result,
    ResultUnit,
    Script,
    script_of,
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


def format_date(iso: str, lang: Lang) -> str:
    """'2026-12-01' -> '2026 年 12 月 1 日' or '1 December 2026'."""
    year, month, day = (int(part) for part in iso[:10].split("-"))
    month_name = t("month_names", lang).split()[month - 1]
    return t("date_format", lang).format(year=year, month=month, month_name=month_name, day=day)


def catalogue_markdown(key: str, lang: Lang, **numbers: int) -> Markup:
    """A paragraph of the catalogue written in Markdown (a key ending _md), kept as Markdown: the
    words are the project's own, never data; ``{name}`` takes a number, formatted for ``lang``."""
    if not key.endswith("_md"):
        raise KeyError(f"{key!r} is plain text: only catalogue keys ending _md hold Markdown")
    text = t(key, lang)
    for name, value in numbers.items():
        text = text.replace("{" + name + "}", format_count(value, lang))
    return Markup(text.rstrip("\n"))


# BCP 47 tags of the languages a proper name can be written in, as <html lang> writes them
_NAME_LANG = {Script.HAN: "zh-CN", Script.LATIN: "en"}


def name_lang(name: str, lang: Lang) -> str:
    """The lang attribute a proper name (a title, an author, a licence id) needs on a page in
    ``lang``: its script's language, or '' when that is the page's own."""
    tag = _NAME_LANG[script_of(name)]
    return "" if tag.startswith(lang.value) else tag


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
