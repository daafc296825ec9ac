"""Catalog x language -> Markdown pages and data exports (pure: no I/O beyond reading templates).

Input: a valid ``Catalog``, a language, the thumbnails made by ``images.py`` and the link
statuses of the latest link report. Output: ``RenderedPage`` values (a path relative to the
docs folder and its text). ``site.py`` writes them. Same input, same bytes: every list has
an explicit order and nothing reads a clock.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from generator import compare
from generator.citations import page_citation
from generator.exports import CATALOGUE_CROISSANT, croissant_path, export_files, schema_org
from generator.load import parse_document
from generator.markup import fence, front_matter_text, md_text, slug
from generator.model import (
    ACCESS_LABELS,
    Access,
    RESULT_SOURCE_KIND_LABELS,
    SCENE_LABELS,
    SKU_LEVEL_LABELS,
    TASK_LABELS,
    Catalog,
    Dataset,
    Figure,
    Lang,
    Licence,
    Qualifier,
    Result,
    ResultUnit,
    Scene,
    SkuLevel,
    Task,
    Text,
    catalog_json_schema,
    catalog_links,
)

TEMPLATES = Path(__file__).parent / "templates"
RELATED_LIMIT = 6
FEED_LIMIT = 50
TASK_COLOURS = {
    Task.CLASSIFICATION: "#1f77b4",
    Task.RETRIEVAL: "#9467bd",
    Task.DETECTION: "#d62728",
    Task.INSTANCE_SEGMENTATION: "#2ca02c",
    Task.COUNTING: "#ff7f0e",
    Task.TEXT_RECOGNITION: "#8c564b",
}


@dataclass(frozen=True)
class RenderedPage:
    path: str  # relative to the docs folder, POSIX separators
    text: str


@dataclass(frozen=True)
class PlannedPage:
    """A page not rendered yet, with a fingerprint of everything it is made from.

    Two plans with the same ``key`` render the same text, so a caller that kept the text of
    an earlier run may skip ``render``: an edit to one dataset re-renders its own page, the
    pages that list it as related and the catalogue-wide pages, not the other thousand.
    """

    path: str
    key: str
    render: Callable[[], str]


@dataclass(frozen=True)
class ThumbImage:
    """What a page needs of one thumbnail (``images.Thumbnail`` adapted by ``site.py``)."""

    width: int
    height: int
    webp: tuple[tuple[str, int], ...]  # (docs-relative path, width), ascending
    jpeg: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class LinkStatus:
    verdict: str  # ok | redirected | broken | blocked | transient | skipped
    reason: str = ""


@dataclass(frozen=True)
class RenderInputs:
    catalog: Catalog
    thumbs: Mapping[tuple[str, int], ThumbImage] = field(default_factory=dict)
    links: Mapping[str, LinkStatus] = field(default_factory=dict)
    social: Mapping[str, str] = field(default_factory=dict)  # dataset id -> docs-relative preview image
    has_link_report: bool = False

    @cached_property
    def related_datasets(self) -> dict[str, list[Dataset]]:
        """Once for both languages."""
        return related(self.catalog)

    @cached_property
    def dataset_keys(self) -> dict[str, str]:
        """Per dataset, a fingerprint of what its pages show of it, in either language: its
        data, its samples' thumbnails, its preview card and its links' statuses."""
        statuses: dict[str, list[str]] = defaultdict(list)
        for link in catalog_links(self.catalog):
            if link.url in self.links:
                statuses[link.dataset_id].append(f"{link.url} {self.links[link.url]!r}")
        return {
            d.id: _key(
                d.model_dump_json(),
                repr([self.thumbs.get((d.id, i)) for i in range(len(d.samples))]),
                self.social.get(d.id, ""),
                *statuses[d.id],
            )
            for d in self.catalog.datasets
        }


# ---------------------------------------------------------------- formatting


@cache
def _strings() -> dict[str, Text]:
    path = TEMPLATES / "strings.yaml"
    doc = parse_document(path.read_bytes(), path, "generator/templates/strings.yaml")
    return {key: Text(**value) for key, value in doc.data.items()}


def t(key: str, lang: Lang) -> str:
    return _strings()[key][lang]


def format_count(value: int, lang: Lang) -> str:
    """83739 -> '83,739' (en) or '8.37 万' (zh): Chinese readers count in 万 and 亿."""
    if lang is Lang.ZH and value >= 10_000:
        unit, div = ("亿", 100_000_000) if value >= 100_000_000 else ("万", 10_000)
        shown = f"{value / div:.2f}".rstrip("0").rstrip(".")
        return f"{shown} {unit}"
    return f"{value:,}"


def figure_html(fig: Figure | None, lang: Lang) -> Markup:
    if fig is None:
        return Markup(f'<span class="na">{md_text(t("not_applicable", lang))}</span>')
    if fig.value is None:
        text = Markup(f'<span class="unknown">{md_text(t("unknown", lang))}</span>')
    else:
        prefix = {Qualifier.EXACT: "", Qualifier.APPROX: "≈", Qualifier.AT_LEAST: "≥"}[fig.qualifier]
        tip = {Qualifier.EXACT: "", Qualifier.APPROX: t("approx_tip", lang), Qualifier.AT_LEAST: t("at_least_tip", lang)}[fig.qualifier]
        number = md_text(prefix + format_count(fig.value, lang))
        text = Markup(f'<span title="{md_text(tip)}">{number}</span>') if tip else number
    if not fig.verified:
        tip = f"{t('unverified_tip', lang)}: {fig.source}"
        text += Markup(f' <span class="badge unverified" title="{md_text(tip)}">{md_text(t("unverified", lang))}</span>')
    return text


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


# ---------------------------------------------------------------- catalogue-wide views


def ordered(catalog: Catalog) -> list[Dataset]:
    """Reading order: the original survey's datasets first (in its order), then the rest by year, then name."""
    seed = [d for d in catalog.datasets if d.in_seed]
    rest = sorted((d for d in catalog.datasets if not d.in_seed), key=lambda d: (-d.year, d.name.casefold()))
    return seed + rest


