r"""Model files: a network, its degree model and simulation settings as one TOML file.

One job: turn a TOML text into ``NetworkParams`` + ``DegreeModel`` + simulation settings
and back, exactly (``loads(dumps(p, m)).params == p`` and the model has the same ``spec``).
Reading uses ``tomllib`` (standard library from Python 3.11; the ``tomli`` backport on
3.10); writing uses ``tomli-w`` (``pip install 'hetbalance[cli]'``; imported only when a
file is written). The ``[simulation]`` table is checked by
``validation.simulator.check_settings``, the checks ``simulate`` itself applies.

File format (format 1)
----------------------
Units: seconds (s), millivolts (mV), hertz (Hz), as everywhere in hetbalance. Plain numbers
are read in these units. A quoted number with a unit, ``tau_m = "15 ms"``, is converted
explicitly: ``s`` and ``ms`` for times, ``mV`` for voltages and weights, ``Hz`` for rates
(case-sensitive); any other unit, or a unit on a dimensionless key, is an error naming the
key. The writer always writes plain numbers in s, mV, Hz (its first comment lines say
which keys are times, voltages and rates).

.. code-block:: toml

    format = 1                      # optional; the only format so far

    [network]                       # NetworkParams
    preset = "akil2021_lif"         # optional: start from a preset ...
    N = 20000                       # ... and override any field
    r_X = "12 Hz"                   # Hz (a unit suffix is converted)

    [network.neuron_E]              # optional with a preset: overrides its E neuron
    kind = "LIF"                    # "LIF" or "EIF"
    tau_m = 0.015                   # s

    [model]                         # optional; absent means homogeneous (Erdos-Renyi)
    constructor = "assortative"     # DegreeModel.<constructor>(...); the model's .spec
    c = 3.0
    support = [0.5, 1.5]
    dist = {kind = "Uniform", lo = 0.5, hi = 1.5}   # label distributions: inline tables

    [simulation]                    # optional; every key optional
    T = 2.0                         # s, > 0
    dt = 1e-4                       # s, <= tau_syn/5, tau_m/5 and tau_ref; divides T
    burn_in = 0.5                   # s, in [0, T), a multiple of dt
    seed = 1                        # integer >= 0
    backend = "auto"                # "auto", "numpy" or "numba"

Tables and keys:

- ``[network]`` (required): the fields of ``NetworkParams`` -- ``N`` (integer), ``q_E``,
  ``q_I``, ``q_X``, ``p_ab`` (dimensionless), ``j_ab`` (mV), ``r_X`` (Hz), ``tau_E``,
  ``tau_I``, ``tau_X`` (s), ``name`` (string) -- and ``preset``. With ``preset`` every
  field is optional and overrides the preset; without it every field except ``name``
  is required (no silent defaults).
- ``[network.neuron_E]``, ``[network.neuron_I]``: ``kind = "LIF"`` (fields ``tau_m``,
  ``tau_ref`` in s; ``E_L``, ``theta``, ``V_r`` in mV) or ``kind = "EIF"`` (``tau_m``,
  ``tau_ref`` in s; ``E_L``, ``V_T``, ``Delta_T``, ``V_th``, ``V_re``, ``V_lb`` in mV).
  A table whose kind matches the preset's neuron overrides some of its fields; otherwise
  every field of the kind is required. Without a preset both tables are required.
- ``[model]``: ``constructor`` (``homogeneous``, ``separable``, ``recurrent_indegree``,
  ``all_indegree`` or ``assortative``) and that constructor's arguments, exactly
  ``DegreeModel.spec``. Label distributions are a name (``"gamma"``, ``"lognormal"``,
  ``"normal"``, ``"uniform"``) or a table ``{kind = "Gamma", mean_value = 1.0, cv = 0.2}``
  (``LabelDistribution.to_dict``; inline, or as the sub-table ``[model.dist]`` the writer
  writes). TOML has no null: a key that is absent takes the constructor's default (the
  writer omits ``None`` entries).
- A spatial ``[model]`` (``constructor = "spatial"``, docs/theory.md section 12) takes the
  arguments of ``DegreeModel.spatial``: ``dim`` (1 ring, 2 torus), ``sigma`` (a number for
  all four recurrent pairs, ``[sigma_E, sigma_I]`` by presynaptic population, or a table
  ``{EE, EI, IE, II}``) and ``sigma_X`` (a number or ``{EX, IX}``), widths in units of the
  side length in (0, 1]; optional ``kappa`` (a distribution, as ``dist``), ``kappa_cv``,
  ``in_sources``, ``n_side``, ``n_kappa`` and ``input_profile``: absent (uniform input) or
  ``{kind = "gaussian_bump", centre = 0.5, width = 0.1, amplitude = 1.0}``
  (``meanfield.spatial.GaussianBump``; a callable profile cannot be written).
- ``[simulation]``: ``T``, ``dt``, ``burn_in`` (s), ``seed``, ``backend``, checked (with the
  network's time constants) by ``validation.simulator.check_settings``, i.e. by the rules
  of ``simulate``; absent keys take ``validation.simulator.SIMULATION_DEFAULTS`` when
  ``hetbalance simulate`` runs.

Errors: a syntax error, an unknown table or key, a value of the wrong type, a missing
required field, a value out of range or in the wrong unit (``tau_m = 15`` looks like
milliseconds: ``LIF`` refuses times above 1 s) raise ``ModelFileError`` (a ``ValueError``)
whose message starts with the file, the line number and the key, e.g.
``case_c.toml, line 12, key network.neuron_E.tau_m: LIF.tau_m = 15.0 s is out of range;
...``. The key comes from the error itself: the checks of ``NetworkParams``, ``LIF``,
``EIF``, ``DegreeModel``, the label distributions and ``check_settings`` raise
``meanfield.errors.ParameterError`` (or ``ParameterTypeError``) whose ``field`` names the
parameter. ``tomllib`` reports no positions, so the line is found by scanning the text for
the key inside its table (the table header's line when the key is absent).

Examples
--------
>>> from meanfield import DegreeModel, NetworkParams
>>> p, m = NetworkParams.preset("akil2021_lif"), DegreeModel.assortative(3.0)
>>> mf = loads(dumps(p, m, {"T": 2.0, "seed": 1}))
>>> mf.params == p, mf.model.spec == m.spec, mf.simulation
(True, True, {'T': 2.0, 'seed': 1})
>>> loads('[network]\npreset = "akil2021"\ntau_E = "5 ms"\n').params.tau_E
0.005
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import os
import pathlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import numpy as np

from graphs.io import atomic_open
from meanfield.degree import DegreeModel
from meanfield.errors import ParameterError, ParameterTypeError
from meanfield.labels import distribution_from_dict
from meanfield.params import EIF, LIF, PRESETS, NetworkParams

__all__ = ["ModelFile", "ModelFileError", "load_model_file", "load", "loads", "dump", "dumps",
           "FORMAT_VERSION", "CONSTRUCTORS"]
# SIMULATION_KEYS (the keys of [simulation]) is served by __getattr__ below, from
# validation.simulator.SIMULATION_DEFAULTS, so that importing this module stays light.

FORMAT_VERSION = 1
"""Version of the model-file format written by ``dumps`` (``format = 1``)."""

CONSTRUCTORS = ("homogeneous", "separable", "recurrent_indegree", "all_indegree",
                "assortative", "spatial")
"""``DegreeModel`` constructors a model file can name (those whose spec round-trips)."""

_TOP_KEYS = ("format", "network", "model", "simulation")
_NEURONS = {"LIF": LIF, "EIF": EIF}
_NEURON_TABLES = ("neuron_E", "neuron_I")

# Physical dimension of every key that carries a unit; all other numbers are dimensionless.
_TIME = "time"
_VOLTAGE = "voltage"
_RATE = "rate"
_UNITS = {"s": (_TIME, 1), "ms": (_TIME, 1000), "mV": (_VOLTAGE, 1), "Hz": (_RATE, 1)}
_UNIT_NAMES = {_TIME: "s", _VOLTAGE: "mV", _RATE: "Hz"}
_NETWORK_DIMS = {"r_X": _RATE, "tau_E": _TIME, "tau_I": _TIME, "tau_X": _TIME,
                 **{f"j_{a}{b}": _VOLTAGE for a in "EI" for b in "EIX"}}
_NEURON_DIMS = {"tau_m": _TIME, "tau_ref": _TIME, "E_L": _VOLTAGE, "theta": _VOLTAGE,
                "V_r": _VOLTAGE, "V_T": _VOLTAGE, "Delta_T": _VOLTAGE, "V_th": _VOLTAGE,
                "V_re": _VOLTAGE, "V_lb": _VOLTAGE}
_SIM_DIMS = {"T": _TIME, "dt": _TIME, "burn_in": _TIME}
_HEADER = (f"# hetbalance model file (format {FORMAT_VERSION}). Units: s, mV, Hz; fractions and "
           f"probabilities dimensionless.\n"
           f"# Times in s: tau_E, tau_I, tau_X, tau_m, tau_ref, T, dt, burn_in. Voltages and "
           f"weights in mV:\n# j_ab, E_L, theta, V_r, V_T, Delta_T, V_th, V_re, V_lb. Rates in "
           f"Hz: r_X.\n")
_NUMBER_WITH_UNIT = re.compile(
    r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]+)\s*$")

# Types of the DegreeModel spec entries (the union over the constructors).
_SPEC_TYPES = {"c": "number", "cv": "number", "in_cv": "number", "out_cv": "number",
               "rho": "number", "n_nodes": "integer", "support": "pair", "in_support": "pair",
               "out_support": "pair", "dist": "dist", "in_dist": "dist", "out_dist": "dist",
               "in_sources": "sources"}

# Keys of a spatial [model] (DegreeModel.spatial's arguments) and their types.
_SPATIAL_TYPES = {"dim": "integer", "sigma": "widths", "sigma_X": "widths", "kappa": "dist",
                  "kappa_cv": "number", "in_sources": "sources", "n_side": "integer",
                  "n_kappa": "integer", "input_profile": "profile"}
# ParameterError fields of DegreeModel.spatial -> the [model] key they come from
_SPATIAL_FIELDS = {**{f"sigma_{k}": "sigma" for k in ("EE", "EI", "IE", "II")},
                   "sigma_EX": "sigma_X", "sigma_IX": "sigma_X", "centre": "input_profile",
                   "width": "input_profile", "amplitude": "input_profile", "cv": "kappa_cv"}

_NETWORK_FIELDS = tuple(f.name for f in dataclasses.fields(NetworkParams))
_SCALAR_FIELDS = tuple(f for f in _NETWORK_FIELDS if f not in _NEURON_TABLES + ("name",))


# =============================================================================== errors
class ModelFileError(ValueError):
    """A model file that cannot be read: names the file, the line and the key.

    Attributes
    ----------
    key : str or None
        Dotted key (``"network.neuron_E.tau_m"``) or table (``"model"``).
    line : int or None
        1-based line of the key in the file (of its table header when the key is absent;
        None when the table itself is absent or the data did not come from a file).
    source : str or None
        File name, or None for text.
    reason : str
        The message without the location prefix.
    """

    def __init__(self, reason: str, *, key: str | None = None, line: int | None = None,
                 source: str | None = None):
        where = [source or "model file"]
        if line is not None:
            where.append(f"line {line}")
        if key is not None:
            where.append(f"key {key}")
        super().__init__(f"{', '.join(where)}: {reason}")
        self.key, self.line, self.source, self.reason = key, line, source, reason


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class ModelFile:
    """What a model file describes.

    Attributes
    ----------
    params : NetworkParams
        The network (``[network]``).
    model : DegreeModel
        The degree model (``[model]``; ``DegreeModel.homogeneous()`` when absent).
    simulation : dict
        The ``[simulation]`` entries that were given (a subset of ``SIMULATION_KEYS``;
        times in s), converted to float/int/str.
    source : str or None
        The file it was read from (None for text).
    """

    params: NetworkParams
    model: DegreeModel
    simulation: dict = field(default_factory=dict)
    source: str | None = None


# =============================================================================== positions
_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY_PART = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER_RE = re.compile(rf"^\s*\[\[?\s*({_DOTTED})\s*\]\]?")
_ASSIGN_RE = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART_RE = re.compile(_KEY_PART)


def _split_key(dotted: str) -> tuple:
    parts = []
    for m in _PART_RE.finditer(dotted):
        s = m.group(0)
        parts.append(s[1:-1] if s[:1] in "\"'" else s)
    return tuple(parts)


class _Positions:
    """Line numbers of table headers and keys, found by scanning the text.

    Approximate by design (``tomllib`` reports no positions): a line inside a multi-line
    string or array that looks like ``key = ...`` may be taken for a key. The first
    occurrence wins.
    """

    def __init__(self, text: str | None):
        self.headers: dict = {}
        self.keys: dict = {}
        if not text:
            return
        table: tuple = ()
        for i, raw in enumerate(text.splitlines(), start=1):
            m = _HEADER_RE.match(raw)
            if m:
                table = _split_key(m.group(1))
                self.headers.setdefault(table, i)
                continue
            m = _ASSIGN_RE.match(raw)
            if m:
                parts = _split_key(m.group(1))
                for k in range(1, len(parts)):
                    self.headers.setdefault(table + parts[:k], i)
                self.keys.setdefault((table + parts[:-1], parts[-1]), i)

    def line(self, table: tuple, key: str | None = None) -> int | None:
        if key is not None and (table, key) in self.keys:
            return self.keys[(table, key)]
        if key is not None and table + (key,) in self.headers:   # a sub-table
            return self.headers[table + (key,)]
        if table in self.headers:
            return self.headers[table]
        if len(table) >= 1 and (table[:-1], table[-1]) in self.keys:  # inline table
            return self.keys[(table[:-1], table[-1])]
        return None


class _Context:
    def __init__(self, text: str | None, source: str | None):
        self.pos = _Positions(text)
        self.source = source

    def error(self, table: tuple, key: str | None, reason: str) -> ModelFileError:
        dotted = ".".join(table + ((key,) if key is not None else ()))
        return ModelFileError(reason, key=dotted or None, line=self.pos.line(table, key),
                              source=self.source)


# =============================================================================== values
def _toml_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return "date-time" if hasattr(value, "isoformat") else type(value).__name__


def _number(ctx, table, key, value, dim=None) -> float:
    """Return a number in the unit system (s, mV, Hz); converts "15 ms"-style strings."""
    if isinstance(value, str):
        m = _NUMBER_WITH_UNIT.match(value)
        if dim is None:
            what = ("a plain number: the key is dimensionless, so no unit" if m else
                    "a number, got a string")
            raise ctx.error(table, key, f"{key} = {value!r}: expected {what}")
        if not m:
            raise ctx.error(table, key, f"{key} = {value!r}: expected a number in "
                                        f"{_UNIT_NAMES[dim]} or a quoted number with a unit, "
                                        f"e.g. \"15 ms\"")
        number, unit = m.groups()
        if unit not in _UNITS or _UNITS[unit][0] != dim:
            allowed = [u for u, (d, _) in _UNITS.items() if d == dim]
            raise ctx.error(table, key, f"{key} = {value!r}: unit {unit!r} is not allowed "
                                        f"for a {dim}; allowed units: {', '.join(allowed)}")
        # exact division: "15 ms" -> 15/1000 is the double nearest 0.015
        return float(number) / _UNITS[unit][1]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        unit = f" in {_UNIT_NAMES[dim]}" if dim else ""
        raise ctx.error(table, key, f"{key} = {value!r}: expected a number{unit}, got a "
                                    f"{_toml_type(value)}")
    return float(value)


def _integer(ctx, table, key, value, lo=None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.error(table, key, f"{key} = {value!r}: expected an integer, got a "
                                    f"{_toml_type(value)}")
    if lo is not None and value < lo:
        raise ctx.error(table, key, f"{key} = {value!r} is out of range; allowed: integers "
                                    f">= {lo}")
    return value


def _string(ctx, table, key, value, allowed=None) -> str:
    if not isinstance(value, str):
        raise ctx.error(table, key, f"{key} = {value!r}: expected a string, got a "
                                    f"{_toml_type(value)}")
    if allowed is not None and value not in allowed:
        raise ctx.error(table, key, f"{key} = {value!r} is not allowed; allowed: "
                                    f"{', '.join(map(repr, allowed))}")
    return value


def _table(ctx, table, key, value) -> dict:
    if not isinstance(value, dict):
        raise ctx.error(table, key, f"{key} must be a table, got a {_toml_type(value)} "
                                    f"{value!r}")
    return value


def _unknown(ctx, table, tab: dict, allowed) -> None:
    for key in tab:
        if key not in allowed:
            where = f"in [{'.'.join(table)}]" if table else "at the top level"
            raise ctx.error(table, key, f"unknown key {key!r} {where}; allowed: "
                                        f"{', '.join(sorted(allowed))}")


def _field_error(ctx, table, tab: dict, exc: Exception):
    """Return a ModelFileError at the key named by ``exc.field`` (else at the table).

    ``exc.field`` is the parameter as the check named it, ``"LIF.tau_m"`` or ``"dt"``; its
    last component is the key inside ``table``.
    """
    name = getattr(exc, "field", None)
    key = name.rpartition(".")[2] if isinstance(name, str) else None
    msg = str(exc) or type(exc).__name__
    if not isinstance(exc, (ValueError, TypeError)):
        msg = f"{type(exc).__name__}: {msg}"
    return ctx.error(table, key if key in tab else None, msg)


# =============================================================================== network
def _neuron(ctx, name: str, tab, base):
    table = ("network", name)
    tab = _table(ctx, ("network",), name, tab)
    if "kind" not in tab and base is None:
        raise ctx.error(table, "kind", "missing key 'kind' (\"LIF\" or \"EIF\")")
    kind = _string(ctx, table, "kind", tab.get("kind", getattr(base, "kind", None)),
                   tuple(_NEURONS))
    cls = _NEURONS[kind]
    fields = tuple(f.name for f in dataclasses.fields(cls))
    _unknown(ctx, table, tab, ("kind",) + fields)
    kw = {k: _number(ctx, table, k, tab[k], _NEURON_DIMS.get(k)) for k in fields if k in tab}
    same = base is not None and base.kind == kind
    if not same:
        missing = [k for k in fields if k not in kw]
        if missing:
            why = ("without a preset" if base is None else
                   f"the preset's {name} is {base.kind}, so a {kind} needs every field")
            raise ctx.error(table, missing[0], f"missing key(s) {missing} ({why})")
    try:
        return dataclasses.replace(base, **kw) if same else cls(**kw)
    except (ValueError, TypeError) as exc:
        raise _field_error(ctx, table, tab, exc) from exc


def _network(ctx, tab) -> NetworkParams:
    table = ("network",)
    _unknown(ctx, table, tab, ("preset",) + _NETWORK_FIELDS)
    base = None
    if "preset" in tab:
        base = PRESETS[_string(ctx, table, "preset", tab["preset"], tuple(sorted(PRESETS)))]()
    kw = {}
    for k in _SCALAR_FIELDS:
        if k in tab:
            kw[k] = (_integer(ctx, table, k, tab[k]) if k == "N"
                     else _number(ctx, table, k, tab[k], _NETWORK_DIMS.get(k)))
    if "name" in tab:
        kw["name"] = _string(ctx, table, "name", tab["name"])
    for k in _NEURON_TABLES:
        if k in tab:
            kw[k] = _neuron(ctx, k, tab[k], None if base is None else getattr(base, k))
    if base is None:
        missing = [k for k in _SCALAR_FIELDS + _NEURON_TABLES if k not in kw]
        if missing:
            raise ctx.error(table, missing[0],
                            f"missing key(s) {missing}: without 'preset = ...' every field "
                            f"is required (or start from a preset: "
                            f"{', '.join(sorted(PRESETS))})")
    try:
        return dataclasses.replace(base, **kw) if base is not None else NetworkParams(**kw)
    except (ValueError, TypeError) as exc:
        raise _field_error(ctx, table, tab, exc) from exc


# =============================================================================== model
def _check_dist(ctx, table, key, value, depth=0):
    if isinstance(value, str):
        return
    if not isinstance(value, dict):
        raise ctx.error(table, key, f"{key} = {value!r}: expected a distribution name "
                                    f"(\"gamma\", \"lognormal\", \"normal\", \"uniform\") or an "
                                    f"inline table {{kind = ...}}, got a {_toml_type(value)}")
    if not isinstance(value.get("kind"), str):
        raise ctx.error(table, key, f"{key} = {value!r}: a label distribution table needs a "
                                    f"string 'kind' (Constant, Uniform, Gamma, LogNormal, "
                                    f"TruncatedNormal, Empirical, GaussianCopula)")
    if depth == 0 and value["kind"] == "GaussianCopula":
        raise ctx.error(table, key, f"{key}: kind = 'GaussianCopula' is a 2-d label; {key} needs "
                                    f"a 1-d distribution (correlated in/out factors: constructor "
                                    f"= \"separable\" with rho)")
    for k, v in value.items():
        if k == "kind":
            continue
        if isinstance(v, dict) and depth < 2:
            _check_dist(ctx, table, key, v, depth + 1)
        elif isinstance(v, list):
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                raise ctx.error(table, key, f"{key}: entry {k} = {v!r} must be an array of "
                                            f"numbers")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ctx.error(table, key, f"{key}: entry {k} = {v!r} must be a number, got a "
                                        f"{_toml_type(v)}")


def _model(ctx, tab) -> DegreeModel:
    table = ("model",)
    if "constructor" not in tab:
        raise ctx.error(table, "constructor",
                        f"missing key 'constructor' (one of {', '.join(CONSTRUCTORS)})")
    name = _string(ctx, table, "constructor", tab["constructor"], CONSTRUCTORS)
    if name == "spatial":
        return _spatial_model(ctx, tab)
    signature = inspect.signature(getattr(DegreeModel, name)).parameters
    allowed = ("constructor",) + tuple(k for k in signature if k in _SPEC_TYPES)
    _unknown(ctx, table, tab, allowed)
    _check_model_values(ctx, table, tab, _SPEC_TYPES, build_dist=True)
    try:
        return DegreeModel.from_spec(dict(tab))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a ModelFileError
        raise _field_error(ctx, table, tab, exc) from exc


def _check_model_values(ctx, table, tab, types: dict, *, build_dist: bool) -> None:
    """Check the TOML types of a [model] table's values against ``types`` (key -> kind).

    Kinds: "number", "integer", "pair" ([lo, hi]), "sources" (strings), "dist" (a label
    distribution; with ``build_dist`` a table is built alone so that its errors name this
    key), "widths" (a number, [for E, for I] or a table of numbers by pair) and "profile"
    (a table: only a Gaussian bump can be written in a file).
    """
    for key, value in tab.items():
        kind = types.get(key)
        if kind == "number":
            _number(ctx, table, key, value)
        elif kind == "integer":
            _integer(ctx, table, key, value)
        elif kind == "pair":
            if not (isinstance(value, list) and len(value) == 2
                    and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)):
                raise ctx.error(table, key, f"{key} = {value!r}: expected [lo, hi], two numbers")
        elif kind == "widths":
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
                isinstance(value, (list, dict)) and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool)
                    for x in (value.values() if isinstance(value, dict) else value)))
            if not ok:
                raise ctx.error(table, key, f"{key} = {value!r}: expected a number (every pair), "
                                            f"[for E, for I] or a table of numbers by pair")
        elif kind == "sources":
            if not (isinstance(value, list) and all(isinstance(x, str) for x in value)):
                raise ctx.error(table, key, f"{key} = {value!r}: expected an array of strings "
                                            f"from \"E\", \"I\", \"X\"")
        elif kind == "dist":
            _check_dist(ctx, table, key, value)
            if build_dist and isinstance(value, dict):   # its errors belong to this key
                try:
                    distribution_from_dict(value)
                except Exception as exc:  # noqa: BLE001 - every failure becomes a ModelFileError
                    raise ctx.error(table, key, str(exc)) from exc
        elif kind == "profile" and not isinstance(value, dict):
            raise ctx.error(table, key, f"{key} = {value!r}: only the uniform input (key absent) "
                                        f"and a Gaussian bump {{kind = \"gaussian_bump\", "
                                        f"centre, width, amplitude}} can be written in a file "
                                        f"(a callable profile cannot)")


def _spatial_model(ctx, tab) -> DegreeModel:
    """Read a spatial [model]: the arguments of ``DegreeModel.spatial`` (docs/theory.md section 12)."""
    table = ("model",)
    _unknown(ctx, table, tab, ("constructor",) + tuple(_SPATIAL_TYPES))
    for key in ("dim", "sigma", "sigma_X"):
        if key not in tab:
            raise ctx.error(table, key, f"missing key {key!r}: a spatial model needs dim (1 ring, "
                                        f"2 torus), sigma and sigma_X (kernel widths)")
    _check_model_values(ctx, table, tab, _SPATIAL_TYPES, build_dist=False)
    try:
        return DegreeModel.from_spec(dict(tab))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a ModelFileError
        name = getattr(exc, "field", None)
        key = _SPATIAL_FIELDS.get(name, name) if isinstance(name, str) else None
        msg = str(exc) or type(exc).__name__
        if not isinstance(exc, (ValueError, TypeError)):
            msg = f"{type(exc).__name__}: {msg}"
        raise ctx.error(table, key if key in tab else None, msg) from exc


# =============================================================================== simulation
def _simulation(ctx, tab, params) -> dict:
    """Read the [simulation] table: TOML types and units here, values by ``check_settings``."""
    if not tab:
        return {}
    from validation.simulator import SIMULATION_DEFAULTS, check_settings

    table = ("simulation",)
    _unknown(ctx, table, tab, tuple(SIMULATION_DEFAULTS))
    out = {}
    for key, v in tab.items():
        if key in _SIM_DIMS:
            out[key] = _number(ctx, table, key, v, _SIM_DIMS[key])
        elif key == "seed":
            out[key] = _integer(ctx, table, key, v)
        else:
            out[key] = _string(ctx, table, key, v)
    try:
        return check_settings(params, **out)
    except (ParameterError, ParameterTypeError) as exc:
        raise _field_error(ctx, table, tab, exc) from exc


# =============================================================================== reading
def loads(text: str, *, source: str | None = None) -> ModelFile:
    """Read a model file from its text.

    Parameters
    ----------
    text : str
        TOML text in the format of this module's docstring.
    source : str, optional
        File name used in error messages.

    Returns
    -------
    ModelFile

    Raises
    ------
    TypeError
        ``text`` is not a str.
    ModelFileError
        (a ``ValueError``) Invalid TOML or content; names the file, line and key.
    """
    if not isinstance(text, str):
        raise TypeError(f"model-file text must be a str, got {type(text).__name__}")
    ctx = _Context(text, source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        if line is None and "end of document" in str(exc):
            line = max(len(text.splitlines()), 1)
        raise ModelFileError(f"invalid TOML: {exc}", line=line, source=source) from exc
    _unknown(ctx, (), doc, _TOP_KEYS)
    if "format" in doc and (isinstance(doc["format"], bool) or doc["format"] != FORMAT_VERSION):
        raise ctx.error((), "format", f"format = {doc['format']!r} is not supported; this "
                                      f"version of hetbalance reads format {FORMAT_VERSION}")
    if "network" not in doc:
        raise ctx.error(("network",), None, "missing table [network] (the network "
                                            "parameters; e.g. [network] preset = \"akil2021\")")
    params = _network(ctx, _table(ctx, (), "network", doc["network"]))
    if "model" in doc:
        model = _model(ctx, _table(ctx, (), "model", doc["model"]))
        try:
            # a spatial model's peak probability is checked by the sampler that needs it
            # (Bernoulli; the fixed-out-degree construction allows p g > 1)
            if model.spec.get("constructor") != "spatial":
                model.check_params(params)
        except ValueError as exc:
            raise ctx.error(("model",), None, f"{exc} (with the [network] p_ab)") from exc
    else:
        model = DegreeModel.homogeneous()
    simulation = _simulation(ctx, _table(ctx, (), "simulation", doc.get("simulation", {})),
                             params)
    return ModelFile(params=params, model=model, simulation=simulation, source=source)


def load(path) -> ModelFile:
    """Read a model file from ``path`` (str or path-like); see ``loads``.

    Raises
    ------
    ModelFileError
        The file does not exist or cannot be read, or its content is invalid.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ModelFileError(f"cannot read the file: {reason}", source=str(path)) from exc
    return loads(text, source=str(path))


