"""Mutation testing of hetbalance: break the code on purpose and check that a fast test fails.

Each mutant is one small change of the source (a comparison flipped, + and - swapped, a
constant doubled, a term of a sum dropped, a boolean negated, two arguments swapped, min
and max swapped, ...), enumerated with the standard library's ``ast`` and spliced into
the text of ONE file of a scratch copy of the repository (never the working tree). For
every mutant the fast tests run in that copy (``pytest -m "not slow" -x -q`` with a per-mutant
timeout: by default the tests that executed the mutated line in one traced run of the
unmutated suite, then the tests that start Python subprocesses, which tracing cannot
see): a failing run *kills* the mutant, a green run lets it *survive*. The report gives the score per module
(killed / run) and lists the survivors (file:line, the mutation) to be killed by a new
test or explained as equivalent.

``--known`` runs instead the named table ``KNOWN`` of the deliberate bugs of issue 12,
applied textually, and reports each killed or survived.

Usage (from the repository root; see benchmarks/README_mutation.md)::

    python benchmarks/mutate.py --list --modules validation/comparison.py
    python benchmarks/mutate.py --max-mutants 60 --seed 1 --jobs 1 --report mutation-report.txt
    python benchmarks/mutate.py --mutant validation/comparison.py:262:cmp
    python benchmarks/mutate.py --known

Only the standard library is used; the tests need the project's test extras.
"""

from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import os
import pathlib
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("meanfield", "graphs", "validation", "paper_figures", "hetbalance")
DEFAULT_MODULES = ("meanfield", "graphs", "validation", "paper_figures")
# Code whose only output is presentation (plots, printed tables, reprs): mutants there
# cannot change a number a test or a claim judges, so they are not enumerated.
SKIP_FUNCTIONS = r"^(plot.*|.*_panel|summary|__repr__|__str__|_repr_.*|_header)$"
# Tests of the code's form, not its behaviour: a mutant spliced in with parentheses or a
# long line would fail them without being caught by any behavioural test.
FORM_TESTS = ("tests/test_lint.py",)
PYTEST_ARGS = ("-m", "not slow", "-x", "-q", "-p", "no:cacheprovider", "--no-header",
               "-p", "no:randomly", *(f"--ignore={t}" for t in FORM_TESTS))

