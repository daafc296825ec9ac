"""The data exports and metadata, read back with the tools their readers use: bibtexparser for
BibTeX, mlcroissant for Croissant, the csv module for the CSV (as a spreadsheet would get it),
json for JSON-LD; with hostile text in every exported field."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import bibtexparser
import mlcroissant as mlc
import pytest
from jinja2.utils import htmlsafe_json_dumps

from generator.citations import croissant_path
from generator.document import parse_document
from generator.exports import (
    BOM,
    CSV_HEADER,
    NO_CHECKSUM,
    catalogue_croissant,
    croissant,
    csv_cell,
    export_files,
    licence_urls,
    organisation_name,
    schema_org,
)
from generator.load import load_document
from generator.model import Access, Catalog, Dataset, Lang, Licence
from generator.render import RenderInputs, ordered, render_pages
from generator.site import BuildOptions, build_site
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
SITE = "https://example.org/"


def real_catalog() -> Catalog:
    return validate_document(load_document(ROOT / "data" / "datasets.yaml", "data/datasets.yaml"), ROOT / "data")


def fixture_raw() -> list[dict[str, Any]]:
    return parse_document(FIXTURE.read_bytes(), FIXTURE, "tests/fixtures/minimal.yaml").data["datasets"]


def files_of(catalog: Catalog) -> dict[str, str]:
    return {f.path: f.text for f in export_files(ordered(catalog), SITE)}


def read_csv(text: str) -> list[list[str]]:
    assert text.startswith(BOM), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(text[len(BOM):], newline="")))


# ---------------------------------------------------------------- hostile text in every field

# Each would do something if a format let it: start a formula, open or close a BibTeX entry or
# group, end a comment line, close a <script>, break a CSV row or a JSON string.
HOSTILE = [
    '=HYPERLINK("http://evil.example/","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "}, evil = {x",
    "x} @misc{evil1, title={pwned}",
    "@article{evil2,\n  title = {pwned}\n}",
    "line one\n@misc{evil3, title={pwned}}\n% comment",
    "100% \\input{/etc/passwd} {\\",
    "</script><script>alert(1)</script>",
    '"quoted", with, commas & <tags>',
    "}}}}",
    "{{{{",
]


def hostile_catalog() -> Catalog:
    """The fixture's two datasets, once per hostile text, with that text in every exported text field."""
    base = fixture_raw()
    datasets = []
    for i, text in enumerate(HOSTILE):
        for j, raw in enumerate(base):
            d = copy.deepcopy(raw)
            d["id"] = f"{d['id']}-{i}"
            d["name"] = f"{text} {i}-{j}"
            d["full_name"] = {"zh": text, "en": text}
            d["aliases"] = [text]
            d["summary"] = {"zh": text, "en": text}
            d["description"] = {"zh": text, "en": text}
            d["organisations"] = [{"zh": text, "en": text}]
            d["citation"] = {"source": text, "bibtex": None}
            d["links"] = {
                **d["links"],
                "downloads": [{"url": "https://example.org/d.zip", "label": {"zh": text, "en": text}}],
                "paper": {
                    "kind": ["journal-article", "conference-paper", "preprint", "web-page"][i % 4],
                    "title": text,
                    # a name is one line (the model says so); everything else as it is
                    "authors": [" ".join(text.replace(",", " ").split()), {"family": " ".join(text.split()), "given": " ".join(text.split())}],
                    "venue": text,
                    "container": text,
                    "publisher": text,
                    "place": text,
                    "year": 2020,
                    "url": "https://example.org/paper",
                    "arxiv": "2001.00001",
                },
            }
            datasets.append(Dataset.model_validate(d))
    return Catalog(datasets=tuple(datasets))


@pytest.fixture(scope="module")
def hostile() -> tuple[Catalog, dict[str, str]]:
    catalog = hostile_catalog()
    return catalog, files_of(catalog)


def _parse_bib(text: str) -> bibtexparser.Library:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library


def test_hostile_text_cannot_open_or_close_a_bibtex_entry(hostile):
    catalog, files = hostile
    expected = [re.sub(r"[^a-z0-9]", "", d.id) + "2020" for d in ordered(catalog)]
    library = _parse_bib(files["datasets.bib"])
    assert [e.key for e in library.entries] == expected  # no entry more, none lost
    assert not library.strings and not library.preambles
    for d, entry in zip(ordered(catalog), library.entries, strict=True):
        fields = entry.fields_dict
        assert set(fields) >= {"author", "title", "year"}, entry.key
        assert fields["year"].value == "2020"
        # the hostile text survives as text (its words are still there)
        words = re.findall(r"[A-Za-z]{3,}", d.links.paper.title)
        assert all(w in fields["title"].value for w in words), (entry.key, fields["title"].value)
        assert fields["author"].value.count(" and ") == 1, fields["author"].value  # two authors stay two
    # every line outside an entry is a comment line; '@' only where an entry starts
    for line in files["datasets.bib"].splitlines():
        if "@" in line:
            assert re.match(r"@(article|inproceedings|misc)\{[a-z0-9]+,$", line), line


