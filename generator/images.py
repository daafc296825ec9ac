"""Images stage: sample images -> thumbnails (fetch with cache, decode, convert, resize, encode).

Input: ``SampleSource`` values (a public URL, or a file under ``data/`` already checked by the
caller), an output folder, a cache folder and ``ImageSettings``.

Output: an ``ImageReport``. Each sample that works gets a ``Thumbnail``: the image at each
planned width as WebP and as a progressive JPEG, written into ``out_dir`` under names that
carry a hash of their bytes (``rpc-0-640w.3f2a9c1e.webp``). Each sample that does not work
gets an ``ImageWarning`` naming the dataset and sample, and the page shows a placeholder.
Nothing in here raises for a bad sample, an unreachable host or a full disk; the only
exceptions out of ``make_thumbnails`` are caller mistakes (ValueError: a sample listed twice,
or a dataset id that is not a slug and so cannot be part of a file name).

Fetching: a download cache keyed by URL under ``cache_dir`` (body + ETag/Last-Modified);
re-fetching is conditional, and a 304 reuses the cached body. Every request goes through
``generator.net``: the address guard (a sample on a private, loopback or link-local address
is refused, on the first request and on every redirect hop, unless ``allow_private``; the
connection goes to the address that was vetted), the project's one User-Agent, retry
statuses and Retry-After rule, and wall-clock deadlines per image and per build that also
cut servers trickling bytes. Connect and read timeouts, a size cap, and retries with
backoff only for what can heal (timeouts, resets, 408/429/5xx).
The format is known by decoding, never by the extension or Content-Type. ``offline`` uses
the cache only; ``mirror`` uses ``mirror/<last path segment of the URL>`` when that file
exists, instead of the network. When a refresh fails but an earlier copy is cached, the
cached copy is used and a warning says so.

Decoding: EXIF orientation applied; palette, grey, 16-bit, CMYK and alpha sources become sRGB
RGB (an embedded ICC profile is honoured); transparency is flattened onto the page
background; images over ``max_pixels`` are refused before decoding (decompression bombs);
truncated or corrupt files give a one-line message.

Incremental and deterministic: a manifest per sample in ``cache_dir`` records the key
(source bytes' hash, output settings, Pillow version) and the files made; when the key is
unchanged and the files are in ``out_dir``, nothing is decoded or written. The same input
gives byte-identical files and names. Encoding runs in a process pool over the CPU cores.

``make_social_card`` draws the 1200x630 Open Graph preview of one dataset page.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import re
import struct
import time
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urljoin, urlsplit

import PIL
import requests
import urllib3
from PIL import (
    ExifTags,
    Image,
    ImageCms,
    ImageDraw,
    ImageFont,
    ImageOps,
    UnidentifiedImageError,
)

from generator.cache import read_cache
from generator.files import write_atomic
from generator.net.deadline import Deadline, deadline_at
from generator.net.guard import AddressGuard, GuardError
from generator.net.policy import RETRY_AFTER_CAP_S, RETRY_STATUSES, retry_after_seconds
from generator.net.transport import Transport
from generator.progress import ProgressBar

MiB = 1024 * 1024

# Bump when the pipeline changes what it writes, so every manifest goes stale at once.
PIPELINE_VERSION = 2

ACCEPT_HEADER = "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8"
RETRY_BACKOFF_SECONDS = 0.25  # doubled on each further attempt
MAX_REDIRECTS = 5
# A read timeout bounds each socket read, not the whole exchange; a server trickling bytes
# would otherwise hold the build forever. Wall-clock caps, every try and byte included:
MAX_SECONDS_PER_IMAGE = 60.0
MAX_FETCH_SECONDS_PER_BUILD = 120.0  # all downloads of one build together
DOWNLOAD_CHUNK_BYTES = 64 * 1024
FETCH_WORKERS = 8  # downloads wait on the network, not the CPU

# Formats Pillow may try. A closed list: EPS would run Ghostscript, and rare formats widen
# the attack surface for files fetched from the internet. (Camera MPO files open as JPEG.)
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "AVIF")
JPEG_FORMATS = frozenset({"JPEG", "MPO"})
HTML_PREFIXES = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")

RESAMPLE = Image.Resampling.LANCZOS
# Shrink by whole factors (reduce()) first when a step is at least this many times too big.
# Pillow's docs: from 3.0 up "indistinguishable from fair resampling in most cases". JPEGs
# rarely need it: draft() below already leaves less than 2x to resize.
REDUCING_GAP = 3.0
# libwebp effort 0-6: 4 is its default; on our test photos 6 saves ~3 % for twice the time
# and 2 costs ~5 % more bytes. Thumbnails are encoded once and downloaded by every reader.
WEBP_METHOD = 4
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
# Errors Pillow raises for files it recognised but cannot decode (truncated data, broken
# chunks, bad tables, malformed EXIF).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)

PLACEHOLDER_NOTE = " — the page shows a placeholder"
STALE_NOTE = "; used the copy cached by an earlier build"

DOWNLOADS_DIR = "downloads"
MANIFESTS_DIR = "thumbnails"
NAME_HASH_LENGTH = 8
SAFE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # the catalogue's slug rule
IMAGE_EXTENSIONS = {"webp": "webp", "jpeg": "jpg"}

CARD_SIZE = (1200, 630)
CARD_MARGIN = 64
CARD_GAP = 48
CARD_THUMB_BOX = (440, CARD_SIZE[1] - 2 * CARD_MARGIN)
CARD_TITLE_SIZES = (72, 60, 50, 42)  # tried in order until the title fits in three lines
CARD_TITLE_MAX_LINES = 3
CARD_FIGURE_SIZE = 36
CARD_MAX_FIGURES = 3
CARD_BACKGROUND = (255, 255, 255)
CARD_ACCENT = (0, 121, 107)  # the theme's teal
CARD_TITLE_COLOUR = (33, 33, 33)
CARD_FIGURE_COLOUR = (84, 84, 84)
CARD_BORDER_COLOUR = (224, 224, 224)
CARD_ACCENT_HEIGHT = 12
CARD_JPEG_QUALITY = 90
# Pillow's built-in font covers little beyond ASCII; these stand in for common symbols it
# lacks, and accented letters lose their accents, rather than printing empty boxes.
CARD_GLYPH_FALLBACKS = {
    "≈": "~", "≥": ">=", "≤": "<=", "×": "x", "–": "-", "—": "-", "−": "-", "€": "EUR", "£": "GBP", "¥": "JPY",
}
CARD_UNKNOWN_GLYPH = "?"
# Debian's fonts-noto-cjk (./dev test installs it): Simplified Chinese glyphs and Latin, so
# the Chinese cards say their words in Chinese. The SC face is picked out of the collection.
CARD_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
CARD_CJK_FACE = "Noto Sans CJK SC"


@dataclass(frozen=True)
class SampleSource:
    """One sample image of one dataset."""

    dataset_id: str
    index: int  # 0-based position in the dataset's samples list
    url: str | None  # public http(s) address, or
    path: Path | None  # absolute local file (already checked to be inside data/)
    label: str  # for messages, e.g. "rpc sample 1 (https://...)"


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
    max_seconds_per_image: float = MAX_SECONDS_PER_IMAGE
    max_fetch_seconds: float = MAX_FETCH_SECONDS_PER_BUILD
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


@dataclass(frozen=True)
class ImageWarning:
    dataset_id: str
    index: int
    message: str


@dataclass(frozen=True)
class ImageReport:
    thumbnails: Mapping[tuple[str, int], Thumbnail]
    warnings: tuple[ImageWarning, ...]
    encoded: int  # samples decoded and encoded in this run
    reused: int  # samples whose outputs were already in out_dir


class _SampleError(Exception):
    """A reason one sample cannot be shown; becomes an ImageWarning at the stage's edge."""