def load_model_file(path_or_text) -> ModelFile:
    r"""Read a model file given as a path or as TOML text.

    Parameters
    ----------
    path_or_text : str or path-like
        A ``pathlib.Path``/``os.PathLike`` is a path. A str is taken as TOML text when it
        contains a newline, ``=`` or ``[`` and is not the name of an existing file; else
        as a path.

    Returns
    -------
    ModelFile
        ``params`` (NetworkParams), ``model`` (DegreeModel), ``simulation`` (dict).

    Raises
    ------
    TypeError
        Neither a str nor a path.
    ModelFileError
        A ``ValueError`` naming the file, line and key.

    Examples
    --------
    >>> mf = load_model_file('[network]\npreset = "brunel_lif"\nN = 2000\n')
    >>> mf.params.N, mf.params.neuron_E.kind, mf.model.name
    (2000, 'LIF', 'homogeneous')
    """
    if isinstance(path_or_text, os.PathLike):
        return load(path_or_text)
    if not isinstance(path_or_text, str):
        raise TypeError(f"path_or_text must be a str or a path, got "
                        f"{type(path_or_text).__name__}")
    looks_like_text = any(c in path_or_text for c in "\n=[")
    if looks_like_text and not ("\n" not in path_or_text and os.path.isfile(path_or_text)):
        return loads(path_or_text)
    return load(path_or_text)


