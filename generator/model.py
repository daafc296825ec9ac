"""What valid catalogue data is: the pydantic models, and nothing else (no I/O).

Input: plain Python data as loaded from ``data/datasets.yaml``.
Output: an immutable ``Catalog``; invalid data raises ``pydantic.ValidationError``,
which ``validate.py`` turns into located, contributor-facing problems.

Models are closed (unknown keys are errors) and frozen. Every human-readable text is a
``Text`` with both a Chinese and an English version. Every figure is a ``Figure`` that
names its source and says whether it is exact, approximate or a lower bound, and whether
it was verified.
"""

from __future__ import annotations

import datetime as _dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ARXIV_RE = re.compile(r"^\d{4}\.\d{4,5}$")
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
BIBTEX_RE = re.compile(r"^\s*@[A-Za-z]+\s*\{\s*[^,\s]+\s*,", re.DOTALL)
MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_FIGURE = 10**12  # no image dataset is near a trillion of anything; bigger is a typo

# Licences the catalogue may name by SPDX id. Closed so that a typo is caught; extend it
# when a dataset really uses another (https://spdx.org/licenses/).
SPDX_IDS = frozenset(
    {
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-NC-ND-4.0",
        "CC-BY-ND-4.0",
        "CC-BY-3.0",
        "CC-BY-NC-SA-3.0",
        "MIT",
        "Apache-2.0",
        "BSD-3-Clause",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "ODbL-1.0",
        "CDLA-Permissive-2.0",
    }
)


class Model(BaseModel):
    # Scalars are strict (see Str, Int, Bool): YAML gives real types, so a quoted "123" where a
    # number is expected, or a number where text is expected, is a mistake to report.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() or ch in '<>"\\`' for ch in value)
    ):
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value


def _check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            f"expected a slug (lower-case letters, digits and single hyphens, e.g. 'rpc' or 'products-10k'), got {value!r}"
        )
    return value


def _check_nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("expected text, got an empty string")
    return value


Url = Annotated[str, Strict(), AfterValidator(_check_url)]
Slug = Annotated[str, Strict(), AfterValidator(_check_slug)]
Str = Annotated[str, Strict(), AfterValidator(_check_nonblank)]
Year = Annotated[int, Strict(), Field(ge=MIN_YEAR, le=MAX_YEAR)]
Bool = Annotated[bool, Strict()]


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


class Text(Model):
    """A text in both languages."""

    zh: Str = Field(description="Chinese text (简体中文)", examples=["零售商品结账数据集"])
    en: Str = Field(description="English text", examples=["Retail product checkout dataset"])

    def __getitem__(self, lang: Lang | str) -> str:
        # compared as text: templates call this 100,000s of times, and Lang(lang) is slow
        if lang == "zh":
            return self.zh
        if lang == "en":
            return self.en
        raise ValueError(f"{lang!r} is not a language of the site (zh, en)")


class Task(StrEnum):
    CLASSIFICATION = "classification"
    RETRIEVAL = "retrieval"
    DETECTION = "detection"
    INSTANCE_SEGMENTATION = "instance-segmentation"
    COUNTING = "counting"
    TEXT_RECOGNITION = "text-recognition"


class Scene(StrEnum):
    ECOMMERCE = "e-commerce"
    CHECKOUT = "checkout"
    SHELF = "shelf"
    VENDING_MACHINE = "vending-machine"
    GROCERY = "grocery"
    HAND_HELD = "hand-held"
    STUDIO = "studio"
    LEAFLET = "leaflet"


class Access(StrEnum):
    OPEN = "open"
    REGISTRATION = "registration"
    APPLICATION = "application"
    DEFUNCT = "defunct"
    UNKNOWN = "unknown"


