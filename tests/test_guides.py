"""Every guide in docs/guides runs, in smoke mode, and renders to a page (so none goes stale).

All guides run in one subprocess (``tools/render_guides.py``, what ``make docs`` uses), so
TensorFlow is imported once: a few seconds per guide plus the import. The subprocess gets no
data folder, so the guides take the embedded-data paths that CI without ../shared takes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
GUIDES = sorted((ROOT / "docs" / "guides").glob("[0-9]*.py"))


def test_there_is_a_guide_per_part_of_the_curriculum():
    topics = ["seed_cnn", "cnns", "transfer", "sequence", "autoencoders", "robustness", "detection", "reinforcement"]
    names = [g.stem for g in GUIDES]
    for topic in topics:
        assert any(topic in name for name in names), f"no guide about {topic}: {names}"
    for guide in GUIDES:
        text = guide.read_text(encoding="utf-8")
        assert text.startswith("# %% [markdown]\n# # "), f"{guide.name}: not a jupytext percent script with a title"
        assert "KERASDL_GUIDE_SMOKE" in text, f"{guide.name} ignores the smoke switch"


def start_guide_render() -> subprocess.Popen:
    """Render every guide in smoke mode into a new temporary folder (``process.out_dir``)."""
    out = Path(tempfile.mkdtemp(prefix="kerasdl-guides-"))
    env = {key: value for key, value in os.environ.items() if key not in ("KERASDL_DATA_DIR", "KERASDL_GUIDE_FULL")}
    env.update(KERASDL_GUIDE_SMOKE="1", KERASDL_OFFLINE="1", MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, str(ROOT / "tools" / "render_guides.py"), "--out", str(out), *map(str, GUIDES)]
    # output to files, not pipes: nobody reads a pipe while the suite runs, and a full one would stall it
    with open(out / "stdout.txt", "w") as stdout, open(out / "stderr.txt", "w") as stderr:
        process = subprocess.Popen(command, cwd=out, env=env, stdout=stdout, stderr=stderr)
    process.out_dir = out
    return process


@pytest.mark.skipif(not GUIDES, reason="no guides")
@pytest.mark.early_start("start_guide_render")
def test_every_guide_runs_in_smoke_mode_and_renders(early_process):
    pytest.importorskip("jupytext", reason="jupytext comes with the docs/dev extra")
    tmp_path = early_process.out_dir
    try:
        early_process.wait(timeout=900)
        assert early_process.returncode == 0, (tmp_path / "stderr.txt").read_text()[-6000:]
        _check_rendered_pages(tmp_path)
    finally:
        early_process.kill()
        shutil.rmtree(tmp_path, ignore_errors=True)


def _check_rendered_pages(tmp_path: Path) -> None:
    """Every guide has its page with code, printed output and non-empty figures."""
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert timings["smoke"] is True and set(timings["seconds"]) == {g.name for g in GUIDES}
    for guide in GUIDES:
        page = (tmp_path / f"{guide.stem}.md").read_text(encoding="utf-8")
        assert '!!! note "Smoke run"' in page
        assert "```python" in page and "```text" in page, f"{guide.name}: no code or no printed output on its page"
        for figure in [line for line in page.splitlines() if line.startswith("![")]:
            name = figure.rsplit("(", 1)[1].rstrip(")")
            assert (tmp_path / name).stat().st_size > 1000, f"{guide.name}: figure {name} missing or empty"
    # the guides that plot must have kept their figures
    assert any(tmp_path.glob("01_seed_cnn_fig*.png")) and any(tmp_path.glob("05_*_fig*.png"))


def test_a_failing_guide_fails_the_render_naming_the_cell(tmp_path):
    pytest.importorskip("jupytext", reason="jupytext comes with the docs/dev extra")
    guide = tmp_path / "99_broken.py"
    guide.write_text('# %% [markdown]\n# # Broken\n\n# %%\nprint("fine")\n\n# %%\nraise ValueError("stale API")\n')
    command = [sys.executable, str(ROOT / "tools" / "render_guides.py"), "--out", str(tmp_path / "out"), str(guide)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "99_broken.py: cell 2 raised ValueError: stale API" in run.stderr
    assert not (tmp_path / "out" / "99_broken.md").exists()
