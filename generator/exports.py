"""Catalog -> machine-readable files and metadata: JSON, CSV, BibTeX, Croissant, schema.org (pure).

Input: a valid ``Catalog`` (in reading order, from ``related.ordered``) and the site's address.
Output: ``ExportFile`` values (a docs-relative path and its text) and JSON-LD dicts. Same
input, same bytes. Each format says only what the data knows: an unknown licence or access
is left out, never guessed.

- ``datasets.json``: everything the data has, plus each dataset's citations as text.
- ``datasets.csv``: for spreadsheets: UTF-8 with a byte-order mark (Excel reads BOM-less
  UTF-8 as the local code page: mojibake on a Chinese Windows), every figure as value,
  qualifier and verified columns, units in the header, and cells a spreadsheet would run
  as a formula prefixed with ``'`` (OWASP's advice for CSV injection).
- ``datasets.bib`` and ``datasets/<id>.bib``: BibTeX (see ``citations.py``).
- ``datasets.<id>.croissant.json`` and ``datasets.croissant.json``: Croissant 1.1 (MLCommons),
  the metadata Hugging Face, Kaggle and OpenML publish and Google Dataset Search reads.
- ``schema_org``: the schema.org ``Dataset`` JSON-LD of a page.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pydantic_core

from generator.citations import (
    BibEntry,
    bib_file,
    bib_path,
    bibtex_for,
    cited_on,
    croissant_path,
    gbt7714,
)
from generator.memo import PerDataset
from generator.model import (
    Access,
    Author,
    Dataset,
    Figure,
    Lang,
    Licence,
)
from generator.strings import label, t

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"
CATALOGUE_CROISSANT = "datasets.croissant.json"  # the catalogue's own, at the language's root
# Croissant 1.1's @context, as the specification and mlcroissant write it
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
# Croissant wants a checksum for every file; a dataset's download link is a landing page or a
# repository whose bytes change, so there is none to give. Hugging Face's Croissant files
# write this address (the Croissant issue about exactly this) in its place; so do we.
NO_CHECKSUM = "https://github.com/mlcommons/croissant/issues/80"
_FORMATS = (
    (re.compile(r"\.zip$", re.I), "application/zip"),
    (re.compile(r"\.(?:tar\.gz|tgz)$", re.I), "application/x-gzip"),
    (re.compile(r"\.tar$", re.I), "application/x-tar"),
    (re.compile(r"\.json$", re.I), "application/json"),
    (re.compile(r"\.csv$", re.I), "text/csv"),
)


@dataclass(frozen=True)
class ExportFile:
    path: str  # relative to the docs folder, POSIX separators
    text: str


# ---------------------------------------------------------------- shared pieces


def licence_urls(lic: Licence) -> list[str]:
    """The licence as the address of its text: an SPDX id's own page, or the custom terms' page."""
    if lic.spdx:
        cc = re.fullmatch(r"CC-(BY(?:-NC)?(?:-SA|-ND)?)-(\d\.\d)", lic.spdx)
        if cc:
            return [f"https://creativecommons.org/licenses/{cc.group(1).lower()}/{cc.group(2)}/"]
        if lic.spdx == "CC0-1.0":
            return ["https://creativecommons.org/publicdomain/zero/1.0/"]
        return [f"https://spdx.org/licenses/{lic.spdx}.html"]
    if lic.terms and lic.url:
        return [lic.url]
    return []


_NOTE = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_NOT_A_NAME = re.compile(r"\b(?:not verified|unverified)\b|未核实|未经核实", re.I)


def organisation_name(text: str) -> str | None:
    """An organisation's name without the editorial note the data may add in brackets; None when
    the data says the attribution is not verified ("ETH Zurich (not verified)", "Not verified
    (…)"): a creator is stated only when it is known."""
    if _NOT_A_NAME.search(text):
        return None
    name = text
    while _NOTE.search(name):
        name = _NOTE.sub("", name)
    return name or None


def person(author: Author) -> dict[str, Any]:
    out: dict[str, Any] = {"@type": "Person", "name": str(author), "familyName": author.family}
    if author.given:
        out["givenName"] = author.given
    return out


def creators(d: Dataset, lang: Lang) -> list[dict[str, Any]]:
    people = [person(a) for a in d.links.paper.authors] if d.links.paper else []
    orgs = [
        {"@type": "Organization", "name": name}
        for o in d.organisations
        if (name := organisation_name(o[lang])) is not None
    ]
    return people + orgs


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


def _encoding_format(url: str) -> str:
    path = urlsplit(url).path
    for pattern, mime in _FORMATS:
        if pattern.search(path):
            return mime
    host = urlsplit(url).netloc.lower()
    if host in ("github.com", "gitlab.com") and path.strip("/").count("/") == 1:
        return "git+https"  # a repository itself
    return "text/html"  # a landing page


def keywords(d: Dataset, lang: Lang) -> list[str]:
    return [label(x, lang) for x in d.tasks] + [label(x, lang) for x in d.scenes]


# ---------------------------------------------------------------- schema.org


def schema_org(d: Dataset, lang: Lang, url: str) -> dict[str, Any]:
    """The page's schema.org ``Dataset``: only what the data knows."""
    paper = d.links.paper
    same_as = [u for u in [d.links.homepage, paper.url if paper else None] if u]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": d.name,
        "alternateName": [d.full_name[lang], *d.aliases],
        "description": d.summary[lang] + " " + d.description[lang],
        "url": url,
        "sameAs": same_as,
        "creator": creators(d, lang),
        "datePublished": str(d.year),
        "keywords": keywords(d, lang),
        "inLanguage": "zh-CN" if lang is Lang.ZH else "en",
    }
    # free to get (with or without an account); on application, defunct or unknown: not said
    if d.access in (Access.OPEN, Access.REGISTRATION):
        data["isAccessibleForFree"] = True
    licences = licence_urls(d.licence)
    if licences:
        data["license"] = licences[0] if len(licences) == 1 else licences
    if paper:
        article: dict[str, Any] = {
            "@type": "ScholarlyArticle",
            "name": paper.title,
            "author": [person(a) for a in paper.authors],
            "datePublished": str(paper.year),
        }
        if paper.container:
            article["isPartOf"] = {"@type": "Periodical" if paper.kind == "journal-article" else "CreativeWork", "name": paper.container}
        if paper.doi:
            # the DOI is the paper's, not the dataset's: it identifies the citation
            article["identifier"] = doi_url(paper.doi)
            article["sameAs"] = doi_url(paper.doi)
        if paper.online_url:
            article["url"] = paper.online_url
        data["citation"] = article
    else:
        entry = bibtex_for(d)
        if entry:
            data["citation"] = entry.text
    data["distribution"] = [
        {"@type": "DataDownload", "contentUrl": link.url, "name": link.label[lang] if link.label else d.name}
        for link in d.links.downloads
    ]
    return data


