"""Dataset id -> a commented skeleton entry for ``data/datasets.yaml`` (``sku-survey new``).

Input: a new dataset id, the date to write into ``added`` (passed in: nothing here reads a
clock) and, optionally, the ids already taken. Output: YAML text indented to sit under
``datasets:``, from ``templates/new-dataset.yaml.j2``. Every value a contributor must supply
is a ``~`` placeholder, which the validator reports at its own line (``expected text, got
nothing (null)``, ``expected one of …``) until it is filled; once filled, the entry
validates. ``append_entry`` adds the text to the data file atomically.

Failure: ``ValueError`` with a contributor-facing message when the id is not a slug or is
already used, or when the data file cannot take the entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from pathlib import Path

import jinja2

from generator.document import parse_document
from generator.errors import LoadError
from generator.files import write_atomic
from generator.model import (
    SLUG_RE,
    Access,
    Confidence,
    Qualifier,
    Scene,
    SkuLevel,
    Task,
)

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "new-dataset.yaml.j2"


def skeleton(dataset_id: str, today: dt.date, taken: Collection[str] = ()) -> str:
    """The skeleton entry for ``dataset_id``; raises ``ValueError`` for a bad or taken id."""
    _check_id(dataset_id, taken)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML; the only free value is a checked slug
    )
    return env.get_template(TEMPLATE).render(
        id=dataset_id,
        today=today.isoformat(),
        tasks=_choices(Task),
        scenes=_choices(Scene),
        sku_levels=_choices(SkuLevel, last="or"),
        qualifiers=_choices(Qualifier, last="or"),
        access=_choices(Access, last="or"),
        confidences=_choices(Confidence, last="or"),
    )


def existing_ids(path: Path) -> frozenset[str]:
    """The ids in the data file, read without validating it (a half-filled entry still counts).

    Raises ``ValueError`` when the file cannot be read or is not YAML.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror or err}") from None
    return _ids(_load(raw, path, str(path)))


def append_entry(path: Path, text: str) -> None:
    """Append the entry ``text`` (from ``skeleton``) to the data file at ``path``, atomically.

    Refuses (``ValueError``) when an id in ``text`` is already in the file, or when the file
    would no longer be readable YAML; the file is then left untouched.
    """
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    before = _load(current.encode("utf-8"), path, str(path))
    if not isinstance(before, dict) or list(before) != ["datasets"] or not isinstance(before["datasets"], list):
        raise ValueError(f"{path}: expected the file to hold only a `datasets:` list, so the entry can go at its end")
    new = _ids(_load(("datasets:\n" + text).encode("utf-8"), path, "the new entry"))
    clash = sorted(new & _ids(before))
    if clash:
        raise ValueError(f"{path} already has a dataset with id {', '.join(map(repr, clash))}; choose another id")
    joined = current if current.endswith("\n") or not current else current + "\n"
    joined += text if text.endswith("\n") else text + "\n"
    try:
        after = parse_document(joined.encode("utf-8"), path, str(path)).data
    except LoadError:
        after = None
    if _ids(after) != _ids(before) | new:
        raise ValueError(f"{path}: the entry would not land in the `datasets:` list; check the file's last lines")
    write_atomic(path, joined.encode("utf-8"), mode=path.stat().st_mode & 0o777, durable=True)


def _check_id(dataset_id: str, taken: Collection[str]) -> None:
    if not SLUG_RE.match(dataset_id):
        raise ValueError(
            f"expected a dataset id that is a slug (lower-case letters, digits and single hyphens, "
            f"e.g. 'rpc' or 'products-10k'), got {dataset_id!r}"
        )
    if dataset_id in taken:
        raise ValueError(f"the id {dataset_id!r} is already used by a dataset in the data file; choose another id")


def _choices(enum: type, last: str = "") -> str:
    values = [str(member.value) for member in enum]
    if last and len(values) > 1:
        return f"{', '.join(values[:-1])} {last} {values[-1]}"
    return ", ".join(values)


def _load(raw: bytes, path: Path, display: str) -> object:
    try:
        return parse_document(raw, path, display).data
    except LoadError as err:
        raise ValueError(f"{display} is not readable YAML; fix it first:\n{err}") from None


def _ids(data: object) -> frozenset[str]:
    items = data.get("datasets") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return frozenset()
    return frozenset(item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str))


