"""Paper records -> citations in the styles readers use: GB/T 7714-2015 and BibTeX (pure).

Input: a valid ``Paper`` (and, for the catalogue, a ``Dataset``). Output: text. Nothing here
reads a clock: the citation date of an online reference is the date the record was checked
(``Paper.checked``, else the entry's ``added`` date), so the same data cites the same way.

GB/T 7714-2015 is the national standard for reference lists in China. What it asks for, by
the kind of publication (§8 and Appendix A of the standard):

- journal article   ``AUTHORS. Title[J]. Journal, year, volume(issue): pages. DOI:….``
- conference paper  ``AUTHORS. Title[C]//Proceedings. Place: Publisher, year: pages. DOI:….``
- thesis            ``AUTHORS. Title[D]. Place: University, year.``
- preprint, web page, challenge: an electronic resource
                    ``AUTHORS. Title[EB/OL]. Publisher, year(updated)[cited]. URL. DOI:….``
- anything not typed ``[Z]`` (other), with the venue as written.

Names: Latin-script names as ``FAMILY G G`` (family name in capitals, given names as
initials without points); Han names in full. More than three authors: the first three and
``et al.`` (``等`` for a Chinese reference). An unknown place or publisher is ``[S.l.]`` and
``[s.n.]`` (``[出版地不详]``, ``[出版者不详]``).

BibTeX: typed by kind, every value escaped so that nothing in the data can open or close an
entry or a group (see ``bibtex_value``).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from generator.model import Author, Dataset, Paper, PaperKind, Script

GBT_MAX_AUTHORS = 3


# ---------------------------------------------------------------- GB/T 7714-2015


def gbt_name(author: Author) -> str:
    """``Xiu-Shen Wei`` -> ``WEI X S``; ``魏秀参`` stays ``魏秀参``."""
    if author.script is Script.HAN or author.corporate:
        return str(author)
    family = author.family.upper()
    if not author.given:
        return family
    initials = [part[0].upper() for part in re.split(r"[\s\-.]+", author.given) if part]
    return f"{family} {' '.join(initials)}" if initials else family


def _chinese(paper: Paper) -> bool:
    # the reference's language decides et al. / 等 and the placeholders: its first author's script
    return paper.authors[0].script is Script.HAN


def gbt_authors(paper: Paper) -> str:
    names = [gbt_name(a) for a in paper.authors]
    shown = names[:GBT_MAX_AUTHORS]
    if len(names) > GBT_MAX_AUTHORS or paper.more_authors:
        shown.append("等" if _chinese(paper) else "et al.")
    return ", ".join(shown)


def _end(text: str) -> str:
    """A part of a reference ends with one full stop (a title may end with '?' or '.')."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _place_publisher(paper: Paper) -> str:
    zh = _chinese(paper)
    place = paper.place or ("[出版地不详]" if zh else "[S.l.]")
    publisher = paper.publisher or ("[出版者不详]" if zh else "[s.n.]")
    return f"{place}: {publisher}"


def _pages(paper: Paper) -> str:
    return re.sub(r"\s*(?:--|–)\s*|\s*-\s*", "-", paper.pages) if paper.pages else ""


def gbt7714(paper: Paper, cited: _dt.date) -> str:
    """The GB/T 7714-2015 reference of a paper; ``cited`` is the citation date of online kinds."""
    head = f"{_end(gbt_authors(paper))} {paper.title}"
    doi = f" DOI:{paper.doi}." if paper.doi else ""
    pages = _pages(paper)
    kind = paper.kind
    if kind is PaperKind.JOURNAL_ARTICLE:
        where = f"{paper.container}, {paper.year}"
        if paper.volume is not None:
            where += f", {paper.volume}"
        if paper.issue is not None:
            where += f"({paper.issue})"
        if pages:
            where += f": {pages}"
        return f"{head}[J]. {_end(where)}{doi}"
    if kind is PaperKind.CONFERENCE_PAPER:
        where = f"{_place_publisher(paper)}, {paper.year}" + (f": {pages}" if pages else "")
        return f"{head}[C]//{_end(str(paper.container))} {_end(where)}{doi}"
    if kind is PaperKind.THESIS:
        where = f"{_place_publisher(paper)}, {paper.year}" + (f": {pages}" if pages else "")
        return f"{head}[D]. {_end(where)}{doi}"
    if kind in (PaperKind.PREPRINT, PaperKind.WEB_PAGE, PaperKind.CHALLENGE):
        # "Place: Publisher, year(updated)[cited]"; without a publisher the standard's own
        # examples give only "(updated)[cited]", or "[cited]"
        publisher = paper.publisher or ("arXiv" if paper.arxiv else None)
        where = ""
        if publisher:
            where = f"{paper.place}: {publisher}" if paper.place else publisher
            where += f", {paper.year}"
        dates = (f"({paper.updated.isoformat()})" if paper.updated else "") + f"[{cited.isoformat()}]"
        return f"{head}[EB/OL]. {where}{dates}. {paper.online_url}.{doi}"
    # not typed: say only what is known, as "other" ([Z])
    return f"{head}[Z]. {paper.venue}, {paper.year}.{doi}"


