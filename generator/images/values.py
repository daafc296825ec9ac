"""The values the image modules hand each other and the build: small, frozen, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MiB = 1024 * 1024


@dataclass(frozen=True, order=True)
class SampleRef:
    """Which sample: a dataset and the 0-based position in its ``samples`` list."""

    dataset_id: str
    index: int

    @property
    def stem(self) -> str:
        """The start of every file name made for this sample (ids are slugs: see ``stage``)."""
        return f"{self.dataset_id}-{self.index}"


@dataclass(frozen=True)
class SamplePosition:
    """Where the sample's entry sits in the data file, for messages."""

    file: str  # as messages name it, e.g. "data/datasets.yaml"
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class SampleSource:
    """One sample image of one dataset."""

    dataset_id: str
    index: int  # 0-based position in the dataset's samples list
    url: str | None  # public http(s) address, or
    path: Path | None  # absolute local file (already checked to be inside data/)
    label: str  # for messages, e.g. "rpc sample 1 (https://...)"
    position: SamplePosition | None = None  # of the entry in the data file, when known

    @property
    def ref(self) -> SampleRef:
        return SampleRef(self.dataset_id, self.index)


@dataclass(frozen=True)
class ImageSettings:
    """Named defaults. The output fields are part of each thumbnail's cache key."""

    # Never upscaled: widths above the source width are dropped, and the source width
    # itself is the largest variant when it is smaller than the largest planned width.
    widths: tuple[int, ...] = (320, 640, 1280)
    jpeg_quality: int = 82
    webp_quality: int = 80
    background: tuple[int, int, int] = (255, 255, 255)  # transparency is flattened onto this
    connect_timeout: float = 5
    read_timeout: float = 15
    max_bytes: int = 20 * MiB
    retries: int = 2
    max_pixels: int = 60_000_000  # decompression bomb limit
    max_seconds_per_image: float = 60.0
    max_fetch_seconds: float = 120.0  # all downloads of one build together
    # Samples on private, loopback or link-local addresses are refused unless this is set
    # (``--allow-private``; tests on 127.0.0.1).
    allow_private: bool = False
    allowed_addresses: frozenset[str] = frozenset()  # tests: exactly these private addresses pass the guard


# Only these settings change the files; a different timeout must not re-encode anything.
OUTPUT_SETTINGS = ("widths", "jpeg_quality", "webp_quality", "background", "max_pixels")


@dataclass(frozen=True)
class ImageFile:
    name: str  # carries a content hash, e.g. "rpc-0-640w.3f2a9c1e.webp"
    width: int
    height: int
    format: Literal["webp", "jpeg"]


@dataclass(frozen=True)
class Thumbnail:
    dataset_id: str
    index: int
    width: int  # of the largest variant: the intrinsic size for <img width height>
    height: int
    webp: tuple[ImageFile, ...]  # ascending width
    jpeg: tuple[ImageFile, ...]

    @property
    def ref(self) -> SampleRef:
        return SampleRef(self.dataset_id, self.index)


@dataclass(frozen=True)
class ImageWarning:
    sample: SampleRef
    position: SamplePosition | None
    text: str  # the sample's label and what went wrong

    @property
    def message(self) -> str:
        """One line for the build's output, located at the sample's entry when known."""
        return f"{self.position}: {self.text}" if self.position else self.text


@dataclass(frozen=True)
class ImageReport:
    thumbnails: Mapping[SampleRef, Thumbnail]  # in the order the samples were given
    warnings: tuple[ImageWarning, ...]
    encoded: int  # samples decoded and encoded in this run
    reused: int  # samples whose outputs were already in out_dir

    def thumbnail(self, dataset_id: str, index: int) -> Thumbnail | None:
        return self.thumbnails.get(SampleRef(dataset_id, index))


@dataclass(frozen=True)
class SourceFile:
    """A sample's bytes on disk, whole and checked against their hash when it was made.

    Only the path travels between the stages (and into the worker processes), never the
    bytes, so memory does not grow with the number of samples.
    """

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Fetched:
    """What fetching found for one sample."""

    source: SourceFile | None  # None: nothing usable, and ``notes`` say why
    notes: tuple[str, ...] = ()  # details without the sample's label
    origin: str | None = None  # where the bytes came from, when the label does not say it


class SampleError(Exception):
    """A reason one sample cannot be shown; becomes an ImageWarning at the stage's edge."""
