"""References in the repository stay inside it, and cited sections of docs/theory.md exist.

Docstrings, comments, tests and documents cite "docs/theory.md section N" (and equations
"(N.M)"); a user of the repository has no other copy of the theory, so every cited
section, appendix and equation must exist in docs/theory.md, and no text may point to a
file outside the repository (a sibling folder of the checkout, a ``*.md`` file that is not
in the tree, "the development workspace"). Runs from any folder: the repository root is
located from this file.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"

#: Folders never scanned when git is not available (environments, caches, build output).
SKIP_DIRS = {".git", ".venv", "venv", "env", "build", "dist", "__pycache__", ".pytest_cache",
             ".ruff_cache", ".mypy_cache", ".hypothesis", ".eggs", "figures", "node_modules"}

# Assembled from parts so that a plain grep of the tree does not find them here.
OUTSIDE = [
    ("..", "/shared"),                  # the development workspace next to the checkout
    ("development", " workspace"),
]
OUTSIDE = ["".join(parts) for parts in OUTSIDE]
#: The theory is docs/theory.md; the workspace copy it replaced must not be cited again.
RETIRED = ["THEORY" + ".md"]

MD_TOKEN = re.compile(r"(?<![\w./-])((?:\.\.?/)?(?:[\w.-]+/)*[\w-]+\.md)(?![\w])")
_NUM = r"(?:\d+(?:\.\d+)?|[A-Z](?:\.\d+)?)\b"
_SEP = r"(?:\s*(?:,|and|-|--|to)\s*)"
REF = re.compile(
    r"docs/theory\.md[\s#,(\"'`*]*"
    r"(?P<kind>sections?|appendix|Appendix)\b"
    r"(?:[\s#]+(?P<nums>" + _NUM + r"(?:" + _SEP + _NUM + r")*))?"
    r"(?:[\s#,]*(?:eqs?\.|equations?)\s*(?P<eqs>\([\w.]+\)(?:" + _SEP + r"\([\w.]+\))*))?")
INTERNAL_REF = re.compile(r"\bsections?\s+(?P<nums>\d+(?:\.\d+)?(?:" + _SEP
                          + r"\d+(?:\.\d+)?)*)")


def _is_text(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if b"\0" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def repository_files() -> list[Path]:
    """Tracked files (``git ls-files``), or a walk of the tree when git is unavailable."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True, timeout=60).stdout.decode()
        files = [ROOT / f for f in out.split("\0") if f]
    except (OSError, subprocess.SubprocessError):
        files = []
        for dirpath, dirnames, filenames in os.walk(ROOT):
            dirnames[:] = [d for d in dirnames
                           if d not in SKIP_DIRS and not d.endswith(".egg-info")]
            files.extend(Path(dirpath) / f for f in filenames)
    this = Path(__file__).resolve()     # holds the negative controls: bad on purpose
    files = [f for f in files if f.is_file() and f.resolve() != this and _is_text(f)]
    if THEORY.is_file() and THEORY not in files:
        files.append(THEORY)            # checked even before it is committed
    return sorted(set(files))


def theory_anchors(text: str) -> dict:
    """Sections ("1", "7.2"), appendices ("A", "A.3") and equation tags of docs/theory.md."""
    sections = set(re.findall(r"^##\s+(\d+)\.\s", text, re.M))
    sections |= set(re.findall(r"^###\s+(\d+\.\d+)\s", text, re.M))
    appendices = set(re.findall(r"^##\s+Appendix\s+([A-Z])\b", text, re.M))
    appendices |= set(re.findall(r"^\*\*([A-Z]\.\d+)\s", text, re.M))
    equations = set(re.findall(r"\\tag\{([^}]+)\}", text))
    return {"sections": sections, "appendices": appendices, "equations": equations}


def _expand(nums: str) -> list[str]:
    """'4 and 6' -> ['4', '6']; '6-7' -> ['6', '7'] (both ends of a range are checked)."""
    return re.findall(_NUM, nums)