# =============================================================================== writing
def _plain(v):
    """Return ``v`` in plain Python types for ``tomli_w``.

    Numpy scalars and arrays become Python numbers and lists; None entries of tables are
    dropped (TOML has no null).
    """
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (numbers.Integral, np.integer)):
        return int(v)
    if isinstance(v, (numbers.Real, np.floating)):
        return float(v)
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"string {v!r} contains a lone surrogate, which TOML cannot "
                             f"hold") from exc
        return v
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple, np.ndarray)):
        v = list(v)
        if any(x is None for x in v):
            raise ValueError(f"array {v!r} contains None, which TOML cannot hold")
        return [_plain(x) for x in v]
    raise TypeError(f"cannot write a {type(v).__name__} ({v!r}) to TOML")


def _network_table(params: NetworkParams, compact: bool) -> dict:
    base = PRESETS[params.name]() if compact and params.name in PRESETS else None
    tab = {} if base is None else {"preset": params.name}
    for k in _SCALAR_FIELDS:
        v = getattr(params, k)
        if base is None or v != getattr(base, k):
            tab[k] = v
    if base is None:
        tab["name"] = params.name
    for k in _NEURON_TABLES:
        nrn = getattr(params, k)
        ref = None if base is None else getattr(base, k)
        if ref == nrn:
            continue
        same = ref is not None and ref.kind == nrn.kind
        tab[k] = {"kind": nrn.kind}
        for f in dataclasses.fields(nrn):
            v = getattr(nrn, f.name)
            if not same or v != getattr(ref, f.name):
                tab[k][f.name] = v
    return tab


