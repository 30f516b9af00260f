"""The one seeding policy: named, independent random streams derived from one ``seed``.

hetbalance never touches numpy's global random state. Every random function takes a
keyword-only ``seed: int >= 0 | numpy.random.SeedSequence | numpy.random.Generator | None``
and derives what it needs from it with ``streams``:

- ``graphs.sample_network`` and the in-degree samplers draw from the stream ``"graph"``
  (sub-streams ``"graph.labels_E"``, ``"graph.recurrent"``, ...);
- ``validation.simulate`` and the NEST export (``to_nest``, ``run_nest``) draw from the
  stream ``"noise"`` (sub-streams ``"noise.initial"``, ``"noise.external_input"``).

So one integer s means one network and one noise realisation wherever it is given: the
Python API, ``hetbalance simulate --seed s`` and the figures all pass the same s to
``sample_network(seed=s)`` and ``simulate(seed=s)``, and the graph and the noise are still
independent (different streams). Results record the seed (the record of
``resolve_seed``) and the rule (``SEED_RULE``); ``seed_from_record`` turns a record back
into a seed that reproduces the draw.

The rule (``SEED_RULE``): the seed is turned into a root ``SeedSequence`` once
(``resolve_seed``); the stream called ``"a.b"`` is

.. code-block:: python

    SeedSequence(root.entropy, spawn_key=root.spawn_key + (STREAM_KEYS["a"], STREAM_KEYS["b"]))

A stream is keyed by its name through the fixed table ``STREAM_KEYS``, never by its
position, so it does not depend on which other streams are requested or in which order.
The keys (``0x6862____``, "hb" in the high bytes) lie far above the counters that
``SeedSequence.spawn`` uses, so our streams never coincide with a user's spawned children.
"""

from __future__ import annotations

import numbers
from types import MappingProxyType

import numpy as np

__all__ = ["SEED_RULE", "STREAM_KEYS", "streams", "stream_seed", "resolve_seed",
           "seed_from_record", "as_generator"]

SEED_RULE = ("hetbalance-streams-1: stream 'a.b' of seed s = SeedSequence(s.entropy, "
             "spawn_key=s.spawn_key + (STREAM_KEYS['a'], STREAM_KEYS['b']))")
"""Name of the rule that turns a seed into streams; recorded beside every seed. A change
of the rule (or of ``STREAM_KEYS``) changes this string."""

STREAM_KEYS = MappingProxyType({
    # top-level streams, one per kind of randomness
    "graph": 0x68620001,              # graphs: sample_network, sample_*_indegree
    "noise": 0x68620002,              # validation: simulate, to_nest / run_nest
    # sub-streams of "graph"
    "labels_E": 0x68620011,           # degree labels of the E neurons
    "labels_I": 0x68620012,           # degree labels of the I neurons
    "external_indegree": 0x68620013,  # K_X of each neuron
    "recurrent": 0x68620014,          # recurrent synapses
    "external_sources": 0x68620015,   # identities of the external sources (explicit)
    "positions": 0x68620016,          # positions of spatial networks (random layout)
    # sub-streams of "noise"
    "initial": 0x68620021,            # initial membrane potentials
    "external_input": 0x68620022,     # external Poisson events (NEST: its rng_seed)
})
"""Fixed table name -> spawn key. New names get new keys; a key is never reused."""

_SEED_TYPES = "an int >= 0, a numpy.random.SeedSequence, a numpy.random.Generator or None"


def resolve_seed(seed=None) -> tuple[np.random.SeedSequence, object]:
    """Return the root ``SeedSequence`` of ``seed`` and the JSON-friendly record of it.

    Parameters
    ----------
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        - int s: ``SeedSequence(s)``, recorded as s.
        - SeedSequence: used as it is (its ``entropy`` and ``spawn_key``, not its spawn
          counter), recorded as ``{"entropy", "spawn_key"}``.
        - None: fresh entropy from the OS, ``SeedSequence()``, recorded as
          ``{"entropy", "spawn_key": []}`` so that the draw can be repeated.
        - Generator g: 128 bits are drawn from g once (advancing g, so two calls with one
          generator give two different draws) and become ``SeedSequence(entropy)``,
          recorded as ``{"entropy", "spawn_key": [], "from_generator": True}``: the state of
          g is not recorded, but the recorded entropy repeats the draw.

    Returns
    -------
    (numpy.random.SeedSequence, int or dict)

    Raises
    ------
    TypeError
        Another type (bool and float included).
    ValueError
        A negative integer.

    Examples
    --------
    >>> root, rec = resolve_seed(5)
    >>> root.entropy, rec
    (5, 5)
    """
    if seed is None:
        root = np.random.SeedSequence()
        return root, _sequence_record(root)
    if isinstance(seed, np.random.SeedSequence):
        return seed, _sequence_record(seed)
    if isinstance(seed, np.random.Generator):
        root = np.random.SeedSequence(int.from_bytes(seed.bytes(16), "little"))
        return root, {**_sequence_record(root), "from_generator": True}
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be {_SEED_TYPES}, got {type(seed).__name__} {seed!r}")
    if int(seed) < 0:
        raise ValueError(f"seed = {int(seed)} is out of range; allowed: integers >= 0")
    return np.random.SeedSequence(int(seed)), int(seed)


