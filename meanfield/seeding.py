"""One helper that turns every accepted ``seed`` into a ``numpy.random.Generator``.

hetbalance never touches numpy's global random state. Every random function takes
``seed: int | numpy.random.SeedSequence | numpy.random.Generator | None`` and normalises it
here; independent streams (graph, noise, ...) are spawned from one ``SeedSequence``.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_generator", "spawn_generators", "seed_record"]


def _as_seed_sequence(seed) -> np.random.SeedSequence | None:
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool):
        raise TypeError("seed must be an int >= 0, a SeedSequence, a Generator or None, got bool")
    if isinstance(seed, (numbers.Integral, np.integer)):
        if int(seed) < 0:
            raise ValueError(f"seed = {int(seed)} is out of range; allowed: integers >= 0")
        return np.random.SeedSequence(int(seed))
    return None


def as_generator(seed=None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``.

    Parameters
    ----------
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        ``None`` draws fresh entropy; a Generator is returned unchanged (it is shared,
        not copied).

    Examples
    --------
    >>> bool(as_generator(1).integers(10**6) == as_generator(1).integers(10**6))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    ss = _as_seed_sequence(seed)
    if ss is None:
        raise TypeError("seed must be an int >= 0, a SeedSequence, a Generator or None, "
                        f"got {type(seed).__name__}")
    return np.random.Generator(np.random.PCG64(ss))


def spawn_generators(seed, n: int) -> list[np.random.Generator]:
    """Return ``n`` independent generators derived from ``seed``.

    For an int or SeedSequence the streams are spawned from one ``SeedSequence`` (so
    ``spawn_generators(s, 2)[0]`` is the same whatever ``n``); a Generator spawns children.
    """
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(n))
    ss = _as_seed_sequence(seed)
    if ss is None:
        raise TypeError("seed must be an int >= 0, a SeedSequence, a Generator or None, "
                        f"got {type(seed).__name__}")
    return [np.random.Generator(np.random.PCG64(child)) for child in ss.spawn(n)]


def seed_record(seed):
    """A JSON-friendly record of ``seed`` for provenance (int, entropy, or a description)."""
    if seed is None:
        return None
    if isinstance(seed, (numbers.Integral, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": str(seed.entropy), "spawn_key": list(seed.spawn_key)}
    return "numpy.random.Generator (state not recorded)"
