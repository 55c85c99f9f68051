"""How big batches are computed: rows split over the cores, and no cyclic garbage collection meanwhile.

Rows over the cores are for C code that lets go of the GIL while it runs (LightGBM's predict, sparse
products). Threads, not processes: nothing is copied or pickled, and a flow's process keeps its own state. Each part runs
on one thread of its own; OpenMP's and OpenBLAS's spinning threads are avoided (they made LightGBM 4-15x slower
on a busy machine, see the README, and OpenBLAS's took the second core from the scorer).
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

MIN_ROWS_PER_THREAD = 10_000  # below this a thread costs more than it saves


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _row_blocks(n: int, min_rows: int) -> list[slice]:
    """Consecutive row blocks, one per core while each keeps `min_rows` rows (cut as np.array_split cuts)."""
    parts = max(1, min(cores(), n // max(1, min_rows)))
    size, extra = divmod(n, parts)
    bounds = np.cumsum([0] + [size + 1] * extra + [size] * (parts - extra)).tolist()
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def _on_threads(calls: list[Callable[[], object]]) -> list:
    """Each call on a thread of its own, the first on this thread; their results in order (an error reaches the caller)."""
    if len(calls) == 1:
        return [calls[0]()]
    with ThreadPoolExecutor(max_workers=len(calls) - 1, thread_name_prefix="leadgate-rows") as pool:
        rest = [pool.submit(call) for call in calls[1:]]
        first = calls[0]()  # this thread takes a block too
        return [first, *(job.result() for job in rest)]


def by_rows(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, min_rows: int = MIN_ROWS_PER_THREAD) -> np.ndarray:
    """`fn(x)`, computed on consecutive row blocks of `x` in parallel and stacked in row order.

    `fn` must work row by row (a row's result does not depend on the other rows) and should release the GIL.
    """
    parts = _on_threads([lambda rows=rows: fn(x[rows]) for rows in _row_blocks(len(x), min_rows)])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def into_rows(
    fn: Callable[[np.ndarray, np.ndarray], object], x: np.ndarray, out: np.ndarray, min_rows: int = MIN_ROWS_PER_THREAD
) -> np.ndarray:
    """`fn(block, out[block])` on consecutive row blocks of `x` in parallel, each writing its rows of `out`.

    As `by_rows`, without stacking the blocks' results: no second copy of a big result is made.
    """
    _on_threads([lambda rows=rows: fn(x[rows], out[rows]) for rows in _row_blocks(len(x), min_rows)])
    return out


_blas = None  # (modules imported when found, threadpoolctl's controller of the loaded libraries)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Matrix products (numpy's and scikit-learn's OpenBLAS) on the calling thread only, inside.

    OpenBLAS's worker threads spin-wait after every product for more work; on 2 cores they took the
    core the scorer's own threads needed (a 10,000-lead scoring used 0.16 s CPU instead of 0.10, and
    training 10,000 leads took 1.0 s instead of 0.75). The limit is the process's while inside; it is
    put back as it was on the way out.
    """
    global _blas
    # finding the loaded libraries takes milliseconds (a tenth of a 10,000-lead scoring): found again only once
    # new modules, which may bring a library of their own, have been imported
    if _blas is None or _blas[0] != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        _blas = (len(sys.modules), ThreadpoolController())
    with _blas[1].limit(limits=1, user_api="blas"):
        yield


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (reference counting still frees everything acyclic).

    Scoring a batch makes hundreds of thousands of small lists, tuples and dicts, none in a cycle; each
    collection they trigger walks every object the process holds, about 10% of the scoring time. The
    collector is back as it was when the last holder leaves (nested and from several threads alike).
    """
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()