# ---------------------------------------------------------------- Croissant


def _both(text_zh: str, text_en: str) -> dict[str, str]:
    return {"en": text_en, "zh": text_zh}


def croissant(d: Dataset, site_url: str, entry: BibEntry | None = None) -> dict[str, Any]:
    """One dataset's Croissant 1.1 metadata, in both languages (names and descriptions as language maps)."""
    page_zh = f"{site_url}datasets/{d.id}/"
    page_en = f"{site_url}en/datasets/{d.id}/"
    paper = d.links.paper
    same_as = [page_zh, page_en]
    if paper and paper.online_url:
        same_as.append(paper.online_url)
    if paper and paper.doi:
        same_as.append(doi_url(paper.doi))
    data: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_1_1,
        "name": d.name,
        "alternateName": [d.full_name.en, d.full_name.zh, *d.aliases],
        "description": _both(d.summary.zh + " " + d.description.zh, d.summary.en + " " + d.description.en),
        "url": d.links.homepage or page_en,
        "sameAs": same_as,
        "creator": creators(d, Lang.EN),
        "datePublished": str(d.year),
        "keywords": sorted(set(keywords(d, Lang.EN) + keywords(d, Lang.ZH))),
        "inLanguage": ["en", "zh"],
        "isLiveDataset": False,
    }
    licences = licence_urls(d.licence)
    if licences:
        data["license"] = licences
    entry = entry or bibtex_for(d)
    if entry:
        data["citeAs"] = entry.text
    if d.access in (Access.OPEN, Access.REGISTRATION):
        data["isAccessibleForFree"] = True
    data["distribution"] = [
        {
            "@type": "cr:FileObject",
            "@id": f"download-{i + 1}",
            "name": f"download-{i + 1}",
            **({"description": _both(link.label.zh, link.label.en)} if link.label else {}),
            "contentUrl": link.url,
            "encodingFormat": _encoding_format(link.url),
            "sha256": NO_CHECKSUM,
        }
        for i, link in enumerate(d.links.downloads)
    ]
    return data


