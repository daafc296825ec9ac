"""Sample sources -> files on disk: the mirror, the data folder, the download cache or the network.

Every request goes through ``generator.net``: the address guard (a sample on a private,
loopback or link-local address is refused, on the first request and on every redirect hop,
unless ``allow_private``; the connection goes to the address that was vetted), the project's
one User-Agent, retry statuses and Retry-After rule, and wall-clock deadlines per image and
per build that also cut servers trickling bytes. Connect and read timeouts, a size cap, and
retries with backoff only for what can heal (timeouts, resets, 408/429/5xx).

A body is streamed to a file in the download cache (``store``) as it arrives and checked to
be an image there before it is kept; nothing here holds a sample's bytes in memory, so the
memory of the stage does not grow with the catalogue. Re-fetching is conditional (ETag,
Last-Modified) and a 304 reuses the cached body. ``offline`` uses the cache only; ``mirror``
uses ``mirror/<last path segment of the URL>`` when that file exists, instead of the network.
When a refresh fails but an earlier copy is cached, the cached copy is used and a note says so.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3

from generator.images.decode import not_an_image
from generator.images.store import Cached, DownloadStore, FileHashes, hash_file
from generator.images.values import Fetched, ImageSettings, SampleError, SampleRef, SampleSource, SourceFile
from generator.net.deadline import Deadline, deadline_at
from generator.net.guard import AddressGuard, GuardError
from generator.net.policy import RETRY_AFTER_CAP_S, RETRY_STATUSES, retry_after_seconds
from generator.net.transport import Transport

ACCEPT_HEADER = "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8"
RETRY_BACKOFF_SECONDS = 0.25  # doubled on each further attempt
MAX_REDIRECTS = 5
DOWNLOAD_CHUNK_BYTES = 64 * 1024
FETCH_WORKERS = 8  # downloads wait on the network, not the CPU

PLACEHOLDER_NOTE = " — the page shows a placeholder"
STALE_NOTE = "; used the copy cached by an earlier build"


class _Transient(Exception):
    """A fetch failure worth retrying."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Net:
    """What all downloads of one build share: the guarded transport, the cache and the build's deadline."""

    transport: Transport
    store: DownloadStore
    build_deadline: float
    hashes: FileHashes


def gather(
    samples: Sequence[SampleSource],
    store: DownloadStore,
    settings: ImageSettings,
    *,
    offline: bool,
    mirror: Path | None,
    hashes: FileHashes,
) -> dict[SampleRef, Fetched]:
    """Where the bytes of every sample are; each distinct URL is fetched once."""
    urls = sorted({s.url for s in samples if s.url is not None})
    by_url: dict[str, Fetched] = {}
    if urls:
        guard = AddressGuard(settings.allow_private, allowed=settings.allowed_addresses)
        with Transport(guard, pool_size=lambda host: FETCH_WORKERS) as transport:
            net = _Net(transport, store, time.monotonic() + settings.max_fetch_seconds, hashes)
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(FETCH_WORKERS, len(urls))) as pool:
                futures = {
                    url: pool.submit(_fetch_url, url, settings, net, offline=offline, mirror=mirror) for url in urls
                }
                by_url = {url: f.result() for url, f in futures.items()}
    store.prune(set(urls))
    found = {}
    for s in samples:
        if s.url is not None:
            got = by_url[s.url]
        elif s.path is not None:
            got = local_source(s.path, settings, hashes)
        else:
            got = Fetched(None, (f"has neither a url nor a path{PLACEHOLDER_NOTE}",))
        found[s.ref] = got
    return found


def local_source(path: Path, settings: ImageSettings, hashes: FileHashes | None = None, *, what: str = "file") -> Fetched:
    """A file under data/ or in the mirror: checked for size and hashed (or its hash
    remembered by ``hashes``), not read into memory."""
    try:
        size = path.stat().st_size
        if size > settings.max_bytes:
            too_big = f"the {what} {path} is larger than the {settings.max_bytes:,}-byte limit ({size:,} bytes)"
            return Fetched(None, (too_big + PLACEHOLDER_NOTE,))
        digest, size = hashes.digest(path) if hashes is not None else hash_file(path)
        return Fetched(SourceFile(path, digest, size))
    except OSError as e:
        return Fetched(None, (f"cannot read the {what} {path}: {e.strerror or e}{PLACEHOLDER_NOTE}",))


def mirror_file(mirror: Path, url: str) -> Path | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    candidate = mirror / name
    return candidate if candidate.is_file() else None


def _fetch_url(url: str, settings: ImageSettings, net: _Net, *, offline: bool, mirror: Path | None) -> Fetched:
    if mirror is not None:
        local = mirror_file(mirror, url)
        if local is not None:
            got = local_source(local, settings, net.hashes, what="mirror file")
            return dataclasses.replace(got, origin=f"the mirror file {local}")
    cached = net.store.lookup(url)
    if offline:
        if cached is None:
            return Fetched(None, (f"not in the download cache, and the build is offline{PLACEHOLDER_NOTE}",))
        return Fetched(cached.source)
    try:
        body = _download(url, cached, settings, net)
    except SampleError as e:
        if cached is not None:
            return Fetched(cached.source, (f"{e}{STALE_NOTE}",))
        return Fetched(None, (f"{e}{PLACEHOLDER_NOTE}",))
    if body is None:  # 304 Not Modified, which _download only accepts when it sent our validators
        return Fetched(cached.source if cached is not None else None)
    return Fetched(body)


