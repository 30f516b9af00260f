"""Content hashing and an on-disk result cache for sweeps.

Keys are SHA-256 digests of a canonical encoding of the inputs: dict keys sorted, floats by
their exact ``repr``, numpy arrays by dtype, shape and raw bytes (never by ``str(array)``,
which elides entries), parameter objects by their ``to_dict()``, the package version and
the seeding rule (``meanfield.seeding.SEED_RULE``), so a new version or rule never reads
an old one's results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import pathlib
import pickle

import numpy as np

import meanfield
from graphs.io import atomic_open
from meanfield.seeding import SEED_RULE

__all__ = ["content_hash", "DiskCache"]


def _encode(obj, h) -> None:
    """Feed a canonical, type-tagged encoding of ``obj`` into the hash object ``h``."""
    if obj is None or isinstance(obj, (bool, str)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, (numbers.Integral, np.integer)):
        h.update(f"int:{int(obj)};".encode())
    elif isinstance(obj, (numbers.Real, np.floating)):
        h.update(f"float:{float(obj)!r};".encode())
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"ndarray:{a.dtype.str}:{a.shape};".encode())
        if a.dtype == object:
            for x in a.ravel():
                _encode(x, h)
        else:
            h.update(a.tobytes())
    elif isinstance(obj, dict):
        h.update(f"dict:{len(obj)};".encode())
        for k in sorted(obj, key=repr):
            _encode(k, h)
            _encode(obj[k], h)
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__}:{len(obj)};".encode())
        for x in obj:
            _encode(x, h)
    elif hasattr(obj, "to_dict") and callable(obj.to_dict):
        h.update(f"obj:{type(obj).__module__}.{type(obj).__qualname__};".encode())
        _encode(obj.to_dict(), h)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dataclass:{type(obj).__qualname__};".encode())
        _encode({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, h)
    elif callable(obj) and hasattr(obj, "__qualname__"):
        h.update(f"callable:{getattr(obj, '__module__', '')}.{obj.__qualname__};".encode())
    elif isinstance(obj, np.random.Generator):
        raise TypeError("a numpy Generator has no stable content to hash; pass an int seed "
                        "to make the sweep point cacheable")
    else:
        raise TypeError(f"cannot hash an object of type {type(obj).__name__} for the cache; "
                        f"use numbers, strings, arrays, dicts, lists or objects with to_dict()")


def content_hash(*parts, version: str | None = None) -> str:
    """Return the hex SHA-256 of ``parts``, the package version and the seeding rule.

    ``parts`` are encoded canonically; the seeding rule is included because a seed in
    ``parts`` means another draw under another rule.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(2000.0); b = a.copy(); b[1000] += 1e-9
    >>> content_hash(a) == content_hash(b)   # str(a) is equal for both; the bytes are not
    False
    """
    h = hashlib.sha256()
    _encode(meanfield.__version__ if version is None else version, h)
    _encode(SEED_RULE, h)
    for p in parts:
        _encode(p, h)
    return h.hexdigest()


class DiskCache:
    """A folder of pickled results, one file per key, written atomically.

    A result file is either complete or absent: it is written to a temporary file and
    renamed, so an interrupted run never leaves a half result that a later run would read.
    """

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> pathlib.Path:
        """Return the file of ``key`` (``<folder>/<key>.pkl``; it may not exist)."""
        return self.folder / f"{key}.pkl"

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()

    def get(self, key: str):
        """Return the result stored under ``key``; KeyError if another version wrote it."""
        with open(self.path(key), "rb") as f:
            payload = pickle.load(f)
        if payload.get("version") != meanfield.__version__:
            raise KeyError(key)
        return payload["result"]

    def put(self, key: str, result, meta: dict | None = None) -> None:
        """Store ``result`` (and a JSON-friendly ``meta``) under ``key``, atomically."""
        payload = {"version": meanfield.__version__, "meta": meta or {}, "result": result}
        with atomic_open(self.path(key)) as f:
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)

    def keys(self) -> list[str]:
        """Return the stored keys, sorted."""
        return sorted(p.stem for p in self.folder.glob("*.pkl"))

    def describe(self, key: str) -> str:
        """Return the ``meta`` stored with ``key`` as a JSON string."""
        with open(self.path(key), "rb") as f:
            return json.dumps(pickle.load(f).get("meta", {}), default=str)