_TAG_BITS = {tag: 1 << i for i, tag in enumerate([*(f"t:{x}" for x in Task), *(f"s:{x}" for x in Scene)])}


def related(catalog: Catalog) -> dict[str, list[Dataset]]:
    """Datasets that share the most tasks and scenes with each dataset.

    Datasets are grouped by their (tasks, scenes) signature, a bit mask, so the work grows
    with the number of distinct signatures squared (a few thousand at most: there are 14
    tags), and each comparison is one AND and one bit count. Ties go to the signature whose
    sorted tags come first, then to reading order.
    """
    groups: dict[int, list[Dataset]] = defaultdict(list)
    tags: dict[int, tuple[str, ...]] = {}
    for d in ordered(catalog):
        names = tuple(sorted([*(f"t:{x}" for x in d.tasks), *(f"s:{x}" for x in d.scenes)]))
        mask = sum(_TAG_BITS[n] for n in names)
        groups[mask].append(d)
        tags[mask] = names
    keys = sorted(groups, key=tags.__getitem__)
    out: dict[str, list[Dataset]] = {}
    for k in keys:
        by_score: dict[int, list[int]] = defaultdict(list)
        for other in keys:  # in tie-break order, so each score's list is already sorted
            score = (k & other).bit_count()
            if score:
                by_score[score].append(other)
        candidates = [other for score in sorted(by_score, reverse=True) for other in by_score[score]]
        for d in groups[k]:
            picks: list[Dataset] = []
            for other in candidates:
                picks += [cand for cand in groups[other][: RELATED_LIMIT + 1] if cand.id != d.id][: RELATED_LIMIT - len(picks)]
                if len(picks) == RELATED_LIMIT:
                    break
            out[d.id] = picks
    return out