def cited_on(d: Dataset) -> _dt.date:
    """The citation date of a dataset's paper: when its record was checked, else when the entry was added."""
    paper = d.links.paper
    return paper.checked if paper and paper.checked else d.added


# ---------------------------------------------------------------- BibTeX


# Characters LaTeX gives a meaning to, written so that they print as themselves. Braces are
# not escaped with a backslash: BibTeX counts ``\{`` as a brace too, so a data brace could
# still close the value; ``\textbraceleft{}`` keeps every group balanced.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # an '@' anywhere may start an entry for BibTeX tools (bibtexparser: even inside a value)
    "@": r"{\char64}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))
_SPACE = re.compile(r"\s+")


def bibtex_value(text: str) -> str:
    """Text as the inside of a braced BibTeX value: one line, LaTeX-inert, braces balanced."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], _SPACE.sub(" ", text).strip())


def bibtex_url(url: str) -> str:
    """An address (or DOI) for a ``url``/``doi`` field, read verbatim by tools: no braces, no '@'
    or whitespace (percent-encoded, as in any URL)."""
    return (
        _SPACE.sub("", url)
        .replace("{", "%7B")
        .replace("}", "%7D")
        .replace("@", "%40")
        .replace("\\", "%5C")
    )


def bibtex_comment(text: str) -> str:
    """Text for a ``%`` comment line: one line (a newline would end the comment and make the
    rest live), no '@' (BibTeX starts an entry at any '@', comment or not), no braces."""
    one_line = _SPACE.sub(" ", text).strip()
    return one_line.replace("@", "(at)").replace("{", "(").replace("}", ")")


_AND = re.compile(r"\band\b", re.IGNORECASE)


def bibtex_name(author: Author) -> str:
    """``Family, Given``: the form BibTeX cannot split wrongly (particles, compound names)."""
    family = bibtex_value(author.family)
    if " " in family or "," in family or family.casefold() in ("and", "others"):
        family = "{" + family + "}"  # one family name, not a "von" part and a last name
    if not author.given:
        return family
    given = bibtex_value(author.given)
    if _AND.search(given) or "," in given:
        given = "{" + given + "}"  # a word "and" would split the list into two names
    return f"{family}, {given}"


def bibtex_authors(paper: Paper) -> str:
    names = [bibtex_name(a) for a in paper.authors]
    if paper.more_authors:
        names.append("others")  # BibTeX styles print "others" as et al.
    return " and ".join(names)


def bibtex_key(d: Dataset) -> str:
    year = d.links.paper.year if d.links.paper else d.year
    return re.sub(r"[^a-z0-9]", "", d.id) + str(year)


@dataclass(frozen=True)
class BibEntry:
    text: str
    generated: bool  # made from the paper record, not verbatim from a source


_TYPES = {
    PaperKind.JOURNAL_ARTICLE: "article",
    PaperKind.CONFERENCE_PAPER: "inproceedings",
    PaperKind.THESIS: "phdthesis",
}


def generated_bibtex(d: Dataset) -> str | None:
    """A BibTeX entry made from the dataset's paper record, typed by the paper's kind."""
    paper = d.links.paper
    if paper is None:
        return None
    entry_type = _TYPES.get(paper.kind, "misc") if paper.kind else "misc"
    fields: list[tuple[str, str]] = [
        ("author", bibtex_authors(paper)),
        # the title's own capitals are kept: styles lower-case what is not braced
        ("title", "{" + bibtex_value(paper.title) + "}"),
    ]
    if entry_type == "article":
        fields.append(("journal", bibtex_value(str(paper.container))))
    elif entry_type == "inproceedings":
        fields.append(("booktitle", bibtex_value(str(paper.container))))
    elif entry_type == "phdthesis":
        fields.append(("school", bibtex_value(str(paper.publisher))))
    else:
        how = f"arXiv preprint arXiv:{paper.arxiv}" if paper.kind is PaperKind.PREPRINT and paper.arxiv else paper.venue
        fields.append(("howpublished", bibtex_value(how)))
    fields.append(("year", str(paper.year)))
    if paper.volume is not None:
        fields.append(("volume", bibtex_value(str(paper.volume))))
    if paper.issue is not None:
        fields.append(("number", bibtex_value(str(paper.issue))))
    if paper.pages:
        fields.append(("pages", _pages(paper).replace("-", "--")))
    if paper.publisher and entry_type != "phdthesis":
        fields.append(("publisher", bibtex_value(paper.publisher)))
    if paper.place:
        fields.append(("address", bibtex_value(paper.place)))
    if paper.doi:
        fields.append(("doi", bibtex_url(paper.doi)))
    if paper.arxiv:
        fields += [("eprint", paper.arxiv), ("archivePrefix", "arXiv")]
    url = paper.online_url
    if url:
        fields.append(("url", bibtex_url(url)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{bibtex_key(d)},\n{body}\n}}"


def bibtex_for(d: Dataset) -> BibEntry | None:
    """The dataset's BibTeX entry: the verbatim one when the data has it, else one made from the paper."""
    if d.citation.bibtex:
        return BibEntry(d.citation.bibtex.strip(), generated=False)
    entry = generated_bibtex(d)
    return BibEntry(entry, generated=True) if entry else None


