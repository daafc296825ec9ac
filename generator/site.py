"""The build: load -> validate -> images -> render/stage -> MkDocs (zh, en) -> swap in.

Input: a ``Project`` and ``BuildOptions``. Output: a complete site in ``options.site_dir``
(Chinese at ``/``, English at ``/en/``) and a ``BuildResult`` with the warnings to show.
Failure: ``BuildError`` naming the stage that failed; the previous site is left untouched,
because MkDocs builds into a folder beside the site that replaces it only when every stage
has succeeded. Each stage is its own module and returns a typed value; this one only
chains them, times them and holds the lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import resource
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from generator import engine, images, strings, swap
from generator.cards import SocialCards, make_social_cards
from generator.errors import BuildError, ProblemsFound
from generator.files import exclusive, remove_leftovers
from generator.load import Document, load_document
from generator.model import Catalog, Lang
from generator.project import Project
from generator.staging import LinkStatuses, StagedDocs, read_link_statuses, stage_docs
from generator.validate import validate_document

# in the cache folder
LOCK_FILE = "build.lock"  # one build, preview or link check writes the cache at a time
THUMBS_DIR = "thumbs"
STAGE_DIR = "stage"

# A build makes millions of small, mostly acyclic objects (YAML values, models, template
# output). At Python's default thresholds the cyclic collector walks the whole heap every
# few thousand allocations, which took a third of a one-edit rebuild at 1,000 datasets.
# Like mypy's build, ask for a young-generation collection every 200,000 allocations.
GC_THRESHOLDS = (200_000, 30, 30)


@dataclass(frozen=True)
class BuildOptions:
    site_dir: Path
    offline: bool = False
    sample_mirror: Path | None = None
    progress: bool = False
    image_settings: images.ImageSettings = field(default_factory=images.ImageSettings)
    engine: Literal["mkdocs", "zensical"] = "mkdocs"  # zensical: generator/zensical_engine.py


@dataclass
class StageTimes:
    """Wall and CPU seconds of each stage, in the order the stages ran.

    CPU seconds include the thumbnail worker processes (reaped when their pool closes), so
    they stay meaningful on a busy machine where wall time does not.
    """

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    # the whole build, measured: less than the stages' sum, as the languages build at once
    total_wall: float | None = None
    total_cpu: float | None = None

    @contextlib.contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        cpu, start = _cpu_seconds(), time.perf_counter()
        try:
            yield
        finally:
            self.wall[stage] = time.perf_counter() - start
            self.cpu[stage] = _cpu_seconds() - cpu

    def add(self, stage: str, wall: float, cpu: float) -> None:
        self.wall[stage] = wall
        self.cpu[stage] = cpu


@dataclass(frozen=True)
class Staged:
    """Everything MkDocs needs, written under ``docs.root``, and what each stage made."""

    catalog: Catalog
    images: images.ImageReport
    cards: SocialCards
    links: LinkStatuses
    docs: StagedDocs
    times: StageTimes

    @property
    def warnings(self) -> tuple[str, ...]:
        return (*(w.message for w in self.images.warnings), *self.cards.warnings, *self.links.warnings)


@dataclass(frozen=True)
class BuildResult:
    site_dir: Path
    datasets: int
    pages: int  # generated pages of one language (the other has the same)
    warnings: tuple[str, ...]
    thumbnails_encoded: int
    thumbnails_reused: int
    files_written: int  # staged files whose bytes changed
    times: StageTimes


def build_site(project: Project, options: BuildOptions) -> BuildResult:
    """The whole build, one stage after the other (see the module docstring)."""
    site_dir = options.site_dir.resolve()
    started, started_cpu = time.perf_counter(), _cpu_seconds()
    with _fewer_collections(), exclusive(project.cache_dir / LOCK_FILE):
        remove_leftovers(project.cache_dir)
        swap.clear_leftovers(site_dir)
        staged = stage(project, options)
        times = staged.times
        newest = engine.newest_added(staged.catalog)
        made = BuildResult(
            site_dir=site_dir,
            datasets=len(staged.catalog.datasets),
            pages=staged.docs.pages,
            warnings=staged.warnings,
            thumbnails_encoded=staged.images.encoded,
            thumbnails_reused=staged.images.reused,
            files_written=staged.docs.files_written,
            times=times,
        )
        new_site = swap.new_site_folder(site_dir)
        # The English site is built beside the new tree and moved into it after both builds:
        # MkDocs empties its site_dir when a build starts, and the zh build's is the tree's
        # root, so a zh build that started late deleted an en site already built.
        new_en = swap.new_site_folder(site_dir)
        try:
            configs = {
                lang: engine.write_language_config(project, staged.docs, staged.cards, lang, new_site if lang is Lang.ZH else new_en)
                for lang in Lang
            }
            del staged  # the catalogue and the stages' values: MkDocs reads the staged files
            _give_back_memory()
            for lang, took in engine.build_languages(configs, newest, options.engine).items():
                times.add(f"{options.engine} {lang.value}", took.wall, took.cpu)
            os.replace(new_en, new_site / "en")
            with times.measure("swap in"):
                swap.swap_in(new_site, site_dir, swap.discard_in_background)
        except BaseException:
            shutil.rmtree(new_site, ignore_errors=True)
            shutil.rmtree(new_en, ignore_errors=True)
            raise
    times.total_wall, times.total_cpu = time.perf_counter() - started, _cpu_seconds() - started_cpu
    return made


def _give_back_memory() -> None:
    """Free what the stages left, and hand it back to the system before MkDocs starts.

    The Chinese build runs in this process and the English one in a fork of it, so whatever
    this process holds is held twice while MkDocs holds every page. glibc keeps freed memory
    for reuse (at 1,000 datasets 50 MB of it after the stages); malloc_trim returns it.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the memory stays with the process, nothing else