def chart_svg(catalog: Catalog, lang: Lang) -> str:
    """Images vs classes on log scales, one mark per dataset, coloured by main task."""
    width, height, left, right, top, bottom = 760, 440, 70, 20, 20, 70
    datasets = ordered(catalog)
    points = [d for d in datasets if d.stats.images.value and d.stats.classes.value]
    missing = [d for d in datasets if not (d.stats.images.value and d.stats.classes.value)]
    if points:
        xs = [math.log10(d.stats.images.value or 1) for d in points]
        ys = [math.log10(d.stats.classes.value or 1) for d in points]
        x0, x1 = math.floor(min(xs)), math.ceil(max(xs))
        y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
    else:
        x0, x1, y0, y1 = 0, 1, 0, 1
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * (width - left - right)

    def sy(v: float) -> float:
        return height - bottom - (v - y0) / (y1 - y0) * (height - top - bottom)

    title = t("chart_title", lang)
    desc_items = [
        f"{d.name}: {format_count(d.stats.images.value or 0, lang)} {t('chart_x', lang)}, "
        f"{format_count(d.stats.classes.value or 0, lang)} {t('chart_y', lang)}"
        for d in points
    ]
    if missing:
        desc_items.append(f"{t('chart_missing', lang)}: {', '.join(d.name for d in missing)}")
    out = [
        f'<svg class="landscape" viewBox="0 0 {width} {height}" role="group" aria-labelledby="chart-title-{lang} chart-desc-{lang}" xmlns="http://www.w3.org/2000/svg">',
        # a group, not an image: the marks are links, which an img role would hide
        f'<title id="chart-title-{lang}">{md_text(title)}</title>',
        f'<desc id="chart-desc-{lang}">{md_text("; ".join(desc_items))}</desc>',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" class="plot"/>',
    ]
    for e in range(x0, x1 + 1):
        x = sx(e)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" class="tick">{md_text(format_count(10**e, lang))}</text>')
    for e in range(y0, y1 + 1):
        y = sy(e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{md_text(format_count(10**e, lang))}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 30}" text-anchor="middle" class="axis">{md_text(t("chart_x", lang))}</text>')
    out.append(f'<text x="16" y="{(top + height - bottom) / 2:.1f}" text-anchor="middle" class="axis" transform="rotate(-90 16 {(top + height - bottom) / 2:.1f})">{md_text(t("chart_y", lang))}</text>')
    for d, xv, yv in zip(points, xs if points else [], ys if points else []):
        task = d.tasks[0]
        x, y = sx(xv), sy(yv)
        label = f"{d.name}: {format_count(d.stats.images.value or 0, lang)} / {format_count(d.stats.classes.value or 0, lang)} ({TASK_LABELS[task][lang]})"
        out.append(
            f'<a href="datasets/{d.id}/"><circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{TASK_COLOURS[task]}" class="mark"><title>{md_text(label)}</title></circle>'
            f'<text x="{x + 8:.1f}" y="{y - 8:.1f}" class="label">{md_text(d.name)}</text></a>'
        )
    legend_x = left + 10
    for i, task in enumerate(Task):
        y = height - 12
        x = legend_x + i * 115
        out.append(f'<circle cx="{x}" cy="{y - 4}" r="5" fill="{TASK_COLOURS[task]}"/>')
        out.append(f'<text x="{x + 9}" y="{y}" class="legend">{md_text(TASK_LABELS[task][lang])}</text>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- exports


def exports(catalog: Catalog, site_url: str = "") -> list[RenderedPage]:
    """The data files (the same in both languages): see ``exports.py``."""
    return [RenderedPage(f.path, f.text) for f in export_files(ordered(catalog), site_url)]


# ---------------------------------------------------------------- field reference


def reference_rows() -> list[dict[str, str]]:
    """One row per field of the data file, generated from the JSON Schema of the model."""
    schema = catalog_json_schema()
    defs = schema["$defs"]
    rows: list[dict[str, str]] = []

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
            rows.append({
                "field": f"{prefix}{name}",
                "type": typ,
                "required": "yes" if name in required else "no",
                "meaning": prop.get("description", ""),
                "example": json.dumps(example[0], ensure_ascii=False) if example else "",
            })
            if ref and ref in defs and "enum" not in defs[ref] and ref not in ("Text",) and prefix.count(".") < 3:
                walk(ref, f"{prefix}{name}{'[]' if typ.startswith('list') else ''}.")

    walk("Dataset", "")
    return rows


# ---------------------------------------------------------------- pages


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        # every {{ value }} of a page: text, never markup (see markup.py); the project's own
        # markup comes from the templates' literal text and from Markup values
        finalize=md_text,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["slug"] = slug
    env.filters["fence"] = fence
    return env


def _xml_environment() -> jinja2.Environment:
    # the feed is XML, not Markdown: markupsafe's escaping is the whole rule there
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_ENV = _environment()
_XML_ENV = _xml_environment()


def _front_matter(meta: Mapping[str, Any]) -> str:
    # JSON values are valid YAML, and json.dumps quotes everything that needs it; the theme
    # prints title and description without escaping them
    lines = ["---"]
    for key, value in meta.items():
        if key in ("title", "description"):
            value = front_matter_text(value)
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def _context(inputs: RenderInputs, lang: Lang) -> dict[str, Any]:
    return {
        "lang": lang,
        "t": lambda key: t(key, lang),
        "fmt": lambda n: format_count(n, lang),
        "figure": lambda f: figure_html(f, lang),
        "licence_text": lambda lic: licence_text(lic, lang),
        "licence_key": licence_key,
        "sort_value": sort_value,
        "TASKS": list(Task),
        "SCENES": list(Scene),
        "TASK_LABELS": TASK_LABELS,
        "SCENE_LABELS": SCENE_LABELS,
        "ACCESS_LABELS": ACCESS_LABELS,
        "SKU_LEVEL_LABELS": SKU_LEVEL_LABELS,
        "RESULT_SOURCE_KIND_LABELS": RESULT_SOURCE_KIND_LABELS,
        "result_value": result_value,
        "thumbs": inputs.thumbs,
        "link_status": inputs.links,
        "has_link_report": inputs.has_link_report,
    }


@cache
def _renderer_version() -> str:
    """Part of every page key: any change to the generator's code or templates (labels live in
    model.py, wording in strings.yaml) re-renders everything."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted([*package.glob("*.py"), *(p for p in TEMPLATES.rglob("*") if p.is_file())]):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def render_pages(inputs: RenderInputs, lang: Lang, site_url: str = "") -> list[RenderedPage]:
    """Every generated page of one language."""
    return [RenderedPage(page.path, page.render()) for page in plan_pages(inputs, lang, site_url)]


def plan_pages(inputs: RenderInputs, lang: Lang, site_url: str = "") -> list[PlannedPage]:
    """Every generated page of one language, each with its key, rendered only on demand."""
    catalog = inputs.catalog
    datasets = ordered(catalog)
    ctx = _context(inputs, lang)
    rel = inputs.related_datasets
    pages: list[PlannedPage] = []

    own = inputs.dataset_keys
    base = (_renderer_version(), lang.value, site_url, str(inputs.has_link_report))
    # catalogue-wide pages show a little of everything, so any change re-renders them
    everything = _key(*base, *own.values(), *inputs.links, *map(repr, inputs.links.values()))

    def page(template: str, path: str, meta: Mapping[str, Any], **extra: Any) -> str:
        return _front_matter(meta) + _ENV.get_template(template).render(**ctx, **extra, prefix=Markup(page_prefix(path)))

    def plan(template: str, path: str, meta: Mapping[str, Any], key: str, **extra: Any) -> None:
        pages.append(PlannedPage(path, key, partial(page, template, path, meta, **extra)))

    known_images = sum(d.stats.images.value or 0 for d in datasets)
    known_classes = sum(d.stats.classes.value or 0 for d in datasets if d.sku_level.level in ("yes", "partly"))
    plan(
        "home.md.j2",
        "index.md",
        {"title": t("site_name", lang), "description": t("site_name", lang), "croissant": CATALOGUE_CROISSANT},
        everything,
        datasets=datasets,
        chart=Markup(chart_svg(catalog, lang)),
        total_images=known_images,
        total_classes=known_classes,
        sku_count=sum(d.sku_level.level == "yes" for d in datasets),
    )
    years = sorted({d.year for d in datasets})
    plan(
        "compare.md.j2", "compare.md", {"title": t("compare", lang)}, everything,
        datasets=datasets, years=years, facets=compare.facets(catalog, lang, t),
        licence_group=compare.licence_group, names_key=compare.names_key, max_picks=compare.MAX_PICKS,
    )
    by_task = [(task, [d for d in datasets if task in d.tasks]) for task in Task]
    by_scene = [(scene, [d for d in datasets if scene in d.scenes]) for scene in Scene]
    plan("browse.md.j2", "tasks.md", {"title": t("by_task", lang)}, everything, heading=t("by_task", lang), groups=[(TASK_LABELS[k], v, k) for k, v in by_task])
    plan("browse.md.j2", "scenes.md", {"title": t("by_scene", lang)}, everything, heading=t("by_scene", lang), groups=[(SCENE_LABELS[k], v, k) for k, v in by_scene])
    plan("downloads.md.j2", "downloads.md", {"title": t("downloads", lang), "croissant": CATALOGUE_CROISSANT}, everything, count=len(datasets))
    plan("reference.md.j2", "reference.md", {"title": t("reference", lang)}, _key(*base), rows=reference_rows())
    plan("credits.md.j2", "credits.md", {"title": t("credits", lang)}, everything, datasets=datasets)
    plan("links.md.j2", "links.md", {"title": t("link_health", lang)}, everything, datasets=datasets, rows=_link_rows(datasets, inputs.links))
    by_date: dict[str, list[Dataset]] = defaultdict(list)
    for d in sorted(datasets, key=lambda d: (d.added, d.name.casefold()), reverse=True):
        by_date[d.added.isoformat()].append(d)
    plan("whats-new.md.j2", "whats-new.md", {"title": t("whats_new", lang)}, everything, groups=list(by_date.items()))
    newest = sorted(datasets, key=lambda d: (d.added, d.id), reverse=True)[:FEED_LIMIT]

    def feed() -> str:
        return _XML_ENV.get_template("feed.xml.j2").render(
            **ctx, items=newest, site_url=site_url, updated=max(d.added for d in datasets).isoformat()
        )

    pages.append(PlannedPage("feed.xml", everything, feed))

    def dataset_page(d: Dataset, path: str) -> str:
        meta: dict[str, Any] = {
            "title": d.name,
            "description": d.summary[lang],
            "schema_org": schema_org(d, lang, f"{site_url}datasets/{d.id}/"),
            "croissant": croissant_path(d),  # main.html links it from <head>
        }
        if d.id in inputs.social:
            meta["image"] = inputs.social[d.id]
        return page("dataset.md.j2", path, meta, d=d, cite=page_citation(d), related=rel[d.id], max_picks=compare.MAX_PICKS)

    for d in datasets:
        path = f"datasets/{d.id}.md"
        shown_related = [f"{r.id} {r.name} {r.summary[lang]}" for r in rel[d.id]]
        key = _key(*base, own[d.id], *shown_related)
        pages.append(PlannedPage(path, key, partial(dataset_page, d, path)))
    return pages


def _link_rows(datasets: Sequence[Dataset], statuses: Mapping[str, LinkStatus]) -> list[tuple[Dataset, str, str, LinkStatus | None]]:
    rows = []
    for d in datasets:
        urls: list[tuple[str, str]] = []
        if d.links.homepage:
            urls.append(("homepage", d.links.homepage))
        urls += [("download", link.url) for link in d.links.downloads]
        if d.links.paper and d.links.paper.url:
            urls.append(("paper", d.links.paper.url))
        urls += [("code", link.url) for link in d.links.code]
        for role, url in urls:
            rows.append((d, role, url, statuses.get(url)))
    return rows
