"""Papers and citations: authors as people write them, venues, pages, one BibTeX entry.
"""

from __future__ import annotations

import datetime as _dt
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    Field,
    Strict,
    field_validator,
    model_validator,
)

from generator.model.base import ARXIV_RE, DOI_RE, MAX_YEAR, Bool, Model, Str, Url
from generator.problems import DataError


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
                raise DataError(
                    f"a {self.kind} needs `{name}` ({what}); add it, or change `kind`", f"{self.kind} 需要 `{name}`（{what}）；请补上，或修改 `kind`"
                )
        if self.kind is PaperKind.PREPRINT and self.arxiv is None and self.url is None:
            raise DataError(
                "a preprint needs `arxiv` (its arXiv id) or `url`; add one, or change `kind`",
                "预印本需要 `arxiv`（arXiv 编号）或 `url`；请补上一个，或修改 `kind`",
            )
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
    source: Str = Field(description="Where the BibTeX comes from, or why there is none")

    @field_validator("bibtex")
    @classmethod
    def _one_entry(cls, value: str | None) -> str | None:
        return value if value is None else check_one_bibtex_entry(value)
