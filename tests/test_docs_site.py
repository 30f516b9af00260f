"""The documentation site, opened in a real headless browser (Chromium from the system).

The site is built with warnings as errors (``sphinx -W``), served from 127.0.0.1 with every
other host unresolvable (so a page that needed a CDN would show unrendered math), and
Chromium dumps each page's DOM after its scripts ran and takes screenshots. Checked:

- index, an API page with equations (``meanfield.transfer.lif_rate``), the theory and the
  gallery: every math element (``class="math"``) holds a MathJax ``mjx-container`` and no
  TeX delimiter is left in the visible text;
- every ``<img>`` of those pages resolves to a file of nonzero size and was decoded by the
  browser (natural width and height > 0, read by a probe page of the test that frames the
  page and waits for MathJax and the images); MathJax reported no TeX error; the gallery
  has one image per figure it says it shows and lists the claims;
- the screenshots (1280 x 2000) are not blank;
- no page loads a script or style sheet from another host.

Where the site comes from: ``HETBALANCE_DOCS_HTML=DIR`` (built by ``.ci/run`` with the
full-mode figures), else it is built here into ``tmp_path`` from a copy of ``docs/`` with a
quick-mode Fig 0 only (about 30 s). Chromium missing: skipped locally, a failure when
``HETBALANCE_REQUIRE_BROWSER`` is set (as ``.ci/run`` does).
"""

from __future__ import annotations