# ----------------------------------------------------------------------------- known mutants
# The deliberate bugs of issue 12, as (name, file, [(original snippet, replacement), ...]).
# Each snippet must occur exactly once in its file; "not applicable" is reported when the
# code has moved on (update the table then).
KNOWN = [
    ("agreement claims forced to True", "paper_figures/_ladder.py",
     [("ok = bool(judged.any()) and bool(np.all(agree[judged]))", "ok = True")]),
    ("Fig 1 exponent bar replaced by True", "paper_figures/fig1_indegree_breaks_balance.py",
     [('"net_input_slope", 0.5))',
       '"net_input_slope", 0.5).__class__(f"fig1.slope_exponent_{pop}", "forced", True))')]),
    ("Fig 2 check_claims cut to its first claim", "paper_figures/fig2_assortative_restores.py",
     [("fig2\", EIF_RATE_BAR)\n    return claims\n", "fig2\", EIF_RATE_BAR)\n    return claims[:1]\n")]),
    ("Newton reports convergence on a stall and at maxiter", "meanfield/roots.py",
     [('return _result(ev, x, STALL, f"stalled at {ev.word}',
       'return _result(ev, x, CONVERGED, f"stalled at {ev.word}'),
      ('return _result(ev, x, MAXITER, f"maxiter = {maxiter} reached at {ev.word}',
       'return _result(ev, x, CONVERGED, f"maxiter = {maxiter} reached at {ev.word}')]),
    ("scan_N fits unconverged points", "meanfield/scaling.py",
     [("fit_exponent(Narr[conv], arr[conv, a])", "fit_exponent(Narr, arr[:, a])")]),
    ("hetbalance sweep exits 0 on non-convergence", "hetbalance/cli.py",
     [('if failed else "hetbalance sweep: the sweep did not complete", file=sys.stderr)\n'
       '        return 1\n',
       'if failed else "hetbalance sweep: the sweep did not complete", file=sys.stderr)\n'
       '        return 0\n')]),
    ("simulate: tau_E and tau_I swapped", "validation/simulator.py",
     [("    tau = params.tau_syn\n", "    tau = params.tau_syn[[1, 0, 2]]\n")]),
    ("simulate: explicit-external r_X +3 %", "validation/simulator.py",
     [("lam = np.full(n_src, params.r_X * dt)", "lam = np.full(n_src, 1.03 * params.r_X * dt)")]),
    ("compare: X dropped from the net input", "validation/comparison.py",
     [("net = inp.sum(axis=1)", "net = inp[:, :2].sum(axis=1)")]),
    ("compare: X dropped from the balance-index denominator", "validation/comparison.py",
     [("balance_index(net, inp[:, 0] + inp[:, 2])", "balance_index(net, inp[:, 0])")]),
    ("compare: silent threshold x10", "validation/comparison.py",
     [("fraction_below(rate, silent_rate)", "fraction_below(rate, 10 * silent_rate)")]),
    ("compare: input spread from the E column only", "validation/comparison.py",
     [("net_input_spread=float(np.std(net))", "net_input_spread=float(np.std(inp[:, 0]))")]),
    ("compare: 3 SD instead of 3 SE", "validation/comparison.py",
     [("n_se * self.sim_se])", "n_se * self.sim_se * np.sqrt(self.count)])")]),
    ("compare: 40 % instead of 20 %", "validation/comparison.py",
     [("def agreement(self, rel: float = 0.2,", "def agreement(self, rel: float = 0.4,")]),
    # issue 10: the filtered-noise default
    ("colored Jacobian drops the sigma-factor term", "meanfield/degree_space.py",
     [("(g_tau * dtau[b] + g_scale * dscale[b])", "(g_tau * dtau[b])")]),
    ("moments rule sigma factor set to 1", "meanfield/_phi.py",
     [("tau[idx], scale[idx] = t, np.where(ok, c, 1.0)", "tau[idx], scale[idx] = t, 1.0")]),
    ("RegimeWarning kick bar doubled", "meanfield/regime.py",
     [("kick > MAX_KICK * gap", "kick > 2 * MAX_KICK * gap")]),
    ("auto filter back to white noise", "meanfield/_phi.py",
     [('out.append("colored" if any_tau else "white")', 'out.append("white")')]),
    ("EIF rate claims forced to True", "paper_figures/_ladder.py",
     [("ok = bool(np.isfinite(sim) and np.isfinite(th) and th > 0 and abs(sim - th) <= tol)",
       "ok = True")]),
]


# ----------------------------------------------------------------------------- mutants
@dataclasses.dataclass(frozen=True)
class Mutant:
    path: str            # relative to the repository root, with "/"
    line: int
    kind: str
    description: str
    edits: tuple         # ((start offset, end offset, replacement), ...) in the file text
    occurrence: int = 0  # index among mutants of the same path, line and kind
    end_line: int = 0    # last line of the mutated code (0: same as line)

    @property
    def name(self) -> str:
        return f"{self.path}:{self.line}:{self.kind}" + (f":{self.occurrence}"
                                                         if self.occurrence else "")

    @property
    def module(self) -> str:
        return self.path[:-3].replace("/", ".")


_CMP_FLIP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
             ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
             ast.In: ast.NotIn, ast.NotIn: ast.In}
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
             ast.FloorDiv: ast.Mult, ast.Pow: ast.Mult}
_MINMAX = {"min": "max", "max": "min", "minimum": "maximum", "maximum": "minimum",
           "nanmin": "nanmax", "nanmax": "nanmin", "argmin": "argmax", "argmax": "argmin"}


class _Offsets:
    def __init__(self, text: str):
        self.starts = [0]
        for line in text.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.text = text

    def __call__(self, lineno, col):
        # ast columns are UTF-8 byte offsets: convert within the line
        line_start = self.starts[lineno - 1]
        line = self.text[line_start:self.starts[lineno]]
        return line_start + len(line.encode("utf-8")[:col].decode("utf-8", "replace"))

    def span(self, node):
        return self(node.lineno, node.col_offset), self(node.end_lineno, node.end_col_offset)


def _parents(tree):
    parent = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[child] = node
    return parent


def _skipped(node, parent, skip_re) -> bool:
    """True inside docstrings, f-strings, raise statements, annotations, presentation code."""
    n = node
    while n in parent:
        p = parent[n]
        if isinstance(p, (ast.JoinedStr, ast.Raise)):
            return True
        if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if re.match(skip_re, p.name):
                return True
            if n is p.returns:
                return True
        if isinstance(p, ast.arg) and n is p.annotation:
            return True
        if isinstance(p, ast.AnnAssign) and n is p.annotation:
            return True
        if isinstance(p, ast.Call) and isinstance(p.func, ast.Attribute) and \
                p.func.attr in ("warn", "write", "append") and isinstance(n, ast.JoinedStr):
            return True
        if isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and p.func.id == "print":
            return True
        n = p
    return False


