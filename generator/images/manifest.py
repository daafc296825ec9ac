"""Which thumbnails were made from which bytes: one manifest per sample, so a warm build
decodes and writes nothing for a sample whose source and output settings are unchanged.

The key is a hash of the source bytes' hash, the output settings, the pipeline version and
Pillow's version; a manifest also records the size of each file it made, and it is used only
when every one of them is still in ``out_dir`` at that size. Read and written through the one
cache contract (``generator.cache``): a damaged manifest is discarded with one warning.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import PIL

from generator.cache import StaleFormat, is_remembering, read_cache, save_cache
from generator.images.encode import JPEG_PROGRESSIVE, REDUCING_GAP, WEBP_METHOD
from generator.images.values import OUTPUT_SETTINGS, ImageFile, ImageSettings, SampleRef, Thumbnail

# Bump when the pipeline changes what it writes, so every manifest goes stale at once.
PIPELINE_VERSION = 2
MANIFESTS_DIR = "thumbnails"


@dataclasses.dataclass(frozen=True)
class Manifest:
    key: str
    sizes: dict[str, int]  # file name -> bytes, for every file the thumbnail names
    thumbnail: Thumbnail


def thumbnail_key(sample: SampleRef, source_sha256: str, settings: ImageSettings) -> str:
    material = {
        "pipeline": PIPELINE_VERSION,
        "pillow": PIL.__version__,
        "webp_method": WEBP_METHOD,
        "jpeg_progressive": JPEG_PROGRESSIVE,
        "reducing_gap": REDUCING_GAP,
        "source": source_sha256,
        "sample": [sample.dataset_id, sample.index],
        "settings": {name: getattr(settings, name) for name in OUTPUT_SETTINGS},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _path(cache_dir: Path, sample: SampleRef) -> Path:
    return cache_dir / MANIFESTS_DIR / f"{sample.stem}.json"


def write_manifest(cache_dir: Path, sample: SampleRef, key: str, thumbnail: Thumbnail, out_dir: Path) -> None:
    files = {f.name: (out_dir / f.name).stat().st_size for f in thumbnail.webp + thumbnail.jpeg}
    record = {"key": key, "thumbnail": dataclasses.asdict(thumbnail), "sizes": files}
    save_cache(_path(cache_dir, sample), (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


# The live preview only: each record whose files were found whole, and the output folder's
# modification time then. Until a file is added to or removed from that folder they need not
# be looked at again (a stat of each of 7,000 files was 0.12 s of every edit at 1,000 datasets).
_found_whole: dict[Path, tuple[Manifest, int]] = {}


def reusable(cache_dir: Path, sample: SampleRef, key: str, out_dir: Path) -> Thumbnail | None:
    """The thumbnail made earlier from the same bytes and settings, if its files are all there."""
    path = _path(cache_dir, sample)
    record = read_cache(path, _decode, "thumbnail record", remember=True)
    if record is None or record.key != key:
        return None  # none, or made from other bytes or settings: encode again
    try:
        folder = out_dir.stat().st_mtime_ns if is_remembering() else None
        seen = _found_whole.get(path)
        if folder is not None and seen is not None and seen[0] is record and seen[1] == folder:
            return record.thumbnail
        if any((out_dir / name).stat().st_size != size for name, size in record.sizes.items()):
            return None
    except OSError:
        return None  # a thumbnail file is gone: encode again
    if folder is not None:
        _found_whole[path] = (record, folder)
    return record.thumbnail


def _decode(raw: bytes) -> Manifest:
    record = json.loads(raw)
    if not isinstance(record, dict):
        raise StaleFormat("not a thumbnail record")
    t = record["thumbnail"]
    thumbnail = Thumbnail(
        dataset_id=t["dataset_id"],
        index=t["index"],
        width=t["width"],
        height=t["height"],
        webp=tuple(ImageFile(**f) for f in t["webp"]),
        jpeg=tuple(ImageFile(**f) for f in t["jpeg"]),
    )
    sizes = record["sizes"]
    if not isinstance(record["key"], str) or not isinstance(sizes, dict):
        raise ValueError("not a thumbnail record")
    return Manifest(record["key"], sizes, thumbnail)
