"""Catalog x language -> Markdown pages and data exports (pure: no I/O beyond reading templates).

Input: a valid ``Catalog``, a language, the thumbnails made by ``images.py`` and the link
statuses of the latest link report. Output: ``RenderedPage`` values (a path relative to the
docs folder and its text). ``staging.py`` writes them. Same input, same bytes: every list has
an explicit order and nothing reads a clock.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup

from generator import compare, search
from generator.chart import chart
from generator.citations import page_citation
from generator.exports import (
    CATALOGUE_CROISSANT,
    croissant_path,
    export_files,
    schema_org,
)
from generator.filters import (
    catalogue_markdown,
    display_title,
    format_count,
    format_date,
    licence_key,
    licence_text,
    name_lang,
    page_prefix,
    result_value,
    sort_value,
)
from generator.markup import fence, front_matter_text, md_text, slug
from generator.memo import PerDataset
from generator.model import (
    Access,
    Catalog,
    Dataset,
    Figure,
    Lang,
    ResultSourceKind,
    Scene,
    SkuLevel,
    Task,
    Text,
)
from generator.reference import reference_rows
from generator.related import ordered, related
from generator.strings import labels, t
from generator.urls import PAGE_ROLES, entry_urls

TEMPLATES = Path(__file__).parent / "templates"
FEED_LIMIT = 50


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
    """What a page needs of one thumbnail (``images.Thumbnail`` adapted by ``staging.py``)."""

    width: int
    height: int
    webp: tuple[tuple[str, int], ...]  # (docs-relative path, width), ascending
    jpeg: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class LinkStatus:
    verdict: str  # ok | redirected | broken | blocked | transient | skipped
    reason: str = ""  # the checker's own words, for maintainers (reports); pages say it from the catalogue
    checked: str = ""  # YYYY-MM-DD of the latest check, when the link history knows it
    http_status: int | None = None  # what the server answered, when one did
    moved_to: str = ""  # a redirected link's new address (text chosen by the linked server)


# Dataset fields that only the dataset's own page (and the exports, written every time) show:
# no catalogue-wide page (home, compare, by task, by scene, downloads, credits, links, what's
# new, the feed) reads them. tests/integration/test_site.py renders the lists with each of
# them changed and expects the same bytes.
UNLISTED_FIELDS = frozenset({"description"})


@dataclass(frozen=True)
class RenderInputs:
    catalog: Catalog
    thumbs: Mapping[tuple[str, int], ThumbImage] = field(default_factory=dict)
    links: Mapping[str, LinkStatus] = field(default_factory=dict)
    social: Mapping[tuple[str, Lang], str] = field(default_factory=dict)  # (dataset id, language) -> docs-relative preview image
    has_link_report: bool = False

    @cached_property
    def related_datasets(self) -> dict[str, list[Dataset]]:
        """Once for both languages."""
        return related(self.catalog)

    @cached_property
    def dataset_keys(self) -> dict[str, str]:
        """Per dataset, a fingerprint of what its pages show of it, in either language: its
        data, its samples' thumbnails, its preview card and its links' statuses."""
        listed = self.listing_keys
        return {d.id: _kept_key(_dataset_key_memo, d, (listed[d.id],), lambda d, k: _key(k[0], _unlisted_json(d))) for d in self.catalog.datasets}

    @cached_property
    def listing_keys(self) -> dict[str, str]:
        """The same without the fields no catalogue-wide page shows (UNLISTED_FIELDS): an edit
        to a description re-renders the dataset's page, not the lists."""
        statuses: dict[str, list[str]] = defaultdict(list)
        if self.links:
            for d in self.catalog.datasets:
                statuses[d.id] = [f"{url} {self.links[url]!r}" for url in _urls(d) if url in self.links]

        def listing_key(d: Dataset, others: tuple[Any, ...]) -> str:
            thumbs, social, links = others
            return _key(_listed_json(d), repr(list(thumbs)), *social, *links)

        return {
            d.id: _kept_key(
                _listing_key_memo,
                d,
                (
                    tuple(self.thumbs.get((d.id, i)) for i in range(len(d.samples))),
                    tuple(self.social.get((d.id, lang), "") for lang in Lang),
                    tuple(statuses[d.id]),
                ),
                listing_key,
            )
            for d in self.catalog.datasets
        }