def stage(project: Project, options: BuildOptions, banner: str = "", langs: Sequence[Lang] = tuple(Lang)) -> Staged:
    """load -> validate -> thumbnails -> preview cards -> link statuses -> render into ``.cache/stage``.

    ``langs``: the languages whose docs are written (the live preview serves one)."""
    times = StageTimes()
    strings.refresh()
    with _fewer_collections():
        doc = _load(project, times)
        catalog = _validate(project, doc, times)
        thumbs = _thumbnails(project, options, images.sample_sources(catalog, project.data_dir, doc), times)
        cards = _cards(project, catalog, thumbs, times)
        statuses = read_link_statuses(project)
        docs = _render(project, catalog, thumbs, cards, statuses, banner, times, langs)
    return Staged(catalog, thumbs, cards, statuses, docs, times)


def _load(project: Project, times: StageTimes) -> Document:
    """The data file's document: later stages report positions in it (a sample's line)."""
    try:
        with times.measure("load"):
            return load_document(project.data_file, project.display(project.data_file), project.cache_dir / "load" / "items.marshal")
    except ProblemsFound as err:
        raise BuildError("validate", f"{len(err.problems)} problem(s) in the data", err.problems) from None


def _validate(project: Project, doc: Document, times: StageTimes) -> Catalog:
    try:
        with times.measure("validate"):
            return validate_document(doc, project.data_dir)
    except ProblemsFound as err:
        raise BuildError("validate", f"{len(err.problems)} problem(s) in the data", err.problems) from None


def _thumbnails(project: Project, options: BuildOptions, samples: list[images.SampleSource], times: StageTimes) -> images.ImageReport:
    with times.measure("thumbnails"):
        return images.make_thumbnails(
            samples,
            project.cache_dir / THUMBS_DIR,
            project.cache_dir / "images",
            options.image_settings,
            offline=options.offline,
            mirror=options.sample_mirror,
            progress=options.progress,
        )


def _cards(project: Project, catalog: Catalog, thumbs: images.ImageReport, times: StageTimes) -> SocialCards:
    try:
        with times.measure("social cards"):
            return make_social_cards(project, catalog, thumbs, project.cache_dir / THUMBS_DIR)
    except OSError as err:
        raise BuildError("thumbnails", f"cannot write a preview card: {err}", environment=True) from None


def _render(
    project: Project,
    catalog: Catalog,
    thumbs: images.ImageReport,
    cards: SocialCards,
    statuses: LinkStatuses,
    banner: str,
    times: StageTimes,
    langs: Sequence[Lang],
) -> StagedDocs:
    try:
        with times.measure("render"):
            return stage_docs(project, catalog, thumbs, project.cache_dir / THUMBS_DIR, cards, statuses, project.cache_dir / STAGE_DIR, banner, langs)
    except OSError as err:
        raise BuildError("render", str(err), environment=True) from None


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    old = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
