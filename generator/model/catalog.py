"""One dataset entry and the catalogue: what ``validate.py`` returns.
"""

from __future__ import annotations

import datetime as _dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    Field,
    Strict,
    field_validator,
    model_validator,
)

from generator.model.base import (
    Access,
    Bool,
    Confidence,
    Model,
    Scene,
    SkuLevel,
    Slug,
    Str,
    Task,
    Text,
    Url,
    Year,
)
from generator.model.figures import Licence, Link, Stats
from generator.model.papers import Citation, Paper
from generator.model.results import Result
from generator.problems import DataError


class Links(Model):
    homepage: Url | None = Field(None, description="Official page of the dataset")
    downloads: tuple[Link, ...] = Field((), description="Where to get the data")
    paper: Paper | None = Field(None, description="The paper that introduces the dataset")
    code: tuple[Link, ...] = Field((), description="Code repositories (official tools, baselines)")


class Sample(Model):
    url: Url | None = Field(None, description="Public address of the image")
    path: Str | None = Field(None, description="Or a file under data/, relative to data/", examples=["samples/rpc.jpg"])
    credit: Str = Field(description="Who made the image / where it was published")
    licence: Str = Field(description="Licence of the image (SPDX id or text)", examples=["GPL-3.0-only"])
    caption: Text = Field(description="What the image shows (also its alt text)")

    @model_validator(mode="after")
    def _one_source(self) -> Sample:
        if (self.url is None) == (self.path is None):
            raise DataError("give exactly one of `url` or `path`", "`url` 和 `path` 只能给出其一")
        return self


class Solution(Model):
    rank: Annotated[int, Strict(), Field(ge=1, le=10_000)] | None = Field(None, description="Final rank (1 = winner)")
    team: Str | None = Field(None, description="Team or authors")
    title: Str = Field(description="Title of the report or repository")
    url: Url | None = Field(None, description="Where to read it")
    verified: Bool = Field(True, description="false when the rank or link could not be confirmed")
    note: Text | None = None


class Competition(Model):
    name: Text = Field(description="Name of the challenge")
    year: Year
    url: Url | None = Field(None, description="Competition page")
    solutions: tuple[Solution, ...] = Field((), description="Winning and notable solutions")
    note: Text | None = Field(None, description="What readers should know, e.g. that no winner report was found")


class SkuLabel(Model):
    level: SkuLevel = Field(description="yes / partly / no / unverified: are the labels individual products (SKUs)?")
    reason: Text = Field(description="One line saying why")


class Hierarchy(Model):
    levels: Annotated[int, Strict(), Field(ge=1, le=20)] | None = Field(None, description="Number of label levels, when known")
    description: Text
    verified: Bool = True


class Source(Model):
    title: Str = Field(description="What was read")
    url: Url | None = None




class Dataset(Model):
    id: Slug = Field(description="Stable slug used in URLs", examples=["rpc"])
    name: Str = Field(description="Short name as commonly written", examples=["RPC"])
    full_name: Text = Field(description="Full name in both languages")
    aliases: tuple[Str, ...] = Field((), description="Other names readers may search for")
    in_seed: Bool = Field(False, description="true for the 9 datasets of the original survey page")
    summary: Text = Field(description="One sentence for cards and tables")
    description: Text = Field(description="A paragraph or two, in your own words")
    organisations: tuple[Text, ...] = Field(min_length=1, description="Who made it")
    year: Year = Field(description="Year of first public release")
    venue: Text = Field(description="Where it was introduced")
    tasks: tuple[Task, ...] = Field(min_length=1, description="Tasks it supports")
    scenes: tuple[Scene, ...] = Field(min_length=1, description="Where the images are taken")
    sku_level: SkuLabel
    stats: Stats
    annotation: Text = Field(description="What is annotated and how")
    hierarchy: Hierarchy | None = Field(None, description="Category hierarchy, if any")
    licence: Licence
    access: Access
    links: Links
    samples: tuple[Sample, ...] = ()
    competitions: tuple[Competition, ...] = ()
    results: tuple[Result, ...] = Field((), description="Reported results (scores) on this dataset, each with its source")
    citation: Citation
    confidence: Confidence = Field(description="How well the entry is verified overall")
    sources: tuple[Source, ...] = Field(min_length=1, description="What was read to write this entry")
    added: _dt.date = Field(description="Date the entry was added (YYYY-MM-DD)", examples=["2026-11-25"])

    @field_validator("tasks", "scenes")
    @classmethod
    def _no_repeats(cls, value: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
        if len(set(value)) != len(value):
            raise DataError("lists the same value twice", "同一个值列出了两次")
        return value

    def best_result(self) -> Result | None:
        """The best of the results that share the first listed result's metric and split: the
        only ones that can be compared with each other."""
        if not self.results:
            return None
        head = self.results[0]
        same = [r for r in self.results if (r.metric, r.split) == (head.metric, head.split)]
        pick = max if head.higher_is_better else min
        return pick(same, key=lambda r: r.percent)


class Catalog(Model):
    datasets: tuple[Dataset, ...] = Field(min_length=1)




def catalog_json_schema() -> dict[str, Any]:
    """JSON Schema of the data file, for editors (yaml-language-server) and the field reference."""
    schema = Catalog.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "SKU-level product-image datasets catalogue (data/datasets.yaml)"
    # `licence: unknown` is accepted by a before-validator that the generated schema cannot see
    licence = schema["$defs"]["Licence"]
    schema["$defs"]["Licence"] = {"anyOf": [{"const": "unknown"}, licence], "description": licence.get("description", "")}
    # so is an author written as plain text ("Xiu-Shen Wei")
    author = schema["$defs"]["Author"]
    schema["$defs"]["Author"] = {
        "anyOf": [{"type": "string", "description": "'Given Family' (or 'Family, Given'; Han names as written)"}, author],
        "description": author.get("description", ""),
    }
    return schema