# a dataset's data, as the keys above hash it: made once while its model lives (memo.py)
_listed_json = PerDataset(lambda d: d.model_dump_json(exclude=set(UNLISTED_FIELDS)))
_unlisted_json = PerDataset(lambda d: d.model_dump_json(include=set(UNLISTED_FIELDS)))
_urls = PerDataset(lambda d: [u.url for u in entry_urls(d)])
# and each key, with what else it was made from (a per-model [others, key])
_listing_key_memo: PerDataset[list[Any]] = PerDataset(lambda d: [])
_dataset_key_memo: PerDataset[list[Any]] = PerDataset(lambda d: [])


def _kept_key(memo: PerDataset[list[Any]], d: Dataset, others: tuple[Any, ...], make: Callable[[Dataset, tuple[Any, ...]], str]) -> str:
    """``make(d, others)``, made again only when ``others`` differ from the last call's for
    this model (outside the preview, every call makes it: memo.py)."""
    box = memo(d)
    if box and box[0] == others:
        return str(box[1])
    key = make(d, others)
    box[:] = [others, key]
    return key


# ---------------------------------------------------------------- formatting


def figure_html(fig: Figure | None, lang: Lang) -> Markup:
    html = _ENV.get_template("_figure.html.j2").render(fig=fig, t=lambda key: t(key, lang), fmt=lambda n: format_count(n, lang))
    return Markup(html.strip())  # the template escaped every value


def chart_svg(catalog: Catalog, lang: Lang) -> str:
    """The chart as a static SVG (chart.svg.j2) with its title and text description."""
    return _ENV.get_template("chart.svg.j2").render(c=chart(catalog, lang), t=lambda key: t(key, lang), prefix="").strip()


# ---------------------------------------------------------------- exports


def robots_txt(base_url: str) -> str:
    # plain text: the Markdown escaping would write the address as character references
    return _XML_ENV.get_template("robots.txt.j2").render(base_url=base_url)


def exports(catalog: Catalog, site_url: str = "") -> list[RenderedPage]:
    """The data files (the same in both languages): see ``exports.py``."""
    return [RenderedPage(f.path, f.text) for f in export_files(ordered(catalog), site_url)]


def exports_key(inputs: RenderInputs, site_url: str) -> str:
    """What the data files are made from: every dataset (a superset: thumbnails and link
    statuses are in its key too), the address and the code. The same key, the same files."""
    return _key(_renderer_version(), "exports", site_url, *inputs.dataset_keys.values())


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
        "md": lambda key, **numbers: catalogue_markdown(key, lang, **numbers),
        "fmt": lambda n: format_count(n, lang),
        "figure": lambda f: figure_html(f, lang),
        "licence_text": lambda lic: licence_text(lic, lang),
        "licence_key": licence_key,
        "name_lang": lambda name: name_lang(str(name), lang),
        "is_text": lambda value: isinstance(value, Text),
        "sort_value": sort_value,
        "TASKS": list(Task),
        "SCENES": list(Scene),
        "TASK_LABELS": labels(Task),
        "SCENE_LABELS": labels(Scene),
        "ACCESS_LABELS": labels(Access),
        "SKU_LEVEL_LABELS": labels(SkuLevel),
        "RESULT_SOURCE_KIND_LABELS": labels(ResultSourceKind),
        "result_value": result_value,
        "thumbs": inputs.thumbs,
        "link_status": inputs.links,
        "has_link_report": inputs.has_link_report,
        "date": lambda iso: format_date(iso, lang),
    }