class SkuLevel(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"
    UNVERIFIED = "unverified"


class Qualifier(StrEnum):
    EXACT = "exact"
    APPROX = "approx"
    AT_LEAST = "at-least"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Reader-facing names of the closed vocabularies, in both languages.
TASK_LABELS: dict[Task, Text] = {
    Task.CLASSIFICATION: Text(zh="分类", en="Classification"),
    Task.RETRIEVAL: Text(zh="检索", en="Retrieval"),
    Task.DETECTION: Text(zh="检测", en="Detection"),
    Task.INSTANCE_SEGMENTATION: Text(zh="实例分割", en="Instance segmentation"),
    Task.COUNTING: Text(zh="计数", en="Counting"),
    Task.TEXT_RECOGNITION: Text(zh="文字识别", en="Text recognition"),
}
SCENE_LABELS: dict[Scene, Text] = {
    Scene.ECOMMERCE: Text(zh="电商", en="E-commerce"),
    Scene.CHECKOUT: Text(zh="结账台", en="Checkout counter"),
    Scene.SHELF: Text(zh="货架", en="Shelf"),
    Scene.VENDING_MACHINE: Text(zh="售货机", en="Vending machine"),
    Scene.GROCERY: Text(zh="杂货店", en="Grocery store"),
    Scene.HAND_HELD: Text(zh="手持拍摄", en="Hand-held"),
    Scene.STUDIO: Text(zh="棚拍", en="Studio"),
    Scene.LEAFLET: Text(zh="促销传单", en="Advertising leaflet"),
}
ACCESS_LABELS: dict[Access, Text] = {
    Access.OPEN: Text(zh="公开下载", en="Open download"),
    Access.REGISTRATION: Text(zh="需注册", en="Registration"),
    Access.APPLICATION: Text(zh="需申请", en="On application"),
    Access.DEFUNCT: Text(zh="已失效", en="Defunct"),
    Access.UNKNOWN: Text(zh="未知", en="Unknown"),
}
SKU_LEVEL_LABELS: dict[SkuLevel, Text] = {
    SkuLevel.YES: Text(zh="SKU 级", en="SKU-level"),
    SkuLevel.PARTLY: Text(zh="部分 SKU 级", en="Partly SKU-level"),
    SkuLevel.NO: Text(zh="非 SKU 级", en="Not SKU-level"),
    SkuLevel.UNVERIFIED: Text(zh="未核实", en="Unverified"),
}


class Figure(Model):
    """A count (images, classes, instances, a split) with its provenance."""

    value: Annotated[int, Strict(), Field(ge=0, le=MAX_FIGURE)] | None = Field(
        description="The whole number, without separators (83739, not '83,739' or '84K'); null when not known",
        examples=[83739],
    )
    qualifier: Qualifier = Field(
        Qualifier.EXACT,
        description="exact, approx (shown as ≈) or at-least (shown as ≥, for 'more than N')",
        examples=["approx"],
    )
    verified: Bool = Field(
        True,
        description="false when the figure could not be confirmed from a primary source",
        examples=[False],
    )
    source: Str = Field(
        description="Where the figure comes from (a URL or a short description of the document)",
        examples=["https://rpc-dataset.github.io/"],
    )
    note: Text | None = Field(None, description="Caveats readers should know")

    @model_validator(mode="after")
    def _unknown_is_unverified(self) -> Figure:
        if self.value is None and self.verified:
            raise ValueError("a figure without a value must say `verified: false`")
        return self


class Stats(Model):
    images: Figure = Field(description="Number of images")
    classes: Figure = Field(description="Number of classes (SKUs or categories)")
    instances: Figure | None = Field(
        None,
        description="Number of annotated object instances (boxes, masks); leave out for classification-only datasets",
    )
    splits: dict[Slug, Figure] = Field(
        default_factory=dict,
        description="Images per split, keyed by split name (train, val, test, gallery …)",
    )


class Licence(Model):
    """Either an SPDX id, or a summary of custom terms, or unknown."""

    spdx: Str | None = Field(None, description="SPDX licence id", examples=["CC-BY-NC-SA-4.0"])
    terms: Text | None = Field(None, description="Summary of custom terms when there is no standard licence")
    url: Url | None = Field(None, description="Where the licence or terms are stated")
    unknown: Bool = Field(False, description="true (or write `licence: unknown`) when no licence statement was found")
    note: Text | None = Field(None, description="Caveats, e.g. a software licence that may not cover the images")

    @model_validator(mode="before")
    @classmethod
    def _unknown_shorthand(cls, value: Any) -> Any:
        return {"unknown": True} if value == "unknown" else value

    @field_validator("spdx")
    @classmethod
    def _known_spdx(cls, value: str | None) -> str | None:
        if value is not None and value not in SPDX_IDS:
            raise ValueError(
                f"expected an SPDX licence id ({', '.join(sorted(SPDX_IDS))}), got {value!r}; "
                "for custom terms use `terms: {zh: …, en: …}`"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Licence:
        kinds = [self.spdx is not None, self.terms is not None, self.unknown]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of `spdx`, `terms`, or write `licence: unknown`")
        return self


class Link(Model):
    url: Url = Field(description="http(s) address", examples=["https://www.kaggle.com/datasets/diyer22/retail-product-checkout-dataset"])
    label: Text | None = Field(None, description="What the reader gets there")
    expect: tuple[Annotated[int, Strict(), Field(ge=100, le=599)], ...] = Field(
        (),
        description="HTTP statuses that are expected and not a failure for the link checker (e.g. [403] for a login wall)",
        examples=[[403]],
    )
    verified: Bool = Field(True, description="false when the link comes from a secondary source and was not confirmed")


class Paper(Model):
    title: Str = Field(description="Title as published")
    authors: tuple[Str, ...] = Field(min_length=1, description="Authors in order")
    venue: Str = Field(description="Where it was published", examples=["ECCV 2020"])
    year: Year
    url: Url | None = Field(None, description="Where to read it")
    arxiv: str | None = Field(None, description="arXiv id without prefix", examples=["1901.07249"])
    doi: str | None = Field(None, description="DOI without https://doi.org/", examples=["10.1007/s11432-022-3513-y"])

    @field_validator("arxiv")
    @classmethod
    def _arxiv_id(cls, value: str | None) -> str | None:
        if value is not None and not ARXIV_RE.match(value):
            raise ValueError(f"expected an arXiv id like '1901.07249', got {value!r}")
        return value

    @field_validator("doi")
    @classmethod
    def _doi(cls, value: str | None) -> str | None:
        if value is not None and not DOI_RE.match(value):
            raise ValueError(f"expected a DOI like '10.1007/s11432-022-3513-y', got {value!r}")
        return value


class Links(Model):
    homepage: Url | None = Field(None, description="Official page of the dataset")
    downloads: tuple[Link, ...] = Field((), description="Where to get the data")
    paper: Paper | None = Field(None, description="The paper that introduces the dataset")
    code: tuple[Link, ...] = Field((), description="Code repositories (official tools, baselines)")


class Sample(Model):
    url: Url | None = Field(None, description="Public address of the image")
    path: Str | None = Field(None, description="Or a file under data/, relative to data/", examples=["samples/rpc.jpg"])
    credit: Str = Field(description="Who made the image / where it was published")
    licence: Str = Field(description="Licence of the image (SPDX id or text)", examples=["GPL-3.0-only"])
    caption: Text = Field(description="What the image shows (also its alt text)")

    @model_validator(mode="after")
    def _one_source(self) -> Sample:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of `url` or `path`")
        return self


class Solution(Model):
    rank: Annotated[int, Strict(), Field(ge=1, le=10_000)] | None = Field(None, description="Final rank (1 = winner)")
    team: Str | None = Field(None, description="Team or authors")
    title: Str = Field(description="Title of the report or repository")
    url: Url | None = Field(None, description="Where to read it")
    verified: Bool = Field(True, description="false when the rank or link could not be confirmed")
    note: Text | None = None


class Competition(Model):
    name: Text = Field(description="Name of the challenge")
    year: Year
    url: Url | None = Field(None, description="Competition page")
    solutions: tuple[Solution, ...] = Field((), description="Winning and notable solutions")
    note: Text | None = Field(None, description="What readers should know, e.g. that no winner report was found")


class SkuLabel(Model):
    level: SkuLevel = Field(description="yes / partly / no / unverified: are the labels individual products (SKUs)?")
    reason: Text = Field(description="One line saying why")


class Hierarchy(Model):
    levels: Annotated[int, Strict(), Field(ge=1, le=20)] | None = Field(None, description="Number of label levels, when known")
    description: Text
    verified: Bool = True


class Source(Model):
    title: Str = Field(description="What was read")
    url: Url | None = None


class Citation(Model):
    bibtex: Annotated[str, Strict()] | None = Field(None, description="BibTeX entry, verbatim from an official or named source")
    source: Str = Field(description="Where the BibTeX comes from, or why there is none")

    @field_validator("bibtex")
    @classmethod
    def _looks_like_bibtex(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not BIBTEX_RE.match(value):
            raise ValueError("expected a BibTeX entry starting like '@inproceedings{key,'")
        if value.count("{") != value.count("}"):
            raise ValueError("the BibTeX entry has unbalanced braces")
        return value


class ResultUnit(StrEnum):
    PERCENT = "%"
    RATIO = "ratio"  # 0-1, as COCO AP or F1 are usually printed


class ResultSourceKind(StrEnum):
    AUTHORS = "authors"  # the dataset authors' own paper or page
    COMPETITOR = "competitor"  # a method's or a team's own report of its score
    THIRD_PARTY = "third-party"  # someone else measuring or copying a score


RESULT_SOURCE_KIND_LABELS: dict[ResultSourceKind, Text] = {
    ResultSourceKind.AUTHORS: Text(zh="数据集作者", en="dataset authors"),
    ResultSourceKind.COMPETITOR: Text(zh="方法作者自报", en="competitor's own report"),
    ResultSourceKind.THIRD_PARTY: Text(zh="第三方", en="third party"),
}


class ResultSource(Model):
    title: Str = Field(description="What reports the number (paper, report, README)")
    url: Url | None = Field(None, description="Where to read it")
    kind: ResultSourceKind = Field(
        description="authors (the dataset's own paper), competitor (a method's or team's own report) or third-party",
        examples=["competitor"],
    )


class Result(Model):
    """One reported score on a dataset. Scores are never compared across metrics or splits."""

    method: Str = Field(description="Method or team that scored it", examples=["PSP (ECCV 2022)"])
    metric: Str = Field(description="The metric as the source names it", examples=["checkout accuracy (cAcc)"])
    value: Annotated[float, Strict(), Field(ge=0)] = Field(
        description="The number as reported, without its unit (86.69, not '86.69%')", examples=[86.69]
    )
    unit: ResultUnit = Field(description="% (0-100) or ratio (0-1)", examples=["%"])
    higher_is_better: Bool = Field(True, description="false for errors and losses (e.g. top-1 error)")
    split: Str = Field(description="Which part of the data it was measured on", examples=["test"])
    year: Year
    source: ResultSource
    verified: Bool = Field(True, description="false when the number was read only in a copy or summary of its source")
    note: Text | None = Field(None, description="Caveats, e.g. a different task or the annotations used")

    @model_validator(mode="after")
    def _value_fits_unit(self) -> Result:
        top = 100 if self.unit is ResultUnit.PERCENT else 1
        if self.value > top:
            raise ValueError(
                f"a value in {self.unit.value!r} is at most {top}, got {self.value}; "
                + ("write it as a percentage with `unit: '%'`" if top == 1 else "check the number")
            )
        return self

    @property
    def percent(self) -> float:
        """The value on a 0-100 scale, so that one metric in two units still compares."""
        return self.value * (1 if self.unit is ResultUnit.PERCENT else 100)


class Dataset(Model):
    id: Slug = Field(description="Stable slug used in URLs", examples=["rpc"])
    name: Str = Field(description="Short name as commonly written", examples=["RPC"])
    full_name: Text = Field(description="Full name in both languages")
    aliases: tuple[Str, ...] = Field((), description="Other names readers may search for")
    in_seed: Bool = Field(False, description="true for the 9 datasets of the original survey page")
    summary: Text = Field(description="One sentence for cards and tables")
    description: Text = Field(description="A paragraph or two, in your own words")
    organisations: tuple[Text, ...] = Field(min_length=1, description="Who made it")
    year: Year = Field(description="Year of first public release")
    venue: Text = Field(description="Where it was introduced")
    tasks: tuple[Task, ...] = Field(min_length=1, description="Tasks it supports")
    scenes: tuple[Scene, ...] = Field(min_length=1, description="Where the images are taken")
    sku_level: SkuLabel
    stats: Stats
    annotation: Text = Field(description="What is annotated and how")
    hierarchy: Hierarchy | None = Field(None, description="Category hierarchy, if any")
    licence: Licence
    access: Access
    links: Links
    samples: tuple[Sample, ...] = ()
    competitions: tuple[Competition, ...] = ()
    results: tuple[Result, ...] = Field((), description="Reported results (scores) on this dataset, each with its source")
    citation: Citation
    confidence: Confidence = Field(description="How well the entry is verified overall")
    sources: tuple[Source, ...] = Field(min_length=1, description="What was read to write this entry")
    added: _dt.date = Field(description="Date the entry was added (YYYY-MM-DD)", examples=["2026-11-25"])

    @field_validator("tasks", "scenes")
    @classmethod
    def _no_repeats(cls, value: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists the same value twice")
        return value

    def best_result(self) -> Result | None:
        """The best of the results that share the first listed result's metric and split: the
        only ones that can be compared with each other."""
        if not self.results:
            return None
        head = self.results[0]
        same = [r for r in self.results if (r.metric, r.split) == (head.metric, head.split)]
        pick = max if head.higher_is_better else min
        return pick(same, key=lambda r: r.percent)

    def all_texts(self) -> str:
        """Every word a reader may search for, for the search index keywords."""
        return " ".join([self.name, *self.aliases, self.full_name.zh, self.full_name.en])


class Catalog(Model):
    datasets: tuple[Dataset, ...] = Field(min_length=1)

    def by_id(self) -> dict[str, Dataset]:
        return {d.id: d for d in self.datasets}


class CatalogLink(Model):
    """One URL of the catalogue, with the YAML path where it sits (for link checking)."""

    url: str
    role: Literal["homepage", "download", "paper", "code", "competition", "solution", "sample", "licence", "source", "result"]
    dataset_id: str
    path: tuple[str | int, ...]
    expect: frozenset[int] = frozenset()


def catalog_links(catalog: Catalog) -> list[CatalogLink]:
    """Every external URL in the catalogue, in file order."""
    found: list[CatalogLink] = []
    for i, d in enumerate(catalog.datasets):
        base: tuple[str | int, ...] = ("datasets", i)

        def add(url: str | None, role: str, *path: str | int, expect: tuple[int, ...] = ()) -> None:
            if url:
                found.append(
                    CatalogLink(url=url, role=role, dataset_id=d.id, path=base + path, expect=frozenset(expect))
                )

        add(d.links.homepage, "homepage", "links", "homepage")
        for j, link in enumerate(d.links.downloads):
            add(link.url, "download", "links", "downloads", j, "url", expect=link.expect)
        if d.links.paper:
            add(d.links.paper.url, "paper", "links", "paper", "url")
        for j, link in enumerate(d.links.code):
            add(link.url, "code", "links", "code", j, "url", expect=link.expect)
        add(d.licence.url, "licence", "licence", "url")
        for j, s in enumerate(d.samples):
            add(s.url, "sample", "samples", j, "url")
        for j, c in enumerate(d.competitions):
            add(c.url, "competition", "competitions", j, "url")
            for k, sol in enumerate(c.solutions):
                add(sol.url, "solution", "competitions", j, "solutions", k, "url")
        for j, src in enumerate(d.sources):
            add(src.url, "source", "sources", j, "url")
        for j, res in enumerate(d.results):
            add(res.source.url, "result", "results", j, "source", "url")
    return found


def catalog_json_schema() -> dict[str, Any]:
    """JSON Schema of the data file, for editors (yaml-language-server) and the field reference."""
    schema = Catalog.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "SKU-level product-image datasets catalogue (data/datasets.yaml)"
    # `licence: unknown` is accepted by a before-validator that the generated schema cannot see
    licence = schema["$defs"]["Licence"]
    schema["$defs"]["Licence"] = {"anyOf": [{"const": "unknown"}, licence], "description": licence.get("description", "")}
    return schema
