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

from generator.problems import DataError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ARXIV_RE = re.compile(r"^\d{4}\.\d{4,5}$")
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
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
        raise DataError(f"expected an http(s) URL, got {value!r}", f"应为 http(s) 网址，实际是 {value!r}")
    return value


def _is_url(value: str) -> bool:
    try:
        _check_url(value)
    except DataError:
        return False
    return True


def _check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise DataError(
            f"expected a slug (lower-case letters, digits and single hyphens, e.g. 'rpc' or 'products-10k'), got {value!r}",
            f"应为 slug（小写字母、数字和单个连字符，如 'rpc' 或 'products-10k'），实际是 {value!r}",
        )
    return value


def _check_nonblank(value: str) -> str:
    if not value.strip():
        raise DataError("expected text, got an empty string", "应为文字，实际是空字符串")
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
    source: Url | Text = Field(
        description="Where the figure comes from: its address, or a short description of the document in both languages",
        examples=["https://rpc-dataset.github.io/"],
    )
    note: Text | None = Field(None, description="Caveats readers should know")

    @field_validator("source", mode="before")
    @classmethod
    def _address_or_both_languages(cls, value: Any) -> Any:
        # a description is read on both sites; only an address is the same in both
        if value is None or (isinstance(value, str) and not _is_url(value)):
            got, got_zh = ("nothing (null)", "空值（null）") if value is None else (repr(value), repr(value))
            raise DataError(
                f"expected an http(s) address, or a description in both languages as `{{zh: …, en: …}}`, got {got}",
                f"应为 http(s) 网址，或用 `{{zh: …, en: …}}` 写出两种语言的说明，实际是 {got_zh}",
            )
        return value

    @model_validator(mode="after")
    def _unknown_is_unverified(self) -> Figure:
        if self.value is None and self.verified:
            raise DataError("a figure without a value must say `verified: false`", "没有数值的数字必须写明 `verified: false`")
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
            raise DataError(
                f"expected an SPDX licence id ({', '.join(sorted(SPDX_IDS))}), got {value!r}; "
                "for custom terms use `terms: {zh: …, en: …}`",
                f"应为 SPDX 许可证标识（{', '.join(sorted(SPDX_IDS))}），实际是 {value!r}；"
                "自定义条款请写 `terms: {zh: …, en: …}`",
            )
        return value

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Licence:
        kinds = [self.spdx is not None, self.terms is not None, self.unknown]
        if sum(kinds) != 1:
            raise DataError("give exactly one of `spdx`, `terms`, or write `licence: unknown`", "`spdx`、`terms` 只能给出其一，或者写 `licence: unknown`")
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


class PaperKind(StrEnum):
    JOURNAL_ARTICLE = "journal-article"
    CONFERENCE_PAPER = "conference-paper"
    PREPRINT = "preprint"
    THESIS = "thesis"
    WEB_PAGE = "web-page"
    CHALLENGE = "challenge"


class Script(StrEnum):
    """How a name is written: it decides how a citation style shows it (``WEI X S`` or ``魏秀参``)."""

    LATIN = "latin"
    HAN = "han"


# CJK ideographs (with extension A and the compatibility block): a name holding one is Han
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# what people write for "and more authors" in an author list; it is not an author
ET_AL = frozenset({"et al.", "et al", "et. al.", "等", "等人"})
# page ranges as printed: 197101, 440-455, 46--52, 26:1-26:8, e1234, S12–S19
_TRAILING_ET_AL = re.compile(r"\s*(?:,\s*)?(?:et\.? al\.?|等人?)\s*$", re.IGNORECASE)
PAGES_RE = re.compile(r"^[A-Za-z]?\d+(?::\d+)?(?:\s*(?:-|--|–)\s*[A-Za-z]?\d+(?::\d+)?)?$")


def script_of(text: str) -> Script:
    return Script.HAN if _HAN.search(text) else Script.LATIN