def _download(url: str, cached: Cached | None, settings: ImageSettings, net: _Net) -> SourceFile | None:
    """The body, kept in the cache; None when the server answered 304 to our cached copy."""
    headers = {"Accept": ACCEPT_HEADER}
    if cached is not None:
        if cached.record.etag:
            headers["If-None-Match"] = cached.record.etag
        if cached.record.last_modified:
            headers["If-Modified-Since"] = cached.record.last_modified
    attempts = max(1, settings.retries + 1)
    problem = ""
    per_image = time.monotonic() + settings.max_seconds_per_image
    if net.build_deadline <= time.monotonic():
        raise SampleError(f"not fetched: the build's {settings.max_fetch_seconds:g} s for downloads had run out")
    with deadline_at(min(per_image, net.build_deadline)) as deadline:
        for attempt in range(attempts):
            try:
                return _download_once(net, url, headers, settings, deadline, conditional=cached is not None)
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
        raise SampleError(f"could not fetch: the download took longer than the {which} {limit:g} s limit (stopped)")
    tries = "once" if attempts == 1 else f"{attempts} times"
    raise SampleError(f"could not fetch: {problem} (tried {tries})")


def _download_once(
    net: _Net,
    url: str,
    headers: dict[str, str],
    settings: ImageSettings,
    deadline: Deadline,
    *,
    conditional: bool,
) -> SourceFile | None:
    timeouts = f"connect timeout {settings.connect_timeout:g} s, read timeout {settings.read_timeout:g} s"
    current = url
    try:
        # Redirects by hand, so that every hop's host passes the address guard.
        for _ in range(MAX_REDIRECTS + 1):
            remaining = max(deadline.remaining(), 0.001)
            timeout = (min(settings.connect_timeout, remaining), min(settings.read_timeout, remaining))
            with net.transport.send("GET", current, headers=headers, timeout=timeout) as resp:
                status = resp.status_code
                location = resp.headers.get("Location")
                if status in (301, 302, 303, 307, 308) and location:
                    current = urljoin(current, location.strip())
                    if urlsplit(current).scheme.lower() not in ("http", "https"):
                        raise SampleError(f"could not fetch: redirected to {current}, which is not an http(s) URL")
                    continue
                if status == 304 and conditional:
                    return None
                if status in RETRY_STATUSES:
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    raise _Transient(f"HTTP {status} {resp.reason or ''}".rstrip(), wait)
                if status != 200:
                    raise SampleError(f"could not fetch: HTTP {status} {resp.reason or ''}".rstrip())
                return _receive(url, resp, settings, deadline, net.store)
        raise SampleError(f"could not fetch: more than {MAX_REDIRECTS} redirects")
    except GuardError as e:
        where = "" if current == url else f"redirected to {current}, but "
        raise SampleError(f"not fetched: {where}{e.reason}") from None
    except requests.exceptions.SSLError as e:
        raise SampleError(f"could not fetch: TLS error ({_short(e)})") from None
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
        raise SampleError(f"could not fetch: {_short(e)}") from None


def _receive(url: str, resp: requests.Response, settings: ImageSettings, deadline: Deadline, store: DownloadStore) -> SourceFile:
    """Stream the body into the cache, capped, and keep it only when it is a whole image."""
    limit = settings.max_bytes
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise SampleError(
            f"could not fetch: the body is larger than the {limit:,}-byte limit (Content-Length {int(declared):,})"
        )
    try:
        body = store.receive()
    except OSError as e:
        raise _unwritable(store, e) from None
    with body:
        digest = hashlib.sha256()
        size = 0
        try:
            for chunk in resp.iter_content(DOWNLOAD_CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise SampleError(f"could not fetch: the body is larger than the {limit:,}-byte limit (stopped reading)")
                digest.update(chunk)
                body.write(chunk)
            body.close()
        except OSError as e:
            if isinstance(e, requests.RequestException):
                raise  # requests' errors are OSErrors too: the connection's, which the caller retries
            raise _unwritable(store, e) from None
        if deadline.expired:
            # the watchdog cut the socket: what arrived is a truncated body, not an image
            raise _Transient("the download passed its deadline")
        problem = not_an_image(body.path, resp.headers.get("Content-Type", ""), settings)
        if problem is not None:
            raise SampleError(problem)
        try:
            return store.keep(url, body, digest.hexdigest(), size, resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
        except OSError as e:
            raise _unwritable(store, e) from None


def _unwritable(store: DownloadStore, error: OSError) -> SampleError:
    return SampleError(f"could not fetch: cannot write into the download cache {store.folder}: {error.strerror or error}")


def _short(error: Exception) -> str:
    text = str(error)
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    return errno.group(0) if errno else text[:200]