class _Transient(Exception):
    """A fetch failure worth retrying."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


# --------------------------------------------------------------------------- entry point


def make_thumbnails(
    samples: Sequence[SampleSource],
    out_dir: Path,
    cache_dir: Path,
    settings: ImageSettings = ImageSettings(),
    *,
    offline: bool = False,
    mirror: Path | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> ImageReport:
    """Fetch, convert and encode every sample; see the module docstring for the contract."""
    keys = [(s.dataset_id, s.index) for s in samples]
    duplicates = sorted(k for k, n in collections.Counter(keys).items() if n > 1)
    if duplicates:
        raise ValueError(f"each sample must appear once; repeated: {duplicates}")
    unsafe = sorted({s.dataset_id for s in samples if not SAFE_ID_RE.match(s.dataset_id)})
    if unsafe:
        raise ValueError(f"dataset ids become file names and must be slugs; got {unsafe}")

    bar = ProgressBar("thumbnails", len(samples), enabled=progress)
    warnings: dict[tuple[str, int], list[str]] = {k: [] for k in keys}
    thumbnails: dict[tuple[str, int], Thumbnail] = {}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / DOWNLOADS_DIR).mkdir(parents=True, exist_ok=True)
        (cache_dir / MANIFESTS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        for s in samples:
            warnings[(s.dataset_id, s.index)].append(f"cannot create the image folders: {e}{PLACEHOLDER_NOTE}")
        bar.close()
        return _report(samples, thumbnails, warnings, encoded=0, reused=0)

    fetched = _gather(samples, cache_dir, settings, offline=offline, mirror=mirror)

    jobs: list[_Job] = []
    origins: dict[tuple[str, int], str] = {}
    reused = 0
    for s in samples:
        key = (s.dataset_id, s.index)
        got = fetched[key]
        warnings[key].extend(got.notes)
        if got.origin is not None:
            origins[key] = got.origin
        if got.data is None:
            bar.advance()
            continue
        job = _Job(
            dataset_id=s.dataset_id,
            index=s.index,
            data=got.data,
            key=_thumbnail_key(s, got.data, settings),
            settings=settings,
            out_dir=out_dir,
        )
        previous = _read_manifest(cache_dir, job, out_dir)
        if previous is not None:
            thumbnails[key] = previous
            reused += 1
            bar.advance()
        else:
            jobs.append(job)

    encoded = 0
    for job, outcome in _run(jobs, workers, bar):
        key = (job.dataset_id, job.index)
        if outcome.thumbnail is None:
            source = f" (read from {origins[key]})" if key in origins else ""
            warnings[key].append(f"{outcome.problem}{source}{PLACEHOLDER_NOTE}")
            continue
        thumbnails[key] = outcome.thumbnail
        encoded += 1
        try:
            _write_manifest(cache_dir, job, outcome.thumbnail)
        except OSError:
            pass  # the manifest only saves work next time; the thumbnail itself is fine
    bar.close()
    return _report(samples, thumbnails, warnings, encoded=encoded, reused=reused)


def _report(
    samples: Sequence[SampleSource],
    thumbnails: dict[tuple[str, int], Thumbnail],
    warnings: dict[tuple[str, int], list[str]],
    *,
    encoded: int,
    reused: int,
) -> ImageReport:
    ordered = {}
    found = []
    for s in samples:  # the caller's order, so the report reads like the data file
        key = (s.dataset_id, s.index)
        if key in thumbnails:
            ordered[key] = thumbnails[key]
        found.extend(ImageWarning(s.dataset_id, s.index, f"{s.label}: {m}") for m in warnings[key])
    return ImageReport(thumbnails=ordered, warnings=tuple(found), encoded=encoded, reused=reused)


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True)
class _Fetched:
    data: bytes | None
    notes: tuple[str, ...] = ()  # details without the sample's label
    origin: str | None = None  # where the bytes came from, when the label does not say it


@dataclass(frozen=True)
class _CacheEntry:
    body: bytes
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class _Net:
    """What all downloads of one build share: the guarded transport and the build's deadline."""

    transport: Transport
    build_deadline: float