def check_text(text: str, anchors: dict, basenames: set, relpath: str = "<text>",
               here: Path | None = None) -> list[str]:
    """Problems in one file's text: references outside the repository or to missing anchors."""
    problems = []

    def line_of(pos):
        return text.count("\n", 0, pos) + 1

    for bad in OUTSIDE:
        for m in re.finditer(re.escape(bad), text):
            problems.append(f"{relpath}:{line_of(m.start())}: points outside the repository "
                            f"({bad!r})")
    for bad in RETIRED:
        for m in re.finditer(r"(?<![\w/])" + re.escape(bad), text):
            problems.append(f"{relpath}:{line_of(m.start())}: cites {bad}; the theory is "
                            f"docs/theory.md")
    for m in MD_TOKEN.finditer(text):
        token = m.group(1)
        if "/" in token:
            candidates = [ROOT / token] + ([here / token] if here is not None else [])
            ok = any(c.resolve().is_file() and ROOT in c.resolve().parents for c in candidates)
        else:
            ok = token in basenames
        if not ok:
            problems.append(f"{relpath}:{line_of(m.start())}: {token} is not a file of this "
                            f"repository")
    for m in REF.finditer(text):
        line = line_of(m.start())
        kind = "section" if m.group("kind").lower().startswith("section") else "appendix"
        nums = m.group("nums")
        if nums is None:
            if kind == "section" or not anchors["appendices"]:
                problems.append(f"{relpath}:{line}: {m.group(0)!r} names no section")
            continue
        for num in _expand(nums):
            pool = anchors["appendices"] if num[0].isalpha() else anchors["sections"]
            if num not in pool:
                problems.append(f"{relpath}:{line}: docs/theory.md {kind} {num} does not exist")
        for eq in re.findall(r"\(([\w.]+)\)", m.group("eqs") or ""):
            if eq not in anchors["equations"]:
                problems.append(f"{relpath}:{line}: docs/theory.md eq. ({eq}) does not exist")
    return problems


@pytest.fixture(scope="module")
def anchors():
    assert THEORY.is_file(), "docs/theory.md is missing"
    return theory_anchors(THEORY.read_text(encoding="utf-8"))


def test_theory_keeps_its_section_numbering(anchors):
    # ~60 references in the code cite sections 1-12 by number: the numbering is an API
    text = THEORY.read_text(encoding="utf-8")
    numbers = [int(n) for n in re.findall(r"^##\s+(\d+)\.\s", text, re.M)]
    assert numbers == list(range(1, 13))
    assert "A" in anchors["appendices"]
    for sub in ("7.1", "7.2", "7.3", "8.2"):           # cited by the figures and the tests
        assert sub in anchors["sections"]
    tags = re.findall(r"\\tag\{([^}]+)\}", text)
    assert len(tags) == len(set(tags)), "an equation number is used twice"


def test_no_reference_leaves_the_repository_and_every_cited_section_exists(anchors):
    files = repository_files()
    assert len(files) > 20                              # the scan really ran
    basenames = {f.name for f in files}
    problems = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        problems += check_text(text, anchors, basenames, str(f.relative_to(ROOT)), f.parent)
    assert not problems, "\n".join(problems)


def test_sections_cited_inside_the_theory_exist(anchors):
    text = THEORY.read_text(encoding="utf-8")
    missing = sorted({n for m in INTERNAL_REF.finditer(text) for n in _expand(m.group("nums"))
                      if n not in anchors["sections"]})
    assert not missing, missing


def test_the_checker_finds_what_it_must(anchors):
    # negative controls: each kind of bad reference is reported, good ones are not
    basenames = {"README.md"}
    theory_file = "THEORY" + ".md"
    bad = {
        f"see {theory_file} section 4": "the theory is docs/theory.md",
        "(" + OUTSIDE[0] + "/notes.txt)": "outside the repository",
        "docs/theory.md section 99": "section 99 does not exist",
        "docs/theory.md sections 4 and 13": "section 13 does not exist",
        "docs/theory.md sections 6-14": "section 14 does not exist",
        "docs/theory.md section 7.9": "section 7.9 does not exist",
        "docs/theory.md appendix Q": "appendix Q does not exist",
        "docs/theory.md section 4, eq. (4.99)": "eq. (4.99) does not exist",
        "(docs/theory.md\n    # section 77)": "section 77 does not exist",
        "docs/nothere.md": "not a file of this repository",
    }
    for text, message in bad.items():
        found = check_text(text, anchors, basenames)
        assert any(message in p for p in found), (text, found)
    good = ["docs/theory.md section 4", "docs/theory.md sections 4 and 6",
            "docs/theory.md sections 6-7", "(docs/theory.md\n    section 3)",
            "docs/theory.md section 7.2", "docs/theory.md appendix A",
            "docs/theory.md section 4, eq. (4.2)", "README.md", "docs/tutorial.md"]
    for text in good:
        assert check_text(text, anchors, basenames) == [], text
