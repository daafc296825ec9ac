"""MkDocs hook (``hooks:`` in the per-language config engine.py writes): what a build keeps for the next.

- Each page's converted Markdown (``page_cache.py``, in the file ``extra.page_cache`` names):
  a rebuild converts only the pages whose Markdown, place or links' targets changed.
- The theme's compiled templates. MkDocs makes a new Jinja environment for every build, so
  every build compiled them again (about 0.5 s per language, a quarter of a preview rebuild
  after a one-dataset edit). Jinja's own bytecode cache keeps the compiled code in the
  folder ``extra.template_cache`` names, keyed by each template's name and checked against
  its source, so an edited override is compiled afresh; Jinja ignores a damaged file and
  writes it again.

One folder or file per language: the two languages build at once. The pages are the same
bytes with or without them (tests/integration/test_build_cache.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from generator import page_cache


def on_files(files: Any, config: Any) -> Any:
    page_cache.install()
    page_cache.start(config, files)
    return files


def on_env(env: jinja2.Environment, config: Any, files: Any) -> jinja2.Environment:
    folder = config["extra"].get("template_cache")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(folder))
    return env


def on_post_build(config: Any) -> None:
    page_cache.finish()