def _gather(
    samples: Sequence[SampleSource],
    cache_dir: Path,
    settings: ImageSettings,
    *,
    offline: bool,
    mirror: Path | None,
) -> dict[tuple[str, int], _Fetched]:
    """The source bytes of every sample; each distinct URL is fetched once."""
    urls = sorted({s.url for s in samples if s.url is not None})
    by_url: dict[str, _Fetched] = {}
    if urls:
        guard = AddressGuard(settings.allow_private, allowed=settings.allowed_addresses)
        with Transport(guard, pool_size=lambda host: FETCH_WORKERS) as transport:
            net = _Net(transport, time.monotonic() + settings.max_fetch_seconds)
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(FETCH_WORKERS, len(urls))) as pool:
                futures = {
                    url: pool.submit(_fetch_url, url, cache_dir, settings, net, offline=offline, mirror=mirror)
                    for url in urls
                }
                by_url = {url: f.result() for url, f in futures.items()}
    found = {}
    for s in samples:
        if s.url is not None:
            got = by_url[s.url]
        elif s.path is not None:
            got = _read_local(s.path, settings)
        else:
            got = _Fetched(None, (f"has neither a url nor a path{PLACEHOLDER_NOTE}",))
        found[(s.dataset_id, s.index)] = got
    return found


def _read_local(path: Path, settings: ImageSettings, *, what: str = "file") -> _Fetched:
    try:
        size = path.stat().st_size
        if size > settings.max_bytes:
            too_big = f"the {what} {path} is larger than the {settings.max_bytes:,}-byte limit ({size:,} bytes)"
            return _Fetched(None, (too_big + PLACEHOLDER_NOTE,))
        return _Fetched(path.read_bytes())
    except OSError as e:
        return _Fetched(None, (f"cannot read the {what} {path}: {e.strerror or e}{PLACEHOLDER_NOTE}",))