def test_each_dataset_bib_file_holds_its_one_entry(hostile):
    catalog, files = hostile
    for d in ordered(catalog):
        library = _parse_bib(files[f"datasets/{d.id}.bib"])
        assert [e.key for e in library.entries] == [re.sub(r"[^a-z0-9]", "", d.id) + "2020"]


def test_hostile_csv_cells_are_text_and_rows_stay_rows(hostile):
    catalog, files = hostile
    rows = read_csv(files["datasets.csv"])
    assert rows[0] == CSV_HEADER
    assert len(rows) == 1 + len(catalog.datasets)
    assert all(len(r) == len(CSV_HEADER) for r in rows)
    assert [r[0] for r in rows[1:]] == [d.id for d in ordered(catalog)]
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), cell
    title_col = CSV_HEADER.index("paper title")
    titles = [r[title_col] for r in rows[1:]]
    assert "line one\n@misc{evil3, title={pwned}}\n% comment" in titles  # newline kept inside its cell
    assert "'=HYPERLINK(\"http://evil.example/\",\"x\")" in titles


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", " =", "  @"])
def test_csv_formula_starts_get_a_quote(start):
    assert csv_cell(start + "1+1") == "'" + start + "1+1"


def test_csv_plain_text_and_numbers_are_unchanged():
    assert csv_cell("RPC") == "RPC" and csv_cell(83739) == "83739" and csv_cell(None) == ""
    assert csv_cell("a=b") == "a=b"


def test_hostile_json_and_json_ld_stay_well_formed(hostile):
    catalog, files = hostile
    exported = json.loads(files["datasets.json"])
    assert [d["id"] for d in exported["datasets"]] == [d.id for d in ordered(catalog)]
    for d in ordered(catalog):
        for lang in Lang:
            data = schema_org(d, lang, f"{SITE}datasets/{d.id}/")
            script = htmlsafe_json_dumps(data)  # what main.html's `tojson` writes into <script>
            assert "<" not in script and ">" not in script and "&" not in script
            assert json.loads(script) == data
        assert json.loads(files[croissant_path(d)])["name"] == d.name


def test_hostile_croissant_files_validate(hostile, tmp_path):
    catalog, files = hostile
    for d in ordered(catalog)[:4]:
        path = tmp_path / f"{d.id}.json"
        path.write_text(files[croissant_path(d)], encoding="utf-8")
        assert mlc.Dataset(jsonld=str(path)).metadata.name == d.name


def test_hostile_feed_is_well_formed_xml(hostile):
    catalog, _ = hostile
    for lang in Lang:
        [feed] = [p for p in render_pages(RenderInputs(catalog=catalog), lang, SITE) if p.path == "feed.xml"]
        root = ET.fromstring(feed.text.encode("utf-8"))
        titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
        assert any(t and HOSTILE[0] in t for t in titles)


# ---------------------------------------------------------------- the real catalogue


@pytest.fixture(scope="module")
def real() -> tuple[Catalog, dict[str, str]]:
    catalog = real_catalog()
    return catalog, files_of(catalog)


def test_every_real_bib_file_parses(real):
    catalog, files = real
    bibs = {path: text for path, text in files.items() if path.endswith(".bib")}
    assert "datasets.bib" in bibs and len(bibs) > 1
    whole = _parse_bib(bibs.pop("datasets.bib"))
    keys = [e.key for e in whole.entries]
    assert len(keys) == len(set(keys)) == len(bibs)
    for path, text in bibs.items():
        [entry] = _parse_bib(text).entries
        assert entry.key in keys, path
        author = entry.fields_dict.get("author")
        if author:
            assert "et al" not in author.value, (path, author.value)


