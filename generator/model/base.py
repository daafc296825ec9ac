"""The building blocks of every model: closed frozen models, checked scalars, texts in both
languages, and the closed vocabularies (their reader-facing names are in strings.yaml).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
)

from generator.problems import DataError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ARXIV_RE = re.compile(r"^\d{4}\.\d{4,5}$")
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_FIGURE = 10**12  # no image dataset is near a trillion of anything; bigger is a typo

# Licences the catalogue may name by SPDX id. Closed so that a typo is caught; extend it
# when a dataset really uses another (https://spdx.org/licenses/).
SPDX_IDS = frozenset(
    {
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-NC-ND-4.0",
        "CC-BY-ND-4.0",
        "CC-BY-3.0",
        "CC-BY-NC-SA-3.0",
        "MIT",
        "Apache-2.0",
        "BSD-3-Clause",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "ODbL-1.0",
        "CDLA-Permissive-2.0",
    }
)


class Model(BaseModel):
    # Scalars are strict (see Str, Int, Bool): YAML gives real types, so a quoted "123" where a
    # number is expected, or a number where text is expected, is a mistake to report.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() or ch in '<>"\\`' for ch in value)
    ):
        raise DataError(f"expected an http(s) URL, got {value!r}", f"应为 http(s) 网址，实际是 {value!r}")
    return value


def _check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise DataError(
            f"expected a slug (lower-case letters, digits and single hyphens, e.g. 'rpc' or 'products-10k'), got {value!r}",
            f"应为 slug（小写字母、数字和单个连字符，如 'rpc' 或 'products-10k'），实际是 {value!r}",
        )
    return value


def _check_nonblank(value: str) -> str:
    if not value.strip():
        raise DataError("expected text, got an empty string", "应为文字，实际是空字符串")
    return value


Url = Annotated[str, Strict(), AfterValidator(_check_url)]
Slug = Annotated[str, Strict(), AfterValidator(_check_slug)]
Str = Annotated[str, Strict(), AfterValidator(_check_nonblank)]
Year = Annotated[int, Strict(), Field(ge=MIN_YEAR, le=MAX_YEAR)]
Bool = Annotated[bool, Strict()]


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


class Text(Model):
    """A text in both languages."""

    zh: Str = Field(description="Chinese text (简体中文)", examples=["零售商品结账数据集"])
    en: Str = Field(description="English text", examples=["Retail product checkout dataset"])

    def __getitem__(self, lang: Lang | str) -> str:
        # compared as text: templates call this 100,000s of times, and Lang(lang) is slow
        if lang == "zh":
            return self.zh
        if lang == "en":
            return self.en
        raise ValueError(f"{lang!r} is not a language of the site (zh, en)")


class Task(StrEnum):
    CLASSIFICATION = "classification"
    RETRIEVAL = "retrieval"
    DETECTION = "detection"
    INSTANCE_SEGMENTATION = "instance-segmentation"
    COUNTING = "counting"
    TEXT_RECOGNITION = "text-recognition"


class Scene(StrEnum):
    ECOMMERCE = "e-commerce"
    CHECKOUT = "checkout"
    SHELF = "shelf"
    VENDING_MACHINE = "vending-machine"
    GROCERY = "grocery"
    HAND_HELD = "hand-held"
    STUDIO = "studio"
    LEAFLET = "leaflet"


class Access(StrEnum):
    OPEN = "open"
    REGISTRATION = "registration"
    APPLICATION = "application"
    DEFUNCT = "defunct"
    UNKNOWN = "unknown"


class SkuLevel(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"
    UNVERIFIED = "unverified"


class Qualifier(StrEnum):
    EXACT = "exact"
    APPROX = "approx"
    AT_LEAST = "at-least"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
