"""Part of the browser tests on the site Zensical builds (`sku-survey build --engine zensical`).

The tests are tests/browser/test_browser.py's own, imported so that they run here against a `site`
fixture built by Zensical; search has its own test, as Zensical's search is another program
(a dialog in a shadow root, its own worker). `SKU_SURVEY_ENGINE=zensical` runs every test
of tests/browser/test_browser.py on Zensical; the ones left out here fail there for the reasons
README.md's engine table gives (Material's search box, jieba's segmentation).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_browser import (  # noqa: F401 - fixtures and tests, collected again here
    Site,
    _open,
    browser,
    make_context,
    served_site,
    test_citation_copy_button_puts_the_bibtex_on_the_clipboard,
    test_compare_table_sorts_by_images_and_filters_by_task,
    test_every_link_and_asset_resolves_under_the_path_prefix,
    test_every_page_loads_cleanly_with_decoded_images_that_have_alt_text,
    test_language_switch_leads_to_the_same_page_in_the_other_language,
    test_unknown_address_gets_a_404_in_the_language_of_the_address,
)

from generator import zensical_engine
from generator.model import Lang

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not zensical_engine.available(), reason="zensical is not importable: pip install -e '.[zensical]' (./dev test does)"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_mirror: Path) -> Iterator[Site]:
    yield from served_site(tmp_path_factory, sample_mirror, zensical_engine.ENGINE)


@pytest.mark.parametrize(
    ("lang", "query", "target"),
    [
        (Lang.ZH, "结账", "datasets/rpc/"),
        (Lang.EN, "checkout", "datasets/rpc/"),
        (Lang.ZH, "京东", "datasets/products-10k/"),
    ],
    ids=["zh-jiezhang-rpc", "en-checkout-rpc", "zh-jingdong-products-10k"],
)
def test_zensical_search_finds_the_dataset(make_context, site: Site, lang: Lang, query: str, target: str) -> None:  # noqa: F811
    """Typed into Zensical's search dialog; Chinese is matched character by character there."""
    page, watch = _open(make_context, site, lang)
    page.locator(".md-search__button").click()
    box = page.locator("dialog input[role=combobox]")  # Playwright's CSS reaches into the open shadow root
    box.fill(query)
    box.press("End")
    links = page.locator("dialog ol[role=listbox] a[role=option]")
    links.first.wait_for()
    hrefs = [urlsplit(h).path for h in links.evaluate_all("els => els.map(e => e.href)")]
    wanted = urlsplit(site.url(lang, target)).path
    assert wanted in hrefs, f"search for {query!r} did not list {wanted}: {hrefs}"
    assert not watch.problems(), watch.problems()
