"""Save and load networks: one ``.npz`` file holding the arrays and JSON metadata.

The file holds the postsynaptic-major structure (``post_indptr``, ``post_indices``),
``population``, ``label``, ``k_X`` (and the explicit external structure if present) plus
a ``metadata`` entry: UTF-8 JSON with the file format and its version, the package
version that wrote it, ``NetworkParams.to_dict()``, the model description, the seed, the
seeding rule and the provenance. The presynaptic-major structure is rebuilt on loading (O(synapses)).

Loading checks the format version, the zip CRC of every array, every array's dtype and
shape against the metadata, and every invariant of the network (``Network.validate``);
any failure raises ``ValueError`` and no network is returned. Files are written to a
temporary name and renamed, so an interrupted save never leaves a truncated file under
the requested name.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile
import zipfile
import zlib

import numpy as np

import meanfield
from meanfield.params import NetworkParams

from .network import Network, transpose_structure

__all__ = ["save_network", "load_network", "atomic_open", "FORMAT", "FORMAT_VERSION"]

FORMAT = "hetbalance.graphs.Network"
#: Version of the file layout; files of another version are refused with a clear error.
FORMAT_VERSION = 1

_ARRAYS = ("population", "label", "post_indptr", "post_indices", "k_X")
_OPTIONAL = ("ext_indptr", "ext_indices")


@contextlib.contextmanager
def atomic_open(path, *, parents: bool = False):
    """Open ``path`` for writing (binary) so that it is either complete or untouched.

    The data go to a temporary file in the same folder, renamed onto ``path``
    (``os.replace``, atomic on POSIX and Windows) when the ``with`` block ends without an
    exception; on any exception (Ctrl-C included) the temporary file is removed and an
    existing ``path`` keeps its old content. Every file hetbalance writes (networks, cache
    entries, result and model files) goes through here.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    parents : bool
        Create missing parent folders (default False: a missing folder raises
        ``FileNotFoundError``).

    Yields
    ------
    file object
        Open for binary writing.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_open(f) as fh:
    ...     _ = fh.write(b"complete")
    >>> f.read_bytes()
    b'complete'
    """
    path = pathlib.Path(os.fspath(path))
    folder = path.parent if str(path.parent) else pathlib.Path(".")
    if parents:
        folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return repr(o)


def save_network(net: Network, path, *, compress: bool = False) -> pathlib.Path:
    """Write ``net`` to ``path`` (npz with JSON metadata).

    Parameters
    ----------
    net : Network
        The network to save.
    path : str or os.PathLike
        Destination file (written as given; ``.npz`` is the conventional suffix).
    compress : bool
        Deflate the arrays (smaller, about 3x slower to write and read).

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    Size: 4 bytes per synapse plus about 20 bytes per neuron (uncompressed). The file
    is written under a temporary name in the same folder and renamed when complete.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from meanfield import NetworkParams
    >>> from graphs import sample_network, load_network
    >>> net = sample_network(NetworkParams.preset("akil2021"), N=200, seed=3)
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
    >>> load_network(save_network(net, f)).equals(net)
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a graphs.Network, got {type(net).__name__}")
    path = pathlib.Path(os.fspath(path))
    arrays = {name: np.asarray(getattr(net, name)) for name in _ARRAYS}
    for name in _OPTIONAL:
        if getattr(net, name) is not None:
            arrays[name] = np.asarray(getattr(net, name))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": meanfield.__version__,
        "params": net.params.to_dict(),
        "model": net.model,
        "seed": net.seed,
        "seed_rule": net.seed_rule,
        "provenance": net.provenance,
        "N": net.N,
        "n_synapses": net.n_synapses,
        "arrays": {k: [v.dtype.str, list(v.shape)] for k, v in arrays.items()},
    }
    blob = json.dumps(meta, default=_json_default, sort_keys=True).encode("utf-8")
    arrays["metadata"] = np.frombuffer(blob, dtype=np.uint8)
    with atomic_open(path) as fh:
        (np.savez_compressed if compress else np.savez)(fh, **arrays)
    return path