# the catalogue's CSV as a Croissant record set: (column, data type, description)
_CSV_FIELDS = (
    ("id", "sc:Text", "Stable slug of the dataset, used in the site's addresses"),
    ("name", "sc:Text", "Short name as commonly written"),
    ("year (YYYY)", "sc:Integer", "Year of first public release"),
    ("images (number)", "sc:Integer", "Number of images; empty when not known"),
    ("images qualifier (exact / approx / at-least)", "sc:Text", "Whether the image count is exact, approximate or a lower bound"),
    ("images verified (true / false)", "sc:Boolean", "Whether the image count was confirmed from a primary source"),
    ("classes (number)", "sc:Integer", "Number of classes (SKUs or categories); empty when not known"),
)


def catalogue_croissant(datasets: Sequence[Dataset], files: Sequence[ExportFile], site_url: str) -> dict[str, Any]:
    """The catalogue itself as a Croissant dataset: its export files (with their checksums) and
    the CSV's main columns as a record set."""
    by_path = {f.path: f for f in files}
    formats = {"datasets.json": "application/json", "datasets.csv": "text/csv", "datasets.bib": "application/x-bibtex"}
    distribution = [
        {
            "@type": "cr:FileObject",
            "@id": path,
            "name": path,
            "contentUrl": f"{site_url}{path}",
            "encodingFormat": mime,
            "sha256": hashlib.sha256(by_path[path].text.encode("utf-8")).hexdigest(),
        }
        for path, mime in formats.items()
    ]
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"datasets/{re.sub(r'[^a-z]+', '_', column.split(' (')[0])}",
            "name": re.sub(r"[^a-z]+", "_", column.split(" (")[0]),
            "description": description,
            "dataType": data_type,
            "source": {"fileObject": {"@id": "datasets.csv"}, "extract": {"column": column}},
        }
        for column, data_type, description in _CSV_FIELDS
    ]
    return {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_1_1,
        "name": t("site_name", Lang.EN),
        "alternateName": [t("site_name", Lang.ZH)],
        "description": {lang.value: t("catalogue_description", lang) for lang in (Lang.EN, Lang.ZH)},
        "url": site_url,
        "sameAs": [f"{site_url}en/"],
        # the newest entry's date: what changes when the catalogue does (no clock)
        "dateModified": max(d.added for d in datasets).isoformat(),
        "keywords": ["SKU", "retail", "product recognition", "dataset survey"],
        "inLanguage": ["en", "zh"],
        "isLiveDataset": False,
        "hasPart": [{"@type": "sc:Dataset", "name": d.name, "url": f"{site_url}{croissant_path(d)}"} for d in datasets],
        "distribution": distribution,
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "datasets",
                "name": "datasets",
                "description": {"en": "One record per dataset of the catalogue", "zh": "每个数据集一条记录"},
                "field": fields,
            }
        ],
    }


def croissant_json(data: dict[str, Any]) -> str:
    # what json.dumps(ensure_ascii=False, indent=2) writes, 10x faster (see export_json)
    return pydantic_core.to_json(data, indent=2).decode("utf-8") + "\n"


# ---------------------------------------------------------------- JSON


def export_json(datasets: Sequence[Dataset]) -> str:
    """Everything the data has, and each dataset's citations as the site shows them."""
    if not datasets:
        return pydantic_core.to_json({"datasets": []}, indent=2).decode("utf-8") + "\n"
    # each record as the whole file's serialiser would write it at that depth: the file is
    # the same bytes, and a dataset's record is made once while its model lives (memo.py)
    return '{\n  "datasets": [\n' + ",\n".join(_json_record(d) for d in datasets) + "\n  ]\n}\n"


def _record(d: Dataset) -> dict[str, Any]:
    record = d.model_dump(mode="json")
    entry = _bibtex(d)
    record["citations"] = {
        "gbt7714": gbt7714(d.links.paper, cited_on(d)) if d.links.paper else None,
        "bibtex": entry.text if entry else None,
        "bibtex_generated": entry.generated if entry else None,
    }
    return record