def _tomli_w():
    try:
        import tomli_w
    except ImportError as exc:   # an optional dependency: only writing needs it
        raise ImportError("writing a model file needs the package tomli-w: pip install "
                          "'hetbalance[cli]' (or pip install tomli-w)") from exc
    return tomli_w


def dumps(params: NetworkParams, model: DegreeModel | None = None,
          simulation: Mapping | None = None, *, compact: bool = False) -> str:
    """Write params, model and simulation settings as model-file text.

    Parameters
    ----------
    params : NetworkParams
        The network; written in full (every field, plain numbers in s, mV, Hz).
    model : DegreeModel, optional
        Written as its ``spec`` (built by one of ``CONSTRUCTORS``); omitted when None
        (a reader then takes the homogeneous model).
    simulation : mapping, optional
        ``[simulation]`` entries (keys from ``SIMULATION_KEYS``), validated as when read
        (``validation.simulator.check_settings`` with ``params``).
    compact : bool
        If True and ``params.name`` is a preset, write ``preset = ...`` and only the
        fields that differ from it.

    Returns
    -------
    str
        TOML text (written by ``tomli_w``, after a comment naming the units); ``loads`` of
        it gives back ``params`` (``==``) and a model with the same ``spec``.

    Raises
    ------
    ImportError
        ``tomli-w`` is not installed (``pip install 'hetbalance[cli]'``).
    TypeError
        ``params`` or ``model`` of the wrong type.
    ValueError
        A model that cannot be written (built by ``from_kernel`` or a custom constructor),
        or invalid simulation settings.
    """
    if not isinstance(params, NetworkParams):
        raise TypeError(f"params must be a NetworkParams, got {type(params).__name__}")
    if model is not None and not isinstance(model, DegreeModel):
        raise TypeError(f"model must be a DegreeModel or None, got {type(model).__name__}")
    doc = {"format": FORMAT_VERSION, "network": _network_table(params, compact)}
    if model is not None:
        spec = model.spec
        if spec.get("constructor") not in CONSTRUCTORS:
            raise ValueError(f"model {model.name!r} (constructor = "
                             f"{spec.get('constructor')!r}) cannot be written to a model file; "
                             f"allowed constructors: {', '.join(CONSTRUCTORS)}")
        if isinstance(spec.get("input_profile"), str):
            raise ValueError(f"model {model.name!r} has a callable input_profile "
                             f"({spec['input_profile']}), which a model file cannot hold; "
                             f"allowed: None (uniform) or meanfield.spatial.GaussianBump")
        doc["model"] = spec
    if simulation:
        if not isinstance(simulation, Mapping):
            raise TypeError(f"simulation must be a mapping, got {type(simulation).__name__}")
        doc["simulation"] = _simulation(_Context(None, "simulation"), dict(simulation), params)
    return _HEADER + _tomli_w().dumps(_plain(doc))


def dump(path, params: NetworkParams, model: DegreeModel | None = None,
         simulation: Mapping | None = None, *, compact: bool = False) -> pathlib.Path:
    """Write a model file to ``path``.

    Parameters
    ----------
    path : str or path-like
        Where to write (UTF-8); an existing file is replaced atomically (written to a
        temporary file in the same folder, then renamed).
    params, model, simulation, compact
        As for ``dumps``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    text = dumps(params, model, simulation, compact=compact)
    path = pathlib.Path(path)
    with atomic_open(path) as f:
        f.write(text.encode("utf-8"))
    return path


def __getattr__(name):
    if name == "SIMULATION_KEYS":   # from the simulator, imported only when asked for
        from validation.simulator import SIMULATION_DEFAULTS
        return tuple(SIMULATION_DEFAULTS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
