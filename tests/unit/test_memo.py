"""What the live preview keeps in memory between edits gives the same results as making it again.

- ``cache.remembering``: a remembered read is not read again while its file's stat is the
  same, and is read again when the file is replaced;
- ``validate``: a dataset whose text did not change keeps its very model; a changed one is
  checked again, and its problems still name its line;
- ``memo.PerDataset``: one value per model object, gone when the model goes;
- a one-shot build (not ``remembering``) keeps none of it;
- the data files assembled from per-dataset pieces are the bytes of one whole serialisation;
- the staging's and the thumbnail records' shortcuts still see a file changed or removed
  behind their back.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import pydantic_core
import pytest

from generator import cache, exports
from generator.errors import ProblemsFound
from generator.load import load_document
from generator.memo import PerDataset
from generator.related import ordered
from generator.validate import validate_document

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "datasets.yaml"


def _decode(raw: bytes) -> dict[str, int]:
    return json.loads(raw)


def test_a_remembered_read_is_not_read_again_until_the_file_changes(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"a": 1}')
    with cache.remembering():
        first = cache.read_cache(path, _decode, "test cache", remember=True)
        assert first == {"a": 1}
        # the same size and modification time, other bytes: the remembered value is given
        st = path.stat()
        with path.open("r+") as f:
            f.write('{"a": 2}')
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert cache.read_cache(path, _decode, "test cache", remember=True) is first
        # not asked to remember: read as always
        assert cache.read_cache(path, _decode, "test cache") == {"a": 2}
        # replaced (what every save does): read again
        cache.save_cache(path, b'{"a": 3}')
        assert cache.read_cache(path, _decode, "test cache", remember=True) == {"a": 3}
        # saved with its value: that value is what the next read gives
        saved = {"a": 4}
        cache.save_cache(path, b'{"a": 4}', remember=(_decode, saved))
        assert cache.read_cache(path, _decode, "test cache", remember=True) is saved
    # outside the preview nothing is remembered
    path.write_text('{"a": 5}')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.read_cache(path, _decode, "test cache", remember=True) == {"a": 5}


FIXTURE = REPO / "tests" / "fixtures" / "site.yaml"  # shelf (2020), checkout (2019), plain


def _write(tmp_path: Path, text: str) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    path = data / "datasets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _check(tmp_path: Path, text: str) -> list:
    path = _write(tmp_path, text)
    return list(validate_document(load_document(path, "data/datasets.yaml", tmp_path / "items.marshal"), path.parent).datasets)


def _replace_year(text: str, dataset_id: str, year: int, new: object) -> str:
    """The text with the dataset's own `year:` line changed (the fixture's are at 4 spaces)."""
    at = text.index(f"\n    year: {year}\n", text.index(f"- id: {dataset_id}\n"))
    return text[:at] + f"\n    year: {new}\n" + text[at + len(f"\n    year: {year}\n") :]


def test_an_unchanged_dataset_keeps_its_model_and_an_edited_one_is_checked_again(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8")
    # a one-shot build keeps nothing: the same text, new models
    once, again = _check(tmp_path, text), _check(tmp_path, text)
    assert len(once) == 3 and not any(a is b for a, b in zip(once, again, strict=True))
    with cache.remembering():
        before = _check(tmp_path, text)
        # shelf's year edited: the other datasets are the same objects, shelf is new
        edited = _replace_year(text, "shelf", 2020, 2018)
        after = _check(tmp_path, edited)
        assert [d.id for d in after] == ["shelf", "checkout", "plain"]
        assert after[0] is not before[0] and after[0].year == 2018
        assert after[1] is before[1] and after[2] is before[2]
        # a broken edit to checkout is reported at its line, though the others are known
        broken = _replace_year(edited, "checkout", 2019, "not-a-year")
        line = broken[: broken.index("year: not-a-year")].count("\n") + 1
        with pytest.raises(ProblemsFound) as err:
            _check(tmp_path, broken)
        assert [p.line for p in err.value.problems] == [line]


def test_per_dataset_values_are_made_once_per_model_and_go_with_it():
    made = []
    memo = PerDataset(lambda d: made.append(d.id) or d.id.upper())
    catalog = validate_document(load_document(DATA), REPO / "data")
    d = catalog.datasets[0]
    assert memo(d) == memo(d) == d.id.upper()
    assert made == [d.id, d.id] and not memo._values  # a one-shot build keeps nothing
    made.clear()
    with cache.remembering():
        assert memo(d) == memo(d) == d.id.upper()
        assert made == [d.id]
        copy = d.model_copy()  # equal, but another object: made again
        assert memo(copy) == d.id.upper() and made == [d.id, d.id]
        del catalog, d, copy
        gc.collect()
        assert not memo._values


def test_the_json_export_is_the_whole_serialisation_byte_for_byte():
    datasets = ordered(validate_document(load_document(DATA), REPO / "data"))
    whole = pydantic_core.to_json({"datasets": [exports._record(d) for d in datasets]}, indent=2).decode("utf-8") + "\n"
    assert exports.export_json(datasets) == whole
    assert exports.export_json(datasets[:1]) == pydantic_core.to_json({"datasets": [exports._record(datasets[0])]}, indent=2).decode("utf-8") + "\n"
    assert exports.export_json([]) == '{\n  "datasets": []\n}\n'
    assert json.loads(exports.export_json(datasets))["datasets"][0]["id"] == datasets[0].id


def test_the_compare_facts_and_search_terms_are_the_whole_serialisation_byte_for_byte(tmp_path):
    """The preview joins per-dataset parts it keeps; the files are the bytes of one dump,
    before and after an edit, in both languages."""
    from generator import compare, search
    from generator.model import Catalog, Lang
    from generator.render import format_count
    from generator.strings import t

    def whole(catalog: Catalog, lang: Lang) -> tuple[str, str]:
        facts = compare.pick_facts(catalog, lang, t, format_count)
        plain = json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
        return plain, search.terms_json(search.catalog_terms(catalog, lang))

    def joined(catalog: Catalog, lang: Lang) -> tuple[str, str]:
        keys = {d.id: f"{d.id}-{d.year}" for d in catalog.datasets}  # what RenderInputs.dataset_keys does
        return compare.facts_json(compare.pick_facts(catalog, lang, t, format_count, keys)), search.catalog_terms_json(catalog, lang)

    text = FIXTURE.read_text(encoding="utf-8")
    one_shot = Catalog(datasets=_check(tmp_path, text))
    assert joined(one_shot, Lang.ZH) == whole(one_shot, Lang.ZH)
    with cache.remembering():
        for version in (text, text, _replace_year(text, "shelf", 2020, 2018)):
            catalog = Catalog(datasets=_check(tmp_path, version))
            for lang in Lang:
                assert joined(catalog, lang) == whole(catalog, lang)


def test_the_preview_staging_rewrites_a_staged_file_changed_behind_its_back(tmp_path):
    from generator.staging import StageWriter

    root = tmp_path / "docs"
    root.mkdir()
    with cache.remembering():
        StageWriter(root).write("page.md", "one")
        (root / "page.md").write_text("changed by hand")
        writer = StageWriter(root)
        writer.write("page.md", "one")  # what it wrote last time, but the file is not that now
        assert (root / "page.md").read_text() == "one" and writer.touched == {"page.md"}
        again = StageWriter(root)
        again.write("page.md", "one")
        assert again.touched == set() and not again.came_or_went


def test_a_remembered_thumbnail_record_is_checked_again_when_a_file_goes(tmp_path):
    from generator.images import manifest
    from generator.images.values import ImageFile, SampleRef, Thumbnail

    out = tmp_path / "thumbs"
    out.mkdir()
    ref = SampleRef("shelf", 0)
    files = (ImageFile("shelf-0-320w.aa.webp", 320, 200, "webp"), ImageFile("shelf-0-320w.bb.jpg", 320, 200, "jpeg"))
    for f in files:
        (out / f.name).write_bytes(b"x" * 10)
    thumb = Thumbnail("shelf", 0, 320, 200, files[:1], files[1:])
    manifest.write_manifest(tmp_path, ref, "key", thumb, out)
    with cache.remembering():
        assert manifest.reusable(tmp_path, ref, "key", out) == thumb
        assert manifest.reusable(tmp_path, ref, "key", out) == thumb  # from memory now
        (out / files[0].name).unlink()
        assert manifest.reusable(tmp_path, ref, "key", out) is None, "a record whose file is gone was reused"
        assert manifest.reusable(tmp_path, ref, "other key", out) is None


def test_in_the_preview_a_dataset_key_still_follows_its_links_thumbnails_and_card(tmp_path):
    """The keys are kept per model with what else they were made from: any of that changing
    gives the key a one-shot build gives, and so does nothing changing."""
    from generator.model import Catalog, Lang
    from generator.render import LinkStatus, RenderInputs, ThumbImage

    catalog = Catalog(datasets=_check(tmp_path, FIXTURE.read_text(encoding="utf-8")))
    shelf = catalog.datasets[0]
    url = shelf.links.homepage
    thumb = ThumbImage(width=10, height=5, webp=(("assets/thumbs/a.webp", 10),), jpeg=(("assets/thumbs/a.jpg", 10),))
    variants = [
        {},
        {"links": {url: LinkStatus("ok")}},
        {"links": {url: LinkStatus("broken", http_status=404)}},
        {"thumbs": {(shelf.id, 0): thumb}},
        {"social": {(shelf.id, Lang.ZH): "assets/social/shelf.zh.1.jpg"}},
        {"social": {(shelf.id, Lang.ZH): "assets/social/shelf.zh.2.jpg"}},
        {},
    ]
    one_shot = [RenderInputs(catalog, **v).dataset_keys[shelf.id] for v in variants]
    assert len(set(one_shot)) == len(variants) - 1  # each variant its own key; the first and last the same
    with cache.remembering():
        for _ in range(2):
            assert [RenderInputs(catalog, **v).dataset_keys[shelf.id] for v in variants] == one_shot
