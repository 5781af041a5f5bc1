"""Execute kerasdl's guides (jupytext percent scripts) and write them as Markdown pages.

Usage::

    python tools/render_guides.py --out DIR docs/guides/01_seed_cnn.py [...]
    KERASDL_GUIDE_SMOKE=1 python tools/render_guides.py --out DIR docs/guides/*.py   # a few seconds each

Every guide runs in this one process (TensorFlow is imported once), each in a fresh
namespace, from the repository root. A guide is read with jupytext (``jupytext.read``,
percent format: ``# %%`` code cells, ``# %% [markdown]`` text cells); each code cell is
executed with :func:`exec`, its standard output captured, and every matplotlib figure still
open after the cell is saved as a PNG beside the page and closed. The page shows the text
cells as Markdown, each code cell as a Python block, then its output and figures.

This is deliberately small instead of a notebook kernel (nbconvert/mkdocs-jupyter are not
dependencies): a guide is a plain script, so ``python docs/guides/NAME.py`` runs it too.

A guide that raises stops the run with the guide's name, the failing cell and the traceback
(exit status 1), so ``make docs`` and ``tests/test_guides.py`` fail on a stale guide.
Each guide's wall and CPU time is printed, and written with the smoke flag to ``DIR/timings.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class GuideError(RuntimeError):
    """A guide cell raised; the message names the guide and the cell."""


def _figures_to_files(out_dir: Path, stem: str, counter: list[int]) -> list[str]:
    """Save (atomically) and close every open matplotlib figure; return their file names."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    import matplotlib.pyplot as plt

    from kerasdl.export import atomic_file

    names = []
    for number in plt.get_fignums():
        figure = plt.figure(number)
        counter[0] += 1
        name = f"{stem}_fig{counter[0]}.png"
        with atomic_file(out_dir / name, suffix=".png") as tmp:
            figure.savefig(tmp, dpi=80, bbox_inches="tight", format="png")
        names.append(name)
    plt.close("all")
    return names


def render_guide(path: Path, out_dir: Path) -> str:
    """Execute one guide and return its Markdown page (figures are written to ``out_dir``).

    Args:
        path: the guide, a jupytext percent-format ``.py`` file.
        out_dir: where the figure PNGs go (the page refers to them by bare file name).

    Returns:
        The page's Markdown text.

    Raises:
        GuideError: a cell raised; the message holds the cell's source and the traceback.
    """
    import jupytext

    notebook = jupytext.read(path, fmt="py:percent")
    namespace = {"__name__": "__main__", "__file__": str(path)}
    lines = [
        f"<!-- Generated from docs/guides/{path.name} by tools/render_guides.py: edit the script, not this page. -->",
        "",
    ]
    smoke = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
    if smoke:
        lines += [
            '!!! note "Smoke run"',
            "    This page was rendered with `KERASDL_GUIDE_SMOKE=1`: tiny data and a step or two, so the figures",
            "    below show that the code runs, not what it learns. Build with `KERASDL_GUIDE_FULL=1 make docs`,",
            f"    or run `python docs/guides/{path.name}`, for the full-size figures.",
            "",
        ]
    counter = [0]
    for index, cell in enumerate(notebook.cells):
        source = cell.source.strip("\n")
        if cell.cell_type == "markdown":
            lines += [source, ""]
            continue
        if cell.cell_type != "code" or not source.strip():
            continue
        lines += ["```python", source, "```", ""]
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(source, f"{path.name} [cell {index}]", "exec"), namespace)
        except Exception as error:
            raise GuideError(
                f"{path.name}: cell {index} raised {type(error).__name__}: {error}\n"
                f"--- cell source ---\n{source}\n--- traceback ---\n{traceback.format_exc()}"
            ) from error
        printed = buffer.getvalue().rstrip()
        if printed:
            lines += ["```text", printed, "```", ""]
        for name in _figures_to_files(out_dir, path.stem, counter):
            lines += [f"![{path.stem} figure {name}]({name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    """Render the guides named on the command line into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for the Markdown pages and figures")
    parser.add_argument("guides", nargs="+", type=Path, help="jupytext percent-format guide scripts")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.chdir(ROOT)
    from kerasdl.benchmarking import write_json
    from kerasdl.export import atomic_file

    args.out.mkdir(parents=True, exist_ok=True)
    timings = {}
    for path in args.guides:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            page = render_guide(path.resolve(), args.out)
        except GuideError as error:
            print(f"guide failed: {error}", file=sys.stderr)
            return 1
        with atomic_file(args.out / f"{path.stem}.md", suffix=".md") as tmp:
            tmp.write_text(page, encoding="utf-8")
        timings[path.name] = {
            "wall": round(time.perf_counter() - start, 2),
            "cpu": round(time.process_time() - cpu_start, 2),
        }
        print(
            f"rendered {path.name} in {timings[path.name]['wall']:.1f} s ({timings[path.name]['cpu']:.1f} s CPU)",
            file=sys.stderr,
        )
    summary = {"smoke": os.environ.get("KERASDL_GUIDE_SMOKE") == "1", "seconds": timings}
    write_json(args.out / "timings.json", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
