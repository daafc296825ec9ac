"""One function over many jobs in a process pool over the CPU cores: the image stages' policy.

Encoding thumbnails and drawing preview cards are CPU-bound Pillow work, so they run in
processes (threads would share one core through the GIL), one per core unless told fewer.
A single job, or one worker, runs in this process: no pool to start. A worker that dies (out
of memory, killed) leaves None for the jobs it did not finish; the caller says what that
means for them. Results come back in the jobs' order, whatever order they finish in.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def run_in_pool(
    work: Callable[[Job], Result],
    jobs: Sequence[Job],
    workers: int | None = None,
    done: Callable[[], None] = lambda: None,
) -> list[Result | None]:
    """``work(job)`` for every job (in worker processes when there are several of both);
    ``done`` is called after each. An exception raised by ``work`` is raised here."""
    count = min(workers or os.cpu_count() or 1, len(jobs))
    if count <= 1:
        out: list[Result | None] = []
        for job in jobs:
            out.append(work(job))
            done()
        return out
    results: dict[int, Result] = {}
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=count) as pool:
            futures = {pool.submit(work, job): i for i, job in enumerate(jobs)}
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
                done()
    except BrokenProcessPool:
        pass  # the jobs left get None
    return [results.get(i) for i in range(len(jobs))]