def _mirror_file(mirror: Path, url: str) -> Path | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    candidate = mirror / name
    return candidate if candidate.is_file() else None


def _fetch_url(
    url: str, cache_dir: Path, settings: ImageSettings, net: _Net, *, offline: bool, mirror: Path | None
) -> _Fetched:
    if mirror is not None:
        local = _mirror_file(mirror, url)
        if local is not None:
            got = _read_local(local, settings, what="mirror file")
            return dataclasses.replace(got, origin=f"the mirror file {local}")
    cached = _read_cache(cache_dir, url)
    if offline:
        if cached is None:
            return _Fetched(None, (f"not in the download cache, and the build is offline{PLACEHOLDER_NOTE}",))
        return _Fetched(cached.body)
    try:
        body, etag, last_modified = _download(url, cached, settings, net)
    except _SampleError as e:
        if cached is not None:
            return _Fetched(cached.body, (f"{e}{STALE_NOTE}",))
        return _Fetched(None, (f"{e}{PLACEHOLDER_NOTE}",))
    if body is None:  # 304 Not Modified, which _download only accepts when it sent our validators
        return _Fetched(cached.body if cached is not None else None)
    try:
        _write_cache(cache_dir, url, body, etag, last_modified)
    except OSError:
        pass  # a read-only cache costs a full download next time, nothing else
    return _Fetched(body)


def _download(
    url: str, cached: _CacheEntry | None, settings: ImageSettings, net: _Net
) -> tuple[bytes | None, str | None, str | None]:
    """(body, ETag, Last-Modified); body is None when the server answered 304 to our cache."""
    headers = {"Accept": ACCEPT_HEADER}
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    attempts = max(1, settings.retries + 1)
    problem = ""
    per_image = time.monotonic() + settings.max_seconds_per_image
    if net.build_deadline <= time.monotonic():
        raise _SampleError(f"not fetched: the build's {settings.max_fetch_seconds:g} s for downloads had run out")
    with deadline_at(min(per_image, net.build_deadline)) as deadline:
        for attempt in range(attempts):
            try:
                return _download_once(net.transport, url, headers, settings, deadline, conditional=cached is not None)
            except _Transient as e:
                if deadline.expired:
                    break
                problem = str(e)
                if attempt + 1 < attempts:
                    if e.retry_after is not None and e.retry_after > RETRY_AFTER_CAP_S:
                        problem += f"; Retry-After asks for {e.retry_after:g} s, more than the {RETRY_AFTER_CAP_S:g} s cap"
                        attempts = attempt + 1
                        break
                    delay = RETRY_BACKOFF_SECONDS * 2**attempt if e.retry_after is None else e.retry_after
                    if delay >= deadline.remaining():
                        attempts = attempt + 1
                        break
                    time.sleep(delay)
    if deadline.expired:
        which = "image's" if per_image <= net.build_deadline else "build's"
        limit = settings.max_seconds_per_image if which == "image's" else settings.max_fetch_seconds
        raise _SampleError(f"could not fetch: the download took longer than the {which} {limit:g} s limit (stopped)")
    tries = "once" if attempts == 1 else f"{attempts} times"
    raise _SampleError(f"could not fetch: {problem} (tried {tries})")


def _download_once(
    transport: Transport,
    url: str,
    headers: dict[str, str],
    settings: ImageSettings,
    deadline: Deadline,
    *,
    conditional: bool,
) -> tuple[bytes | None, str | None, str | None]:
    timeouts = f"connect timeout {settings.connect_timeout:g} s, read timeout {settings.read_timeout:g} s"
    current = url
    try:
        # Redirects by hand, so that every hop's host passes the address guard.
        for _ in range(MAX_REDIRECTS + 1):
            remaining = max(deadline.remaining(), 0.001)
            timeout = (min(settings.connect_timeout, remaining), min(settings.read_timeout, remaining))
            with transport.send("GET", current, headers=headers, timeout=timeout) as resp:
                status = resp.status_code
                location = resp.headers.get("Location")
                if status in (301, 302, 303, 307, 308) and location:
                    current = urljoin(current, location.strip())
                    if urlsplit(current).scheme.lower() not in ("http", "https"):
                        raise _SampleError(f"could not fetch: redirected to {current}, which is not an http(s) URL")
                    continue
                if status == 304 and conditional:
                    return None, None, None
                if status in RETRY_STATUSES:
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    raise _Transient(f"HTTP {status} {resp.reason or ''}".rstrip(), wait)
                if status != 200:
                    raise _SampleError(f"could not fetch: HTTP {status} {resp.reason or ''}".rstrip())
                body = _read_capped(resp, settings, deadline)
                content_type = resp.headers.get("Content-Type", "")
                problem = _not_an_image(body, content_type, settings)
                if problem is not None:
                    raise _SampleError(problem)
                return body, resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        raise _SampleError(f"could not fetch: more than {MAX_REDIRECTS} redirects")
    except GuardError as e:
        where = "" if current == url else f"redirected to {current}, but "
        raise _SampleError(f"not fetched: {where}{e.reason}") from None
    except requests.exceptions.SSLError as e:
        raise _SampleError(f"could not fetch: TLS error ({_short(e)})") from None
    except requests.Timeout:
        raise _Transient(f"timed out ({timeouts})") from None
    except requests.ConnectionError as e:
        # requests reports a read timeout during the body as a ConnectionError
        if e.args and isinstance(e.args[0], urllib3.exceptions.ReadTimeoutError):
            raise _Transient(f"timed out ({timeouts})") from None
        raise _Transient(f"connection failed ({_short(e)})") from None
    except requests.exceptions.ChunkedEncodingError as e:
        raise _Transient(f"connection broke during the download ({_short(e)})") from None
    except requests.RequestException as e:
        raise _SampleError(f"could not fetch: {_short(e)}") from None