class Author(Model):
    """One author: family name, given names, and the script the name is written in.

    In the data, an author is either a plain string ("Xiu-Shen Wei", "魏秀参"), read as given
    names then the family name (Han: the first character is the family name), or this
    mapping, for every name the plain form gets wrong ("Yago Vicente", "van Gool", 欧阳).
    """

    family: Str = Field(description="Family name (surname) as written", examples=["Wei"])
    given: Str | None = Field(None, description="Given names as written; leave out when there are none", examples=["Xiu-Shen"])
    script: Script = Field(
        Script.LATIN,
        description="latin or han; leave out to have it read from the name",
        examples=["han"],
    )
    corporate: Bool = Field(False, description="true when the author is an organisation (its name goes in `family`, written as is)")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().casefold() in ET_AL:
                return {"family": value}  # reported by the name check, with the fix
            return _parse_name(value)
        if isinstance(value, dict) and "script" not in value and isinstance(value.get("family"), str):
            return {**value, "script": script_of(value["family"] + str(value.get("given") or "")).value}
        return value

    @field_validator("family", "given")
    @classmethod
    def _a_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.strip().casefold() in ET_AL:
            raise DataError(
                f"{value!r} is not an author's name; to say the list is incomplete, end it and write `more_authors: true`",
                f"{value!r} 不是作者姓名；要表示作者列表不完整，请结束列表并写 `more_authors: true`",
            )
        if any(ch in value for ch in "\n\r\t"):
            raise DataError(f"expected a name on one line, got {value!r}", f"姓名应写在一行内，实际是 {value!r}")
        return value

    def __str__(self) -> str:
        if self.given is None or self.corporate:
            return self.family
        if self.script is Script.HAN:
            return self.family + self.given
        return f"{self.given} {self.family}"


def _parse_name(text: str) -> dict[str, str] | str:
    name = " ".join(text.split())
    if not name:
        return text  # the field check reports the empty name
    if name.count(",") == 1:  # "Wei, Xiu-Shen": BibTeX's own order
        family, given = (part.strip() for part in name.split(","))
        if family and given:
            return {"family": family, "given": given, "script": script_of(name).value}
    if script_of(name) is Script.HAN:
        compact = name.replace(" ", "")
        if len(compact) == 1:
            return {"family": compact, "script": "han"}
        return {"family": compact[0], "given": compact[1:], "script": "han"}
    family, _, given = name.rpartition(" ")
    if not family:
        return {"family": name, "script": "latin"}
    return {"family": given, "given": family, "script": "latin"}


Volume = Annotated[int, Strict(), Field(ge=0)] | Str