def _docstring_nodes(tree):
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(body[0].value)
    return out


def _expr(node) -> str:
    return "(" + ast.unparse(node) + ")"


def enumerate_mutants(path: pathlib.Path, root: pathlib.Path = ROOT,
                      skip_re: str = SKIP_FUNCTIONS, check: bool = True) -> list[Mutant]:
    """All mutants of one Python file (see the module docstring for the kinds).

    ``check``: keep only mutants whose file still compiles (``mutant_compiles``; about
    1 ms each, so a sample is checked after drawing it).
    """
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    parent = _parents(tree)
    docs = _docstring_nodes(tree)
    off = _Offsets(text)
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    found = []

    def add(node, kind, desc, replacement, span=None):
        a, b = span if span is not None else off.span(node)
        found.append((node.lineno, kind, re.sub(r"\s+", " ", desc), ((a, b, replacement),)))

    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or node in docs or _skipped(node, parent, skip_re):
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _CMP_FLIP:
                    m = copy.deepcopy(node)
                    m.ops[i] = _CMP_FLIP[type(op)]()
                    add(node, "cmp", f"{ast.unparse(node)}  ->  {ast.unparse(m)}", _expr(m))
        elif isinstance(node, ast.BinOp):
            if type(node.op) in _BIN_SWAP:
                m = copy.deepcopy(node)
                m.op = _BIN_SWAP[type(node.op)]()
                add(node, "binop", f"{ast.unparse(node)}  ->  {ast.unparse(m)}", _expr(m))
            if isinstance(node.op, (ast.Add, ast.Sub)):
                add(node, "dropterm", f"{ast.unparse(node)}  ->  {ast.unparse(node.left)}",
                    _expr(node.left))
                if isinstance(node.op, ast.Add):
                    add(node, "dropterm", f"{ast.unparse(node)}  ->  {ast.unparse(node.right)}",
                        _expr(node.right))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BIN_SWAP:
            m = copy.deepcopy(node)
            m.op = _BIN_SWAP[type(node.op)]()
            add(node, "augassign", f"{ast.unparse(node)}  ->  {ast.unparse(m)}", ast.unparse(m))
        elif isinstance(node, ast.Constant) and not isinstance(parent.get(node), ast.JoinedStr):
            v = node.value
            if isinstance(v, bool):
                add(node, "bool", f"{v!r}  ->  {not v!r}", repr(not v))
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                p = parent.get(node)
                if isinstance(p, ast.UnaryOp) and isinstance(p.op, ast.USub):
                    continue           # handled on the UnaryOp (the sign belongs to it)
                new = v * 2 if v not in (0, 0.0) else v + 1
                if isinstance(v, int) and v in (0, 1):
                    new = v + 1
                add(node, "const", f"{v!r}  ->  {new!r}", repr(new))
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                add(node, "not", f"{ast.unparse(node)}  ->  {ast.unparse(node.operand)}",
                    _expr(node.operand))
            elif isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                    and isinstance(node.operand.value, (int, float)):
                v = -node.operand.value
                add(node, "const", f"{v!r}  ->  {2 * v!r}", repr(2 * v))
            elif isinstance(node.op, ast.USub):
                add(node, "neg", f"{ast.unparse(node)}  ->  {ast.unparse(node.operand)}",
                    _expr(node.operand))
        elif isinstance(node, ast.BoolOp):
            m = copy.deepcopy(node)
            m.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            add(node, "boolop", f"{ast.unparse(node)}  ->  {ast.unparse(m)}", _expr(m))
        elif isinstance(node, ast.Return) and node.value is not None and \
                isinstance(node.value, (ast.Compare, ast.BoolOp)):
            add(node.value, "return", f"return {ast.unparse(node.value)}  ->  return not (...)",
                "(not " + _expr(node.value) + ")")
        elif isinstance(node, ast.Call):
            pos = [a for a in node.args if not isinstance(a, ast.Starred)]
            if len(pos) >= 2 and len(pos) == len(node.args):
                a0, a1 = off.span(pos[0]), off.span(pos[1])
                t0, t1 = text[a0[0]:a0[1]], text[a1[0]:a1[1]]
                types = ("float", "int", "bool", "str", "complex", "object")
                if t0 != t1 and t0 not in types and t1 not in types:
                    found.append((node.lineno, "swapargs", re.sub(
                                  r"\s+", " ", f"{ast.unparse(node.func)}({t0}, {t1}, ...)  ->  "
                                  f"{ast.unparse(node.func)}({t1}, {t0}, ...)"),
                                  ((a0[0], a0[1], t1), (a1[0], a1[1], t0))))
        if isinstance(node, ast.Attribute) and node.attr in _MINMAX and \
                isinstance(node.ctx, ast.Load):
            a, b = off.span(node)
            new = ast.unparse(node.value) + "." + _MINMAX[node.attr]
            add(node, "minmax", f"{ast.unparse(node)}  ->  {new}", "(" + new + ")", (a, b))
        elif isinstance(node, ast.Name) and node.id in ("min", "max") and \
                isinstance(node.ctx, ast.Load):
            add(node, "minmax", f"{node.id}  ->  {_MINMAX[node.id]}", _MINMAX[node.id])

    found.sort(key=lambda f: (f[0], f[3][0][0], f[1]))
    out, seen = [], {}
    for line, kind, desc, edits in found:
        k = (line, kind)
        occ = seen.get(k, 0)
        seen[k] = occ + 1
        a = min(e[0] for e in edits)
        b = max(e[1] for e in edits)
        m = Mutant(rel, line, kind, desc, edits, occ,
                   end_line=max(line, text.count("\n", 0, max(a, b - 1)) + 1))
        if not check or _compiles(apply_edits(text, edits)):
            out.append(m)
    return out


