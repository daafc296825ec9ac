"""Licence groups, facets and the pick-to-compare facts (generator/compare.py), and the search terms."""

from __future__ import annotations

import json

import pytest

from generator.compare import EXPANDED, SKIPPED, SPDX_GROUPS, LicenceGroup, facets, licence_group, pick_facts
from generator.model import SPDX_IDS, Catalog, Dataset, Lang, Licence
from generator.render import format_count, t
from generator.search import add_terms, dataset_terms, index_words, user_dictionary

DATASET = {
    "id": "shelfset",
    "name": "ShelfSet",
    "full_name": {"zh": "密集货架商品数据集", "en": "Dense shelf product dataset"},
    "aliases": ["码隆 Shelf", "Shelf-Set"],
    "summary": {"zh": "货架。", "en": "Shelves."},
    "description": {"zh": "货架商品。", "en": "Shelf products."},
    "organisations": [{"zh": "码隆科技", "en": "Malong Technologies"}],
    "year": 2020,
    "venue": {"zh": "CVPR 2020", "en": "CVPR 2020"},
    "tasks": ["detection"],
    "scenes": ["shelf"],
    "sku_level": {"level": "yes", "reason": {"zh": "按 SKU 标注。", "en": "Labelled by SKU."}},
    "stats": {
        "images": {"value": 1000, "qualifier": "approx", "verified": False, "source": "paper"},
        "classes": {"value": 10, "source": "paper"},
        "splits": {"train": {"value": 800, "source": "paper"}},
    },
    "annotation": {"zh": "框。", "en": "Boxes."},
    "licence": {"spdx": "CC-BY-NC-SA-4.0"},
    "access": "open",
    "links": {"homepage": "https://example.org/shelfset"},
    "citation": {"source": "none"},
    "confidence": "medium",
    "sources": [{"title": "paper"}],
    "added": "2026-11-25",
}


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.model_validate({"datasets": [DATASET]})


def test_every_spdx_id_has_a_licence_group() -> None:
    assert set(SPDX_GROUPS) == SPDX_IDS


@pytest.mark.parametrize(
    ("licence", "group"),
    [
        ({"spdx": "CC-BY-NC-SA-4.0"}, LicenceGroup.NON_COMMERCIAL),
        ({"spdx": "CC-BY-NC-ND-4.0"}, LicenceGroup.NON_COMMERCIAL),
        ({"spdx": "CC-BY-ND-4.0"}, LicenceGroup.COMMERCIAL),
        ({"spdx": "CC0-1.0"}, LicenceGroup.COMMERCIAL),
        ({"spdx": "MIT"}, LicenceGroup.COMMERCIAL),
        ({"terms": {"zh": "仅供研究", "en": "research only"}}, LicenceGroup.CUSTOM),
        ("unknown", LicenceGroup.UNKNOWN),
    ],
)
def test_licence_group(licence: object, group: LicenceGroup) -> None:
    assert licence_group(Licence.model_validate(licence)) is group


def test_facets_offer_only_values_some_dataset_has(catalog: Catalog) -> None:
    for lang in Lang:
        for facet in facets(catalog, lang, t):
            assert facet.options and all(o.count > 0 for o in facet.options)
    access = next(f for f in facets(catalog, Lang.EN, t) if f.name == "access")
    used = {d.access for d in catalog.datasets}
    assert {o.value for o in access.options} == used


def test_pick_facts_have_a_row_for_every_field_of_the_model(catalog: Catalog) -> None:
    facts = pick_facts(catalog, Lang.ZH, t, format_count)
    keys = [r["key"] for r in facts["rows"]]
    expected: list[str] = []
    for name, info in Dataset.model_fields.items():
        if name in SKIPPED:
            continue
        expected += list(info.annotation.model_fields) if name in EXPANDED else [name]  # type: ignore[union-attr]
    assert keys == expected
    assert set(facts["datasets"]) == {d.id for d in catalog.datasets}
    rpc = facts["datasets"][catalog.datasets[0].id]["facts"]
    assert all(rpc[k] for k in keys)  # every row says something, if only "n/a"
    json.dumps(facts)  # plain JSON


def test_figures_carry_qualifier_and_verification(catalog: Catalog) -> None:
    d = catalog.datasets[0]
    facts = pick_facts(catalog, Lang.EN, t, format_count)["datasets"][d.id]["facts"]
    assert facts["images"] == ["≈1,000 (Approximate figure) [unverified]"]
    assert facts["licence"][0].startswith("CC-BY-NC-SA-4.0 (Non-commercial only)")


def test_search_terms_carry_the_other_language(catalog: Catalog) -> None:
    d = catalog.datasets[0]
    en = dataset_terms(d, Lang.EN)
    assert en.location == f"datasets/{d.id}/"
    assert d.full_name.zh in en.tags and "货架" in en.tags and d.full_name.en not in en.tags
    zh = dataset_terms(d, Lang.ZH)
    assert "Shelf" in zh.tags and d.name in zh.tags
    assert "码隆 100000" in user_dictionary(catalog)


def test_terms_are_added_to_the_page_entry_only_and_words_come_from_the_index() -> None:
    from generator.search import SearchTerms

    index = {"docs": [
        {"location": "datasets/x/", "title": "X", "text": "密集\u200b货架 shelf"},
        {"location": "datasets/x/#facts", "title": "概况", "text": "a"},
    ]}
    add_terms(index, [SearchTerms("datasets/x/", ("X", "零售商品", "<img src=x onerror=alert(1)>"))])
    assert index["docs"][0]["tags"] == ["X", "零售\u200b商品", "&lt;img src=x onerror=alert(1)&gt;"]
    assert "tags" not in index["docs"][1]
    assert index_words(index) == ["商品", "密集", "概况", "货架", "零售"]


def test_facts_reused_by_key_equal_facts_made_afresh(catalog: Catalog) -> None:
    keys = {d.id: f"key-of-{d.id}" for d in catalog.datasets}
    fresh = pick_facts(catalog, Lang.ZH, t, format_count)
    assert pick_facts(catalog, Lang.ZH, t, format_count, keys) == fresh
    assert pick_facts(catalog, Lang.ZH, t, format_count, keys) == fresh  # from the cache
    assert pick_facts(catalog, Lang.EN, t, format_count, keys) != fresh  # the language is part of the key