class Paper(Model):
    """The publication that introduces a dataset, with what citation styles need.

    Only ``title``, ``authors``, ``venue`` and ``year`` are required; the rest is filled in when
    it is known. ``kind`` says what the publication is: without it, citations are generic.
    """

    kind: PaperKind | None = Field(
        None,
        description="journal-article, conference-paper, preprint, thesis, web-page or challenge",
        examples=["conference-paper"],
    )
    title: Str = Field(description="Title as published")
    authors: tuple[Author, ...] = Field(
        min_length=1,
        description="Authors in order: 'Given Family' text, or {family, given, script} when the text form would split the name wrongly",
        examples=[["Xiu-Shen Wei", {"family": "Yago Vicente", "given": "Tomas F."}]],
    )
    more_authors: Bool = Field(False, description="true when the list stops before the last author (shown as et al. / 等)")
    venue: Str = Field(description="Where it was published, short", examples=["ECCV 2020"])
    container: Str | None = Field(
        None,
        description="Journal name, or the proceedings' title, as printed",
        examples=["Science China Information Sciences"],
    )
    volume: Volume | None = Field(None, description="Journal or proceedings volume", examples=[65])
    issue: Volume | None = Field(None, description="Journal issue (number)", examples=[9])
    pages: Str | None = Field(None, description="Pages or article number", examples=["440-455"])
    publisher: Str | None = Field(None, description="Publisher (for a thesis: the university)", examples=["Springer"])
    place: Str | None = Field(None, description="Place of publication (the publisher's city)", examples=["Cham"])
    # wider than a dataset's release year: a reference may be older than any dataset here
    year: Annotated[int, Strict(), Field(ge=1900, le=MAX_YEAR)] = Field(description="Year of publication", examples=[2020])
    url: Url | None = Field(None, description="Where to read it")
    arxiv: str | None = Field(None, description="arXiv id without prefix", examples=["1901.07249"])
    doi: str | None = Field(None, description="DOI without https://doi.org/", examples=["10.1007/s11432-022-3513-y"])
    updated: _dt.date | None = Field(
        None,
        description="Date of the online version cited (a preprint's version, a page's last update), YYYY-MM-DD",
        examples=["2019-01-22"],
    )
    checked: _dt.date | None = Field(
        None,
        description="Date this record was checked against the publication (the citation date of online references); the entry's `added` date when left out",
        examples=["2026-11-25"],
    )

    @model_validator(mode="before")
    @classmethod
    def _et_al_shorthand(cls, value: Any) -> Any:
        # `authors: [Fangyi Chen, et al.]` (today's shape) means the list is incomplete
        if isinstance(value, dict) and isinstance(value.get("authors"), list) and value["authors"]:
            authors = list(value["authors"])
            last = authors[-1]
            if isinstance(last, str):
                if len(authors) > 1 and last.strip().casefold() in ET_AL:
                    return {**value, "authors": authors[:-1], "more_authors": True}
                trailing = _TRAILING_ET_AL.search(last)
                if trailing and trailing.start() > 0:  # "Fangyi Chen et al."
                    return {**value, "authors": [*authors[:-1], last[: trailing.start()]], "more_authors": True}
        return value

    @field_validator("arxiv")
    @classmethod
    def _arxiv_id(cls, value: str | None) -> str | None:
        if value is not None and not ARXIV_RE.match(value):
            raise DataError(f"expected an arXiv id like '1901.07249', got {value!r}", f"应为 arXiv 编号，如 '1901.07249'，实际是 {value!r}")
        return value

    @field_validator("doi")
    @classmethod
    def _doi(cls, value: str | None) -> str | None:
        if value is not None and not DOI_RE.match(value):
            raise DataError(f"expected a DOI like '10.1007/s11432-022-3513-y', got {value!r}", f"应为 DOI，如 '10.1007/s11432-022-3513-y'，实际是 {value!r}")
        return value

    @field_validator("pages")
    @classmethod
    def _pages(cls, value: str | None) -> str | None:
        if value is not None and not PAGES_RE.match(value):
            raise DataError(
                f"expected pages like '440-455', an article number like '197101' or '26:1-26:8', got {value!r}",
                f"应为页码，如 '440-455'、文章编号 '197101' 或 '26:1-26:8'，实际是 {value!r}",
            )
        return value

    @model_validator(mode="after")
    def _what_the_kind_needs(self) -> Paper:
        needs = {
            PaperKind.JOURNAL_ARTICLE: ("container", "the journal's name"),
            PaperKind.CONFERENCE_PAPER: ("container", "the proceedings' title"),
            PaperKind.THESIS: ("publisher", "the university that granted the degree"),
            PaperKind.WEB_PAGE: ("url", "the page's address"),
            PaperKind.CHALLENGE: ("url", "the challenge's page"),
        }
        if self.kind in needs:
            name, what = needs[self.kind]
            if getattr(self, name) is None:
                raise DataError(f"a {self.kind} needs `{name}` ({what}); add it, or change `kind`", f"{self.kind} 需要 `{name}`（{what}）；请补上，或修改 `kind`")
        if self.kind is PaperKind.PREPRINT and self.arxiv is None and self.url is None:
            raise DataError("a preprint needs `arxiv` (its arXiv id) or `url`; add one, or change `kind`", "预印本需要 `arxiv`（arXiv 编号）或 `url`；请补上一个，或修改 `kind`")
        if self.kind not in (PaperKind.JOURNAL_ARTICLE, PaperKind.CONFERENCE_PAPER, None):
            for name in ("volume", "issue"):
                if getattr(self, name) is not None:
                    raise DataError(
                        f"`{name}` is for a journal article or conference paper, not a {self.kind}; remove it or change `kind`",
                        f"`{name}` 只用于期刊文章或会议论文，不用于 {self.kind}；请删除它或修改 `kind`",
                    )
        if self.updated and self.checked and self.updated > self.checked:
            raise DataError(
                f"`updated` ({self.updated}) is after `checked` ({self.checked}): a version cannot be cited before it existed",
                f"`updated`（{self.updated}）晚于 `checked`（{self.checked}）：不能在某个版本出现之前引用它",
            )
        return self

    @property
    def online_url(self) -> str | None:
        """The address of the online version: the url, or the arXiv abstract page."""
        return self.url or (f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None)


class Links(Model):
    homepage: Url | None = Field(None, description="Official page of the dataset")
    downloads: tuple[Link, ...] = Field((), description="Where to get the data")
    paper: Paper | None = Field(None, description="The paper that introduces the dataset")
    code: tuple[Link, ...] = Field((), description="Code repositories (official tools, baselines)")