def mutant_compiles(m: Mutant, root: pathlib.Path = ROOT) -> bool:
    return _compiles(apply_edits((root / m.path).read_text(encoding="utf-8"), m.edits))


def apply_edits(text: str, edits) -> str:
    for a, b, rep in sorted(edits, key=lambda e: -e[0]):
        text = text[:a] + rep + text[b:]
    return text


def _compiles(text: str) -> bool:
    try:
        compile(text, "<mutant>", "exec")
        return True
    except (SyntaxError, ValueError):
        return False


def module_files(specs, root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    files = []
    for spec in specs:
        p = (root / spec).resolve()
        if p.is_dir():
            files += sorted(q for q in p.rglob("*.py") if "__pycache__" not in q.parts)
        elif p.suffix == ".py" and p.exists():
            files.append(p)
        else:
            raise SystemExit(f"mutate: --modules entry {spec!r} is neither a package folder nor "
                             f"a .py file under {root}")
    return files


# ----------------------------------------------------------------------------- test selection
def select_tests(module_path: str, root: pathlib.Path, mode: str) -> list[str]:
    """Test files (and doctest targets) that can reach ``module_path``, most relevant first.

    "reach": test files that mention the module's package or any package downstream of it
    (the layering meanfield <- graphs <- validation <- paper_figures <- hetbalance means no
    other file can reach it), ordered by how often they name the module or its public
    names, then the doctests of the downstream packages. "all": the whole fast suite ([]).
    """
    if mode == "all":
        return []
    pkg = module_path.split("/")[0]
    downstream = PACKAGES[PACKAGES.index(pkg):] if pkg in PACKAGES else PACKAGES
    stem = pathlib.Path(module_path).stem
    names = {stem}
    try:
        tree = ast.parse((root / module_path).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                    for t in node.targets):
                names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    except (SyntaxError, AttributeError, OSError):
        pass
    pat_pkg = re.compile(r"\b(" + "|".join(map(re.escape, downstream)) + r")\b")
    pat_name = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    scored = []
    for f in sorted((root / "tests").glob("test_*.py")):
        if f.relative_to(root).as_posix() in FORM_TESTS:
            continue
        t = f.read_text(encoding="utf-8")
        if pat_pkg.search(t):
            scored.append((-len(pat_name.findall(t)), f.relative_to(root).as_posix()))
    files = [f for _, f in sorted(scored)]
    return files + [p for p in downstream if (root / p).is_dir()]


def subprocess_tests(root: pathlib.Path) -> list[str]:
    """Node ids of the test functions that start Python in a subprocess (untraced)."""
    out = []
    for f in sorted((root / "tests").glob("test_*.py")):
        if f.relative_to(root).as_posix() in FORM_TESTS:
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                src = ast.unparse(node)
                if "subprocess" in src or "sys.executable" in src or "_run(" in src:
                    out.append(f"{f.relative_to(root).as_posix()}::{node.name}")
    return out


# The tracer of the coverage run (--select cover): which test executes which line of the
# mutated packages. Written into the scratch copy and loaded with ``-p _mutate_trace``.
TRACE_PLUGIN = r'''
import json, os, sys, threading
import pytest

_ROOTS = tuple(p for p in os.environ["MUTATE_TRACE_ROOTS"].split(os.pathsep) if p)
_cur = set()
_key = ["<import>"]
_hits = {}


def _local(frame, event, arg):
    if event == "line":
        _cur.add((frame.f_code.co_filename, frame.f_lineno))
    return _local


def _global(frame, event, arg):
    return _local if frame.f_code.co_filename.startswith(_ROOTS) else None


def _flush(new_key):
    key = _key[0]
    for f, line in _cur:
        _hits.setdefault(f, {}).setdefault(line, set()).add(key)
    _cur.clear()
    _key[0] = new_key


def pytest_configure(config):
    threading.settrace(_global)
    sys.settrace(_global)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _flush("setup:" + item.nodeid)
    yield
    _flush("<between>")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _flush(item.nodeid)
    yield
    _flush("<between>")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    _flush("setup:" + item.nodeid)
    yield
    _flush("<between>")


def pytest_sessionfinish(session):
    sys.settrace(None)
    threading.settrace(None)
    _flush("<end>")
    with open(os.environ["MUTATE_TRACE_OUT"], "w") as fh:
        json.dump({f: {str(k): sorted(v) for k, v in d.items()} for f, d in _hits.items()}, fh)
'''


class Coverage:
    """Which tests run each line (from one traced run of the fast tests)."""

    def __init__(self, data: dict, copy_root: pathlib.Path):
        self.lines = {}
        prefix = str(copy_root) + os.sep
        for f, d in data.items():
            if f.startswith(prefix):
                self.lines[f[len(prefix):].replace(os.sep, "/")] = {int(k): v for k, v in d.items()}
        self.compiled = set()     # files of numba kernels: run compiled, invisible to tracing

    def tests_for(self, rel: str, ranges):
        """(node ids, import_time) for a mutant of the lines ``ranges`` [(l0, l1), ...]
        (inclusive) of ``rel``.

        import_time: the lines also run outside any test (module import, default values,
        class bodies): every test may see the mutant.
        """
        d = self.lines.get(rel, {})
        keys = set()
        for l0, l1 in ranges:
            for line in range(l0, l1 + 1):
                keys |= set(d.get(line, ()))
        if rel in self.compiled or keys & {"<import>", "<between>", "<end>"}:
            return None, True
        ids = []
        for k in sorted(keys):
            if k.startswith("setup:"):   # fixtures may be shared: the whole test file
                ids.append(k[len("setup:"):].split("::")[0])
            else:
                ids.append(k)
        files = {i for i in ids if "::" not in i}
        ids = sorted(set(i for i in ids if i in files or i.split("::")[0] not in files))
        return ids, False


# ----------------------------------------------------------------------------- scratch copies
def _repo_files(root: pathlib.Path) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root,
                             capture_output=True, text=True, check=True).stdout.split("\n")
        return [f for f in out if f and (root / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist"}
        return [p.relative_to(root).as_posix() for p in root.rglob("*")
                if p.is_file() and not skip & set(p.relative_to(root).parts)]


class Scratch:
    """A private copy of the repository in which one file at a time is mutated."""

    def __init__(self, root: pathlib.Path, base: pathlib.Path, files: list[str], index: int):
        self.dir = base / f"copy{index}"
        for f in files:
            dst = self.dir / f
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / f, dst)
        self.tmp = base / f"tmp{index}"
        self.tmp.mkdir()
        self._clock = int(time.time()) + 10

    def _touch(self, path: pathlib.Path):
        # a fresh whole-second mtime for every write: Python's .pyc and numba's cache are
        # keyed on (mtime, size), and a mutant of the same size must never reuse them
        self._clock += 2
        os.utime(path, (self._clock, self._clock))

    def write(self, rel: str, text: str):
        p = self.dir / rel
        p.write_text(text, encoding="utf-8")
        self._touch(p)

    def env(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.dir) + (os.pathsep + env["PYTHONPATH"]
                                             if env.get("PYTHONPATH") else "")
        env["TMPDIR"] = str(self.tmp)
        env["MPLBACKEND"] = "Agg"
        env.pop("PYTEST_ADDOPTS", None)
        return env

    def pytest(self, targets, timeout, extra=(), env=None):
        cmd = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *extra, *targets]
        t0 = time.perf_counter()
        # own process group: a timeout also ends the subprocesses the tests started
        proc = subprocess.Popen(cmd, cwd=self.dir, env={**self.env(), **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            rc = "timeout"
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        return rc, out or "", time.perf_counter() - t0


def _first_failure(out: str) -> str:
    for line in out.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0][:120]
    return ""


# ----------------------------------------------------------------------------- runs
@dataclasses.dataclass
class Outcome:
    name: str
    module: str
    description: str
    status: str          # killed, survived, timeout, error, not applicable
    seconds: float
    detail: str = ""


def _status(rc):
    if rc == "timeout":
        return "timeout"
    if rc == 0:
        return "survived"
    if rc in (1, 2):       # 1: a test failed, 2: collection or import error
        return "killed"
    return "error"         # 3-5: internal error, usage, no tests collected


def run_all(jobs_list, root, n_jobs, timeout, select, verbose, skip_baseline=False):
    """Run mutants; ``jobs_list``: [(name, module, description, rel_path, new_text_fn,
    (first line, last line) or None)]. Returns the outcomes in the order given."""
    files = _repo_files(root)
    base = pathlib.Path(tempfile.mkdtemp(prefix="hetbalance-mutate-"))
    outcomes = []
    lock = threading.Lock()
    try:
        copies = [Scratch(root, base, files, i) for i in range(max(1, n_jobs))]
        c0 = copies[0]
        # baseline: the unmutated copy must import its own packages and be green
        check = subprocess.run([sys.executable, "-c", "import meanfield; print(meanfield.__file__)"],
                               cwd=c0.dir, env=c0.env(), capture_output=True, text=True)
        if not check.stdout.strip().startswith(str(c0.dir)):
            raise SystemExit(f"mutate: the scratch copy does not import its own packages "
                             f"({check.stdout.strip() or check.stderr.strip()})")
        widest = select_tests("meanfield/params.py", c0.dir, "reach" if select == "cover" else select)
        cov = None
        if select == "cover":
            # one traced run: which test executes which line (also the baseline)
            (c0.dir / "_mutate_trace.py").write_text(TRACE_PLUGIN, encoding="utf-8")
            trace_out = base / "trace.json"
            rc, out, secs = c0.pytest(widest, None, extra=("-p", "_mutate_trace"), env={
                "MUTATE_TRACE_ROOTS": os.pathsep.join(str(c0.dir / p) + os.sep for p in PACKAGES),
                "MUTATE_TRACE_OUT": str(trace_out)})
            if rc == 0:
                import json
                cov = Coverage(json.loads(trace_out.read_text()), c0.dir)
                cov.compiled = {f for f in files if f.endswith(".py") and
                                re.search(r"@(numba\.)?n?jit", (c0.dir / f).read_text(
                                    encoding="utf-8", errors="replace"))}
                extra_ids = subprocess_tests(c0.dir)
            what = "fast tests (traced)"
        elif skip_baseline:
            rc, out, secs = 0, "", 80.0
            what = "(baseline skipped) fast tests"
        else:
            rc, out, secs = c0.pytest(widest, None)
            what = "fast tests"
        if rc != 0:
            raise SystemExit("mutate: the unmutated fast tests fail in the scratch copy:\n"
                             + out[-3000:])
        if timeout is None:     # a mutant runs a subset of the baseline's tests
            timeout = max(120.0, 1.5 * secs)
        head = (f"baseline: {what} green in {secs:.0f} s" if not skip_baseline or cov is not None
                else "baseline: skipped")
        print(f"{head}; per-mutant timeout {timeout:.0f} s; {len(jobs_list)} mutants, "
              f"{len(copies)} job(s)", flush=True)
        todo = queue.Queue()
        for j in jobs_list:
            todo.put(j)
        total = len(jobs_list)

        def test_mutant(sc, rel, lines):
            """(status, seconds, detail) of the mutant now written in ``sc``."""
            if cov is None or lines is None:
                rc, out, secs = sc.pytest(select_tests(rel, sc.dir, "reach" if select == "cover"
                                                       else select), timeout)
                note = ""
            else:
                ids, import_time = cov.tests_for(rel, lines)
                if import_time:
                    rc, out, secs = sc.pytest(select_tests(rel, sc.dir, "reach"), timeout)
                    note = " [reach]"
                else:
                    secs = 0.0
                    rc, out = 0, ""
                    if ids:
                        rc, out, secs = sc.pytest(ids, timeout)
                    note = f" [{len(ids)} tests]" if ids else " [no test runs this line]"
                    if rc == 0:   # tests in subprocesses are not traced: run them too
                        rc, out, s2 = sc.pytest(extra_ids, timeout)
                        secs += s2
            status = _status(rc)
            detail = (_first_failure(out) if status == "killed" else
                      out[-400:] if status == "error" else "")
            return status, secs, (detail + note).strip()

        def worker(sc: Scratch):
            while True:
                try:
                    name, module, desc, rel, make, lines = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    if not (sc.dir / rel).exists():
                        raise NotApplicable(f"no file {rel}")
                    original = (sc.dir / rel).read_text(encoding="utf-8")
                    new = make(original)
                    if new == original:
                        raise NotApplicable("the mutation changes nothing")
                except NotApplicable as exc:
                    o = Outcome(name, module, desc, "not applicable", 0.0, str(exc))
                else:
                    sc.write(rel, new)
                    try:
                        status, secs, detail = test_mutant(sc, rel, lines)
                    finally:
                        sc.write(rel, original)
                    o = Outcome(name, module, desc, status, secs, detail)
                with lock:
                    outcomes.append(o)
                    if verbose:
                        print(f"[{len(outcomes)}/{total}] {o.status:>14}  {o.seconds:5.1f} s  "
                              f"{o.name}  {o.description}"
                              + (f"   ({o.detail})" if o.detail and o.status != "error" else ""),
                              flush=True)

        threads = [threading.Thread(target=worker, args=(sc,)) for sc in copies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    order = {j[0]: i for i, j in enumerate(jobs_list)}
    return sorted(outcomes, key=lambda o: order[o.name])


class NotApplicable(Exception):
    """A known mutant whose snippet is not (exactly once) in today's code."""


def _known_jobs(names=None, root: pathlib.Path = ROOT):
    jobs = []
    for i, (name, rel, edits) in enumerate(KNOWN, 1):
        if names and f"K{i:02d}" not in names and str(i) not in names and name not in names:
            continue

        def make(text, edits=edits):
            for old, new in edits:
                n = text.count(old)
                if n != 1:
                    raise NotApplicable(f"snippet found {n} times (needs exactly 1): "
                                        f"{old.strip()[:70]!r}")
                text = text.replace(old, new)
            if not _compiles(text):
                raise NotApplicable("the mutated file does not compile")
            return text

        # the lines of today's snippets, for --select cover (None: the file is missing)
        try:
            text = (root / rel).read_text(encoding="utf-8")
            ranges = []
            for old, _ in edits:
                a = text.find(old)
                if a >= 0:
                    l0 = text.count("\n", 0, a) + 1
                    ranges.append((l0, l0 + old.rstrip("\n").count("\n")))
        except OSError:
            ranges = []
        jobs.append((f"K{i:02d}", rel[:-3].replace("/", "."), name, rel, make,
                     ranges or None))
    return jobs


def report(outcomes, elapsed, title) -> str:
    lines = [f"# {title}", "",
             f"{len(outcomes)} mutants in {elapsed / 60:.1f} min "
             f"(python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')})", ""]
    by_mod = {}
    for o in outcomes:
        by_mod.setdefault(o.module, []).append(o)
    lines += ["| module | killed | run | score | survived | timeout | error |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    tk = tr = 0
    for mod in sorted(by_mod):
        os_ = by_mod[mod]
        k = sum(o.status in ("killed", "timeout") for o in os_)
        r = sum(o.status in ("killed", "timeout", "survived") for o in os_)
        tk, tr = tk + k, tr + r
        lines.append(f"| {mod} | {k} | {r} | {100 * k / r if r else float('nan'):.0f} % | "
                     f"{sum(o.status == 'survived' for o in os_)} | "
                     f"{sum(o.status == 'timeout' for o in os_)} | "
                     f"{sum(o.status in ('error', 'not applicable') for o in os_)} |")
    lines.append(f"| **all** | {tk} | {tr} | {100 * tk / tr if tr else float('nan'):.0f} % | | | |")
    for status in ("survived", "timeout", "error", "not applicable"):
        sel = [o for o in outcomes if o.status == status]
        if sel:
            lines += ["", f"## {status} ({len(sel)})", ""]
            lines += [f"- `{o.name}`  {o.description}" + (f"  -- {o.detail.strip()[:200]}"
                                                          if status != "survived" and o.detail else "")
                      for o in sel]
    killed = [o for o in outcomes if o.status == "killed"]
    if killed:
        lines += ["", f"## killed ({len(killed)})", ""]
        lines += [f"- `{o.name}`  {o.description}  -- {o.detail or 'failed'} ({o.seconds:.0f} s)"
                  for o in killed]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", nargs="+", default=list(DEFAULT_MODULES),
                    help="package folders or .py files to mutate (default: %(default)s)")
    ap.add_argument("--max-mutants", type=int, default=None,
                    help="run a random sample of this many mutants (default: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="mutants tested in parallel, one scratch copy each (default 1)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per mutant (default: max(120, 1.5 x the unmutated run))")
    ap.add_argument("--select", choices=("cover", "reach", "all"), default="cover",
                    help="tests run per mutant: those that execute the mutated line in a traced "
                         "run, plus the tests that start subprocesses (default 'cover'); the "
                         "test files that can reach the module ('reach'); the whole fast suite")
    ap.add_argument("--mutant", action="append", default=[],
                    help="run only this mutant, FILE:LINE:KIND[:N] (repeatable)")
    ap.add_argument("--known", nargs="*", default=None, metavar="K",
                    help="run the table of known mutants (all, or the given numbers/names)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--report", type=pathlib.Path, help="also write the report to this file")
    ap.add_argument("--root", type=pathlib.Path, default=ROOT,
                    help="repository to copy (default: the one holding this script)")
    ap.add_argument("--quiet", action="store_true", help="no line per mutant")
    ap.add_argument("--skip-baseline", action="store_true",
                    help="with --select reach or all: do not run the unmutated tests first "
                         "(quick checks of a few mutants; a red suite then kills everything)")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    # a kill (SIGTERM) still removes the scratch copies
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))

    if args.known is not None:
        jobs = _known_jobs(args.known, root)
        if args.list:
            for name, _, desc, rel, _, _ in jobs:
                print(f"{name}  {rel}  {desc}")
            return 0
        title = "hetbalance known mutants (issue 12)"
    else:
        mutants = []
        specs = args.modules
        if args.mutant:      # only the files of the named mutants
            specs = sorted({spec.split(":")[0] for spec in args.mutant})
        for f in module_files(specs, root):
            mutants += enumerate_mutants(f, root, check=args.list or bool(args.mutant))
        if args.mutant:
            want = []
            for spec in args.mutant:
                parts = spec.split(":")
                if len(parts) not in (3, 4):
                    raise SystemExit(f"mutate: --mutant {spec!r}; allowed: FILE:LINE:KIND[:N]")
                sel = [m for m in mutants if m.path == parts[0] and m.line == int(parts[1])
                       and m.kind == parts[2] and (len(parts) == 3 or m.occurrence == int(parts[3]))]
                if not sel:
                    raise SystemExit(f"mutate: no mutant {spec!r} (see --list; --modules must "
                                     "include its file)")
                want += sel
            mutants = want
        elif args.max_mutants is not None and args.max_mutants < len(mutants):
            order = random.Random(args.seed).sample(mutants, len(mutants))
            mutants = []
            for m in order:       # the first N of a seeded shuffle that compile
                if mutant_compiles(m, root):
                    mutants.append(m)
                    if len(mutants) == args.max_mutants:
                        break
            mutants.sort(key=lambda m: (m.path, m.line, m.kind, m.occurrence))
        elif not args.list:
            mutants = [m for m in mutants if mutant_compiles(m, root)]
        if args.list:
            for m in mutants:
                print(f"{m.name}  {m.description}")
            print(f"{len(mutants)} mutants", file=sys.stderr)
            return 0
        jobs = [(m.name, m.module, m.description, m.path,
                 (lambda text, m=m: apply_edits(text, m.edits)),
                 [(m.line, max(m.line, m.end_line))]) for m in mutants]
        title = "hetbalance mutation report"
    t0 = time.perf_counter()
    outcomes = run_all(jobs, root, args.jobs, args.timeout, args.select, not args.quiet,
                       skip_baseline=args.skip_baseline)
    text = report(outcomes, time.perf_counter() - t0, title)
    print()
    print(text)
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    if args.known is not None:
        return 0 if all(o.status in ("killed", "timeout") for o in outcomes) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