def test_real_papers_are_typed_in_bibtex(real):
    catalog, files = real
    library = _parse_bib(files["datasets.bib"])
    by_key = {e.key: e for e in library.entries}
    for d in catalog.datasets:
        paper = d.links.paper
        if paper is None or d.citation.bibtex or paper.kind is None:
            continue
        entry = by_key[re.sub(r"[^a-z0-9]", "", d.id) + str(paper.year)]
        expected = {"journal-article": "article", "conference-paper": "inproceedings"}.get(paper.kind, "misc")
        assert entry.entry_type == expected, (d.id, entry.entry_type)
        if paper.doi:
            assert entry.fields_dict["doi"].value == paper.doi
        if paper.arxiv:
            assert entry.fields_dict["eprint"].value == paper.arxiv


def test_every_real_croissant_file_validates_with_mlcroissant(real, tmp_path):
    catalog, files = real
    paths = sorted(p for p in files if p.endswith(".croissant.json"))
    assert "datasets.croissant.json" in paths and len(paths) == len(catalog.datasets) + 1
    for rel in paths:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8")
        metadata = mlc.Dataset(jsonld=str(path)).metadata  # raises ValidationError on any error
        data = json.loads(files[rel])
        assert data["conformsTo"] == "http://mlcommons.org/croissant/1.1" and data["isLiveDataset"] is False
        assert metadata.name


def test_croissant_says_what_the_data_knows(real):
    catalog, _ = real
    for d in catalog.datasets:
        data = croissant(d, SITE)
        assert set(data["description"]) == {"en", "zh"}
        assert data["description"]["en"].startswith(d.summary.en)
        if d.licence.unknown:
            assert "license" not in data
        else:
            assert data["license"] == licence_urls(d.licence)
        assert [f["contentUrl"] for f in data["distribution"]] == [link.url for link in d.links.downloads]
        assert all(f["encodingFormat"] and f["sha256"] == NO_CHECKSUM for f in data["distribution"])
        if d.links.paper:
            assert data["citeAs"].lstrip().startswith("@")
        names = [c["name"] for c in data["creator"]]
        assert not any("verified" in n.lower() or "(" in n for n in names), names


def test_catalogue_croissant_describes_the_csv_and_its_checksums(real, tmp_path):
    catalog, files = real
    for rel in ("datasets.json", "datasets.csv", "datasets.bib"):
        (tmp_path / rel).write_text(files[rel], encoding="utf-8")
    data = catalogue_croissant(ordered(catalog), [f for f in export_files(ordered(catalog), "")], "")
    (tmp_path / "datasets.croissant.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    dataset = mlc.Dataset(jsonld=str(tmp_path / "datasets.croissant.json"))
    records = list(dataset.records("datasets"))
    ids = [r["datasets/id"].decode() for r in records]
    assert ids == [d.id for d in ordered(catalog)]  # the byte-order mark is not part of the first column
    first = ordered(catalog)[0]
    assert records[0]["datasets/name"].decode() == first.name
    assert records[0]["datasets/year"] == first.year


def test_schema_org_states_only_what_the_data_knows(real):
    catalog, _ = real
    for d in catalog.datasets:
        for lang in Lang:
            data = schema_org(d, lang, f"{SITE}datasets/{d.id}/")
            if d.access in (Access.OPEN, Access.REGISTRATION):
                assert data["isAccessibleForFree"] is True
            else:
                assert "isAccessibleForFree" not in data, d.id
            licence = data.get("license")
            if d.licence.unknown:
                assert licence is None
            if d.licence.spdx:
                assert licence.startswith(("https://creativecommons.org/", "https://spdx.org/licenses/")), licence
            for creator in data["creator"]:
                assert "verified" not in creator["name"].lower() and not re.search("[(（]|核实", creator["name"]), creator
            paper = d.links.paper
            if paper and paper.doi:
                assert data["citation"]["identifier"] == f"https://doi.org/{paper.doi}"


@pytest.mark.parametrize(
    ("spdx", "url"),
    [
        ("CC-BY-NC-SA-4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
        ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
        ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
        ("MIT", "https://spdx.org/licenses/MIT.html"),
    ],
)
def test_licences_are_their_urls(spdx, url):
    assert licence_urls(Licence(spdx=spdx)) == [url]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Trax Retail (data provider, per the Ultralytics config)", "Trax Retail"),
        ("Unverified (often attributed to Rivera-Rubio et al., Imperial College London)", None),
        ("Not verified (contact address at hhu.edu.cn)", None),
        ("The paper's academic co-authors (affiliations not verified)", None),
        ("Megvii Research Nanjing", "Megvii Research Nanjing"),
        ("卡内基梅隆大学（主要单位）", "卡内基梅隆大学"),
        ("苏黎世联邦理工学院（未核实）", None),
        ("哈尔滨工业大学（深圳）（仅见于原综述，未核实）", None),
    ],
)
def test_creator_names_lose_editorial_notes(text, name):
    assert organisation_name(text) == name


