"""The one catalogue of UI words: ``generator/templates/strings.yaml``, in both languages.

Every word a reader sees that does not come from the data is a key there, including the
names of the closed vocabularies (``task.detection``, ``scene.shelf``, ...). Every build
reads the file again if it changed on disk (``refresh``): it is never kept for the life of
the process, so the live preview shows an edit to it on the next rebuild.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from generator.document import parse_document
from generator.model import Access, Lang, ResultSourceKind, Scene, SkuLevel, Task, Text

STRINGS_FILE = Path(__file__).parent / "templates" / "strings.yaml"
# the key prefix of each closed vocabulary's names in the catalogue: "<prefix>.<value>"
LABEL_PREFIX: dict[type[StrEnum], str] = {
    Task: "task",
    Scene: "scene",
    Access: "access",
    SkuLevel: "sku_level",
    ResultSourceKind: "source_kind",
}

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

_loaded: dict[Path, tuple[tuple[int, int, int], Any]] = {}


def read_when_changed(path: Path, display: str, build: Callable[[Any], T]) -> T:
    """``build(the YAML data of path)``, made again only when the file changed since the last
    call (by inode, size and modification time): kept between calls, never for the process."""
    st = os.stat(path)
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    known = _loaded.get(path)
    if known is None or known[0] != stamp:
        known = _loaded[path] = (stamp, build(parse_document(path.read_bytes(), path, display).data))
    return known[1]


def refresh() -> dict[str, Text]:
    """Read strings.yaml again if it changed: each build calls this first (``site.stage``), so
    the live preview shows an edit to it on its next rebuild."""
    return read_when_changed(STRINGS_FILE, "generator/templates/strings.yaml", lambda data: {key: Text(**value) for key, value in data.items()})


def catalogue() -> dict[str, Text]:
    """Every key of strings.yaml as the last ``refresh`` read it (the first call reads it).

    ``t`` is called thousands of times a build; a check of the file on every call cost about
    6% of rendering, so the check is made once per build instead.
    """
    known = _loaded.get(STRINGS_FILE)
    return known[1] if known is not None else refresh()


def t(key: str, lang: Lang) -> str:
    return catalogue()[key][lang]


def labels(vocabulary: type[E]) -> dict[E, Text]:
    """The reader-facing name of every member of a closed vocabulary, in both languages."""
    words = catalogue()
    prefix = LABEL_PREFIX[vocabulary]
    return {member: words[f"{prefix}.{member.value}"] for member in vocabulary}


def label(member: StrEnum, lang: Lang) -> str:
    return catalogue()[f"{LABEL_PREFIX[type(member)]}.{member.value}"][lang]