_KEY = re.compile(r"(@[A-Za-z]+\s*\{\s*)([^\s,]+)")


def bib_file(datasets: Sequence[Dataset], entries: Mapping[str, BibEntry | None] | None = None) -> str:
    """A .bib file: each entry after comment lines naming its dataset and where it comes from.

    Keys are unique in the file (a repeated key makes tools drop or merge entries): an entry
    whose key an earlier one has is written with the dataset's id added to its key, and a
    comment line says so.
    """
    parts = []
    seen: set[str] = set()
    for d in datasets:
        entry = entries[d.id] if entries is not None else bibtex_for(d)
        if entry is None:
            continue
        origin = (
            "generated from the paper record (no verbatim BibTeX found)"
            if entry.generated
            else f"source: {d.citation.source.en}"  # one file for both sites, in English like BibTeX itself
        )
        lines = [f"% {bibtex_comment(d.name)}", f"% {bibtex_comment(origin)}"]
        text = entry.text
        head = _KEY.match(text)
        if head:
            key = head.group(2)
            if key.casefold() in seen:
                new_key = f"{key}-{d.id}"
                lines.append(f"% key {bibtex_comment(key)} renamed {new_key}: an entry above has it")
                text = head.group(1) + new_key + text[head.end() :]
                key = new_key
            seen.add(key.casefold())
        parts.append("\n".join(lines) + "\n" + text + "\n")
    return "\n".join(parts)


@dataclass(frozen=True)
class PageCitation:
    """What a dataset page shows under "Citation"."""

    bibtex: BibEntry | None
    gbt7714: str | None
    bib_path: str | None  # docs-relative .bib of the dataset, when it has an entry
    croissant_path: str


def bib_path(d: Dataset) -> str:
    return f"datasets/{d.id}.bib"


def croissant_path(d: Dataset) -> str:
    # beside the language's sitemap.xml, not under datasets/: the page's <head> links it as an
    # alternate, and Material's script fetches "sitemap.xml" next to every alternate it finds
    return f"datasets.{d.id}.croissant.json"


def page_citation(d: Dataset) -> PageCitation:
    entry = bibtex_for(d)
    return PageCitation(
        bibtex=entry,
        gbt7714=gbt7714(d.links.paper, cited_on(d)) if d.links.paper else None,
        bib_path=bib_path(d) if entry else None,
        croissant_path=croissant_path(d),
    )