def _sequence_record(ss: np.random.SeedSequence) -> dict:
    return {"entropy": str(ss.entropy), "spawn_key": [int(k) for k in ss.spawn_key]}


def _keys(name: str) -> tuple:
    if not isinstance(name, str):
        raise TypeError(f"a stream name must be a str, got {type(name).__name__}")
    try:
        return tuple(STREAM_KEYS[part] for part in name.split("."))
    except KeyError as exc:
        raise ValueError(f"stream name {name!r} has the unknown part {exc.args[0]!r}; allowed: "
                         f"dot-separated names from {sorted(STREAM_KEYS)}") from None


def stream_seed(seed, name: str) -> np.random.SeedSequence:
    """Return the ``SeedSequence`` of the stream ``name`` of ``seed`` (see ``SEED_RULE``).

    ``seed`` is resolved with ``resolve_seed`` (so None and Generator seeds give a fresh
    root at every call: resolve once and pass the root when several streams must share it).

    Examples
    --------
    >>> stream_seed(5, "noise").spawn_key == (STREAM_KEYS["noise"],)
    True
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else resolve_seed(seed)[0]
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + _keys(name),
                                  pool_size=root.pool_size)


def streams(seed, *names: str) -> dict[str, np.random.Generator]:
    """Independent generators, one per stream name, derived from one ``seed``.

    Parameters
    ----------
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        Resolved once for all ``names`` (``resolve_seed``).
    *names : str
        Stream names from ``STREAM_KEYS``; "a.b" is the sub-stream b of the stream a.

    Returns
    -------
    dict of str -> numpy.random.Generator
        PCG64 generators. The generator of a name depends only on the seed and the name:
        not on the other names asked for, nor on their order.

    Raises
    ------
    ValueError
        An unknown stream name, or an invalid seed (see ``resolve_seed``).

    Notes
    -----
    Stream "a.b" of the root ``s`` is seeded by
    ``SeedSequence(s.entropy, spawn_key=s.spawn_key + (STREAM_KEYS["a"], STREAM_KEYS["b"]))``
    (``SEED_RULE``). Distinct spawn keys give statistically independent streams
    (numpy's ``SeedSequence`` hashing; O'Neill, PCG, 2015).

    Examples
    --------
    >>> a = streams(7, "graph", "noise")
    >>> b = streams(7, "noise")
    >>> bool(a["noise"].random() == b["noise"].random())
    True
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else resolve_seed(seed)[0]
    return {name: np.random.Generator(np.random.PCG64(stream_seed(root, name)))
            for name in names}


def seed_from_record(record, rule: str | None = SEED_RULE):
    """Return the seed that repeats a recorded draw (the inverse of ``resolve_seed``'s record).

    Parameters
    ----------
    record : int or dict
        A ``seed`` field of a ``Network``, ``SimulationResult``, ``NestResult`` or result
        file: an int, or ``{"entropy": str, "spawn_key": list}``.
    rule : str or None
        The ``seed_rule`` recorded beside it. It must equal ``SEED_RULE``: a draw made under
        another rule cannot be repeated by this version. None skips the check.

    Returns
    -------
    int or numpy.random.SeedSequence
        Pass it as ``seed=`` to the function that made the record.

    Examples
    --------
    >>> root, rec = resolve_seed(None)
    >>> seed_from_record(rec).entropy == root.entropy
    True
    """
    if rule is not None and rule != SEED_RULE:
        raise ValueError(f"the draw was made under the seeding rule {rule!r}; this hetbalance "
                         f"implements {SEED_RULE!r} and cannot repeat it")
    if isinstance(record, dict):
        try:
            return np.random.SeedSequence(int(record["entropy"]),
                                          spawn_key=tuple(int(k) for k in record["spawn_key"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"seed record {record!r} is not readable; allowed: an int >= 0 or "
                             "{'entropy': str, 'spawn_key': list of int}") from exc
    if isinstance(record, bool) or not isinstance(record, (numbers.Integral, np.integer)) \
            or int(record) < 0:
        raise ValueError(f"seed record {record!r} does not repeat a draw; allowed: an int >= 0 "
                         "or {'entropy': str, 'spawn_key': list of int}")
    return int(record)


def as_generator(seed=None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``.

    For stand-alone draws such as ``LabelDistribution.sample``.

    Parameters
    ----------
    seed : int >= 0, numpy.random.SeedSequence, numpy.random.Generator or None
        ``None`` draws fresh entropy; a Generator is returned unchanged (it is shared,
        not copied); an int or SeedSequence seeds a PCG64 with it (the root, no stream).

    Examples
    --------
    >>> bool(as_generator(1).integers(10**6) == as_generator(1).integers(10**6))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.Generator(np.random.PCG64(resolve_seed(seed)[0]))