def _read(path: pathlib.Path):
    """Read metadata and arrays fully (CRC-checked); raise ValueError on a damaged file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            if "metadata" not in files:
                raise _NotOurs(f"{path}: no 'metadata' entry; not a hetbalance network file")
            meta = json.loads(bytes(z["metadata"]).decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise _NotOurs(f"{path}: format {meta.get('format') if isinstance(meta, dict) else None!r} "
                               f"is not {FORMAT!r}; not a hetbalance network file")
            version = meta.get("format_version")
            if version != FORMAT_VERSION:
                raise _NotOurs(
                    f"{path}: graph file format version {version!r} (written by hetbalance "
                    f"{meta.get('package_version')!r}) is incompatible with this hetbalance "
                    f"{meanfield.__version__}, which reads format version {FORMAT_VERSION}; "
                    "load it with the version that wrote it and re-save, or re-sample")
            arrays = {name: z[name] for name in meta.get("arrays", {}) if name in files}
    except _NotOurs as exc:
        raise ValueError(str(exc)) from None
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError,
            UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: truncated or corrupt network file "
                         f"({type(exc).__name__}: {exc}); no network was loaded") from exc
    return meta, arrays


class _NotOurs(Exception):
    pass


def load_network(path, *, validate: bool = True) -> Network:
    """Read a network written by ``save_network``.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    validate : bool
        Run ``Network.validate`` (O(synapses): sorted rows, no multapses, autapses only
        if the saved network allowed them). Leave True for files from elsewhere.

    Returns
    -------
    Network
        Equal (``Network.equals``) to the saved one, with the same seed, model and
        provenance.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A truncated or corrupt file, another file format version, missing or malformed
        arrays or metadata, or a structure violating the network's invariants. Nothing is
        returned in these cases.
    """
    path = pathlib.Path(os.fspath(path))
    meta, arrays = _read(path)
    spec = meta.get("arrays", {})
    missing = [n for n in _ARRAYS if n not in arrays]
    if missing:
        raise ValueError(f"{path}: arrays {missing} are missing; the file is damaged")
    for name, arr in arrays.items():
        dtype, shape = spec[name]
        if arr.dtype.str != dtype or list(arr.shape) != list(shape):
            raise ValueError(f"{path}: array {name!r} has dtype {arr.dtype.str} and shape "
                             f"{list(arr.shape)}, the metadata say {dtype} and {shape}; the "
                             "file is damaged")
    try:
        params = NetworkParams.from_dict(meta["params"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the stored parameters are not readable by this hetbalance "
                         f"{meanfield.__version__} ({exc})") from exc
    N = params.N
    if meta.get("N") != N or meta.get("n_synapses") != len(arrays["post_indices"]):
        raise ValueError(f"{path}: sizes in the metadata (N = {meta.get('N')}, synapses = "
                         f"{meta.get('n_synapses')}) disagree with the arrays; the file is damaged")
    post_indptr = arrays["post_indptr"].astype(np.int64, copy=False)
    post_indices = arrays["post_indices"]
    if post_indptr.shape != (N + 1,) or post_indptr[0] != 0 or np.any(np.diff(post_indptr) < 0) \
            or post_indptr[-1] != len(post_indices):
        raise ValueError(f"{path}: post_indptr is not a valid index pointer; the file is damaged")
    if len(post_indices) and (post_indices.min() < 0 or post_indices.max() >= N):
        raise ValueError(f"{path}: post_indices has entries outside [0, {N}); the file is damaged")
    pre_indptr, pre_indices = transpose_structure(post_indptr, post_indices, N)
    try:
        net = Network(params=params, population=arrays["population"], label=arrays["label"],
                      post_indptr=post_indptr, post_indices=post_indices,
                      pre_indptr=pre_indptr, pre_indices=pre_indices, k_X=arrays["k_X"],
                      ext_indptr=arrays.get("ext_indptr"), ext_indices=arrays.get("ext_indices"),
                      seed=meta.get("seed"), seed_rule=meta.get("seed_rule"),
                      model=meta.get("model") or {},
                      provenance=dict(meta.get("provenance") or {}, loaded_from=str(path)))
        if validate:
            net.validate(allow_autapses=bool(net.provenance.get("allow_autapses", False)),
                         check_transpose=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the stored network is invalid ({exc})") from exc
    return net
