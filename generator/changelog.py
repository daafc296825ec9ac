"""Two revisions of the data file → what changed between them (``sku-survey changelog``).

Input: a git repository, a revision, a second revision or ``None`` for the working tree,
and the data file's path inside the repository. Each version is read with
``git show REV:PATH``, loaded and validated like the build does. A version that does not
validate (an old file from before a model change, or a half-edited working tree) is
compared from its raw loaded data instead, by dataset id; the changelog says so.

Output: a ``Changelog``: datasets added and removed, figures changed (``stats.*`` values
with old → new) and links changed (URLs added and removed, per dataset present in both
versions, as ``generator.urls.catalog_links`` lists them). Every list is in id order,
then figure order or URL order, so the same two versions always give the same bytes.

Failure: ``ChangelogError`` (a ``ValueError``) when git cannot resolve a revision, or a
version is not readable YAML.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from generator.document import parse_document
from generator.errors import BadInput, InvalidData, LoadError
from generator.model import Catalog, Figure, Qualifier
from generator.urls import catalog_links, entry_urls
from generator.validate import validate_document

DEFAULT_PATH = "data/datasets.yaml"
WORKING_TREE = "working tree"
MAIN_FIGURES = ("images", "classes", "instances")
QUALIFIER_SIGNS = {Qualifier.EXACT: "", Qualifier.APPROX: "≈", Qualifier.AT_LEAST: "≥"}


class ChangelogError(BadInput, ValueError):
    """A revision or file that cannot be compared."""


@dataclass(frozen=True)
class DatasetRef:
    id: str
    name: str


@dataclass(frozen=True)
class FigureValue:
    value: int | None  # None: the data says the figure is not known
    qualifier: Qualifier = Qualifier.EXACT

    def __str__(self) -> str:
        if self.value is None:
            return "unknown"
        return f"{QUALIFIER_SIGNS[self.qualifier]}{self.value:,}"


@dataclass(frozen=True)
class FigureChange:
    dataset_id: str
    figure: str  # "images", "classes", "instances" or "splits.<name>"
    old: FigureValue | None  # None: the figure was not given
    new: FigureValue | None


@dataclass(frozen=True)
class LinkChange:
    dataset_id: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Changelog:
    path: str
    rev1: str
    rev2: str | None  # None: the working tree
    added: tuple[DatasetRef, ...]
    removed: tuple[DatasetRef, ...]
    figures: tuple[FigureChange, ...]
    links: tuple[LinkChange, ...]
    raw_fallback: tuple[str, ...] = ()  # the versions compared from raw data ("REV" or "working tree")

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.figures or self.links)


@dataclass(frozen=True)
class _Entry:
    name: str
    figures: Mapping[str, FigureValue]
    urls: frozenset[str]


@dataclass(frozen=True)
class _Version:
    entries: Mapping[str, _Entry]
    validated: bool


def changelog(repo: Path, rev1: str, rev2: str | None, path: str = DEFAULT_PATH) -> Changelog:
    """What changed in ``path`` from ``rev1`` to ``rev2`` (``None``: the working tree file)."""
    old = _read_revision(repo, rev1, path)
    if rev2 is None:
        new = _read_working_tree(repo, path)
    else:
        new = _read_revision(repo, rev2, path)
    return _compare(path, rev1, rev2, old, new)


def _compare(path: str, rev1: str, rev2: str | None, old: _Version, new: _Version) -> Changelog:
    added = tuple(DatasetRef(i, new.entries[i].name) for i in sorted(new.entries.keys() - old.entries.keys()))
    removed = tuple(DatasetRef(i, old.entries[i].name) for i in sorted(old.entries.keys() - new.entries.keys()))
    figures: list[FigureChange] = []
    links: list[LinkChange] = []
    for dataset_id in sorted(old.entries.keys() & new.entries.keys()):
        before, after = old.entries[dataset_id], new.entries[dataset_id]
        for name in _figure_order(before.figures.keys() | after.figures.keys()):
            a, b = before.figures.get(name), after.figures.get(name)
            if a != b:
                figures.append(FigureChange(dataset_id, name, a, b))
        if before.urls != after.urls:
            links.append(
                LinkChange(dataset_id, tuple(sorted(after.urls - before.urls)), tuple(sorted(before.urls - after.urls)))
            )
    fallback = tuple(
        label for label, version in ((rev1, old), (rev2 or WORKING_TREE, new)) if not version.validated
    )
    return Changelog(path, rev1, rev2, added, removed, tuple(figures), tuple(links), fallback)


def _figure_order(names: set[str]) -> list[str]:
    main = [n for n in MAIN_FIGURES if n in names]
    return main + sorted(n for n in names if n not in MAIN_FIGURES)


# ------------------------------------------------------------------ reading a version


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except OSError as err:
        raise ChangelogError(f"cannot run git: {err.strerror or err}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"
        raise ChangelogError(f"git {' '.join(args)} failed: {message}")
    return done.stdout


def _read_revision(repo: Path, rev: str, path: str) -> _Version:
    if rev.startswith("-"):
        raise ChangelogError(f"expected a git revision, got {rev!r}")
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}").decode().strip()
    except ChangelogError:
        raise ChangelogError(f"{rev!r} is not a commit of the git repository at {repo}") from None
    if not _git(repo, "ls-tree", "--name-only", commit, "--", path).strip():
        # the file did not exist yet: every dataset of the other version is new
        return _Version({}, validated=True)
    raw = _git(repo, "show", f"{commit}:{path}")
    data_dir = PurePosixPath(path).parent
    # local sample paths are checked against the files of that revision, not of today
    listed = _git(repo, "ls-tree", "-r", "-z", "--name-only", commit, "--", f"{data_dir}/")
    with tempfile.TemporaryDirectory(prefix="sku-survey-changelog-") as tmp:
        root = Path(tmp)
        for name in filter(None, listed.decode("utf-8").split("\0")):
            target = root / PurePosixPath(name).relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        return _load(raw, root / PurePosixPath(path).name, f"{rev}:{path}", root)


def _read_working_tree(repo: Path, path: str) -> _Version:
    file = repo / path
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise ChangelogError(f"cannot read {path} in the working tree: {err.strerror or err}") from None
    return _load(raw, file, path, file.parent)


def _load(raw: bytes, file: Path, display: str, data_dir: Path) -> _Version:
    try:
        doc = parse_document(raw, file, display)
    except LoadError as err:
        raise ChangelogError(f"{display} is not readable YAML:\n{err}") from None
    try:
        catalog = validate_document(doc, data_dir)
    except InvalidData:
        return _Version(_raw_entries(doc.data), validated=False)
    return _Version(_catalog_entries(catalog), validated=True)


def _catalog_entries(catalog: Catalog) -> dict[str, _Entry]:
    urls: dict[str, set[str]] = {d.id: set() for d in catalog.datasets}
    for link in catalog_links(catalog):
        urls[link.dataset_id].add(link.url)
    entries = {}
    for d in catalog.datasets:
        figures = {name: _figure(getattr(d.stats, name)) for name in MAIN_FIGURES if getattr(d.stats, name) is not None}
        figures |= {f"splits.{split}": _figure(fig) for split, fig in d.stats.splits.items()}
        entries[d.id] = _Entry(d.name, figures, frozenset(urls[d.id]))
    return entries


def _figure(figure: Figure) -> FigureValue:
    return FigureValue(figure.value, figure.qualifier)


def _raw_entries(data: Any) -> dict[str, _Entry]:
    items = data.get("datasets") if isinstance(data, dict) else None
    entries: dict[str, _Entry] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or item["id"] in entries:
            continue  # without an id there is nothing to match; a repeated id keeps its first entry
        name = item.get("name")
        entries[item["id"]] = _Entry(
            name if isinstance(name, str) else item["id"], _raw_figures(item.get("stats")), frozenset(raw_urls(item))
        )
    return entries


def _raw_figures(stats: Any) -> dict[str, FigureValue]:
    if not isinstance(stats, dict):
        return {}
    found = {name: stats.get(name) for name in MAIN_FIGURES}
    splits = stats.get("splits")
    if isinstance(splits, dict):
        found |= {f"splits.{name}": fig for name, fig in splits.items()}
    figures = {}
    for name, fig in found.items():
        if not isinstance(fig, dict):
            continue
        value = fig.get("value")
        try:
            qualifier = Qualifier(fig.get("qualifier", Qualifier.EXACT))
        except ValueError:
            qualifier = Qualifier.EXACT
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            figures[name] = FigureValue(value, qualifier)
    return figures


def raw_urls(entry: Mapping[str, Any]) -> list[str]:
    """The URLs of one raw dataset entry, at the places of ``urls.URL_PLACES``."""
    return [u.url for u in entry_urls(entry)]


# ------------------------------------------------------------------ formatting


def format_changelog(log: Changelog, fmt: Literal["text", "markdown"]) -> str:
    """The changelog as plain text (a terminal) or Markdown (a pull request, a release note)."""
    match fmt:
        case "text":
            return _text(log)
        case "markdown":
            return _markdown(log)
    raise ValueError(f"unknown changelog format {fmt!r}; expected text or markdown")


def _span(log: Changelog) -> str:
    return f"{log.rev1} → {log.rev2 or 'the working tree'}"


def _fallback_note(log: Changelog) -> str:
    versions = " and ".join(log.raw_fallback)
    return (
        f"{versions} did not validate, so "
        f"{'it was' if len(log.raw_fallback) == 1 else 'they were'} compared from the raw data by dataset id."
    )


def _old_new(change: FigureChange) -> tuple[str, str]:
    return (str(change.old) if change.old else "not given", str(change.new) if change.new else "not given")


def _text(log: Changelog) -> str:
    out = [f"Changes to {log.path}: {_span(log)}"]
    if log.empty:
        out.append("No dataset added or removed, no figure or link changed.")
    if log.added:
        out += ["", f"Datasets added ({len(log.added)}):"]
        out += [f"  + {d.id} ({d.name})" for d in log.added]
    if log.removed:
        out += ["", f"Datasets removed ({len(log.removed)}):"]
        out += [f"  - {d.id} ({d.name})" for d in log.removed]
    if log.figures:
        out += ["", f"Figures changed ({len(log.figures)}):"]
        for change in log.figures:
            old, new = _old_new(change)
            out.append(f"  {change.dataset_id}: stats.{change.figure}: {old} → {new}")
    if log.links:
        count = sum(len(c.added) + len(c.removed) for c in log.links)
        out += ["", f"Links changed ({count} in {len(log.links)} dataset{'s' if len(log.links) != 1 else ''}):"]
        for change in log.links:
            out.append(f"  {change.dataset_id}:")
            out += [f"    + {url}" for url in change.added]
            out += [f"    - {url}" for url in change.removed]
    if log.raw_fallback:
        out += ["", f"Note: {_fallback_note(log)}"]
    return "\n".join(out) + "\n"


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


def _md(text: str) -> str:
    return " ".join(text.split()).translate(_MD_SPECIAL)


def _md_url(url: str) -> str:
    # an autolink cannot hold spaces or angle brackets; catalogue URLs never do
    return f"<{url}>"


def _markdown(log: Changelog) -> str:
    out = [f"## Changes to `{log.path}`: `{log.rev1}` → {f'`{log.rev2}`' if log.rev2 else 'the working tree'}", ""]
    if log.empty:
        out += ["No dataset added or removed, no figure or link changed.", ""]
    if log.added:
        out += [f"### Datasets added ({len(log.added)})", ""]
        out += [f"- **{_md(d.name)}** (`{d.id}`)" for d in log.added]
        out.append("")
    if log.removed:
        out += [f"### Datasets removed ({len(log.removed)})", ""]
        out += [f"- **{_md(d.name)}** (`{d.id}`)" for d in log.removed]
        out.append("")
    if log.figures:
        out += [f"### Figures changed ({len(log.figures)})", "", "| Dataset | Figure | Old | New |", "| --- | --- | ---: | ---: |"]
        for change in log.figures:
            old, new = _old_new(change)
            out.append(f"| `{change.dataset_id}` | `stats.{change.figure}` | {old} | {new} |")
        out.append("")
    if log.links:
        out += [f"### Links changed ({len(log.links)} dataset{'s' if len(log.links) != 1 else ''})", ""]
        for change in log.links:
            out.append(f"- `{change.dataset_id}`")
            out += [f"  - added: {_md_url(url)}" for url in change.added]
            out += [f"  - removed: {_md_url(url)}" for url in change.removed]
        out.append("")
    if log.raw_fallback:
        out += [f"> Note: {_md(_fallback_note(log))}", ""]
    return "\n".join(out)
