"""Result files that last: JSON (scalars) and npz (arrays) with provenance, and their reader.

Every file written by ``hetbalance solve/simulate/sweep --json/--npz`` carries

- ``hetbalance_result``: the result-file format (``RESULT_FORMAT``);
- ``kind``: "solve", "simulate" or "sweep";
- ``version``: ``meanfield.__version__`` of the writer; ``git_revision``: ``git rev-parse
  HEAD`` of the source tree the package was imported from (None when it is not a git
  checkout of hetbalance, e.g. an installed wheel) and ``git_dirty`` (tracked files
  modified; None without git);
- ``params`` (``NetworkParams.to_dict``), ``model`` (``DegreeModel.spec``), ``seed``
  (None for the deterministic theory) and ``seed_rule`` (``meanfield.seeding.SEED_RULE``,
  the rule that turned the seed into the graph and the noise; None without a seed),
  ``simulation`` settings, the command line, the
  creation time (UTC, ISO 8601) and the Python version;
- ``results``: the scalars (JSON: null marks a NaN or infinite value).

A JSON file is ``{...provenance..., "results": {...}}``. An npz file holds the arrays and
a 0-d string array ``meta`` with the same JSON (provenance and scalars), so either file
alone is complete. ``load_result`` reads both and checks the version.
"""

from __future__ import annotations

import datetime
import functools
import io
import json
import math
import pathlib
import platform
import subprocess
import sys
import warnings
import zipfile
from dataclasses import dataclass, field

import numpy as np

import meanfield
from graphs.io import atomic_open
from meanfield import DegreeModel, NetworkParams
from meanfield.seeding import SEED_RULE

__all__ = ["RESULT_FORMAT", "ResultVersionWarning", "StoredResult", "load_result",
           "git_revision", "provenance", "write_json", "write_npz", "jsonable"]

RESULT_FORMAT = 1
"""Format number of the result files this version writes (and the newest it reads)."""

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


class ResultVersionWarning(UserWarning):
    """A result file was written by another version of hetbalance."""


# =============================================================================== provenance
def _git(args, cwd) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=8)
def _git_state(folder: str):
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if not top or not (pathlib.Path(top) / "meanfield" / "__init__.py").is_file():
        return None, None    # not a git checkout of hetbalance (e.g. a venv inside a repo)
    rev = _git(["rev-parse", "HEAD"], folder)
    if not rev:
        return None, None
    status = _git(["status", "--porcelain", "--untracked-files=no"], folder)
    return rev, (None if status is None else bool(status))


def git_revision(folder=None) -> str | None:
    """``git rev-parse HEAD`` of the hetbalance source tree, or None.

    Parameters
    ----------
    folder : path, optional
        Where to ask git (default: this package's folder). None is returned when git is
        missing, the folder is not in a git work tree, the work tree is not hetbalance's
        (no ``meanfield/__init__.py`` at its top) or it has no commit.
    """
    return _git_state(str(pathlib.Path(folder or _PACKAGE_DIR).resolve()))[0]


def provenance(kind: str, params: NetworkParams, model: DegreeModel | None, *, seed=None,
               simulation: dict | None = None, argv=None) -> dict:
    """Return the provenance block of a result file (see the module docstring)."""
    rev, dirty = _git_state(str(_PACKAGE_DIR))
    return {
        "hetbalance_result": RESULT_FORMAT,
        "kind": kind,
        "version": meanfield.__version__,
        "git_revision": rev,
        "git_dirty": dirty,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": list(sys.argv if argv is None else argv),
        "python": platform.python_version(),
        "params": params.to_dict(),
        "model": None if model is None else model.spec,
        "seed": seed,
        "seed_rule": None if seed is None else SEED_RULE,
        "simulation": simulation,
    }


