"""The images stage: sample sources -> thumbnails and located warnings (fetch, decode, encode).

Input: ``SampleSource`` values (``sample_sources`` makes them from the catalogue), an output
folder, a cache folder and ``ImageSettings``. Output: an ``ImageReport``. Each sample that
works gets a ``Thumbnail``; each one that does not gets an ``ImageWarning`` at the position
of its entry in the data file, and the page shows a placeholder. Nothing in here raises for
a bad sample, an unreachable host or a full disk; the only exceptions out of
``make_thumbnails`` are caller mistakes (ValueError: a sample listed twice, or a dataset id
that is not a slug and so cannot be part of a file name).

Memory does not grow with the catalogue: fetching leaves each sample's bytes in a file (the
data folder, the mirror or the download cache) and hands on its path and hash; the encoders
read one file at a time.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from pathlib import Path

from generator.images import encode, fetch, manifest
from generator.images.store import DownloadStore, FileHashes
from generator.images.values import (
    ImageReport,
    ImageSettings,
    ImageWarning,
    SamplePosition,
    SampleRef,
    SampleSource,
    Thumbnail,
)
from generator.load import Document
from generator.model import Catalog
from generator.progress import ProgressBar

DOWNLOADS_DIR = "downloads"
LOCAL_HASHES_FILE = "local-hashes.json"  # beside downloads/: FileHashes
SAFE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # the catalogue's slug rule
DEFAULT_SETTINGS = ImageSettings()


def sample_sources(catalog: Catalog, data_dir: Path, doc: Document | None = None) -> list[SampleSource]:
    """Every sample of the catalogue, in its order; located in ``doc`` (the document the
    catalogue was validated from, so its datasets are in the same order) when given."""
    out = []
    # validation resolved each path and checked it stays inside data/; joined unresolved, the
    # path names the same file (the system follows links before ".."), for a syscall less per sample
    data_root = data_dir.resolve()
    for i, d in enumerate(catalog.datasets):
        for j, s in enumerate(d.samples):
            where = None
            if doc is not None:
                pos = doc.position(("datasets", i, "samples", j))
                where = SamplePosition(doc.display, pos.line, pos.column)
            out.append(
                SampleSource(
                    dataset_id=d.id,
                    index=j,
                    url=s.url,
                    path=data_root / s.path if s.path else None,
                    label=f"{d.id} sample {j + 1} ({s.url or s.path})",
                    position=where,
                )
            )
    return out


def make_thumbnails(
    samples: Sequence[SampleSource],
    out_dir: Path,
    cache_dir: Path,
    settings: ImageSettings = DEFAULT_SETTINGS,
    *,
    offline: bool = False,
    mirror: Path | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> ImageReport:
    """Fetch, decode and encode every sample; see the module docstring for the contract."""
    refs = [s.ref for s in samples]
    duplicates = sorted((r.dataset_id, r.index) for r, n in collections.Counter(refs).items() if n > 1)
    if duplicates:
        raise ValueError(f"each sample must appear once; repeated: {duplicates}")
    unsafe = sorted({s.dataset_id for s in samples if not SAFE_ID_RE.match(s.dataset_id)})
    if unsafe:
        raise ValueError(f"dataset ids become file names and must be slugs; got {unsafe}")

    bar = ProgressBar("thumbnails", len(samples), enabled=progress)
    notes: dict[SampleRef, list[str]] = {r: [] for r in refs}
    thumbnails: dict[SampleRef, Thumbnail] = {}
    store = DownloadStore(cache_dir / DOWNLOADS_DIR)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        store.folder.mkdir(parents=True, exist_ok=True)
        (cache_dir / manifest.MANIFESTS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        for r in refs:
            notes[r].append(f"cannot create the image folders: {e}{fetch.PLACEHOLDER_NOTE}")
        bar.close()
        return _report(samples, thumbnails, notes, encoded=0, reused=0)

    hashes = FileHashes(cache_dir / LOCAL_HASHES_FILE)
    fetched = fetch.gather(samples, store, settings, offline=offline, mirror=mirror, hashes=hashes)
    hashes.save()

    jobs: list[encode.Job] = []
    reused = 0
    for s in samples:
        got = fetched[s.ref]
        notes[s.ref].extend(got.notes)
        if got.source is None:
            bar.advance()
            continue
        key = manifest.thumbnail_key(s.ref, got.source.sha256, settings)
        previous = manifest.reusable(cache_dir, s.ref, key, out_dir)
        if previous is not None:
            thumbnails[s.ref] = previous
            reused += 1
            bar.advance()
        else:
            jobs.append(encode.Job(s.ref, got.source, key, settings, out_dir))

    encoded = 0
    for job, outcome in encode.run(jobs, workers, bar):
        if outcome.thumbnail is None:
            origin = fetched[job.sample].origin
            source = f" (read from {origin})" if origin is not None else ""
            notes[job.sample].append(f"{outcome.problem}{source}{fetch.PLACEHOLDER_NOTE}")
            continue
        thumbnails[job.sample] = outcome.thumbnail
        encoded += 1
        try:
            manifest.write_manifest(cache_dir, job.sample, job.key, outcome.thumbnail, out_dir)
        except OSError:
            pass  # the manifest only saves work next time; the thumbnail itself is fine
    bar.close()
    return _report(samples, thumbnails, notes, encoded=encoded, reused=reused)


def _report(
    samples: Sequence[SampleSource],
    thumbnails: dict[SampleRef, Thumbnail],
    notes: dict[SampleRef, list[str]],
    *,
    encoded: int,
    reused: int,
) -> ImageReport:
    ordered = {}
    found = []
    for s in samples:  # the caller's order, so the report reads like the data file
        if s.ref in thumbnails:
            ordered[s.ref] = thumbnails[s.ref]
        found.extend(ImageWarning(s.ref, s.position, f"{s.label}: {m}") for m in notes[s.ref])
    return ImageReport(thumbnails=ordered, warnings=tuple(found), encoded=encoded, reused=reused)