@cache
def _code_version() -> str:
    # the code a process runs does not change under it; kept for the process
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _renderer_version() -> str:
    """Part of every page key: any change to the generator's code, its templates or the
    words in strings.yaml re-renders everything. Templates and words are read on every
    build, as Jinja reloads an edited template: the live preview shows such an edit."""
    digest = hashlib.sha256(_code_version().encode())
    for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        digest.update(path.relative_to(TEMPLATES).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def render_pages(inputs: RenderInputs, lang: Lang, site_url: str = "") -> list[RenderedPage]:
    """Every generated page of one language."""
    return [RenderedPage(page.path, page.render()) for page in plan_pages(inputs, lang, site_url)]


class _Later(partial):  # type: ignore[type-arg]
    """A template argument worked out only when its page is rendered (the chart, the facets,
    the link rows): a page whose key is unchanged is kept without them."""


def plan_pages(inputs: RenderInputs, lang: Lang, site_url: str = "") -> list[PlannedPage]:
    """Every generated page of one language, each with its key, rendered only on demand."""
    catalog = inputs.catalog
    datasets = ordered(catalog)
    ctx = _context(inputs, lang)
    rel = inputs.related_datasets
    pages: list[PlannedPage] = []

    own = inputs.dataset_keys
    base = (_renderer_version(), lang.value, site_url, str(inputs.has_link_report))
    # catalogue-wide pages show a little of everything listed, so any change to that re-renders them
    everything = _key(*base, *inputs.listing_keys.values(), *inputs.links, *map(repr, inputs.links.values()))

    def page(template: str, path: str, meta: Mapping[str, Any], **extra: Any) -> str:
        values = {name: value() if isinstance(value, _Later) else value for name, value in extra.items()}
        return _front_matter(search.page_meta(path, dict(meta))) + _ENV.get_template(template).render(**ctx, **values, prefix=Markup(page_prefix(path)))

    def plan(template: str, path: str, meta: Mapping[str, Any], key: str, **extra: Any) -> None:
        pages.append(PlannedPage(path, key, partial(page, template, path, meta, **extra)))

    known_images = sum(d.stats.images.value or 0 for d in datasets)
    known_classes = sum(d.stats.classes.value or 0 for d in datasets if d.sku_level.level in ("yes", "partly"))
    plan(
        "home.md.j2",
        "index.md",
        {"title": t("site_name", lang), "description": t("site_description", lang), "hide": ["toc"], "croissant": CATALOGUE_CROISSANT},
        everything,
        datasets=datasets,
        chart=_Later(chart, catalog, lang),
        total_images=known_images,
        total_classes=known_classes,
        sku_count=sum(d.sku_level.level == "yes" for d in datasets),
    )
    years = sorted({d.year for d in datasets})
    plan(
        "compare.md.j2", "compare.md", {"title": t("compare", lang), "hide": ["toc"]}, everything,
        datasets=datasets, years=years, facets=_Later(compare.facets, catalog, lang, t),
        licence_group=compare.licence_group, names_key=compare.names_key, max_picks=compare.MAX_PICKS,
    )
    by_task = [(task, [d for d in datasets if task in d.tasks]) for task in Task]
    by_scene = [(scene, [d for d in datasets if scene in d.scenes]) for scene in Scene]
    task_names, scene_names = labels(Task), labels(Scene)
    plan("browse.md.j2", "tasks.md", {"title": t("by_task", lang)}, everything, heading=t("by_task", lang), groups=[(task_names[k], v, k) for k, v in by_task])
    plan(
        "browse.md.j2", "scenes.md", {"title": t("by_scene", lang)}, everything,
        heading=t("by_scene", lang), groups=[(scene_names[k], v, k) for k, v in by_scene],
    )
    plan("downloads.md.j2", "downloads.md", {"title": t("downloads", lang), "croissant": CATALOGUE_CROISSANT}, everything, count=len(datasets))
    plan("reference.md.j2", "reference.md", {"title": t("reference", lang)}, _key(*base), rows=reference_rows(lang))
    plan("credits.md.j2", "credits.md", {"title": t("credits", lang)}, everything, datasets=datasets)
    plan("links.md.j2", "links.md", {"title": t("link_health", lang)}, everything, datasets=datasets, rows=_Later(_link_rows, datasets, inputs.links))
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
            "title": display_title(d, lang),
            "description": d.summary[lang],
            "schema_org": schema_org(d, lang, f"{site_url}datasets/{d.id}/"),
            "croissant": croissant_path(d),  # main.html links it from <head>
            # main.html: the in-page contents (for phones, where Material hides its own) and
            # the way back to the comparison; dataset pages are outside the navigation
            "page_toc": True,
            "back": "compare",
        }
        if (d.id, lang) in inputs.social:
            meta["image"] = inputs.social[(d.id, lang)]
        return page("dataset.md.j2", path, meta, d=d, title=display_title(d, lang), cite=page_citation(d), related=rel[d.id], max_picks=compare.MAX_PICKS)

    for d in datasets:
        path = f"datasets/{d.id}.md"
        shown_related = [f"{r.id} {r.name} {r.summary[lang]}" for r in rel[d.id]]
        key = _key(*base, own[d.id], *shown_related)
        pages.append(PlannedPage(path, key, partial(dataset_page, d, path)))
    return pages


class LinkRow(NamedTuple):
    """One row of the link-health page (a named tuple: the template unpacks it)."""

    dataset: Dataset
    role: str
    url: str
    status: LinkStatus | None


def _link_rows(datasets: Sequence[Dataset], statuses: Mapping[str, LinkStatus]) -> list[LinkRow]:
    return [LinkRow(d, u.role, u.url, statuses.get(u.url)) for d in datasets for u in entry_urls(d) if u.role in PAGE_ROLES]