class Sample(Model):
    url: Url | None = Field(None, description="Public address of the image")
    path: Str | None = Field(None, description="Or a file under data/, relative to data/", examples=["samples/rpc.jpg"])
    credit: Text = Field(description="Who made the image / where it was published, in both languages")
    licence: Str | Text = Field(
        description="Licence of the image: an SPDX id, or the terms in both languages",
        examples=["MIT"],
    )
    caption: Text = Field(description="What the image shows (also its alt text)")

    @field_validator("licence", mode="before")
    @classmethod
    def _spdx_or_both_languages(cls, value: Any) -> Any:
        # an SPDX id is a name, the same on both sites; any other wording is read in both
        if isinstance(value, str) and value not in SPDX_IDS:
            raise DataError(
                f"expected an SPDX licence id (e.g. MIT, CC-BY-4.0), or the terms in both languages as `{{zh: …, en: …}}`, got {value!r}",
                f"应为 SPDX 许可证标识（如 MIT、CC-BY-4.0），或用 `{{zh: …, en: …}}` 写出两种语言的条款，实际是 {value!r}",
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Sample:
        if (self.url is None) == (self.path is None):
            raise DataError("give exactly one of `url` or `path`", "`url` 和 `path` 只能给出其一")
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


BIBTEX_TYPES = frozenset(
    {
        "article", "book", "booklet", "conference", "dataset", "inbook", "incollection", "inproceedings",
        "manual", "mastersthesis", "misc", "online", "phdthesis", "proceedings", "software", "techreport",
        "thesis", "unpublished",
    }
)
_BIBTEX_TYPE = re.compile(r"@([A-Za-z]+)\s*[{(]")
_BIBTEX_HEAD = re.compile(r"@([A-Za-z]+)\s*\{\s*([^\s,{}()\"'#%~=\\]+)\s*,")


def check_one_bibtex_entry(value: str) -> str:
    """The text if it is exactly one BibTeX entry; otherwise ValueError saying where and why.

    BibTeX tools count braces without regard to backslashes and start an entry at any '@'
    outside one (bibtexparser even inside a value, at a line's start): so the entry must
    open at its start, close at the brace that balances its first, hold no other '@', and
    have nothing after it. Anything else could open or close an entry in the exports.
    """
    text = value.strip()
    kind = _BIBTEX_TYPE.match(text)
    if kind and kind.group(1).lower() not in BIBTEX_TYPES:
        raise DataError(
            f"expected an entry type such as @article, @inproceedings or @misc, got @{kind.group(1)}",
            f"应为 @article、@inproceedings 或 @misc 之类的条目类型，实际是 @{kind.group(1)}",
        )
    head = _BIBTEX_HEAD.match(text)
    if not head:
        raise DataError("expected one BibTeX entry starting like '@inproceedings{key,'", "应为一条 BibTeX 条目，开头形如 '@inproceedings{key,'")
    depth = 0
    end = -1
    for i in range(text.index("{"), len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                end = i
                break
        elif ch == "@":
            line = text.count("\n", 0, i) + 1
            raise DataError(
                f"line {line} of the entry has an '@', which BibTeX tools read as the start of another entry; "
                "the field holds exactly one entry (write 'at' in a value instead)",
                f"条目第 {line} 行有 '@'，BibTeX 工具会把它当作另一条目的开头；这个字段只能有一条条目（值里请改写为 'at'）",
            )
    if end < 0:
        raise DataError(f"the BibTeX entry has unbalanced braces: {depth} '{{' never closed", f"BibTeX 条目的花括号不配对：有 {depth} 个 '{{' 没有闭合")
    rest = text[end + 1 :].strip()
    if rest:
        line = text.count("\n", 0, end) + 1
        raise DataError(
            f"text after the entry's closing brace on line {line} of the entry: {rest[:40]!r}; "
            "the field holds exactly one entry and nothing after it",
            f"条目第 {line} 行的右花括号之后还有文字：{rest[:40]!r}；这个字段只能有一条条目，之后不能再有内容",
        )
    return value


class Citation(Model):
    bibtex: Annotated[str, Strict()] | None = Field(None, description="BibTeX entry, verbatim from an official or named source: exactly one entry")
    source: Text = Field(description="Where the BibTeX comes from, or why there is none, in both languages")

    @field_validator("bibtex")
    @classmethod
    def _one_entry(cls, value: str | None) -> str | None:
        return value if value is None else check_one_bibtex_entry(value)


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
            raise DataError("lists the same value twice", "同一个值列出了两次")
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
    # so is an author written as plain text ("Xiu-Shen Wei")
    author = schema["$defs"]["Author"]
    schema["$defs"]["Author"] = {
        "anyOf": [{"type": "string", "description": "'Given Family' (or 'Family, Given'; Han names as written)"}, author],
        "description": author.get("description", ""),
    }
    return schema
