"""Geometry of the home page's chart: images vs classes on log scales, one mark per dataset,
labels placed where they fit. The markup is the template's (chart.svg.j2); this is the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from generator.filters import format_count
from generator.model import (
    Catalog,
    Dataset,
    Lang,
    Task,
)
from generator.related import ordered
from generator.strings import label, t

TASK_COLOURS = {
    Task.CLASSIFICATION: "#1f77b4",
    Task.RETRIEVAL: "#9467bd",
    Task.DETECTION: "#d62728",
    Task.INSTANCE_SEGMENTATION: "#2ca02c",
    Task.COUNTING: "#ff7f0e",
    Task.TEXT_RECOGNITION: "#8c564b",
}

# The chart's drawing box (SVG user units). The SVG is drawn at the content width, so at
# 1280 px (about 700 px of content) a unit is about 0.9 px: 14-unit labels are about 12.5 px.
CHART_WIDTH, CHART_HEIGHT = 760, 460
CHART_MARGIN = (76, 24, 24, 56)  # left, right, top, bottom
CHART_MARK_RADIUS = 7
CHART_LABEL_SIZE = 14
CHART_LABEL_GAP = 4
# Latin text is about 0.6 em wide per character in the sans-serif fonts pages use; CJK 1 em.
CHART_CHAR_EM = 0.62


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return self.left < other.right and other.left < self.right and self.top < other.bottom and other.top < self.bottom

    def inside(self, other: Box) -> bool:
        return self.left >= other.left and self.right <= other.right and self.top >= other.top and self.bottom <= other.bottom


@dataclass(frozen=True)
class ChartTick:
    at: float
    text: str


@dataclass(frozen=True)
class ChartMark:
    dataset: Dataset
    x: float
    y: float
    colour: str
    title: str  # the mark's tooltip and accessible name
    label: Box | None  # where its name is written; None when no free place was found

    @property
    def label_x(self) -> float:
        return self.label.left if self.label else 0.0

    @property
    def label_y(self) -> float:
        # text baseline: the box is one label line, the baseline a fifth above its bottom
        return self.label.bottom - CHART_LABEL_SIZE * 0.22 if self.label else 0.0


@dataclass(frozen=True)
class Chart:
    """Everything chart.svg.j2 draws, already placed."""

    lang: Lang
    width: int
    height: int
    plot: Box
    x_ticks: tuple[ChartTick, ...]
    y_ticks: tuple[ChartTick, ...]
    marks: tuple[ChartMark, ...]
    missing: tuple[Dataset, ...]  # no image or class count: not plotted
    key: tuple[tuple[str, str], ...]  # (colour, task label) of the tasks that have a mark

    @property
    def unlabelled(self) -> tuple[ChartMark, ...]:
        return tuple(m for m in self.marks if m.label is None)


def text_width(text: str, size: float) -> float:
    return sum(size if "\u2e80" <= ch <= "\uffef" else size * CHART_CHAR_EM for ch in text)


def _label_candidates(x: float, y: float, width: float) -> list[Box]:
    """Places for a label around a mark, in order of preference: right, left, above, below, diagonals."""
    r, gap, h = CHART_MARK_RADIUS, CHART_LABEL_GAP, CHART_LABEL_SIZE * 1.1
    d = r * 0.7 + gap
    return [
        Box(x + r + gap, y - h / 2, x + r + gap + width, y + h / 2),
        Box(x - r - gap - width, y - h / 2, x - r - gap, y + h / 2),
        Box(x - width / 2, y - r - gap - h, x + width / 2, y - r - gap),
        Box(x - width / 2, y + r + gap, x + width / 2, y + r + gap + h),
        Box(x + d, y - d - h, x + d + width, y - d),
        Box(x + d, y + d, x + d + width, y + d + h),
        Box(x - d - width, y - d - h, x - d, y - d),
        Box(x - d - width, y + d, x - d, y + d + h),
    ]


def place_labels(points: Sequence[tuple[float, float, str]], area: Box) -> list[Box | None]:
    """Greedy collision-free label placement: each label, in the given order, takes the first
    candidate place that stays inside ``area`` and touches no mark and no label placed before;
    a label with no free place is left out (the page lists those marks under the chart)."""
    pad = 1.0
    marks = [Box(x - CHART_MARK_RADIUS - pad, y - CHART_MARK_RADIUS - pad, x + CHART_MARK_RADIUS + pad, y + CHART_MARK_RADIUS + pad) for x, y, _ in points]
    placed: list[Box] = []
    out: list[Box | None] = []
    for x, y, text in points:
        width = text_width(text, CHART_LABEL_SIZE)
        choice = next(
            (
                box
                for box in _label_candidates(x, y, width)
                if box.inside(area) and not any(box.overlaps(m) for m in marks) and not any(box.overlaps(p) for p in placed)
            ),
            None,
        )
        if choice is not None:
            placed.append(choice)
        out.append(choice)
    return out


def chart(catalog: Catalog, lang: Lang) -> Chart:
    """Images vs classes on log scales, one mark per dataset, coloured by main task."""
    left, right, top, bottom = CHART_MARGIN
    width, height = CHART_WIDTH, CHART_HEIGHT
    datasets = ordered(catalog)
    points = [d for d in datasets if d.stats.images.value and d.stats.classes.value]
    missing = tuple(d for d in datasets if not (d.stats.images.value and d.stats.classes.value))
    xs = [math.log10(d.stats.images.value or 1) for d in points]
    ys = [math.log10(d.stats.classes.value or 1) for d in points]
    x0, x1 = (math.floor(min(xs)), math.ceil(max(xs))) if points else (0, 1)
    y0, y1 = (math.floor(min(ys)), math.ceil(max(ys))) if points else (0, 1)
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    plot = Box(left, top, width - right, height - bottom)

    def sx(v: float) -> float:
        return round(plot.left + (v - x0) / (x1 - x0) * (plot.right - plot.left), 1)

    def sy(v: float) -> float:
        return round(plot.bottom - (v - y0) / (y1 - y0) * (plot.bottom - plot.top), 1)

    at = [(sx(xv), sy(yv), d.name) for d, xv, yv in zip(points, xs, ys, strict=True)]
    boxes = place_labels(at, plot)
    marks = tuple(
        ChartMark(
            dataset=d,
            x=x,
            y=y,
            colour=TASK_COLOURS[d.tasks[0]],
            title=t("chart_point", lang).format(
                name=d.name,
                images=format_count(d.stats.images.value or 0, lang),
                classes=format_count(d.stats.classes.value or 0, lang),
                task=label(d.tasks[0], lang),
            ),
            label=box,
        )
        for d, (x, y, _), box in zip(points, at, boxes, strict=True)
    )
    used = {d.tasks[0] for d in points}
    return Chart(
        lang=lang,
        width=width,
        height=height,
        plot=plot,
        x_ticks=tuple(ChartTick(sx(e), format_count(10**e, lang)) for e in range(x0, x1 + 1)),
        y_ticks=tuple(ChartTick(sy(e), format_count(10**e, lang)) for e in range(y0, y1 + 1)),
        marks=marks,
        missing=missing,
        key=tuple((TASK_COLOURS[task], label(task, lang)) for task in Task if task in used),
    )
