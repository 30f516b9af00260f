"""The installed packages are this repository's, and the module layering holds."""

import ast
import configparser
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("meanfield", "graphs", "validation", "paper_figures", "hetbalance")
# meanfield <- graphs <- validation <- paper_figures <- hetbalance (hetbalance
# is the command line on top): each may import only from the packages on its left.
ALLOWED = {
    "meanfield": set(),
    "graphs": {"meanfield"},
    "validation": {"meanfield", "graphs"},
    "paper_figures": {"meanfield", "graphs", "validation"},
    "hetbalance": {"meanfield", "graphs", "validation", "paper_figures"},
}


@pytest.mark.parametrize("name", ["meanfield", "graphs", "validation", "hetbalance"])
def test_imports_resolve_to_this_repo(name):
    # PyPI has unrelated packages called meanfield, graphs and validation.
    mod = __import__(name)
    assert pathlib.Path(mod.__file__).resolve().parent == ROOT / name


def _imported_top_levels(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("pkg", PACKAGES)
def test_dependency_direction(pkg):
    forbidden = set(PACKAGES) - ALLOWED[pkg] - {pkg}
    for path in (ROOT / pkg).rglob("*.py"):
        bad = _imported_top_levels(path) & forbidden
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)} (layering: {ALLOWED[pkg]})"


def test_setup_cfg_metadata():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["name"] == "hetbalance"
    assert cfg["options"]["python_requires"] == ">=3.10"
    reqs = {re.split(r"[<>=!~ ]", r.strip())[0]
            for r in cfg["options"]["install_requires"].split("\n") if r.strip()}
    assert reqs == {"numpy", "scipy", "sympy", "networkx", "tomli"}
    # tomllib is in the standard library from Python 3.11; tomli is its backport
    tomli = [r for r in cfg["options"]["install_requires"].split("\n") if r.strip().startswith("tomli")]
    assert tomli == ['tomli>=2; python_version<"3.11"']
    extras = cfg["options.extras_require"]
    assert "matplotlib" in extras["figures"]
    # optional: tomli-w writes model files (the tests and the command line), tqdm draws
    # progress bars wherever long runs happen; neither is in install_requires
    for extra in ("test", "cli"):
        assert "tomli-w" in extras[extra], extra
    for extra in ("test", "figures", "fast", "cli"):
        assert "tqdm" in extras[extra], extra
    for peer in ("brian2", "nest", "nnmt"):
        assert peer not in cfg["options"]["install_requires"]


def test_console_script_and_packages():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    include = cfg["options.packages.find"]["include"].split()
    for pkg in PACKAGES:
        assert pkg in include and f"{pkg}.*" in include
    scripts = [s.strip() for s in cfg["options.entry_points"]["console_scripts"].splitlines() if s.strip()]
    assert scripts == ["hetbalance = hetbalance.cli:main"]


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 2, "README must open with two command blocks"
    test_cmd = blocks[1].strip().splitlines()[-1].strip()
    assert test_cmd in ci, f"README test command {test_cmd!r} not run by .ci/run"


def test_readme_map_names_every_module():
    """README's map of the modules has one row per module of the five packages."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Map of the modules"):readme.index("## Where the theory lives")]
    listed = set(re.findall(r"^\| `([\w/]+\.py)` \|", section, flags=re.M))
    modules = {str(p.relative_to(ROOT)) for pkg in ("meanfield", "graphs", "validation",
                                                    "paper_figures", "hetbalance")
               for p in (ROOT / pkg).glob("*.py") if p.name != "__init__.py"}
    assert modules - listed == set(), f"modules missing from README's map: {sorted(modules - listed)}"
    assert listed - modules == set(), f"README names missing modules: {sorted(listed - modules)}"


# Doctests: one mechanism. setup.cfg's --doctest-modules collects the Examples of every
# module of the five packages (testpaths); no test file runs them a second time.
MODULES_WITH_EXAMPLES = [
    "meanfield.params", "meanfield.degree", "meanfield.balance", "meanfield.symbolic",
    "meanfield.transfer", "meanfield.degree_space", "meanfield.feasibility",
    "meanfield.scaling", "meanfield.network_solver", "meanfield.seeding", "meanfield.labels",
    "meanfield.semibalanced", "meanfield.colored", "meanfield.diagnostics", "meanfield.roots",
    "graphs.network", "graphs.sample", "graphs.io",
    "graphs.interop", "validation.simulator", "validation.sweeps", "validation.cache",
    "hetbalance.modelfile"]


def test_doctests_collected_once_from_every_package():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    pytest_cfg = cfg["tool:pytest"]
    assert "--doctest-modules" in pytest_cfg["addopts"].split()
    assert set(pytest_cfg["testpaths"].split()) == {"tests", *PACKAGES}
    for path in (ROOT / "tests").glob("*.py"):
        if path.name == pathlib.Path(__file__).name:
            continue
        text = path.read_text()
        assert "testmod(" not in text and "DocTestSuite" not in text, \
            f"{path.name} runs doctests a second time"


def test_no_skip_when_a_required_module_is_missing():
    # importorskip only for optional extras (nest, numba, matplotlib): a broken import of
    # the project's own packages, of an install_requires package or of the [test] extra
    # must fail the suite, not skip tests quietly
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    required = set(PACKAGES)
    for line in (cfg["options"]["install_requires"] + "\n"
                 + cfg["options.extras_require"]["test"]).splitlines():
        name = re.split(r"[<>=!~; \[]", line.strip())[0]
        if name:
            required.add(name.replace("-", "_").lower())
    for path in (ROOT / "tests").glob("*.py"):
        for mod in re.findall(r"importorskip\(\s*[\"']([\w.]+)", path.read_text()):
            assert mod.split(".")[0].lower() not in required, \
                f"{path.name}: importorskip({mod!r}) hides a required module"


@pytest.mark.parametrize("name", MODULES_WITH_EXAMPLES)
def test_public_modules_keep_their_examples(name):
    import doctest
    import importlib
    tests = doctest.DocTestFinder().find(importlib.import_module(name))
    assert sum(len(t.examples) for t in tests) > 0, f"{name} lost its Examples"


def test_graphs_public_api():
    import graphs
    for name in ("Network", "sample_network", "sample_fixed_indegree",
                 "sample_prescribed_indegree", "degree_statistics", "kernel_statistics",
                 "save_network", "load_network", "to_networkx", "from_networkx", "from_sparse"):
        assert name in graphs.__all__ and hasattr(graphs, name)


@pytest.mark.parametrize("pkg", ["meanfield", "graphs", "validation", "paper_figures", "hetbalance"])
def test_no_module_is_shadowed_by_a_function(pkg):
    """``import pkg.mod`` gives the module, and ``pkg.mod`` is that module (no function hides it)."""
    import importlib
    import pkgutil

    package = importlib.import_module(pkg)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{pkg}.{info.name}")
        assert getattr(package, info.name) is module, f"{pkg}.{info.name} is not its module"
