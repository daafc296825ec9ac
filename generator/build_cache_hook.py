"""MkDocs hook (``hooks:`` in the per-language config engine.py writes): work MkDocs repeats, cut.

- Each page's converted Markdown (``page_cache.py``, in the file ``extra.page_cache`` names):
  a rebuild converts only the pages whose Markdown, place or links' targets changed.
- Not each page's Markdown source once it is converted, nor its HTML once its file is
  made (see on_page_content and on_post_page).
- The theme's compiled templates. MkDocs makes a new Jinja environment for every build, so
  every build compiled them again (about 0.5 s per language, a quarter of a preview rebuild
  after a one-dataset edit). Jinja's own bytecode cache keeps the compiled code in the
  folder ``extra.template_cache`` names, keyed by each template's name and checked against
  its source, so an edited override is compiled afresh; Jinja ignores a damaged file and
  writes it again.

- Each static file of the staged docs (thumbnails, preview cards, scripts: 9,000 per
  language at 3,000 datasets) hard-linked instead of copied, when both are on one file
  system; the theme's files are copied as before (they belong to the installed package).
  Safe because nothing writes a staged file in place: staging replaces a file by renaming
  a new one over it (files.write_atomic), so a published site keeps its bytes.

One folder or file per language: the two languages build at once. The pages are the same
bytes with or without them (tests/integration/test_build_cache.py).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Any

import jinja2
import mkdocs.utils

from generator import page_cache


def on_files(files: Any, config: Any) -> Any:
    global _linked_from
    page_cache.install()
    page_cache.start(config, files)
    _linked_from = os.path.join(os.path.abspath(config["docs_dir"]), "")
    if mkdocs.utils.copy_file is not _link_or_copy:
        mkdocs.utils.copy_file = _link_or_copy
    return files


_copy_file = mkdocs.utils.copy_file
_linked_from = ""  # the staged docs folder: the theme's own files are copied, never linked


def _link_or_copy(source_path: str, output_path: str) -> None:
    """``mkdocs.utils.copy_file``, as a hard link where one can be made."""
    if not _linked_from or not os.path.abspath(source_path).startswith(_linked_from):
        _copy_file(source_path, output_path)
        return
    if os.path.isdir(output_path):
        output_path = os.path.join(output_path, os.path.basename(source_path))
    os.makedirs(os.path.dirname(output_path), exist_ok=True)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(output_path)
        os.link(source_path, output_path)
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        _copy_file(source_path, output_path)  # another file system: copy, as MkDocs does


def on_env(env: jinja2.Environment, config: Any, files: Any) -> jinja2.Environment:
    folder = config["extra"].get("template_cache")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(folder))
    return env


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    # MkDocs converts every page before it writes any, so every page's Markdown source was
    # held until the end (45 MB per language at 3,000 datasets); nothing reads it after the
    # conversion. Empty, not None: MkDocs takes None for "not read yet" (no title).
    page.markdown = ""
    return html


def on_post_page(output: str, page: Any, config: Any) -> str:
    # Likewise each page's HTML, once its file is made: MkDocs keeps every page until the
    # build ends (the nav links them), and nothing reads another page's content. Empty,
    # not None, as above.
    page.content = ""
    return output


def on_post_build(config: Any) -> None:
    page_cache.finish()


def on_build_error(error: Exception) -> None:
    page_cache.abandon()
