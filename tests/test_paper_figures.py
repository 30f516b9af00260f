"""`python -m paper_figures --quick` regenerates every figure and every claim passes."""

import importlib
import re

import pytest

from paper_figures.__main__ import FIGURES, main


@pytest.mark.slow
def test_quick_figures_all_claims_pass(tmp_path, capsys):
    rc = main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    print(out)
    assert "[FAIL]" not in out, out
    assert rc == 0
    # every claim of every figure is judged and printed, by id, in order
    ids = re.findall(r"^  \[PASS\] (fig\d\.\w+): ", out, flags=re.M)
    expected = [cid for name in FIGURES
                for cid in importlib.import_module(f"paper_figures.{name}").CLAIM_IDS]
    assert ids == expected
    assert f"{len(expected)} claims judged, 0 failed" in out
    for name in FIGURES:
        for ext in ("png", "pdf"):
            assert (tmp_path / f"{name}.{ext}").stat().st_size > 10_000


def test_only_rejects_unknown_figure(capsys):
    with pytest.raises(SystemExit):
        main(["--only", "fig9"])


def test_without_matplotlib_claims_are_still_checked(tmp_path, monkeypatch):
    import io
    import sys
    import types

    from paper_figures.__main__ import run

    fake = types.ModuleType("paper_figures.fig_fake")
    fake.compute = lambda quick, seed: {"x": 2}
    fake.plot = lambda data: (_ for _ in ()).throw(AssertionError("plot must not be called"))
    fake.check_claims = lambda data: [("x is two", data["x"] == 2)]
    monkeypatch.setitem(sys.modules, "paper_figures.fig_fake", fake)
    monkeypatch.setitem(sys.modules, "matplotlib", None)          # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    buf = io.StringIO()
    assert run(["fig_fake"], True, tmp_path, stream=buf) is True
    text = buf.getvalue()
    assert "matplotlib is not installed" in text and "[PASS] x is two" in text
    assert list(tmp_path.iterdir()) == []
