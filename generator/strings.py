"""The one catalogue of UI words: ``generator/templates/strings.yaml``, in both languages.

Every word a reader sees that does not come from the data is a key there, including the
names of the closed vocabularies (``task.detection``, ``scene.shelf``, ...). The file is
read again whenever it changes on disk (by its size and modification time), never kept for
the life of the process, so the live preview shows an edit to it on the next rebuild.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

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

_loaded: tuple[tuple[int, int, int], dict[str, Text]] | None = None


def catalogue() -> dict[str, Text]:
    """Every key of strings.yaml; read again when the file changed since the last call."""
    global _loaded
    st = os.stat(STRINGS_FILE)
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    if _loaded is None or _loaded[0] != stamp:
        doc = parse_document(STRINGS_FILE.read_bytes(), STRINGS_FILE, "generator/templates/strings.yaml")
        _loaded = (stamp, {key: Text(**value) for key, value in doc.data.items()})
    return _loaded[1]


def t(key: str, lang: Lang) -> str:
    return catalogue()[key][lang]


def labels(vocabulary: type[E]) -> dict[E, Text]:
    """The reader-facing name of every member of a closed vocabulary, in both languages."""
    words = catalogue()
    prefix = LABEL_PREFIX[vocabulary]
    return {member: words[f"{prefix}.{member.value}"] for member in vocabulary}


def label(member: StrEnum, lang: Lang) -> str:
    return catalogue()[f"{LABEL_PREFIX[type(member)]}.{member.value}"][lang]
