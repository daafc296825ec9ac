"""One sample's file -> thumbnails at each planned width, as WebP and as JPEG.

Widths are never upscaled (``decode.plan_widths``). Each output's name carries a hash of its
bytes (``rpc-0-640w.3f2a9c1e.webp``), so the same input gives the same names and bytes, and a
file whose bytes are already there is not rewritten (its mtime stays). Jobs run in a process
pool over the CPU cores; a job carries the path of its source, and each worker reads one
file at a time.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from generator.files import write_atomic
from generator.images.decode import DECODE_ERRORS, decode
from generator.images.pool import run_in_pool
from generator.images.values import ImageFile, ImageSettings, SampleError, SampleRef, SourceFile, Thumbnail
from generator.progress import ProgressBar

RESAMPLE = Image.Resampling.LANCZOS
# Shrink by whole factors (reduce()) first when a step is at least this many times too big.
# Pillow's docs: from 3.0 up "indistinguishable from fair resampling in most cases". JPEGs
# rarely need it: decode's draft() already leaves less than 2x to resize.
REDUCING_GAP = 3.0
# libwebp effort 0-6 (its default is 4). WebP encoding was 60 % of a cold thumbnail stage; on
# the seed photos 2 takes half the time of 4 for 2.5 % more bytes and 0.13 dB less PSNR
# (6 saves ~3 % for twice the time of 4).
WEBP_METHOD = 2
# The JPEG is the <picture> fallback for browsers without WebP, and the largest one is what
# a sample's enlarge link opens. Progressive gives the same pixels for 4 % fewer bytes but
# took 2.5x as long to encode (a fifth of a cold thumbnail stage).
JPEG_PROGRESSIVE = False
NAME_HASH_LENGTH = 8
IMAGE_EXTENSIONS = {"webp": "webp", "jpeg": "jpg"}


@dataclass(frozen=True)
class Job:
    sample: SampleRef
    source: SourceFile
    key: str  # the manifest key (see manifest.thumbnail_key)
    settings: ImageSettings
    out_dir: Path


@dataclass(frozen=True)
class Outcome:
    thumbnail: Thumbnail | None
    problem: str | None = None


def render(job: Job) -> Outcome:
    """Read, decode, resize and encode one sample; runs in a worker process."""
    try:
        data = job.source.path.read_bytes()
    except OSError as e:
        return Outcome(None, f"cannot read {job.source.path}: {e.strerror or e}")
    if hashlib.sha256(data).hexdigest() != job.source.sha256:
        # checked again because the bytes are read twice (hashed when fetched, decoded here)
        return Outcome(None, f"{job.source.path} changed or was damaged while the build ran")
    try:
        found = variants(data, job.settings)
    except SampleError as e:
        return Outcome(None, str(e))
    except DECODE_ERRORS as e:
        return Outcome(None, f"the image file is truncated or corrupt ({e})")
    del data  # the decoded picture is all the encoders need
    webp, jpeg = [], []
    try:
        for variant in found:
            webp.append(_save(job, variant, "webp"))
            jpeg.append(_save(job, variant, "jpeg"))
    except OSError as e:
        return Outcome(None, f"could not write thumbnails into {job.out_dir}: {e.strerror or e}")
    largest = found[-1]
    return Outcome(
        Thumbnail(
            dataset_id=job.sample.dataset_id,
            index=job.sample.index,
            width=largest.width,
            height=largest.height,
            webp=tuple(webp),
            jpeg=tuple(jpeg),
        )
    )


def variants(data: bytes, settings: ImageSettings) -> list[Image.Image]:
    """The upright sRGB image at each planned width, ascending (decode + resize, no encoding)."""
    im, (display_w, display_h), widths = decode(data, settings)
    found: list[Image.Image] = []
    current = im
    for width in reversed(widths):
        # from the source's size, not the decoder's rounded draft size, so the intrinsic
        # size in the HTML matches the source's aspect exactly
        height = max(1, round(display_h * width / display_w))
        if current.size != (width, height):
            # from the previous (larger) variant: each step is small, so it is cheap
            current = current.resize((width, height), RESAMPLE, reducing_gap=REDUCING_GAP)
        found.append(current)
    found.reverse()
    return found


def _save(job: Job, im: Image.Image, fmt: Literal["webp", "jpeg"]) -> ImageFile:
    buffer = io.BytesIO()
    if fmt == "webp":
        im.save(buffer, "WEBP", quality=job.settings.webp_quality, method=WEBP_METHOD)
    else:
        im.save(buffer, "JPEG", quality=job.settings.jpeg_quality, optimize=True, progressive=JPEG_PROGRESSIVE)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:NAME_HASH_LENGTH]
    name = f"{job.sample.stem}-{im.width}w.{digest}.{IMAGE_EXTENSIONS[fmt]}"
    write_if_changed(job.out_dir / name, data)
    return ImageFile(name=name, width=im.width, height=im.height, format=fmt)


def write_if_changed(path: Path, data: bytes) -> None:
    """Write atomically unless the file already holds exactly these bytes (its mtime stays)."""
    try:
        same = path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        same = False
    if not same:
        write_atomic(path, data)


def run(jobs: list[Job], workers: int | None, bar: ProgressBar) -> list[tuple[Job, Outcome]]:
    """Every job's outcome, in the jobs' order."""
    crashed = Outcome(None, "the image worker process crashed (out of memory?)")
    return [(job, outcome or crashed) for job, outcome in zip(jobs, run_in_pool(render, jobs, workers, bar.advance), strict=True)]