def test_csv_figures_carry_value_qualifier_and_verified():
    catalog = validate_document(load_document(FIXTURE, "tests/fixtures/minimal.yaml"), FIXTURE.parent)
    rows = read_csv(files_of(catalog)["datasets.csv"])
    header, *body = rows
    beta = dict(zip(header, next(r for r in body if r[0] == "beta"), strict=True))
    assert beta["images (number)"] == "5000"
    assert beta["images qualifier (exact / approx / at-least)"] == "approx"
    assert beta["images verified (true / false)"] == "false"
    assert beta["classes (number)"] == "" and beta["classes verified (true / false)"] == "false"
    assert beta["licence URL"] == "https://creativecommons.org/licenses/by/4.0/"


def test_json_carries_citations(real):
    catalog, files = real
    exported = {d["id"]: d for d in json.loads(files["datasets.json"])["datasets"]}
    for d in catalog.datasets:
        record = exported[d.id]
        assert record["citation"]["source"] == d.citation.source
        cites = record["citations"]
        if d.links.paper:
            assert cites["gbt7714"] and d.links.paper.title in cites["gbt7714"]
            assert record["links"]["paper"]["authors"][0]["family"] == d.links.paper.authors[0].family


# ---------------------------------------------------------------- links from the built pages


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.head: list[dict[str, str | None]] = []
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.head.append(dict(attrs))
        elif tag == "a":
            self.anchors.append(dict(attrs))


def test_built_pages_link_their_bib_croissant_and_feed(tmp_path):
    """A real MkDocs build of the fixture: every link to a data file resolves to a built file."""
    import shutil

    from generator.project import Project

    for name in ("site_src", "data"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copy(FIXTURE, tmp_path / "data" / "datasets.yaml")
    site = tmp_path / "site"
    build_site(Project(tmp_path), BuildOptions(site_dir=site, offline=True))
    for prefix in ("", "en/"):
        page = site / prefix / "datasets" / "beta" / "index.html"
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        base = f"https://h/{prefix}datasets/beta/"

        def target(href: str | None, base: str = base) -> Path:
            assert href
            return site / urljoin(base, href).removeprefix("https://h/")

        croissants = [tag for tag in parser.head if tag.get("rel") == "alternate" and tag.get("type") == "application/ld+json"]
        feeds = [tag for tag in parser.head if tag.get("rel") == "alternate" and tag.get("type") == "application/atom+xml"]
        assert len(croissants) == 1 and len(feeds) == 1
        assert json.loads(target(croissants[0]["href"]).read_text(encoding="utf-8"))["name"] == "Beta"
        for link in (*croissants, *feeds):  # Material's script fetches a sitemap.xml beside each alternate
            assert target(link["href"]).with_name("sitemap.xml").is_file(), link["href"]
        assert target(feeds[0]["href"]) == site / prefix / "feed.xml" and (site / prefix / "feed.xml").is_file()
        bibs = [a for a in parser.anchors if (a.get("href") or "").endswith(".bib")]
        assert len(bibs) == 1
        [entry] = _parse_bib(target(bibs[0]["href"]).read_text(encoding="utf-8")).entries
        assert entry.key == "beta2021"
        on_page = [a for a in parser.anchors if (a.get("href") or "").endswith(".croissant.json")]
        assert [target(a["href"]) for a in on_page] == [target(croissants[0]["href"])]

        home = _Links()
        home.feed((site / prefix / "index.html").read_text(encoding="utf-8"))
        [catalogue] = [tag for tag in home.head if tag.get("type") == "application/ld+json"]
        path = site / prefix / urljoin("https://h/x", catalogue["href"] or "").removeprefix("https://h/")
        assert path == site / prefix / "datasets.croissant.json"
        assert sorted(d["name"] for d in json.loads(path.read_text(encoding="utf-8"))["hasPart"]) == ["Alpha", "Beta"]


def test_catalogue_bib_keys_stay_unique_when_two_entries_share_one():
    raw = fixture_raw()
    twin = copy.deepcopy(raw[1])
    twin["id"], twin["name"] = "beta-twin", "Beta twin"
    catalog = Catalog(datasets=tuple(Dataset.model_validate(d) for d in (*raw, twin)))
    library = _parse_bib(files_of(catalog)["datasets.bib"])
    assert [e.key for e in library.entries] == ["beta2021", "beta2021-beta-twin"]
    assert _parse_bib(files_of(catalog)["datasets/beta-twin.bib"]).entries[0].key == "beta2021"  # its own file: verbatim