def _read_capped(resp: requests.Response, settings: ImageSettings, deadline: Deadline) -> bytes:
    limit = settings.max_bytes
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _SampleError(
            f"could not fetch: the body is larger than the {limit:,}-byte limit (Content-Length {int(declared):,})"
        )
    body = bytearray()
    for chunk in resp.iter_content(DOWNLOAD_CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            raise _SampleError(f"could not fetch: the body is larger than the {limit:,}-byte limit (stopped reading)")
    if deadline.expired:
        # the watchdog cut the socket: what arrived is a truncated body, not an image
        raise _Transient("the download passed its deadline")
    return bytes(body)


def _short(error: Exception) -> str:
    text = str(error)
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    return errno.group(0) if errno else text[:200]


def _cache_files(cache_dir: Path, url: str) -> tuple[Path, Path]:
    stem = hashlib.sha256(url.encode()).hexdigest()[:32]
    folder = cache_dir / DOWNLOADS_DIR
    return folder / f"{stem}.body", folder / f"{stem}.json"


def _read_cache(cache_dir: Path, url: str) -> _CacheEntry | None:
    body_path, meta_path = _cache_files(cache_dir, url)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        body = body_path.read_bytes()
    except (OSError, ValueError):
        return None
    # The metadata is written after the body; a mismatch means an interrupted write.
    if not isinstance(meta, dict) or meta.get("url") != url or meta.get("sha256") != hashlib.sha256(body).hexdigest():
        return None
    return _CacheEntry(body=body, etag=meta.get("etag"), last_modified=meta.get("last_modified"))


def _write_cache(cache_dir: Path, url: str, body: bytes, etag: str | None, last_modified: str | None) -> None:
    body_path, meta_path = _cache_files(cache_dir, url)
    meta = {"url": url, "sha256": hashlib.sha256(body).hexdigest(), "etag": etag, "last_modified": last_modified}
    write_atomic(body_path, body)
    write_atomic(meta_path, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())


# --------------------------------------------------------------------------- decoding


def _open_image(data: bytes, settings: ImageSettings, content_type: str | None = None) -> Image.Image:
    """Open (header only) and refuse bombs before a single pixel is decoded."""
    try:
        im = Image.open(io.BytesIO(data), formats=_accepted_formats())
    except UnidentifiedImageError:
        raise _SampleError(_unidentified(data, content_type)) from None
    except Image.DecompressionBombError as e:
        raise _SampleError(f"refused as a possible decompression bomb: {e}") from None
    width, height = im.size
    if width * height > settings.max_pixels:
        im.close()
        raise _SampleError(
            f"refused as a possible decompression bomb: {width}×{height} = {width * height:,} pixels "
            f"is more than the limit of {settings.max_pixels:,}"
        )
    return im


def _accepted_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in ACCEPTED_FORMATS if f in Image.OPEN)  # AVIF is optional in Pillow builds


def _not_an_image(data: bytes, content_type: str, settings: ImageSettings) -> str | None:
    """Why a downloaded body is not a usable image, or None; checked before it is cached."""
    try:
        with _open_image(data, settings, content_type) as im:
            im.verify()
    except _SampleError as e:
        return str(e)
    except DECODE_ERRORS as e:
        return f"the image file is truncated or corrupt ({e})"
    return None