import functools
import html
import html.parser
import json
import http.server
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
REQUIRE = bool(os.environ.get("HETBALANCE_REQUIRE_BROWSER"))
API_PAGE = "_autosummary/meanfield.transfer.lif_rate.html"
PAGES = ("index.html", API_PAGE, "theory.html", "gallery/index.html")


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        msg = "Chromium is not installed (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(msg + " and HETBALANCE_REQUIRE_BROWSER is set")
        pytest.skip(msg)
    return exe


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    given = os.environ.get("HETBALANCE_DOCS_HTML")
    if given:
        out = pathlib.Path(given).resolve()
        assert (out / "index.html").is_file(), f"HETBALANCE_DOCS_HTML={given!r} holds no built site"
        return out
    _chromium()                                   # skip before the costly build
    for mod in ("sphinx", "myst_parser", "numpydoc"):
        pytest.importorskip(mod, reason="the docs extra: pip install -e '.[docs]'")
    if not any((pathlib.Path(p) / "sphinx-mathjax-offline").is_dir() for p in sys.path if p):
        pytest.skip("sphinx-mathjax-offline is not installed (the docs extra)")
    tmp = tmp_path_factory.mktemp("docs")
    src = tmp / "docs"
    shutil.copytree(ROOT / "docs", src, ignore=shutil.ignore_patterns("_build", "_autosummary", "gallery"))
    figures = tmp / "figures"
    from paper_figures.__main__ import run
    import io
    assert run(["fig0_transfer"], quick=True, out=figures, stream=io.StringIO())
    env = dict(os.environ, HETBALANCE_DOCS_FIGURES=str(figures), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = tmp / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(src), str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"sphinx -W failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


PROBE = """<!DOCTYPE html><html><body>
<iframe id="f" src="/{page}" width="1280" height="2000"></iframe><pre id="out">pending</pre>
<script>
const f = document.getElementById("f");
f.onload = async () => {{
  const w = f.contentWindow, d = f.contentDocument;
  if (w.MathJax && w.MathJax.startup) await w.MathJax.startup.promise;
  await Promise.all([...d.images].map(
    i => i.complete ? 0 : new Promise(r => {{ i.onload = i.onerror = r; }})));
  document.getElementById("out").textContent = "PROBE" + JSON.stringify({{
    images: [...d.images].map(i => [i.getAttribute("src"), i.naturalWidth, i.naturalHeight]),
    mjx: d.querySelectorAll("mjx-container").length,
    merror: d.querySelectorAll("mjx-merror").length}}) + "END";
}};
</script></body></html>"""
"""A page of the test's own (served at /__probe__/PAGE) that loads PAGE in a frame, waits for
MathJax to finish and for every image to load, and writes what the browser got: each image's
decoded size, the number of MathJax containers and of MathJax TeX errors."""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/__probe__/"):
            body = PROBE.format(page=self.path[len("/__probe__/"):]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


def _browser(url: str, tmp: pathlib.Path, *extra) -> subprocess.CompletedProcess:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
           "--virtual-time-budget=15000", *extra, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium failed on {url}: {proc.stderr[-2000:]}"
    return proc


class _Dom(html.parser.HTMLParser):
    """Counts math elements, MathJax containers and images; collects the visible text."""

    SKIP = {"script", "style", "pre", "code", "textarea", "mjx-container", "title"}
    VOID = {"img", "br", "hr", "meta", "link", "input", "source", "col", "area", "base", "wbr"}

    def __init__(self):
        super().__init__()
        self.math = 0              # elements with class "math" (what MathJax must typeset)
        self.math_rendered = 0     # of those, the ones holding an mjx-container
        self.mjx = 0
        self.images = []
        self.text = []
        self._stack = []           # (tag, skip, math)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag in self.VOID:
            return
        if tag == "mjx-container":
            self.mjx += 1
            for i in range(len(self._stack) - 1, -1, -1):
                t, s, m = self._stack[i]
                if m == 1:
                    self._stack[i] = (t, s, 2)
                    self.math_rendered += 1
                    break
        is_math = "math" in (a.get("class") or "").split()
        self.math += is_math
        skip = tag in self.SKIP or (bool(self._stack) and self._stack[-1][1])
        self._stack.append((tag, skip, 1 if is_math else 0))

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if not (self._stack and self._stack[-1][1]):
            self.text.append(data)


def _parse(dom: str) -> _Dom:
    p = _Dom()
    p.feed(dom)
    return p


def _image_file(site: pathlib.Path, page: str, src: str) -> pathlib.Path:
    path = urllib.parse.urlparse(src).path
    return (site / page).parent.joinpath(urllib.parse.unquote(path)).resolve()


def _figures_in_gallery(site: pathlib.Path) -> int:
    m = re.search(r"This build shows (\d+) of (\d+) figures", (site / "gallery/index.html").read_text())
    assert m, "the gallery does not say how many figures it shows"
    return int(m.group(1))


def test_no_page_loads_from_another_host(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 100
    pattern = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)=[\"'](?:https?:)?//", re.I)
    offenders = [str(p.relative_to(site)) for p in pages if pattern.search(p.read_text())]
    assert offenders == []
    assert (site / "_static/mathjax/tex-chtml.js").stat().st_size > 100_000


def test_pages_render_math_and_images(site, server, tmp_path):
    totals = {"pages": 0, "math": 0, "images": 0}
    for page in PAGES:
        dom = _browser(server + page, tmp_path, "--dump-dom").stdout
        assert "</html>" in dom, f"{page}: no DOM"
        d = _parse(dom)
        text = "".join(d.text)
        for delim in ("\\(", "\\)", "\\[", "\\]", "$$"):
            assert delim not in text, f"{page}: unrendered math, {delim!r} in the visible text"
        assert d.math == d.math_rendered, \
            f"{page}: {d.math - d.math_rendered} of {d.math} math elements not rendered"
        for src in d.images:
            f = _image_file(site, page, src)
            assert f.is_file() and f.stat().st_size > 0, f"{page}: image {src!r} missing or empty"
        probe = _browser(server + "__probe__/" + page, tmp_path, "--dump-dom").stdout
        m = re.search(r"PROBE(.*?)END", probe, re.S)
        assert m, f"{page}: the probe page did not finish: {probe[-500:]}"
        got = json.loads(html.unescape(m.group(1)))
        assert got["merror"] == 0, f"{page}: {got['merror']} MathJax TeX errors"
        assert got["mjx"] == d.mjx
        assert len(got["images"]) == len(d.images)
        for src, width, height in got["images"]:
            assert width > 0 and height > 0, f"{page}: image {src!r} not decoded by the browser"
        if page in (API_PAGE, "theory.html"):
            assert d.math >= 5 and d.mjx >= d.math, f"{page}: {d.math} math elements, {d.mjx} rendered"
        if page == "gallery/index.html":
            n_fig = _figures_in_gallery(site)
            assert n_fig >= 1 and len(d.images) == n_fig
            assert text.count("PASS") + text.count("FAIL") >= 3 * n_fig
        totals["pages"] += 1
        totals["math"] += d.math_rendered
        totals["images"] += len(d.images)
        print(f"\n{page}: {d.math_rendered}/{d.math} math elements rendered ({d.mjx} mjx-container), "
              f"{len(d.images)} images present")
    print(f"\nbrowser: {totals['pages']} pages, {totals['math']} equations rendered, "
          f"{totals['images']} images, all present")


def _pixels(png: pathlib.Path) -> np.ndarray:
    mpl_image = pytest.importorskip("matplotlib.image")
    return np.asarray(mpl_image.imread(png))[..., :3].astype(float)


@pytest.mark.parametrize("page", ["index.html", API_PAGE, "gallery/index.html"])
def test_screenshots_are_not_blank(site, server, tmp_path, page):
    shot = tmp_path / "shot.png"
    _browser(server + page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    px = _pixels(shot)
    assert px.shape[:2] == (2000, 1280)
    ink = float(np.mean(px.mean(axis=2) < 0.6))          # dark pixels: text, lines
    print(f"\n{page}: screenshot {px.shape[1]} x {px.shape[0]}, std {px.std():.3f}, "
          f"dark fraction {ink:.4f}")
    assert px.std() > 0.05 and ink > 0.005, f"{page}: screenshot looks blank"
    keep = os.environ.get("HETBALANCE_DOCS_SCREENSHOTS")
    if keep:
        pathlib.Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, pathlib.Path(keep) / (page.replace("/", "_").replace(".html", ".png")))
