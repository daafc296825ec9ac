"""The UI-word catalogue: every vocabulary name is in it, and an edit is seen without a restart."""

from __future__ import annotations

import os
import shutil

from generator import strings
from generator.model import Access, Lang, ResultSourceKind, Scene, SkuLevel, Task


def test_every_vocabulary_member_has_a_name_in_both_languages():
    for vocabulary in (Task, Scene, Access, SkuLevel, ResultSourceKind):
        names = strings.labels(vocabulary)
        assert set(names) == set(vocabulary)
        assert all(text.zh and text.en for text in names.values())


def test_an_edit_to_the_catalogue_is_seen_by_the_next_build_of_the_running_process(tmp_path, monkeypatch):
    copy = tmp_path / "strings.yaml"
    shutil.copy(strings.STRINGS_FILE, copy)
    monkeypatch.setattr(strings, "STRINGS_FILE", copy)
    before = strings.refresh()["site_name"].en
    text = copy.read_text(encoding="utf-8")
    needle = f"en: {before}}}"
    assert needle in text
    copy.write_text(text.replace(needle, "en: Edited while serving}"), encoding="utf-8")
    # same size class of edit on a coarse clock must still be seen: the stamp is (inode, size, mtime)
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert strings.t("site_name", Lang.EN) == before  # until the next build looks again
    strings.refresh()
    assert strings.t("site_name", Lang.EN) == "Edited while serving"
