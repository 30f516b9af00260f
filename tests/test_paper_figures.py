"""`python -m paper_figures --quick` regenerates every figure and every claim passes."""

import importlib
import json
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
    rec = json.loads((tmp_path / "claims.json").read_text())
    assert [c["id"] for name in FIGURES for c in rec[name]["claims"]] == expected


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
    # no picture; only the record of the judged claims (read by the docs gallery)
    assert [p.name for p in tmp_path.iterdir()] == ["claims.json"]
    rec = json.loads((tmp_path / "claims.json").read_text())
    assert rec["fig_fake"]["image"] is None
    assert rec["fig_fake"]["claims"] == [{"id": None, "text": "x is two", "ok": True}]


def test_claims_file_records_and_merges_figures(tmp_path, monkeypatch):
    import io
    import sys
    import types

    from paper_figures.__main__ import run
    from paper_figures.claims import Claim

    for name, x in (("fig_a", 1), ("fig_b", 2)):
        fake = types.ModuleType(f"paper_figures.{name}")
        fake.compute = lambda quick, seed, x=x: {"x": x + seed}
        fake.plot = lambda data: __import__("matplotlib.figure").figure.Figure()
        fake.check_claims = lambda data: [Claim("fig9.x_small", f"x = {data['x']} < 3", data["x"] < 3)]
        monkeypatch.setitem(sys.modules, f"paper_figures.{name}", fake)
    assert run(["fig_a"], True, tmp_path, stream=io.StringIO()) is True
    assert run(["fig_b"], False, tmp_path, seed=1, stream=io.StringIO()) is False    # 2 + 1 >= 3
    rec = json.loads((tmp_path / "claims.json").read_text())
    assert list(rec) == ["fig_a", "fig_b"]                   # the second run merged, not replaced
    assert rec["fig_a"]["claims"] == [{"id": "fig9.x_small", "text": "x = 1 < 3", "ok": True}]
    assert rec["fig_b"]["claims"] == [{"id": "fig9.x_small", "text": "x = 3 < 3", "ok": False}]
    assert (rec["fig_a"]["quick"], rec["fig_b"]["quick"], rec["fig_b"]["seed"]) == (True, False, 1)
    assert rec["fig_a"]["command"] == "python -m paper_figures --quick --only fig --out DIR"
    assert rec["fig_b"]["command"] == "python -m paper_figures --only fig --seed 1 --out DIR"
    assert rec["fig_a"]["image"] == "fig_a.png" and (tmp_path / "fig_a.png").stat().st_size > 0
