"""Reported scores on a dataset, each with its source.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    Field,
    Strict,
    model_validator,
)

from generator.model.base import Bool, Model, Str, Text, Url, Year
from generator.problems import DataError


class ResultUnit(StrEnum):
    PERCENT = "%"
    RATIO = "ratio"  # 0-1, as COCO AP or F1 are usually printed


class ResultSourceKind(StrEnum):
    AUTHORS = "authors"  # the dataset authors' own paper or page
    COMPETITOR = "competitor"  # a method's or a team's own report of its score
    THIRD_PARTY = "third-party"  # someone else measuring or copying a score




class ResultSource(Model):
    title: Str = Field(description="What reports the number (paper, report, README)")
    url: Url | None = Field(None, description="Where to read it")
    kind: ResultSourceKind = Field(
        description="authors (the dataset's own paper), competitor (a method's or team's own report) or third-party",
        examples=["competitor"],
    )


class Result(Model):
    """One reported score on a dataset. Scores are never compared across metrics or splits."""

    method: Str = Field(description="Method or team that scored it", examples=["PSP (ECCV 2022)"])
    metric: Str = Field(description="The metric as the source names it", examples=["checkout accuracy (cAcc)"])
    value: Annotated[float, Strict(), Field(ge=0)] = Field(
        description="The number as reported, without its unit (86.69, not '86.69%')", examples=[86.69]
    )
    unit: ResultUnit = Field(description="% (0-100) or ratio (0-1)", examples=["%"])
    higher_is_better: Bool = Field(True, description="false for errors and losses (e.g. top-1 error)")
    split: Str = Field(description="Which part of the data it was measured on", examples=["test"])
    year: Year
    source: ResultSource
    verified: Bool = Field(True, description="false when the number was read only in a copy or summary of its source")
    note: Text | None = Field(None, description="Caveats, e.g. a different task or the annotations used")

    @model_validator(mode="after")
    def _value_fits_unit(self) -> Result:
        top = 100 if self.unit is ResultUnit.PERCENT else 1
        if self.value > top:
            raise DataError(
                f"a value in {self.unit.value!r} is at most {top}, got {self.value}; "
                + ("write it as a percentage with `unit: '%'`" if top == 1 else "check the number"),
                f"单位为 {self.unit.value!r} 的数值最大是 {top}，实际是 {self.value}；"
                + ("请用 `unit: '%'` 写成百分数" if top == 1 else "请核对这个数字"),
            )
        return self

    @property
    def percent(self) -> float:
        """The value on a 0-100 scale, so that one metric in two units still compares."""
        return self.value * (1 if self.unit is ResultUnit.PERCENT else 100)
