"""What valid catalogue data is: the pydantic models, and nothing else (no I/O).

One module per part of an entry: ``base`` (scalars, texts, vocabularies), ``figures``
(counts, licence, links), ``papers`` (papers and citations), ``results`` (scores) and
``catalog`` (a dataset and the catalogue); import them from here.

Input: plain Python data as loaded from ``data/datasets.yaml``.
Output: an immutable ``Catalog``; invalid data raises ``pydantic.ValidationError``,
which ``validate.py`` turns into located, contributor-facing problems.

Models are closed (unknown keys are errors) and frozen. Every human-readable text is a
``Text`` with both a Chinese and an English version. Every figure is a ``Figure`` that
names its source and says whether it is exact, approximate or a lower bound, and whether
it was verified.
"""

from generator.model.base import (
    ARXIV_RE,
    DOI_RE,
    MAX_FIGURE,
    MAX_YEAR,
    MIN_YEAR,
    SLUG_RE,
    SPDX_IDS,
    Access,
    Bool,
    Confidence,
    Lang,
    Model,
    Qualifier,
    Scene,
    SkuLevel,
    Slug,
    Str,
    Task,
    Text,
    Url,
    Year,
)
from generator.model.catalog import (
    Catalog,
    Competition,
    Dataset,
    Hierarchy,
    Links,
    Sample,
    SkuLabel,
    Solution,
    Source,
    catalog_json_schema,
)
from generator.model.figures import (
    Figure,
    Licence,
    Link,
    Stats,
)
from generator.model.papers import (
    BIBTEX_TYPES,
    ET_AL,
    PAGES_RE,
    Author,
    Citation,
    Paper,
    PaperKind,
    Script,
    Volume,
    check_one_bibtex_entry,
    script_of,
)
from generator.model.results import (
    Result,
    ResultSource,
    ResultSourceKind,
    ResultUnit,
)

__all__ = [
    "ARXIV_RE",
    "Access",
    "Author",
    "BIBTEX_TYPES",
    "Bool",
    "Catalog",
    "Citation",
    "Competition",
    "Confidence",
    "DOI_RE",
    "Dataset",
    "ET_AL",
    "Figure",
    "Hierarchy",
    "Lang",
    "Licence",
    "Link",
    "Links",
    "MAX_FIGURE",
    "MAX_YEAR",
    "MIN_YEAR",
    "Model",
    "PAGES_RE",
    "Paper",
    "PaperKind",
    "Qualifier",
    "Result",
    "ResultSource",
    "ResultSourceKind",
    "ResultUnit",
    "SLUG_RE",
    "SPDX_IDS",
    "Sample",
    "Scene",
    "Script",
    "SkuLabel",
    "SkuLevel",
    "Slug",
    "Solution",
    "Source",
    "Stats",
    "Str",
    "Task",
    "Text",
    "Url",
    "Volume",
    "Year",
    "catalog_json_schema",
    "check_one_bibtex_entry",
    "script_of",
]
