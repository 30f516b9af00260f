"""docs/tutorial.md: every command and Python block runs, and what it shows is true.

The ```bash blocks run line by line with bash in a scratch folder holding a copy of
docs/examples (``hetbalance`` is replaced by ``<this python> -m hetbalance``, so no PATH is
needed); the ```python blocks run in document order in one namespace, in the same folder.
A ```text block right after a ```bash block is output: each of its lines must appear in
what the block's last command printed. The figure command is marked slow.
"""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest

from hetbalance import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
EXAMPLES = ROOT / "docs" / "examples"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass
class Step:
    kind: str            # "bash" or "python"
    code: str
    output: str = ""     # expected output lines (bash)


def _commands(body: str) -> list:
    """Shell commands of a bash block: continuation lines joined, comments skipped."""
    out, cur = [], ""
    for line in body.splitlines():
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip() and not cur.strip().startswith("#"):
            out.append(cur.strip())
        cur = ""
    return out


def steps() -> list:
    text = TUTORIAL.read_text()
    found = list(FENCE.finditer(text))
    result = []
    for k, m in enumerate(found):
        lang, body = m.group(1), m.group(2)
        if lang == "bash":
            cmds = _commands(body)
            result += [Step("bash", c) for c in cmds]
            nxt = found[k + 1] if k + 1 < len(found) else None
            if nxt is not None and nxt.group(1) == "text" and not text[m.end():nxt.start()].strip():
                result[-1].output = nxt.group(2)
        elif lang == "python":
            result.append(Step("python", body))
    return result


def _shell(cmd: str) -> str:
    return re.sub(r"(?<![\w./-])hetbalance(?=\s|$)",
                  f"{shlex.quote(sys.executable)} -m hetbalance", cmd)


def _run(cmd: str, cwd, timeout=600) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(_shell(cmd), shell=True, executable="/bin/bash", cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{cmd!r} exited with {proc.returncode}\n--- stdout\n"
                                  f"{proc.stdout}\n--- stderr\n{proc.stderr}")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _norm(s: str) -> str:
    return " ".join(s.split())


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "docs" / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_tutorial_commands_and_python_blocks(scratch):
    text = TUTORIAL.read_text()
    namespace: dict = {"__name__": "tutorial"}
    outputs = {}
    n_bash = n_python = 0
    for step in steps():
        if step.kind == "python":
            exec(compile(step.code, str(TUTORIAL), "exec"), namespace)
            n_python += 1
            continue
        if "hetbalance figures" in step.code:
            continue                        # test_tutorial_figure (slow)
        proc = _run(step.code, scratch)
        outputs[step.code] = proc
        n_bash += 1
        for line in step.output.splitlines():
            assert line.strip() in proc.stdout, f"{step.code!r} no longer prints {line!r}"
    assert n_bash >= 9 and n_python == 3

    # numbers and messages quoted in the prose are what the commands print
    case_b = next(p for c, p in outputs.items() if "--model recurrent_indegree" in c)
    for shown in ("silent 0.310", "mu -135.1..-47.41 mV"):
        assert shown in case_b.stdout and f"`{shown}`" in text
    mistake = next(p for c, p in outputs.items() if "mistake.toml" in c)
    assert mistake.stdout.strip() == "exit code 2"
    message = mistake.stderr.strip().removeprefix("hetbalance solve: error: ")
    assert _norm(message) in _norm(text), message
    sweep = next(p for c, p in outputs.items() if "hetbalance sweep" in c)
    e_b = float(re.search(r"E: mu_spread ([-0-9.e]+)", sweep.stdout).group(1))
    assert f"N^{e_b:.2f}" in text
    assert (scratch / "results" / "case_c.npz").is_file() and (scratch / "cache").is_dir()


def test_tutorial_case_c_exponent_is_what_sweep_gives(capsys):
    # the prose says Case C keeps the spread of mean inputs O(1): exponent ~0.06
    rc = main(["sweep", "--model-file", str(EXAMPLES / "case_c.toml"),
               "--Ns", "2500", "5000", "10000", "20000", "40000"])
    assert rc == 0
    e_c = float(re.search(r"E: mu_spread ([-0-9.e]+)", capsys.readouterr().out).group(1))
    assert f"(exponent ~{e_c:.2f})" in TUTORIAL.read_text()


def test_tutorial_shows_the_example_file_verbatim():
    toml_blocks = [b for lang, b in FENCE.findall(TUTORIAL.read_text()) if lang == "toml"]
    assert toml_blocks == [(EXAMPLES / "case_c.toml").read_text()]


def test_install_command_is_what_ci_runs():
    # the one command the tutorial shows but does not run: CI runs it (.ci/run)
    sh = [b.strip() for lang, b in FENCE.findall(TUTORIAL.read_text()) if lang == "sh"]
    assert sh == ["pip install -e '.[test,figures,fast,nest,neo]'"]
    assert sh[0] in (ROOT / ".ci" / "run").read_text()
    assert sh[0] in (ROOT / "README.md").read_text()


def test_every_example_file_loads():
    from hetbalance.modelfile import ModelFileError, load_model_file

    for path in sorted(EXAMPLES.glob("*.toml")):
        if path.name == "mistake.toml":
            with pytest.raises(ModelFileError, match="line 7, key network.neuron_E.tau_m"):
                load_model_file(path)
        else:
            assert load_model_file(path).params.N >= 10


@pytest.mark.slow
def test_tutorial_figure(scratch):
    cmds = [s.code for s in steps() if s.kind == "bash" and "hetbalance figures" in s.code]
    assert cmds == ["hetbalance figures --quick --only fig1 --out figures/"]
    proc = _run(cmds[0], scratch, timeout=1800)
    assert "[FAIL]" not in proc.stdout and "ALL CLAIMS PASS" in proc.stdout, proc.stdout
    for ext in ("png", "pdf"):
        assert (scratch / "figures" / f"fig1_indegree_breaks_balance.{ext}").stat().st_size > 10_000
