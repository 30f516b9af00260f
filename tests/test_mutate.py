"""benchmarks/mutate.py: the mutants it makes, and its table of known mutants.

The script itself runs the test suite on mutated scratch copies (minutes to hours); here
only its pure parts: the enumeration and splicing of mutants on a small file, and that
every known mutant of issue 12 still applies to today's code exactly once.
"""

import importlib.util
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("_benchmarks_mutate",
                                               ROOT / "benchmarks" / "mutate.py")
mutate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mutate          # dataclasses look their module up
_spec.loader.exec_module(mutate)

SOURCE = '''"""Docstring with 2 < 3 is not mutated."""


def f(x, y=0.5):
    """Also 1 + 1 here."""
    if x <= 2 and not y:
        return max(x, y) - 3 * x
    return x + y


def plot(ax):
    return ax + 1
'''


@pytest.fixture
def mutants(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text(SOURCE)
    return path, {m.name: m for m in mutate.enumerate_mutants(path, root=tmp_path)}


def test_enumerated_mutants_and_their_text(mutants):
    path, ms = mutants
    text = path.read_text()
    mutated = {name: mutate.apply_edits(text, m.edits) for name, m in ms.items()}
    # one line each, spliced into the original text (nothing else changes)
    assert "(x < 2) and not y" in mutated["mod.py:6:cmp"]
    assert "x <= 2 or not y" in mutated["mod.py:6:boolop"]
    assert "(y)" in mutated["mod.py:6:not"]
    assert "y=1.0" in mutated["mod.py:4:const"]
    assert "min(x, y) - 3 * x" in mutated["mod.py:7:minmax"]
    assert "max(y, x)" in mutated["mod.py:7:swapargs"]
    assert "return (max(x, y))\n" in mutated["mod.py:7:dropterm"]
    assert "return (x - y)" in mutated["mod.py:8:binop"]
    for name, new in mutated.items():
        assert new != text
        changed = [a for a, b in zip(text.splitlines(), new.splitlines()) if a != b]
        assert len(changed) == 1, name
        compile(new, name, "exec")
    # docstrings and presentation-only functions (plot*) are left alone
    assert not any(m.line in (1, 5, 11, 12) for m in ms.values())
    kinds = {m.kind for m in ms.values()}
    assert {"cmp", "boolop", "not", "const", "minmax", "swapargs", "dropterm", "binop"} <= kinds


def test_known_mutants_apply_to_todays_code_exactly_once():
    # each of the 14 deliberate bugs of issue 12 and the 5 of issue 10 must still be a
    # one-place edit of the current code; when code moves on, update KNOWN in
    # benchmarks/mutate.py (and re-run
    # python benchmarks/mutate.py --known: every one must be killed)
    assert len(mutate.KNOWN) == 19
    for name, rel, edits in mutate.KNOWN:
        text = (ROOT / rel).read_text()
        for old, new in edits:
            assert text.count(old) == 1, f"known mutant {name!r}: snippet not once in {rel}"
            text = text.replace(old, new)
        compile(text, rel, "exec")
