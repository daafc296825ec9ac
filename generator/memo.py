"""What is made from one dataset alone, remembered while that dataset's model is alive.

Models are frozen, and validation hands back the very same model for a dataset whose text
did not change (validate.py), so in the live preview an edit to one dataset of a thousand
leaves 999 models as they were: their export records, page keys and the like need not be
made again. A value is remembered against the model object itself (by a weak reference, so
it goes when the model goes) and is made again for any other object, equal or not.

Only a process that keeps things between builds (``cache.remembering``: the preview) keeps
them: a one-shot build makes each value once anyway, and keeping them all (every export
record, 100 MB at 3,000 datasets) only raised its peak memory.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from generator.cache import is_remembering
from generator.model import Dataset

T = TypeVar("T")
K = TypeVar("K")


class PerDataset(Generic[T]):
    """``make(dataset)``, made once per model object."""

    def __init__(self, make: Callable[[Dataset], T]) -> None:
        self._make = make
        self._values: dict[int, tuple[weakref.ref[Dataset], T]] = {}

    def __call__(self, dataset: Dataset) -> T:
        if not is_remembering():
            return self._make(dataset)
        key = id(dataset)
        hit = self._values.get(key)
        if hit is not None and hit[0]() is dataset:
            return hit[1]
        value = self._make(dataset)
        values = self._values

        def gone(_: weakref.ref[Dataset], key: int = key) -> None:
            entry = values.get(key)
            if entry is not None and entry[0]() is None:
                del values[key]

        self._values[key] = (weakref.ref(dataset, gone), value)
        return value


class PerObject(Generic[K, T]):
    """``make(obj)``, made once per object, for objects that cannot be weakly referenced
    (dicts, frozen dataclasses): an entry holds its object, so its id is not reused while
    it is there, and all are let go at ``limit`` entries. Only the preview keeps them."""

    def __init__(self, make: Callable[[K], T], limit: int = 50_000) -> None:
        self._make = make
        self._limit = limit
        self._values: dict[int, tuple[K, T]] = {}

    def __call__(self, obj: K) -> T:
        if not is_remembering():
            return self._make(obj)
        hit = self._values.get(id(obj))
        if hit is None or hit[0] is not obj:
            if len(self._values) >= self._limit:
                self._values.clear()
            hit = self._values[id(obj)] = (obj, self._make(obj))
        return hit[1]
