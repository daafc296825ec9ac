"""The download cache: each sample body in a file named by its SHA-256, one record per URL.

``downloads/<sha256>.img`` holds a body exactly as the server sent it; ``downloads/<hash of
the URL>.record.json`` says which body a URL gave last and with which validators (ETag,
Last-Modified) to ask again. Bodies are streamed into place through ``files.AtomicFile``,
never held in memory whole. A record is read through the one cache contract
(``generator.cache``); a body is hashed again when it is used, and a damaged or truncated one
is deleted with ONE warning naming it and fetched again. ``prune`` deletes what no URL of the
catalogue points to any more, so the folder holds at most one body per sample URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from generator.cache import StaleFormat, read_cache, save_cache
from generator.files import TEMP_SUFFIX, AtomicFile
from generator.images.values import SourceFile

log = logging.getLogger("sku_survey")

RECORD_FORMAT = 1
RECORD_SUFFIX = ".record.json"
BODY_SUFFIX = ".img"
HASH_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Record:
    url: str
    sha256: str
    size: int
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class Cached:
    """A URL's last body, checked whole, with the validators to ask for it again."""

    record: Record
    source: SourceFile


def hash_file(path: Path) -> tuple[str, int]:
    """(SHA-256 hex, size) of a file, read a chunk at a time."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


LOCAL_HASHES_FORMAT = 1


class FileHashes:
    """The SHA-256 of the data folder's and the mirror's files, remembered by their stat.

    A file whose path, size, modification time and inode are the ones it had when it was
    hashed is not read again (the rule git and make use): hashing every sample again was 5 s
    of every build at 3,000 samples, and 1.6 s of every preview rebuild at 1,000. Kept in
    one small file through the one cache contract; only the files of the latest build stay.
    The encoder hashes the bytes it reads once more, so a file changed behind its stat is
    caught there before it is encoded.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, list[object]] = read_cache(path, _decode_hashes, "memo of sample file hashes", remember=True) or {}
        self._used: dict[str, list[object]] = {}
        self._lock = threading.Lock()

    def digest(self, file: Path) -> tuple[str, int]:
        """(SHA-256 hex, size), as ``hash_file``; raises OSError as it does."""
        st = file.stat()
        # the stat tells the file; the path only keeps two files apart
        key = f"{os.path.abspath(file)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            digest, size = str(known[0]), int(str(known[1]))
        else:
            digest, size = hash_file(file)
        with self._lock:
            self._used[key] = [digest, size]
        return digest, size

    def save(self) -> None:
        if self._used == self._known:
            return
        data = {"format": LOCAL_HASHES_FORMAT, "files": self._used}
        try:
            save_cache(self.path, json.dumps(data, sort_keys=True).encode("utf-8"), remember=(_decode_hashes, self._used))
        except OSError:
            pass  # without it the files are hashed again next time, nothing else


def _decode_hashes(raw: bytes) -> dict[str, list[object]]:
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("format") != LOCAL_HASHES_FORMAT:
        raise StaleFormat("not a memo of file hashes of this version")
    files = data["files"]
    if not isinstance(files, dict) or not all(isinstance(v, list) and len(v) == 2 for v in files.values()):
        raise ValueError("not a table of file hashes")
    return files


def _decode_record(raw: bytes) -> Record:
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise StaleFormat("not a download record of this version")
    record = Record(data["url"], data["sha256"], data["size"], data["etag"], data["last_modified"])
    if not (isinstance(record.url, str) and isinstance(record.sha256, str) and isinstance(record.size, int)):
        raise ValueError("a download record with fields of the wrong type")
    if len(record.sha256) != 64 or any(c not in "0123456789abcdef" for c in record.sha256):
        raise ValueError("a download record whose hash is not a SHA-256")
    return record


class DownloadStore:
    """The download cache of one build; its methods may be called from several threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._records: dict[str, Record] = {}  # read or written in this run, by URL

    def _record_path(self, url: str) -> Path:
        return self.folder / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}{RECORD_SUFFIX}"

    def _body_path(self, sha256: str) -> Path:
        return self.folder / f"{sha256}{BODY_SUFFIX}"

    def _read_record(self, url: str) -> Record | None:
        path = self._record_path(url)
        record = read_cache(path, _decode_record, "download record")
        if record is not None and record.url != url:
            log.warning("%s: the download record names another URL; discarded, it will be made again", path)
            path.unlink(missing_ok=True)
            return None
        return record

    def lookup(self, url: str) -> Cached | None:
        """The body this URL gave last, hashed again now; None when there is none or it is damaged."""
        record = self._read_record(url)
        if record is None:
            return None
        body = self._body_path(record.sha256)
        try:
            digest, size = hash_file(body)
        except FileNotFoundError:
            self._record_path(url).unlink(missing_ok=True)  # the body was cleaned away: fetch it again
            return None
        except OSError as err:
            log.warning("%s: cannot read the downloaded sample (%s); fetching it again", body, err.strerror or err)
            return None
        if (digest, size) != (record.sha256, record.size):
            log.warning("%s: the downloaded sample is damaged or truncated; discarded, it will be fetched again", body)
            body.unlink(missing_ok=True)
            self._record_path(url).unlink(missing_ok=True)
            return None
        with self._lock:
            self._records[url] = record
        return Cached(record, SourceFile(body, record.sha256, record.size))

    def receive(self) -> AtomicFile:
        """A temporary file in the cache for a body being downloaded (see ``keep``)."""
        return AtomicFile(self.folder, "download")

    def keep(self, url: str, body: AtomicFile, sha256: str, size: int, etag: str | None, last_modified: str | None) -> SourceFile:
        """Put a whole, checked body in place under its hash, and note it as the URL's last."""
        path = self._body_path(sha256)
        body.commit(path)
        record = Record(url, sha256, size, etag, last_modified)
        with self._lock:
            self._records[url] = record
        fields = {"format": RECORD_FORMAT, "url": url, "sha256": sha256, "size": size, "etag": etag, "last_modified": last_modified}
        try:
            save_cache(self._record_path(url), (json.dumps(fields, indent=2, sort_keys=True) + "\n").encode())
        except OSError:
            pass  # without its record the body is fetched again next time, nothing else
        return SourceFile(path, sha256, size)

    def prune(self, urls: set[str]) -> None:
        """Delete the records and bodies no URL of ``urls`` points to (and files of older versions)."""
        keep: set[str] = set()
        for url in sorted(urls):
            with self._lock:
                record = self._records.get(url)
            if record is None:
                record = self._read_record(url)  # a URL served from the mirror in this run
            if record is not None:
                keep.add(self._record_path(url).name)
                keep.add(self._body_path(record.sha256).name)
        try:
            names = sorted(p.name for p in self.folder.iterdir() if p.is_file())
        except OSError:
            return
        for name in names:
            if name in keep or (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                continue  # temporaries belong to files.remove_leftovers, under the build's lock
            (self.folder / name).unlink(missing_ok=True)