def _unidentified(data: bytes, content_type: str | None) -> str:
    said = f" (the server said Content-Type: {content_type})" if content_type else ""
    head = data[:512].lstrip().lower()
    if head.startswith(HTML_PREFIXES) or b"<html" in head:
        return f"got an HTML page, not an image{said}"
    if not data:
        return f"got an empty file, not an image{said}"
    return f"is not an image in a supported format ({', '.join(ACCEPTED_FORMATS)}){said}"


def plan_widths(source_width: int, widths: Sequence[int]) -> list[int]:
    """Output widths for a source: never upscaled, and never nothing.

    A source narrower than the largest planned width is also kept at its own width: without
    it a 419 px source would top out at 320 px and be stretched to the page's 640 px.
    """
    fitting = {w for w in widths if 0 < w <= source_width}
    if source_width < max((w for w in widths if w > 0), default=0):
        fitting.add(source_width)
    return sorted(fitting) or [source_width]


def _displayed_size(im: Image.Image) -> tuple[int, int]:
    orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    width, height = im.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _to_srgb(im: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Any mode -> RGB in sRGB, transparency flattened onto the background."""
    if im.mode in SIXTEEN_BIT_MODES:
        # convert("L") would clip every value above 255 to white instead of scaling
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif im.mode == "F":
        im = im.point(lambda v: v * 255).convert("L")  # float images are 0.0-1.0 by convention
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    elif im.mode in ("L", "RGB") and "transparency" in im.info:
        im = im.convert("RGBA")
    elif im.mode in ("La", "RGBa"):
        im = im.convert(im.mode[:-1] + "A")

    alpha = None
    if im.mode in ("LA", "RGBA"):
        alpha = im.getchannel("A")
        im = im.convert(im.mode[:-1])
        if alpha.getextrema() == (255, 255):
            alpha = None

    icc = im.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            im = ImageCms.profileToProfile(im, source, _srgb_profile(), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or mismatched profile should not cost the reader the picture
    if im.mode != "RGB":
        try:
            im = im.convert("RGB")
        except ValueError:
            raise _SampleError(f"has an unsupported colour mode ({im.mode})") from None
    if alpha is not None:
        flat = Image.new("RGB", im.size, background)
        flat.paste(im, mask=alpha)
        im = flat
    return im


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _decode(data: bytes, settings: ImageSettings) -> tuple[Image.Image, tuple[int, int], list[int]]:
    """The upright sRGB image (possibly already shrunk by the JPEG decoder), the source's
    upright size, and the widths to make."""
    im = _open_image(data, settings)
    display_w, display_h = _displayed_size(im)
    widths = plan_widths(display_w, settings.widths)
    if im.format in JPEG_FORMATS:
        # libjpeg scales by 1/2, 1/4 or 1/8 in the DCT: far less to decode and to resize,
        # and draft() never goes below the size asked for.
        scale = widths[-1] / display_w
        stored_w, stored_h = im.size
        im.draft(im.mode, (math.ceil(stored_w * scale), math.ceil(stored_h * scale)))
    im.load()
    ImageOps.exif_transpose(im, in_place=True)
    im = _to_srgb(im, settings.background)
    im.info = {}  # no EXIF, ICC or comments in the outputs: they are sRGB and upright
    return im, (display_w, display_h), widths


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class _Job:
    dataset_id: str
    index: int
    data: bytes
    key: str
    settings: ImageSettings
    out_dir: Path


@dataclass(frozen=True)
class _Outcome:
    thumbnail: Thumbnail | None
    problem: str | None = None


def _thumbnail_key(sample: SampleSource, data: bytes, settings: ImageSettings) -> str:
    material = {
        "pipeline": PIPELINE_VERSION,
        "pillow": PIL.__version__,
        "webp_method": WEBP_METHOD,
        "reducing_gap": REDUCING_GAP,
        "source": hashlib.sha256(data).hexdigest(),
        "sample": [sample.dataset_id, sample.index],
        "settings": {name: getattr(settings, name) for name in OUTPUT_SETTINGS},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _render(job: _Job) -> _Outcome:
    """Decode, resize and encode one sample; runs in a worker process."""
    try:
        variants = _variants(job.data, job.settings)
    except _SampleError as e:
        return _Outcome(None, str(e))
    except DECODE_ERRORS as e:
        return _Outcome(None, f"the image file is truncated or corrupt ({e})")
    webp, jpeg = [], []
    try:
        for variant in variants:
            webp.append(_save(job, variant, "webp"))
            jpeg.append(_save(job, variant, "jpeg"))
    except OSError as e:
        return _Outcome(None, f"could not write thumbnails into {job.out_dir}: {e.strerror or e}")
    largest = variants[-1]
    return _Outcome(
        Thumbnail(
            dataset_id=job.dataset_id,
            index=job.index,
            width=largest.width,
            height=largest.height,
            webp=tuple(webp),
            jpeg=tuple(jpeg),
        )
    )


def _variants(data: bytes, settings: ImageSettings) -> list[Image.Image]:
    """The upright sRGB image at each planned width, ascending (decode + resize, no encoding)."""
    im, (display_w, display_h), widths = _decode(data, settings)
    variants: list[Image.Image] = []
    current = im
    for width in reversed(widths):
        # from the source's size, not the decoder's rounded draft size, so the intrinsic
        # size in the HTML matches the source's aspect exactly
        height = max(1, round(display_h * width / display_w))
        if current.size != (width, height):
            # from the previous (larger) variant: each step is small, so it is cheap
            current = current.resize((width, height), RESAMPLE, reducing_gap=REDUCING_GAP)
        variants.append(current)
    variants.reverse()
    return variants


def _save(job: _Job, im: Image.Image, fmt: Literal["webp", "jpeg"]) -> ImageFile:
    buffer = io.BytesIO()
    if fmt == "webp":
        im.save(buffer, "WEBP", quality=job.settings.webp_quality, method=WEBP_METHOD)
    else:
        im.save(buffer, "JPEG", quality=job.settings.jpeg_quality, optimize=True, progressive=True)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:NAME_HASH_LENGTH]
    name = f"{job.dataset_id}-{job.index}-{im.width}w.{digest}.{IMAGE_EXTENSIONS[fmt]}"
    path = job.out_dir / name
    if not _same_bytes(path, data):  # keeps the mtime of an identical file
        write_atomic(path, data)
    return ImageFile(name=name, width=im.width, height=im.height, format=fmt)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _run(jobs: list[_Job], workers: int | None, bar: ProgressBar) -> list[tuple[_Job, _Outcome]]:
    count = min(workers or os.cpu_count() or 1, len(jobs))
    if count <= 1:
        done = []
        for job in jobs:
            done.append((job, _render(job)))
            bar.advance()
        return done
    outcomes: dict[int, _Outcome] = {}
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=count) as pool:
            futures = {pool.submit(_render, job): i for i, job in enumerate(jobs)}
            for future in concurrent.futures.as_completed(futures):
                outcomes[futures[future]] = future.result()
                bar.advance()
    except BrokenProcessPool:
        pass  # a worker died (out of memory, killed); the samples it left get a warning below
    crashed = _Outcome(None, "the image worker process crashed (out of memory?)")
    return [(job, outcomes.get(i, crashed)) for i, job in enumerate(jobs)]


def _manifest_path(cache_dir: Path, job: _Job) -> Path:
    return cache_dir / MANIFESTS_DIR / f"{job.dataset_id}-{job.index}.json"


def _write_manifest(cache_dir: Path, job: _Job, thumbnail: Thumbnail) -> None:
    files = {f.name: (job.out_dir / f.name).stat().st_size for f in thumbnail.webp + thumbnail.jpeg}
    record = {"key": job.key, "thumbnail": dataclasses.asdict(thumbnail), "sizes": files}
    write_atomic(_manifest_path(cache_dir, job), (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


def _read_manifest(cache_dir: Path, job: _Job, out_dir: Path) -> Thumbnail | None:
    """The thumbnail made earlier from the same bytes and settings, if its files are all there."""
    record = read_cache(_manifest_path(cache_dir, job), _decode_manifest, "thumbnail record")
    if record is None or record[0] != job.key:
        return None  # none, or made from other bytes or settings: encode again
    key, sizes, thumbnail = record
    try:
        if any((out_dir / name).stat().st_size != size for name, size in sizes.items()):
            return None
    except OSError:
        return None  # a thumbnail file is gone: encode again
    return thumbnail


def _decode_manifest(raw: bytes) -> tuple[str, dict[str, int], Thumbnail]:
    record = json.loads(raw)
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
    return record["key"], sizes, thumbnail


# --------------------------------------------------------------------------- social card


def cjk_font() -> Path | None:
    """The CJK font file the cards use, or None when it is not installed."""
    return next((path for path in CARD_CJK_FONTS if path.is_file()), None)


@functools.cache
def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    for index in range(16):  # a collection holds one face per region; take the SC one
        try:
            face = ImageFont.truetype(str(path), size, index=index)
        except OSError:
            break
        if face.getname()[0] == CARD_CJK_FACE:
            return face
    return ImageFont.truetype(str(path), size)


def make_social_card(title: str, figures: Sequence[str], thumbnail: Path | None, out_path: Path, font: Path | None = None) -> None:
    """Draw the 1200x630 Open Graph card: the title large, up to three key figures, and the
    thumbnail on the right. ``font`` is a TrueType file (the CJK font for Chinese cards);
    without one, Pillow's built-in font, whose missing characters are replaced. PNG or JPEG
    by ``out_path``'s suffix; same input, same bytes.

    Raises OSError when the thumbnail cannot be read or the card cannot be written (both are
    our own files, so that is a bug or a full disk, not bad data)."""
    suffix = out_path.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"a social card is a .png or .jpg file, got {out_path.name!r}")
    card = Image.new("RGB", CARD_SIZE, CARD_BACKGROUND)
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, CARD_SIZE[0], CARD_ACCENT_HEIGHT - 1), fill=CARD_ACCENT)

    text_right = CARD_SIZE[0] - CARD_MARGIN
    if thumbnail is not None:
        with Image.open(thumbnail) as source:
            upright = _to_srgb(ImageOps.exif_transpose(source), CARD_BACKGROUND)
            picture = ImageOps.contain(upright, CARD_THUMB_BOX, RESAMPLE)
        left = CARD_SIZE[0] - CARD_MARGIN - picture.width
        top = (CARD_SIZE[1] - picture.height) // 2
        card.paste(picture, (left, top))
        draw.rectangle((left - 1, top - 1, left + picture.width, top + picture.height), outline=CARD_BORDER_COLOUR)
        text_right = left - CARD_GAP
    text_width = text_right - CARD_MARGIN

    drawable = (lambda text: text) if font is not None else _drawable
    title_font, lines = _fit_title(draw, drawable(title.strip()), text_width, font)
    figure_font = _font(font, CARD_FIGURE_SIZE)
    title_step = round(title_font.size * 1.2)
    figure_step = round(CARD_FIGURE_SIZE * 1.5)
    shown = [drawable(f.strip()) for f in figures if f.strip()][:CARD_MAX_FIGURES]
    block = len(lines) * title_step + (CARD_GAP + len(shown) * figure_step if shown else 0)
    y = max(CARD_MARGIN, (CARD_SIZE[1] - block) // 2)
    for line in lines:
        draw.text((CARD_MARGIN, y), line, font=title_font, fill=CARD_TITLE_COLOUR)
        y += title_step
    y += CARD_GAP
    for figure in shown:
        line = _ellipsize(draw, figure, figure_font, text_width)
        draw.text((CARD_MARGIN, y), line, font=figure_font, fill=CARD_FIGURE_COLOUR)
        y += figure_step

    buffer = io.BytesIO()
    if suffix == ".png":
        card.save(buffer, "PNG", optimize=True)
    else:
        card.save(buffer, "JPEG", quality=CARD_JPEG_QUALITY, optimize=True, progressive=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not _same_bytes(out_path, buffer.getvalue()):
        write_atomic(out_path, buffer.getvalue())


def _fit_title(draw: ImageDraw.ImageDraw, title: str, width: int, font_path: Path | None = None) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest title size whose wrapped lines fit; the smallest size cut with an ellipsis."""
    for size in CARD_TITLE_SIZES:
        font = _font(font_path, size)
        lines = _wrap(draw, title, font, width)
        if len(lines) <= CARD_TITLE_MAX_LINES:
            return font, lines
    kept = lines[:CARD_TITLE_MAX_LINES]
    kept[-1] = _ellipsize(draw, kept[-1] + " …", font, width)
    return font, kept


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines that fit ``width``, broken at spaces; Chinese (no spaces) between any two characters."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        elif draw.textlength(word, font=font) > width and any(_is_cjk(ch) for ch in word):
            line = ""
            for ch in word:
                if line and draw.textlength(line + ch, font=font) > width:
                    lines.append(line)
                    line = ""
                line += ch
            lines.append(line)
        else:
            lines.append(_ellipsize(draw, word, font, width))
    return lines or [""]


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def _ellipsize(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _drawable(text: str) -> str:
    """The text with every character the built-in font lacks replaced by one it has."""
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif _has_glyph(ch):
            out.append(ch)
        elif ch in CARD_GLYPH_FALLBACKS:
            out.append(CARD_GLYPH_FALLBACKS[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(_has_glyph(c) for c in base) else CARD_UNKNOWN_GLYPH)
    return "".join(out)


@functools.cache
def _has_glyph(ch: str) -> bool:
    font = ImageFont.load_default(size=CARD_FIGURE_SIZE)
    return bytes(font.getmask(ch)) != bytes(font.getmask(_MISSING_GLYPH))


_MISSING_GLYPH = "\U0010fffd"  # a private-use code point no font draws
