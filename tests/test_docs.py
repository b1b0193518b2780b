"""The README and the documentation site: the site builds with --strict, and every code block runs.

Conventions for the Python blocks of README.md and docs/**/*.md (also stated
on docs/contributing.md, where writers look):

- ```` ```python ```` runs in the fast tests, page by page in a fresh
  temporary folder, each page's blocks in order in one namespace;
- ```` ```python title="slow: ..." ```` runs only with ``-m slow``;
- ```` ```python title="not run: REASON" ```` never runs (another machine, a
  GPU, a network download); there may be only a few of them.

Blocks run offline (``KERAS_GANS_OFFLINE=1``) with their own
``KERAS_GANS_HOME``, so they read the zoo from the checkout and write nothing
outside their folder.
"""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
README = os.path.join(ROOT, "README.md")

# A fence opening: indentation, backticks, the info string.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')
#: Most ``not run:`` blocks the pages may hold (they are meant to be rare).
MAX_NOT_RUN = 3


def pages():
    """README.md and every Markdown page under docs/, as paths relative to the repository."""
    found = ["README.md"]
    for folder, _, files in os.walk(DOCS):
        found += [os.path.relpath(os.path.join(folder, f), ROOT) for f in files if f.endswith(".md")]
    return sorted(found)


def code_blocks(text):
    """Fenced blocks of ``text``: dicts with ``line`` (1-based, first code line), ``lang``, ``title``, ``code``."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, info = m["indent"], m["ticks"], m["info"].strip()
        end = i + 1
        while end < len(lines) and not re.match(rf"^{re.escape(indent)}{ticks}`*\s*$", lines[end]):
            end += 1
        title = _TITLE.search(info)
        body = [line[len(indent):] if line.startswith(indent) else line for line in lines[i + 1 : end]]
        blocks.append({
            "line": i + 2,
            "lang": info.split()[0] if info else "",
            "title": title["title"] if title else "",
            "code": "\n".join(body) + "\n",
        })
        i = end + 1
    return blocks


def kind(block):
    """``"run"``, ``"slow"`` or ``"not run"`` for a Python block, by its title."""
    title = block["title"].strip()
    if title.startswith("not run:"):
        return "not run"
    if title.startswith("slow:"):
        return "slow"
    return "run"


def python_blocks(page):
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        return [b for b in code_blocks(f.read()) if b["lang"] == "python"]


def pages_with(what):
    return [p for p in pages() if any(kind(b) == what for b in python_blocks(p))]


def run_blocks(page, blocks, tmp_path, monkeypatch):
    """Execute ``blocks`` of ``page`` in order in one namespace, in ``tmp_path``."""
    import keras

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    monkeypatch.setenv("KERAS_GANS_HOME", str(tmp_path / "keras_gans_home"))
    namespace = {"__name__": "__docs__"}
    for block in blocks:
        # Padding with newlines makes a traceback name the page's own line numbers.
        source = "\n" * (block["line"] - 1) + block["code"]
        exec(compile(source, os.path.join(ROOT, page), "exec"), namespace)  # noqa: S102
    keras.backend.clear_session()


def test_block_conventions():
    """Every Python block is fast, slow or not run with a reason; not-run blocks stay rare."""
    not_run = []
    for page in pages():
        for block in python_blocks(page):
            title = block["title"].strip()
            if kind(block) == "not run":
                assert title[len("not run:"):].strip(), f"{page}:{block['line']}: say why the block is not run"
                not_run.append(f"{page}:{block['line']}")
            assert title.split(":")[0] not in ("no-run", "skip", "norun"), (
                f"{page}:{block['line']}: write title=\"not run: REASON\" (the one convention)"
            )
    assert len(not_run) <= MAX_NOT_RUN, f"too many blocks are not run: {not_run}"
    assert pages_with("run"), "found no runnable block: is the parser broken?"


def test_readme_is_short_and_its_links_resolve():
    """README.md stays a front page (~250 lines) and every relative link and picture exists."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    assert len(text.splitlines()) <= 250
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"^[a-z]+://|^#|^mailto:", t)]
    assert local, "the README links no file"
    missing = [t for t in local if not os.path.exists(os.path.join(ROOT, t))]
    assert not missing, f"README.md links files that do not exist: {missing}"
    for command in ("make demo", "make test"):
        assert command in text


def test_site_builds_strict(tmp_path):
    """``mkdocs build --strict``: no broken link or anchor, no unresolved API reference, no warning."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed (pip install -e '.[docs]'?):\n{log[-6000:]}"
    assert "WARNING" not in log, log[-6000:]
    site = tmp_path / "site"
    for page in ("index.html", "families/dcgan.html", "api/models.html", "assets/zoo/dcgan.fashion_mnist.png"):
        assert (site / page).is_file(), f"the site has no {page}"
    # The API reference was generated from the docstrings, not left empty.
    assert "latent_dim" in (site / "families" / "dcgan.html").read_text(encoding="utf-8")


def _readme_copies(page):
    """Blocks of ``page`` that repeat a README block word for word and stand alone (start with an import).

    Getting started repeats the README's tour; the README's test runs those
    blocks, so running them twice would only double their cost.
    """
    if page == "README.md":
        return set()
    readme = {b["code"] for b in python_blocks("README.md")}
    return {b["code"] for b in python_blocks(page) if b["code"] in readme and b["code"].startswith("import ")}


def fast_blocks(page):
    copies = _readme_copies(page)
    return [b for b in python_blocks(page) if kind(b) == "run" and b["code"] not in copies]


@pytest.mark.parametrize("page", [p for p in pages() if fast_blocks(p)])
def test_code_blocks_run(page, tmp_path, monkeypatch):
    """The page's fast Python blocks run, in order, in a fresh folder."""
    run_blocks(page, fast_blocks(page), tmp_path, monkeypatch)


def _slow_blocks():
    seen, found = set(), []
    for page in pages():
        for block in python_blocks(page):
            if kind(block) == "slow" and block["code"] not in seen:  # the tour is on two pages
                seen.add(block["code"])
                found.append(pytest.param(page, block, id=f"{page}:{block['line']}"))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("page,block", _slow_blocks())
def test_slow_code_blocks_run(page, block, tmp_path, monkeypatch):
    """The slow blocks (the tour's training) run, each on its own."""
    run_blocks(page, [block], tmp_path, monkeypatch)
