"""`python -m paper_figures --quick` regenerates every figure and every claim passes."""

import pytest

from paper_figures.__main__ import FIGURES, main


@pytest.mark.slow
def test_quick_figures_all_claims_pass(tmp_path, capsys):
    rc = main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    print(out)
    assert "[FAIL]" not in out, out
    assert rc == 0
    for name in FIGURES:
        for ext in ("png", "pdf"):
            assert (tmp_path / f"{name}.{ext}").stat().st_size > 10_000


def test_only_rejects_unknown_figure(capsys):
    with pytest.raises(SystemExit):
        main(["--only", "fig9"])
