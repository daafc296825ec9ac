"""Citations: the Paper model's checks (located), GB/T 7714-2015 against the standard's own
examples, and typed BibTeX read back by bibtexparser."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
from edits import replace_once

from generator.citations import bib_file, bibtex_for, cited_on, gbt7714, gbt_authors, gbt_name
from generator.document import parse_document
from generator.errors import ProblemsFound
from generator.load import load_document
from generator.model import Author, Dataset, Paper, PaperKind, Script
from generator.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")


def paper(**fields: Any) -> Paper:
    fields.setdefault("venue", "somewhere")
    return Paper.model_validate(fields)


# ---------------------------------------------------------------- GB/T 7714-2015, Appendix A
# Each reference below is an example printed in GB/T 7714-2015 (Appendix A and §8), typed in
# from the standard; where the model has no field for a part of the example (an editor, the
# /OL carrier of a journal article read online) the example is given without that part, as
# the comment says.

STANDARD_EXAMPLES = [
    (  # A.5 journal article, one Western author
        dict(kind="journal-article", title="Shaking without quaking", authors=["H. Kanamori"],
             container="Science", year=1998, volume=279, issue=5359, pages="2063"),
        "KANAMORI H. Shaking without quaking[J]. Science, 1998, 279(5359): 2063.",
    ),
    (  # A.5 journal article, page range
        dict(kind="journal-article", title="Cataloging internet resources", authors=["P. Caplan"],
             container="The Public Access Computer Systems Review", year=1993, volume=4, issue=2, pages="61-66"),
        "CAPLAN P. Cataloging internet resources[J]. The Public Access Computer Systems Review, 1993, 4(2): 61-66.",
    ),
    (  # A.5 journal article, Chinese, more than three authors: 等
        dict(kind="journal-article", title="蓝田生物群: 一个认识多细胞生物起源和早期演化的新窗口",
             authors=["袁训来", "陈哲", "肖书海", "万斌"], container="科学通报", year=2012, volume=55, issue=34, pages="3219"),
        "袁训来, 陈哲, 肖书海, 等. 蓝田生物群: 一个认识多细胞生物起源和早期演化的新窗口[J]. 科学通报, 2012, 55(34): 3219.",
    ),
    (  # A.5 journal article read online (printed as [J/OL] with its citation date and URL), DOI appended
        dict(kind="journal-article", title="Next-generation sequencing: from understanding biology to personalized medicine",
             authors=["K. S. Frese", "H. A. Katus", "B. Meder"], container="Biology", year=2013, volume=2, issue=1,
             pages="378-398", doi="10.3390/biology2010378"),
        "FRESE K S, KATUS H A, MEDER B. Next-generation sequencing: from understanding biology to personalized medicine[J]. "
        "Biology, 2013, 2(1): 378-398. DOI:10.3390/biology2010378.",
    ),
    (  # A.4 contribution to proceedings [C]// (the example's editor "中国图书馆学会." is not modelled)
        dict(kind="conference-paper", title="面向数字素养的高校图书馆数字服务体系研究", authors=["贾东琴", "柯平"],
             container="中国图书馆学会年会论文集: 2011年卷", place="北京", publisher="国家图书馆出版社", year=2011, pages="45-52"),
        "贾东琴, 柯平. 面向数字素养的高校图书馆数字服务体系研究[C]//中国图书馆学会年会论文集: 2011年卷. 北京: 国家图书馆出版社, 2011: 45-52.",
    ),
    (  # A.2 thesis, Chinese, with the page cited
        dict(kind="thesis", title="人类活动影响下海河流域典型区水循环变化分析", authors=["马欢"],
             place="北京", publisher="清华大学", year=2011, pages="27"),
        "马欢. 人类活动影响下海河流域典型区水循环变化分析[D]. 北京: 清华大学, 2011: 27.",
    ),
    (  # A.2 thesis, Western
        dict(kind="thesis", title="Infrared spectroscopic studies on solid oxygen", authors=["R. B. Calms"],
             place="Berkeley", publisher="Univ. of California", year=1965),
        "CALMS R B. Infrared spectroscopic studies on solid oxygen[D]. Berkeley: Univ. of California, 1965.",
    ),
    (  # A.8 electronic resource with update and citation dates
        dict(kind="web-page", title="UNIMARC and metadata: Dublin Core", authors=["A. Hopkinson"], year=2009,
             url="http://archive.ifla.org/IV/ifla64/138-161e.htm", updated="2009-04-22", checked="2013-03-27"),
        "HOPKINSON A. UNIMARC and metadata: Dublin Core[EB/OL]. (2009-04-22)[2013-03-27]. http://archive.ifla.org/IV/ifla64/138-161e.htm.",
    ),
    (  # A.8 electronic resource, an organisation as author, no update date
        dict(kind="web-page", title="About OCLC: history of cooperation",
             authors=[{"family": "Online Computer Library Center, Inc.", "corporate": True}], year=2012,
             url="http://www.oclc.org/about/cooperation.en.html", checked="2012-03-27"),
        "Online Computer Library Center, Inc. About OCLC: history of cooperation[EB/OL]. [2012-03-27]. http://www.oclc.org/about/cooperation.en.html.",
    ),
    (  # A.8 electronic resource, Chinese
        dict(kind="web-page", title="出版业信息化迈入快车道", authors=["萧钰"], year=2001,
             url="http://www.creader.com/news/20011219/200112190019.html", updated="2001-12-19", checked="2002-04-15"),
        "萧钰. 出版业信息化迈入快车道[EB/OL]. (2001-12-19)[2002-04-15]. http://www.creader.com/news/20011219/200112190019.html.",
    ),
    (  # §8.1.3: more than three Western authors: the first three and "et al." (8.1.3's FORDHAM example)
        dict(kind="journal-article", title="Atlas of total body radionuclide imaging",
             authors=["E. W. Fordham", "A. Ali", "D. A. Turner", "J. R. Charters"], container="X", year=1982),
        "FORDHAM E W, ALI A, TURNER D A, et al. Atlas of total body radionuclide imaging[J]. X, 1982.",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), STANDARD_EXAMPLES, ids=[e[1][:30] for e in STANDARD_EXAMPLES])
def test_gbt7714_matches_the_standards_examples(fields, expected):
    p = paper(**fields)
    assert gbt7714(p, p.checked or dt.date(2026, 1, 1)) == expected


def test_gbt7714_conference_paper_without_place_or_publisher_says_so_in_the_references_language():
    western = paper(kind="conference-paper", title="T", authors=["Ann Lee"], container="Proc. of X", year=2020, pages="1-9")
    chinese = paper(kind="conference-paper", title="题", authors=["李安"], container="某会议论文集", year=2020)
    assert gbt7714(western, dt.date(2026, 1, 1)) == "LEE A. T[C]//Proc. of X. [S.l.]: [s.n.], 2020: 1-9."
    assert gbt7714(chinese, dt.date(2026, 1, 1)) == "李安. 题[C]//某会议论文集. [出版地不详]: [出版者不详], 2020."


def test_gbt7714_preprint_cites_arxiv_with_the_checked_date_never_the_clock():
    p = paper(kind="preprint", title="RPC", authors=["Xiu-Shen Wei"], year=2019, arxiv="1901.07249")
    assert gbt7714(p, dt.date(2026, 11, 25)) == "WEI X S. RPC[EB/OL]. arXiv, 2019[2026-11-25]. https://arxiv.org/abs/1901.07249."
    d = _dataset(paper={"kind": "preprint", "title": "RPC", "authors": ["Xiu-Shen Wei"], "venue": "arXiv", "year": 2019, "arxiv": "1901.07249"})
    assert cited_on(d) == d.added == dt.date(2026, 11, 25)
    checked = _dataset(paper={"kind": "preprint", "title": "RPC", "authors": ["Xiu-Shen Wei"], "venue": "arXiv", "year": 2019,
                              "arxiv": "1901.07249", "checked": "2026-12-01"})
    assert cited_on(checked) == dt.date(2026, 12, 1)


def test_untyped_paper_is_other_z_not_guessed_from_its_venue():
    p = paper(title="Grocery shelves", authors=["Gül Varol"], venue="ICIVC 2014", year=2014)
    assert gbt7714(p, dt.date(2026, 1, 1)) == "VAROL G. Grocery shelves[Z]. ICIVC 2014, 2014."


@pytest.mark.parametrize(
    ("author", "shown"),
    [
        ("Xiu-Shen Wei", "WEI X S"),
        ("An-ti Chiang", "CHIANG A T"),
        ("M. Hadi Kiapour", "KIAPOUR M H"),
        ("Wei, Xiu-Shen", "WEI X S"),
        ({"family": "Yago Vicente", "given": "Tomas F."}, "YAGO VICENTE T F"),
        ("魏秀参", "魏秀参"),
        ({"family": "欧阳", "given": "修"}, "欧阳修"),
        ("Plato", "PLATO"),
    ],
)
def test_names_family_in_capitals_then_initials_and_han_names_in_full(author, shown):
    assert gbt_name(Author.model_validate(author)) == shown


def test_script_is_read_from_the_name():
    assert Author.model_validate("魏秀参").script is Script.HAN
    assert Author.model_validate("Xiu-Shen Wei").script is Script.LATIN
    assert Author.model_validate({"family": "Wei", "given": "Xiu-Shen", "script": "latin"}).family == "Wei"


def test_et_al_after_three_authors_and_when_the_list_is_incomplete():
    three = paper(title="T", authors=["A Aa", "B Bb", "C Cc"], year=2020)
    assert gbt_authors(three) == "AA A, BB B, CC C"
    short = paper(title="T", authors=["Fangyi Chen", "et al."], year=2022)  # today's shape
    assert short.more_authors and [str(a) for a in short.authors] == ["Fangyi Chen"]
    assert gbt_authors(short) == "CHEN F, et al."
    inline = paper(title="T", authors=["Arnaud Belletoile et al."], year=2016)
    assert inline.more_authors and gbt_authors(inline) == "BELLETOILE A, et al."
    han = paper(title="题", authors=["甲乙", "丙丁", "戊己", "庚辛"], year=2020)
    assert gbt_authors(han) == "甲乙, 丙丁, 戊己, 等"


# ---------------------------------------------------------------- located errors


def _problems(tmp_path: Path, text: str) -> list[str]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    path = data_dir / "datasets.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProblemsFound) as info:
        validate_document(load_document(path, "data/datasets.yaml"), data_dir)
    return [str(p) for p in info.value.problems]


def _with_paper(paper_yaml: str) -> str:
    return replace_once(MINIMAL, "      homepage: https://example.org/alpha\n", "      homepage: https://example.org/alpha\n      paper:\n" + paper_yaml)


def _line(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def test_journal_article_without_journal_is_located_at_the_paper(tmp_path):
    text = _with_paper("        kind: journal-article\n        title: T\n        authors: [Ann Lee]\n        venue: J\n        year: 2020\n")
    [problem] = _problems(tmp_path, text)
    assert problem.startswith(f"data/datasets.yaml:{_line(text, 'kind: journal-article')}:")
    assert "datasets[0] (alpha).links.paper" in problem and "`container`" in problem and "journal" in problem


@pytest.mark.parametrize(
    ("field_yaml", "needle", "words"),
    [
        ("        pages: about ten\n", "pages: about ten", ["expected pages like", "'about ten'"]),
        ("        kind: novel\n", "kind: novel", ["journal-article", "conference-paper", "'novel'"]),
        ("        doi: doi:10.1/x\n", "doi: doi:10.1/x", ["expected a DOI"]),
        ("        updated: yesterday\n", "updated: yesterday", ["YYYY-MM-DD"]),
        ("        volume: [1]\n", "volume: [1]", ["volume"]),
    ],
)
def test_bad_paper_fields_are_located_at_their_line(tmp_path, field_yaml, needle, words):
    text = _with_paper("        title: T\n        authors: [Ann Lee]\n        venue: V\n        year: 2020\n" + field_yaml)
    problems = _problems(tmp_path, text)
    assert problems, "expected a problem"
    assert any(p.startswith(f"data/datasets.yaml:{_line(text, needle)}:") for p in problems), problems
    assert all(any(w in p for p in problems) for w in words), problems


def test_et_al_in_the_middle_of_the_list_is_not_a_name(tmp_path):
    text = _with_paper("        title: T\n        authors: [Ann Lee, et al., Bo Li]\n        venue: V\n        year: 2020\n")
    [problem] = _problems(tmp_path, text)
    assert f":{_line(text, 'authors: [Ann Lee')}:" in problem and "more_authors: true" in problem


def test_structured_author_missing_family_is_located(tmp_path):
    text = _with_paper("        title: T\n        authors:\n          - {given: Ann}\n        venue: V\n        year: 2020\n")
    [problem] = _problems(tmp_path, text)
    assert problem.startswith(f"data/datasets.yaml:{_line(text, '{given: Ann}')}:") and "`family`" in problem


def test_todays_paper_shape_still_validates(tmp_path):
    text = _with_paper("        title: T\n        authors: [Ann Lee, Bo Li]\n        venue: ECCV 2020\n        year: 2020\n"
                       "        url: https://arxiv.org/abs/2008.11586\n        arxiv: \"2008.11586\"\n")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "datasets.yaml").write_text(text, encoding="utf-8")
    catalog = validate_document(load_document(data_dir / "datasets.yaml", "data/datasets.yaml"), data_dir)
    p = catalog.datasets[0].links.paper
    assert p is not None and p.kind is None and [a.family for a in p.authors] == ["Lee", "Li"]


BAD_BIBTEX = [
    ("@misc{a,\n  title = {x}\n}\n@misc{evil,\n  title = {y}\n}\n", "nothing after it"),
    ("@misc{a,\n  title = {x}\n}}\n", "nothing after it"),
    ("@misc{a,\n  title = {x}\n", "unbalanced braces"),
    ("@misc{a,\n  note = {see @article{z, title={q}}}\n}\n", "'@'"),
    ("@string{a = {x}}\n", "entry type"),
    ("title = {x}\n", "starting like"),
    ("@misc{a,\n  title = {x}\n}\n% trailing comment\n", "nothing after it"),
]


@pytest.mark.parametrize(("bibtex", "words"), BAD_BIBTEX)
def test_verbatim_bibtex_must_be_exactly_one_entry(tmp_path, bibtex, words):
    body = "".join(f"        {line}\n" for line in bibtex.rstrip("\n").split("\n"))
    old = "      bibtex: |\n        @misc{beta2021,\n          title = {Beta},\n          year = {2021}\n        }\n"
    text = replace_once(MINIMAL, old, "      bibtex: |\n" + body)
    assert text != MINIMAL
    [problem] = _problems(tmp_path, text)
    assert problem.startswith(f"data/datasets.yaml:{_line(text, 'bibtex: |')}:"), problem
    assert "datasets[1] (beta).citation.bibtex" in problem and words in problem, problem


# ---------------------------------------------------------------- BibTeX


def _fixture(index: int) -> dict[str, Any]:
    # the project's loader: YAML 1.2 scalars (`level: yes` is text, not true)
    path = ROOT / "tests" / "fixtures" / "minimal.yaml"
    return parse_document(path.read_bytes(), path, "tests/fixtures/minimal.yaml").data["datasets"][index]


def _dataset(**links: Any) -> Dataset:
    raw = _fixture(0)
    raw["links"] = {**raw["links"], **links}
    return Dataset.model_validate(raw)


def _parse_one(text: str) -> dict[str, Any]:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    [entry] = library.entries
    return {"type": entry.entry_type, "key": entry.key, **{f.key: f.value for f in entry.fields}}


def test_bibtex_is_typed_by_kind_with_doi_and_eprint():
    article = _dataset(paper={"kind": "journal-article", "title": "RPC: a dataset", "venue": "SCIS",
                              "authors": ["Xiu-Shen Wei", "Quan Cui"], "container": "Science China Information Sciences",
                              "volume": 65, "issue": 9, "pages": "197101", "year": 2022,
                              "doi": "10.1007/s11432-022-3513-y", "arxiv": "1901.07249"})
    entry = _parse_one(bibtex_for(article).text)
    assert entry["type"] == "article" and entry["journal"] == "Science China Information Sciences"
    assert entry["author"] == "Wei, Xiu-Shen and Cui, Quan"
    assert (entry["volume"], entry["number"], entry["pages"]) == ("65", "9", "197101")
    assert entry["doi"] == "10.1007/s11432-022-3513-y" and entry["eprint"] == "1901.07249" and entry["archivePrefix"] == "arXiv"

    conf = _dataset(paper={"kind": "conference-paper", "title": "D2S", "venue": "ECCV 2018", "authors": ["Patrick Follmann"],
                           "more_authors": True, "container": "Computer Vision – ECCV 2018", "publisher": "Springer",
                           "place": "Cham", "pages": "581-597", "year": 2018})
    entry = _parse_one(bibtex_for(conf).text)
    assert entry["type"] == "inproceedings" and entry["booktitle"] == "Computer Vision – ECCV 2018"
    assert entry["author"] == "Follmann, Patrick and others" and "et al" not in bibtex_for(conf).text
    assert (entry["publisher"], entry["address"], entry["pages"]) == ("Springer", "Cham", "581--597")

    pre = _dataset(paper={"kind": "preprint", "title": "P10K", "venue": "arXiv", "authors": ["Yalong Bai"], "year": 2020, "arxiv": "2008.10545"})
    entry = _parse_one(bibtex_for(pre).text)
    assert entry["type"] == "misc" and entry["howpublished"] == "arXiv preprint arXiv:2008.10545"
    assert entry["url"] == "https://arxiv.org/abs/2008.10545"

    page = _dataset(paper={"kind": "challenge", "title": "AI City", "venue": "CVPR 2022 workshop", "authors": ["M Naphade"],
                           "year": 2022, "url": "https://www.aicitychallenge.org/"})
    entry = _parse_one(bibtex_for(page).text)
    assert entry["type"] == "misc" and entry["howpublished"] == "CVPR 2022 workshop" and entry["url"] == "https://www.aicitychallenge.org/"


def test_verbatim_bibtex_is_used_as_it_is():
    raw = _fixture(1)
    d = Dataset.model_validate(raw)
    entry = bibtex_for(d)
    assert entry is not None and not entry.generated and entry.text == raw["citation"]["bibtex"].strip()


def test_real_catalogue_papers_cite_cleanly():
    catalog = validate_document(load_document(ROOT / "data" / "datasets.yaml", "data/datasets.yaml"), ROOT / "data")
    texts = []
    for d in catalog.datasets:
        if d.links.paper is None:
            continue
        ref = gbt7714(d.links.paper, cited_on(d))
        texts.append(ref)
        assert "AL E" not in ref and "et al.." not in ref and ", ," not in ref, ref
        if d.links.paper.kind is PaperKind.CONFERENCE_PAPER:
            assert "[C]//" in ref, ref
        if d.links.paper.kind is PaperKind.JOURNAL_ARTICLE:
            assert "[J]. " in ref, ref
    assert texts, "the catalogue has papers"
    library = bibtexparser.parse_string(bib_file(list(catalog.datasets)))
    assert not library.failed_blocks
    for entry in library.entries:
        author = entry.fields_dict.get("author")
        if author is not None:
            # a stray full stop after a surname ("Yinghui Xu.") is a defect; a given-name initial
            # at the end ("Berg, Tamara L.") is not
            assert "et al" not in author.value and not re.search(r"[^\s.]{2}\.$", author.value.rstrip("}")), (entry.key, author.value)


def test_editors_schema_accepts_plain_text_authors():
    from generator.model import catalog_json_schema

    author = catalog_json_schema()["$defs"]["Author"]
    kinds = [option.get("type") or ("object" if "properties" in option else None) for option in author["anyOf"]]
    assert kinds == ["string", "object"]
