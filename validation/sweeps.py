"""Run a function over N-ladders and parameter grids, in parallel, with an on-disk cache.

``sweep(func, points, executor=..., cache_dir=...)`` evaluates ``func(**point)`` for every
point. Any ``concurrent.futures.Executor`` works (default: local processes); so does a
``dask.distributed`` client's ``client.get_executor()``. With ``cache_dir`` every finished
point is stored under the hash of (function, point, package version) as soon as it
finishes, so an interrupted sweep resumes without recomputing finished points.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
import time
from dataclasses import dataclass, field

from .cache import DiskCache, content_hash
from .progress import progress_bar

__all__ = ["sweep", "grid", "SweepResult"]


def grid(**axes) -> list[dict]:
    """Cartesian product of named axes as a list of points.

    Examples
    --------
    >>> grid(N=[1000, 4000], seed=[0, 1])[:2]
    [{'N': 1000, 'seed': 0}, {'N': 1000, 'seed': 1}]
    """
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(axes[n] for n in names))]


@dataclass(frozen=True)
class SweepResult:
    """Results of a sweep, in the order of ``points``.

    Attributes
    ----------
    points : list of dict
        The keyword arguments of each call of ``func``, as given.
    results : list
        ``func(**point)`` for each point (None where it failed; see ``errors``).
    keys : list of str
        Cache keys (content hashes) of the points.
    from_cache : list of bool
        Whether each result was read from the cache.
    errors : dict
        Index -> repr of the exception raised by that point.
    complete : bool
        False if the sweep was interrupted (KeyboardInterrupt) or points failed.
    wall_time : float
        Seconds.
    """

    points: list
    results: list
    keys: list
    from_cache: list
    errors: dict = field(default_factory=dict)
    complete: bool = True
    wall_time: float = 0.0

    @property
    def n_computed(self) -> int:
        """Number of points computed in this call (not read from the cache, not failed)."""
        return sum(1 for r, c in zip(self.results, self.from_cache) if not c and r is not None)

    def __iter__(self):
        return iter(zip(self.points, self.results))

    def __len__(self):
        return len(self.points)


def sweep(func, points, *, executor: cf.Executor | None = None, cache_dir=None,
          progress=None, max_workers: int | None = None, raise_errors: bool = True) -> SweepResult:
    """Evaluate ``func(**point)`` for every point, in parallel, with caching.

    Parameters
    ----------
    func : callable
        A module-level function (picklable for process executors) returning a picklable
        result.
    points : iterable of dict
        Keyword arguments of each call (numbers, strings, arrays, ``NetworkParams``,
        ``DegreeModel`` and other objects with ``to_dict``). Seeds must be ints for caching.
    executor : concurrent.futures.Executor, optional
        Where to run. Default: a ``ProcessPoolExecutor`` with ``max_workers`` (default the
        number of cores) created and shut down here. ``"serial"`` runs in this process.
        A dask ``Client.get_executor()`` works unchanged.
    cache_dir : path, optional
        Folder of the on-disk cache. Finished points are written as they finish (atomic
        rename), so a rerun after an interruption computes only the missing points.
    progress : bool, optional
        Progress bar on stderr (``validation.progress.progress_bar``, needs tqdm); default:
        only when stderr is a terminal.
    raise_errors : bool
        Re-raise the first exception of a point (after saving the others); if False, record
        it in ``errors`` and leave the result None.

    Returns
    -------
    SweepResult

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) cancels the pending points and returns what finished, with
    ``complete=False``; the cache keeps every finished point.
    """
    points = [dict(p) for p in points]
    keys = [content_hash(func, p) for p in points]
    cache = DiskCache(cache_dir) if cache_dir is not None else None
    results: list = [None] * len(points)
    from_cache = [False] * len(points)
    todo = []
    for i, k in enumerate(keys):
        if cache is not None and k in cache:
            try:
                results[i] = cache.get(k)
                from_cache[i] = True
                continue
            except (KeyError, EOFError, OSError, ValueError):
                pass
        todo.append(i)

    bar = progress_bar(len(points), enabled=progress, desc="sweep", unit="points", delay=0.0)
    bar.update(len(points) - len(todo))
    errors: dict = {}
    complete = True
    t0 = time.monotonic()

    def finish(i, value):
        results[i] = value
        if cache is not None:
            cache.put(keys[i], value, meta={"func": getattr(func, "__qualname__", repr(func)),
                                            "point": {k: repr(v)[:200] for k, v in points[i].items()}})
        bar.update()

    if executor == "serial" or (executor is None and len(todo) <= 1):
        try:
            for i in todo:
                try:
                    finish(i, func(**points[i]))
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # noqa: BLE001 - recorded, optionally re-raised
                    errors[i] = repr(exc)
                    if raise_errors:
                        raise
        except KeyboardInterrupt:
            complete = False
    else:
        own = executor is None
        ex = cf.ProcessPoolExecutor(max_workers=max_workers or os.cpu_count()) if own else executor
        futures = {}
        try:
            futures = {ex.submit(func, **points[i]): i for i in todo}
            for fut in cf.as_completed(futures):
                i = futures[fut]
                try:
                    finish(i, fut.result())
                except Exception as exc:  # noqa: BLE001
                    errors[i] = repr(exc)
                    if raise_errors:
                        for f in futures:
                            f.cancel()
                        raise
        except KeyboardInterrupt:
            complete = False
            for f in futures:
                f.cancel()
        finally:
            if own:
                ex.shutdown(wait=complete, cancel_futures=not complete)
    bar.close()
    return SweepResult(points, results, keys, from_cache, errors,
                       complete and not errors, time.monotonic() - t0)
