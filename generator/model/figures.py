"""Counts with their provenance, and the dataset's licence and links.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    Strict,
    field_validator,
    model_validator,
)

from generator.model.base import (
    MAX_FIGURE,
    SPDX_IDS,
    Bool,
    Model,
    Qualifier,
    Slug,
    Str,
    Text,
    Url,
)
from generator.problems import DataError


class Figure(Model):
    """A count (images, classes, instances, a split) with its provenance."""

    value: Annotated[int, Strict(), Field(ge=0, le=MAX_FIGURE)] | None = Field(
        description="The whole number, without separators (83739, not '83,739' or '84K'); null when not known",
        examples=[83739],
    )
    qualifier: Qualifier = Field(
        Qualifier.EXACT,
        description="exact, approx (shown as ≈) or at-least (shown as ≥, for 'more than N')",
        examples=["approx"],
    )
    verified: Bool = Field(
        True,
        description="false when the figure could not be confirmed from a primary source",
        examples=[False],
    )
    source: Str = Field(
        description="Where the figure comes from (a URL or a short description of the document)",
        examples=["https://rpc-dataset.github.io/"],
    )
    note: Text | None = Field(None, description="Caveats readers should know")

    @model_validator(mode="after")
    def _unknown_is_unverified(self) -> Figure:
        if self.value is None and self.verified:
            raise DataError("a figure without a value must say `verified: false`", "没有数值的数字必须写明 `verified: false`")
        return self


class Stats(Model):
    images: Figure = Field(description="Number of images")
    classes: Figure = Field(description="Number of classes (SKUs or categories)")
    instances: Figure | None = Field(
        None,
        description="Number of annotated object instances (boxes, masks); leave out for classification-only datasets",
    )
    splits: dict[Slug, Figure] = Field(
        default_factory=dict,
        description="Images per split, keyed by split name (train, val, test, gallery …)",
    )


class Licence(Model):
    """Either an SPDX id, or a summary of custom terms, or unknown."""

    spdx: Str | None = Field(None, description="SPDX licence id", examples=["CC-BY-NC-SA-4.0"])
    terms: Text | None = Field(None, description="Summary of custom terms when there is no standard licence")
    url: Url | None = Field(None, description="Where the licence or terms are stated")
    unknown: Bool = Field(False, description="true (or write `licence: unknown`) when no licence statement was found")
    note: Text | None = Field(None, description="Caveats, e.g. a software licence that may not cover the images")

    @model_validator(mode="before")
    @classmethod
    def _unknown_shorthand(cls, value: Any) -> Any:
        return {"unknown": True} if value == "unknown" else value

    @field_validator("spdx")
    @classmethod
    def _known_spdx(cls, value: str | None) -> str | None:
        if value is not None and value not in SPDX_IDS:
            raise DataError(
                f"expected an SPDX licence id ({', '.join(sorted(SPDX_IDS))}), got {value!r}; "
                "for custom terms use `terms: {zh: …, en: …}`",
                f"应为 SPDX 许可证标识（{', '.join(sorted(SPDX_IDS))}），实际是 {value!r}；"
                "自定义条款请写 `terms: {zh: …, en: …}`",
            )
        return value

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Licence:
        kinds = [self.spdx is not None, self.terms is not None, self.unknown]
        if sum(kinds) != 1:
            raise DataError("give exactly one of `spdx`, `terms`, or write `licence: unknown`", "`spdx`、`terms` 只能给出其一，或者写 `licence: unknown`")
        return self


class Link(Model):
    url: Url = Field(description="http(s) address", examples=["https://www.kaggle.com/datasets/diyer22/retail-product-checkout-dataset"])
    label: Text | None = Field(None, description="What the reader gets there")
    expect: tuple[Annotated[int, Strict(), Field(ge=100, le=599)], ...] = Field(
        (),
        description="HTTP statuses that are expected and not a failure for the link checker (e.g. [403] for a login wall)",
        examples=[[403]],
    )
    verified: Bool = Field(True, description="false when the link comes from a secondary source and was not confirmed")