# =============================================================================== writing
def jsonable(obj):
    """``obj`` with numpy types turned into Python ones and NaN/inf into None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    return repr(obj)


def write_json(path, meta: dict, results: dict) -> pathlib.Path:
    """Write ``{**meta, "results": results}`` as strict JSON (NaN/inf as null)."""
    doc = jsonable({**meta, "results": results})
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    with atomic_open(path, parents=True) as f:
        f.write(text.encode("utf-8"))
    return pathlib.Path(path)


def write_npz(path, meta: dict, results: dict, arrays: dict) -> pathlib.Path:
    """Write ``arrays`` and a ``meta`` entry (JSON of provenance and scalars) as npz."""
    if "meta" in arrays:
        raise ValueError("arrays must not contain the reserved name 'meta'")
    doc = jsonable({**meta, "results": results})
    buf = io.BytesIO()
    np.savez_compressed(buf, meta=np.array(json.dumps(doc, allow_nan=False)),
                        **{k: np.asarray(v) for k, v in arrays.items()})
    with atomic_open(path, parents=True) as f:
        f.write(buf.getvalue())
    return pathlib.Path(path)


# =============================================================================== reading
@dataclass(frozen=True, eq=False)
class StoredResult:
    """A result file read back by ``load_result``.

    Attributes
    ----------
    kind : str
        "solve", "simulate" or "sweep".
    meta : dict
        Provenance (everything but ``results``).
    results : dict
        The scalars (None where the value was NaN or infinite).
    arrays : dict of str -> ndarray
        The arrays (npz files; empty for JSON).
    path : str
        The file it was read from.
    """

    kind: str
    meta: dict
    results: dict
    arrays: dict = field(default_factory=dict)
    path: str = ""

    @property
    def version(self) -> str:
        """``meanfield.__version__`` of the writer."""
        return self.meta.get("version")

    @property
    def git_revision(self) -> str | None:
        """Git commit of the writer's source tree; None when it was not a git checkout."""
        return self.meta.get("git_revision")

    @property
    def seed(self):
        """The seed as recorded by the run (int, dict or None; see ``seed_rule``)."""
        return self.meta.get("seed")

    @property
    def seed_rule(self) -> str | None:
        """The seeding rule of ``seed`` (``meanfield.seeding.SEED_RULE``).

        None for the theory and for files written before the rule was recorded.
        """
        return self.meta.get("seed_rule")

    @property
    def params(self) -> NetworkParams:
        """The parameters, rebuilt with ``NetworkParams.from_dict``."""
        return NetworkParams.from_dict(self.meta["params"])

    @property
    def model(self) -> DegreeModel | None:
        """The degree model, rebuilt with ``DegreeModel.from_spec`` (None if absent)."""
        spec = self.meta.get("model")
        return None if spec is None else DegreeModel.from_spec(spec)


def load_result(path, *, strict: bool = False) -> StoredResult:
    """Read a result file written by ``hetbalance solve|simulate|sweep --json/--npz``; check its version.

    Parameters
    ----------
    path : str or path-like
        A JSON or npz result file (recognised by content, not by extension).
    strict : bool
        If True, a file from another hetbalance version raises ``ValueError``; if False
        (default) it warns with ``ResultVersionWarning``.

    Returns
    -------
    StoredResult

    Raises
    ------
    ValueError
        The file is not a hetbalance result, is unreadable, was written in a newer
        result format than this version reads, or (``strict``) by another version.

    Warns
    -----
    ResultVersionWarning
        The writer's ``version`` differs from ``meanfield.__version__``: numbers may differ
        and ``params``/``model`` may not rebuild.
    """
    path = pathlib.Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read result file {str(path)!r}: {exc.strerror or exc}") from exc
    arrays = {}
    try:
        if raw[:2] == b"PK":
            with np.load(io.BytesIO(raw), allow_pickle=False) as z:
                if "meta" not in z.files:
                    raise ValueError("npz without a 'meta' entry")
                doc = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        else:
            doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{str(path)!r} is not a hetbalance result file (JSON or npz with "
                         f"provenance): {exc}") from exc
    if not isinstance(doc, dict) or "hetbalance_result" not in doc:
        raise ValueError(f"{str(path)!r} is not a hetbalance result file: no "
                         f"'hetbalance_result' entry")
    fmt = doc["hetbalance_result"]
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > RESULT_FORMAT or fmt < 1:
        raise ValueError(f"{str(path)!r} has result format {fmt!r}; this hetbalance "
                         f"({meanfield.__version__}) reads formats 1..{RESULT_FORMAT}: "
                         f"upgrade hetbalance to read it")
    version = doc.get("version")
    if version != meanfield.__version__:
        rev = doc.get("git_revision")
        msg = (f"{str(path)!r} was written by hetbalance {version}"
               f"{f' (git {rev[:12]})' if rev else ''}; this is hetbalance "
               f"{meanfield.__version__}: its numbers may differ from a rerun, and params/"
               f"model may not rebuild")
        if strict:
            raise ValueError(msg)
        warnings.warn(msg, ResultVersionWarning, stacklevel=2)
    results = doc.pop("results", {})
    return StoredResult(kind=doc.get("kind"), meta=doc, results=results, arrays=arrays,
                        path=str(path))
