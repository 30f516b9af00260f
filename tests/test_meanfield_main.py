"""python -m meanfield prints the balanced limit and the finite-N state of a preset."""

import subprocess
import sys

from meanfield.__main__ import main


def test_main_prints_balanced_and_finite_n(capsys):
    assert main(["--preset", "lif_benchmark"]) == 0
    out = capsys.readouterr().out
    assert "r_E = 7.5000 Hz" in out            # -X/(w_E + w_I) = 15/2
    # the default transfer is the filtered-noise one (issue 10): 5.792 Hz, mu 6.833 mV; the
    # NNMT lif.exp value 5.722 Hz (Fourcaud-Brunel, docs/theory.md section 8.2) is pinned in
    # tests/test_solve.py with filter="fourcaud_brunel"
    assert "mean rate 5.792 Hz" in out and "filter colored" in out


def test_main_bad_N_is_a_clean_error():
    p = subprocess.run([sys.executable, "-m", "meanfield", "--N", "5"], capture_output=True, text=True)
    assert p.returncode == 2
    assert "NetworkParams.N = 5" in p.stderr and "Traceback" not in p.stderr
