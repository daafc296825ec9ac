"""What the comparison page filters by and what pick-to-compare shows (pure: no I/O).

Input: a valid ``Catalog`` and a language. Output: the facet options with their counts
(``facets``), each dataset's licence group (``licence_group``) and the facts of every dataset
as plain text lines (``pick_facts``), which the build writes as ``assets/compare-facts.json``
and site.js lays side by side with textContent only.

The facts are read off the model field by field (``Dataset.model_fields``), so a field added
to the model (reported results, say) shows up in the side-by-side view without a change here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from generator.memo import PerObject
from generator.model import (
    SPDX_IDS,
    Access,
    Catalog,
    Confidence,
    Dataset,
    Figure,
    Lang,
    Licence,
    Link,
    Paper,
    Qualifier,
    Scene,
    SkuLabel,
    SkuLevel,
    Task,
    Text,
)
from generator.strings import label, labels

FACTS_FILE = "assets/compare-facts.json"
MAX_PICKS = 4


class LicenceGroup(StrEnum):
    COMMERCIAL = "commercial"
    NON_COMMERCIAL = "non-commercial"
    CUSTOM = "custom"
    UNKNOWN = "unknown"


# What each SPDX licence the catalogue may name allows, for the "licence" filter. One table:
# tests check that it covers every id of model.SPDX_IDS, so a new id needs a line here.
# No-derivatives (ND) licences still allow commercial use; every NC licence forbids it.
SPDX_GROUPS: dict[str, LicenceGroup] = {
    "CC0-1.0": LicenceGroup.COMMERCIAL,
    "CC-BY-4.0": LicenceGroup.COMMERCIAL,
    "CC-BY-SA-4.0": LicenceGroup.COMMERCIAL,
    "CC-BY-ND-4.0": LicenceGroup.COMMERCIAL,
    "CC-BY-3.0": LicenceGroup.COMMERCIAL,
    "CC-BY-NC-4.0": LicenceGroup.NON_COMMERCIAL,
    "CC-BY-NC-SA-4.0": LicenceGroup.NON_COMMERCIAL,
    "CC-BY-NC-ND-4.0": LicenceGroup.NON_COMMERCIAL,
    "CC-BY-NC-SA-3.0": LicenceGroup.NON_COMMERCIAL,
    "MIT": LicenceGroup.COMMERCIAL,
    "Apache-2.0": LicenceGroup.COMMERCIAL,
    "BSD-3-Clause": LicenceGroup.COMMERCIAL,
    "GPL-3.0-only": LicenceGroup.COMMERCIAL,
    "GPL-3.0-or-later": LicenceGroup.COMMERCIAL,
    "ODbL-1.0": LicenceGroup.COMMERCIAL,
    "CDLA-Permissive-2.0": LicenceGroup.COMMERCIAL,
}
LICENCE_GROUP_KEYS = {
    LicenceGroup.COMMERCIAL: "licence_commercial",
    LicenceGroup.NON_COMMERCIAL: "licence_noncommercial",
    LicenceGroup.CUSTOM: "custom_terms",
    LicenceGroup.UNKNOWN: "licence_unknown",
}
assert set(SPDX_GROUPS) == SPDX_IDS, "every SPDX id of model.SPDX_IDS needs a licence group"


def licence_group(lic: Licence) -> LicenceGroup:
    if lic.spdx:
        return SPDX_GROUPS[lic.spdx]
    return LicenceGroup.CUSTOM if lic.terms else LicenceGroup.UNKNOWN


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int  # datasets of the whole catalogue with this value


@dataclass(frozen=True)
class Facet:
    name: str  # the form field and the row's data-* attribute
    label: str
    options: tuple[FacetOption, ...]  # only the values some dataset has, in vocabulary order


def facets(catalog: Catalog, lang: Lang, t: Callable[[str, Lang], str]) -> list[Facet]:
    def facet(name: str, label: str, values: Iterable[str], labels: Mapping[str, str], per: Callable[[Dataset], Iterable[str]]) -> Facet:
        counts = Counter(v for d in catalog.datasets for v in set(per(d)))
        return Facet(name, label, tuple(FacetOption(v, labels[v], counts[v]) for v in values if counts[v]))

    return [
        facet("task", t("tasks", lang), list(Task), {k: v[lang] for k, v in labels(Task).items()}, lambda d: d.tasks),
        facet("scene", t("scenes", lang), list(Scene), {k: v[lang] for k, v in labels(Scene).items()}, lambda d: d.scenes),
        facet("sku", t("sku_level", lang), list(SkuLevel), {k: v[lang] for k, v in labels(SkuLevel).items()}, lambda d: [d.sku_level.level]),
        facet("licence", t("licence", lang), list(LicenceGroup), {k: t(v, lang) for k, v in LICENCE_GROUP_KEYS.items()}, lambda d: [licence_group(d.licence)]),
        facet("access", t("access", lang), list(Access), {k: v[lang] for k, v in labels(Access).items()}, lambda d: [d.access]),
    ]


def names_key(d: Dataset) -> str:
    """What the name filter matches: names, aliases and full names, lower-case."""
    return " | ".join([d.name, *d.aliases, d.full_name.zh, d.full_name.en]).casefold()


# ---------------------------------------------------------------- pick-to-compare facts

# Not laid side by side: the heading shows the name; prose, images and citations have their
# own page. Every other field of Dataset is a row.
SKIPPED = frozenset({"id", "name", "description", "samples", "citation", "sources"})
# Fields whose parts are rows of their own (stats.images, links.paper …)
EXPANDED = frozenset({"stats", "links"})

Line = str | list[str]  # a text, or [text, http(s) address]


@dataclass(frozen=True)
class _Fmt:
    lang: Lang
    t: Callable[[str, Lang], str]
    count: Callable[[int, Lang], str]

    def label(self, key: str) -> str:
        try:
            return self.t(key, self.lang)
        except KeyError:
            return key.replace("_", " ")  # a field newer than strings.yaml: still shown

    def lines(self, value: Any) -> list[Line]:
        lang, t = self.lang, self.t
        if value is None:
            return [t("not_applicable", lang)]
        if isinstance(value, Text):
            return [value[lang]]
        if isinstance(value, Figure):
            return [self.figure(value)]
        if isinstance(value, Licence):
            text = value.spdx or (value.terms[lang] if value.terms else t("unknown", lang))
            out: list[Line] = [f"{text} ({self.label(LICENCE_GROUP_KEYS[licence_group(value)])})"]
            if value.note:
                out.append(value.note[lang])
            return out
        if isinstance(value, SkuLabel):
            return [f"{label(value.level, lang)}: {value.reason[lang]}"]
        if isinstance(value, Paper):
            head = f"{value.title}. {', '.join(str(a) for a in value.authors)}. {value.venue}, {value.year}"
            return [[head, value.url] if value.url else head]
        if isinstance(value, Link):
            text = value.label[lang] if value.label else value.url
            return [[text, value.url]]
        if isinstance(value, bool):
            return [t("yes" if value else "no", lang)]
        if isinstance(value, StrEnum):
            return [self.enum(value)]
        if isinstance(value, (int, float, str)):
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                return [[value, value]]
            return [str(value)]
        if isinstance(value, dt.date):
            return [value.isoformat()]
        if isinstance(value, Mapping):
            out = []
            for k, v in value.items():
                out += [self.prefixed(f"{k}: ", line) for line in self.lines(v)]
            return out or [t("not_applicable", lang)]
        if isinstance(value, (tuple, list)):
            out = [line for item in value for line in self.lines(item)]
            return out or [t("not_applicable", lang)]
        if isinstance(value, BaseModel):
            out = []
            for name in type(value).model_fields:
                part = getattr(value, name)
                if part is None or part == () or part == {}:
                    continue
                out += [self.prefixed(f"{self.label(name)}: ", line) for line in self.lines(part)]
            return out
        return [str(value)]

    @staticmethod
    def prefixed(prefix: str, line: Line) -> Line:
        return prefix + line if isinstance(line, str) else [prefix + line[0], line[1]]

    def enum(self, value: StrEnum) -> str:
        lang = self.lang
        if isinstance(value, (Task, Scene, Access, SkuLevel)):
            return label(value, lang)
        if isinstance(value, Confidence):
            return self.t(f"confidence_{value}", lang)
        return str(value)

    def figure(self, fig: Figure) -> str:
        lang, t = self.lang, self.t
        if fig.value is None:
            text = t("unknown", lang)
        else:
            prefix = {Qualifier.EXACT: "", Qualifier.APPROX: "≈", Qualifier.AT_LEAST: "≥"}[fig.qualifier]
            text = prefix + self.count(fig.value, lang)
            if fig.qualifier is not Qualifier.EXACT:
                text += f" ({t('approx_tip' if fig.qualifier is Qualifier.APPROX else 'at_least_tip', lang)})"
        if not fig.verified:
            text += f" [{t('unverified', lang)}]"
        if fig.note:
            text += f" ({fig.note[lang]})"
        return text


# (dataset key, language) -> its facts. The live preview re-stages in one process on every
# edit: a dataset whose key is unchanged is not formatted again (0.4 ms each, 1.3 s at 3,000).
_FACTS_CACHE: dict[tuple[str, str], dict[str, Any]] = {}
_FACTS_CACHE_LIMIT = 20_000


def pick_facts(
    catalog: Catalog,
    lang: Lang,
    t: Callable[[str, Lang], str],
    count: Callable[[int, Lang], str],
    keys: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Rows (key, label) and, per dataset, its name, page and the lines of every row.

    ``keys`` (dataset id -> a fingerprint of everything about it, RenderInputs.dataset_keys)
    lets an unchanged dataset's facts be reused from an earlier call in this process.
    """
    fmt = _Fmt(lang, t, count)
    rows: list[tuple[str, Callable[[Dataset], Any]]] = []
    for name in Dataset.model_fields:
        if name in SKIPPED:
            continue
        if name in EXPANDED:
            inner = Dataset.model_fields[name].annotation
            assert isinstance(inner, type) and issubclass(inner, BaseModel)
            for part in inner.model_fields:
                rows.append((part, lambda d, name=name, part=part: getattr(getattr(d, name), part)))
        else:
            rows.append((name, lambda d, name=name: getattr(d, name)))

    def one(d: Dataset) -> dict[str, Any]:
        return {"name": d.name, "page": f"datasets/{d.id}/", "facts": {key: fmt.lines(get(d)) for key, get in rows}}

    out: dict[str, Any] = {}
    for d in catalog.datasets:
        if keys is None or d.id not in keys:
            out[d.id] = one(d)
            continue
        cache_key = (keys[d.id], lang.value)
        if cache_key not in _FACTS_CACHE:
            if len(_FACTS_CACHE) >= _FACTS_CACHE_LIMIT:
                _FACTS_CACHE.clear()
            _FACTS_CACHE[cache_key] = one(d)
        out[d.id] = _FACTS_CACHE[cache_key]
    return {"rows": [{"key": key, "label": fmt.label(key)} for key, _ in rows], "datasets": out}


def facts_json(facts: Mapping[str, Any]) -> str:
    """``pick_facts``' value as compact JSON (a file fetched by site.js, never written into a
    page). The same bytes as one dump, joined from each dataset's part: the preview serialises
    a part once while pick_facts hands back the same value (dumping 1,000 was 0.06 s an edit)."""
    parts = ",".join(f"{_json(dataset_id)}:{_facts_text(value)}" for dataset_id, value in facts["datasets"].items())
    return '{"rows":' + _json(facts["rows"]) + ',"datasets":{' + parts + "}}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_facts_text: PerObject[dict[str, Any], str] = PerObject(_json)
