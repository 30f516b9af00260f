"""Sphinx extension: the figures gallery, generated from a ``python -m paper_figures`` output folder.

At ``builder-inited`` it finds the figures and their judged claims (``claims.json``, written
by ``paper_figures.__main__.run``) and writes the Markdown page ``gallery/index`` into the source folder
(not committed: ``.gitignore``) with each figure's image (copied beside it), its claims with
their verdicts and the command that regenerates it.

Where the figures come from:

- ``HETBALANCE_DOCS_FIGURES=DIR``: an existing output folder (e.g. CI's full-mode
  ``ci-figures``); its ``claims.json`` is required.
- otherwise the quick-mode figures, made once into ``docs/_build/figures-quick`` (about a
  minute a figure) and reused by later builds.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil

from sphinx.errors import ExtensionError

GALLERY_DIR = "gallery"
ENV_VAR = "HETBALANCE_DOCS_FIGURES"


def _figures_dir(app) -> pathlib.Path:
    from paper_figures.__main__ import CLAIMS_FILE, FIGURES, run

    given = os.environ.get(ENV_VAR)
    if given:
        d = pathlib.Path(given).resolve()
        if not (d / CLAIMS_FILE).is_file():
            raise ExtensionError(f"{ENV_VAR}={given!r}: no {CLAIMS_FILE} there; make the figures "
                                 "with python -m paper_figures --out DIR first")
        return d
    d = pathlib.Path(app.srcdir) / "_build" / "figures-quick"
    try:
        have = json.loads((d / CLAIMS_FILE).read_text())
    except (OSError, ValueError):
        have = {}
    missing = [f for f in FIGURES if f not in have or not (d / f"{f}.png").is_file()]
    if missing:
        import io
        from sphinx.util import logging
        logging.getLogger(__name__).info(f"gallery: making the quick-mode figures {missing} in {d}")
        run(missing, quick=True, out=d, stream=io.StringIO())
    return d


def _title(module) -> str:
    doc = (module.__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else module.__name__


def write_gallery(app) -> None:
    """Write the Markdown page ``gallery/index`` and copy the figure images beside it."""
    import importlib

    from paper_figures.__main__ import CLAIMS_FILE, FIGURES

    src = _figures_dir(app)
    record = json.loads((src / CLAIMS_FILE).read_text())
    out = pathlib.Path(app.srcdir) / GALLERY_DIR
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    shown = [f for f in FIGURES if f in record and record[f].get("image")]
    n_claims = sum(len(record[f]["claims"]) for f in shown)
    n_pass = sum(c["ok"] for f in shown for c in record[f]["claims"])
    modes = sorted({"quick" if record[f]["quick"] else "full" for f in shown})
    lines = [
        "# Figures gallery", "",
        "Each figure of `paper_figures`, the claims it illustrates as judged on the data "
        "drawn (`paper_figures.claims`: PASS or FAIL, with the measured numbers) and the "
        "command that regenerates it. Sizes, runtimes and measured deviations of every "
        "figure are in `paper_figures/README.md`.", "",
        f"This build shows {len(shown)} of {len(FIGURES)} figures ({', '.join(modes) or 'none'} "
        f"mode), {n_claims} claims, {n_pass} PASS and {n_claims - n_pass} FAIL.", "",
    ]
    absent = [f for f in FIGURES if f not in shown]
    if absent:
        lines += [f"Not in this build's figure folder: {', '.join(f'`{f}`' for f in absent)}.", ""]
    for name in shown:
        r = record[name]
        shutil.copyfile(src / r["image"], out / r["image"])
        mod = importlib.import_module(f"paper_figures.{name}")
        lines += [f"## {_title(mod)}", "",
                  f"```{{image}} {r['image']}", f":alt: {name}", ":width: 100%", "```", "",
                  f"Module `paper_figures.{name}`; {'quick' if r['quick'] else 'full'} mode, "
                  f"seed {r['seed']}, {r['seconds']:g} s. Regenerate with:", "",
                  "```sh", r["command"], "```", "",
                  "Claims:", ""]
        for c in r["claims"]:
            verdict = "PASS" if c["ok"] else "FAIL"
            text = c["text"].replace("*", r"\*").replace("$", r"\$")
            lines.append(f"- **{verdict}** `{c['id']}`: {text}")
        lines.append("")
    (out / "index.md").write_text("\n".join(lines))


def setup(app):
    """Register the gallery generator (Sphinx extension entry point)."""
    app.connect("builder-inited", write_gallery)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
