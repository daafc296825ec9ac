"""MkDocs hook (``hooks:`` in the per-language config engine.py writes): index post-processing.

Runs after Material's search plugin has written ``search/search_index.json`` (MkDocs runs
hooks after the plugins), in ``build`` and in ``serve`` alike. It adds each dataset page's
cross-language terms (staged by staging.py, named by ``extra.search_terms``) to the index, then
writes the word list the browser cuts Chinese queries with, made from the index's own tokens.
Both files are written with sorted, fixed-order JSON: same input, same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.files import write_atomic
from generator.search import WORDS_URL, add_terms, index_words, read_terms, words_json


def on_post_build(config: Any) -> None:
    site_dir = Path(config["site_dir"])
    index_file = site_dir / "search" / "search_index.json"
    if not index_file.is_file():
        return  # search disabled: nothing to add to
    index = json.loads(index_file.read_text(encoding="utf-8"))
    terms_file = config["extra"].get("search_terms")
    if terms_file:
        add_terms(index, read_terms(Path(terms_file)))
        # the separators Material writes with, so an index without terms is unchanged
        write_atomic(index_file, json.dumps(index, separators=(",", ":"), default=str).encode("utf-8"))
    words_file = site_dir / WORDS_URL
    # as MkDocs' own writes do: the folder may not be there (the two languages build at once)
    words_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(words_file, words_json(index_words(index)).encode("utf-8"))