def _record_text(d: Dataset) -> str:
    # pydantic-core's serialiser writes what json.dumps(ensure_ascii=False, indent=2) does,
    # 10x faster (json.dumps falls back to pure Python when indenting)
    text = pydantic_core.to_json(_record(d), indent=2).decode("utf-8")
    return "    " + text.replace("\n", "\n    ")  # two levels down: the file's object, then its list


_bibtex = PerDataset(bibtex_for)
_json_record = PerDataset(_record_text)
_croissant_texts: PerDataset[dict[str, str]] = PerDataset(lambda d: {})  # site address -> text


def _croissant_text(d: Dataset, site_url: str) -> str:
    made = _croissant_texts(d)
    if site_url not in made:
        made[site_url] = croissant_json(croissant(d, site_url, _bibtex(d)))
    return made[site_url]


# ---------------------------------------------------------------- CSV


BOM = "\ufeff"
# OWASP (CSV injection): a cell starting with one of these is a formula to a spreadsheet
_FORMULA_START = frozenset({"=", "+", "-", "@", "\t", "\r"})


def csv_cell(value: str | int | None) -> str:
    """A text cell a spreadsheet shows as text: formulas neutralised with a leading ``'``."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    first = value[:1]
    if first in _FORMULA_START or (first == " " and value.lstrip(" ")[:1] in _FORMULA_START):
        return "'" + value
    return value


def _figure_cells(fig: Figure | None) -> list[str | int | None]:
    if fig is None:
        return [None, None, None]
    return [fig.value, fig.qualifier.value, "true" if fig.verified else "false"]


CSV_HEADER = [
    "id", "name", "full name (en)", "full name (zh)", "year (YYYY)",
    "tasks (; separated)", "scenes (; separated)", "SKU level (yes / partly / no / unverified)",
    "images (number)", "images qualifier (exact / approx / at-least)", "images verified (true / false)",
    "classes (number)", "classes qualifier (exact / approx / at-least)", "classes verified (true / false)",
    "instances (number)", "instances qualifier (exact / approx / at-least)", "instances verified (true / false)",
    "licence (SPDX id / custom / unknown)", "licence URL", "access", "homepage",
    "paper title", "paper URL", "arXiv id", "DOI", "in original survey (true / false)",
    "confidence (high / medium / low)", "added (YYYY-MM-DD)",
]


def export_csv(datasets: Sequence[Dataset]) -> str:
    buf = io.StringIO()
    # minimal quoting: a cell holding a newline, a comma or a quote is quoted, so a newline
    # stays inside its cell
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for d in datasets:
        s, paper = d.stats, d.links.paper
        lic = d.licence
        row: list[str | int | None] = [
            d.id, d.name, d.full_name.en, d.full_name.zh, d.year,
            ";".join(d.tasks), ";".join(d.scenes), d.sku_level.level.value,
            *_figure_cells(s.images), *_figure_cells(s.classes), *_figure_cells(s.instances),
            lic.spdx or ("custom" if lic.terms else "unknown"), (licence_urls(lic) or [lic.url])[0],
            d.access.value, d.links.homepage,
            paper.title if paper else None, paper.url if paper else None,
            paper.arxiv if paper else None, paper.doi if paper else None,
            "true" if d.in_seed else "false", d.confidence.value, d.added.isoformat(),
        ]
        writer.writerow([csv_cell(v) for v in row])
    return BOM + buf.getvalue()


# ---------------------------------------------------------------- all files


def export_files(datasets: Sequence[Dataset], site_url: str = "") -> list[ExportFile]:
    """The catalogue's files and each dataset's .bib and Croissant file (the same in both languages)."""
    entries = {d.id: _bibtex(d) for d in datasets}  # once: four files show each entry
    files = [
        ExportFile("datasets.json", export_json(datasets)),
        ExportFile("datasets.csv", export_csv(datasets)),
        ExportFile("datasets.bib", bib_file(datasets, entries)),
    ]
    for d in datasets:
        if entries[d.id]:
            files.append(ExportFile(bib_path(d), bib_file([d], entries)))
        files.append(ExportFile(croissant_path(d), _croissant_text(d, site_url)))
    files.append(ExportFile(CATALOGUE_CROISSANT, croissant_json(catalogue_croissant(datasets, files, site_url))))
    return files
