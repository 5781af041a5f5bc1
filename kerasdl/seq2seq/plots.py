"""Attention heat maps: which source characters each output character looked at."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_attention(examples, path, *, title: str | None = None) -> Path:
    """Write a PNG with one heat map per ``(source, output, weights)`` example, atomically.

    ``weights`` is ``(len(output), len(source))`` (:meth:`Translator.decode`'s attention): the
    source runs along the x axis, the output along the y axis, darker = more weight.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasdl.export import atomic_file

    examples = list(examples)
    if not examples:
        raise ValueError("examples is empty: nothing to plot")
    cols = min(2, len(examples))
    rows = (len(examples) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.6 * rows), squeeze=False)
    for ax, (source, output, weights) in zip(axes.ravel(), examples):
        weights = np.asarray(weights, dtype="float32")
        if weights.size == 0:  # an empty output: one blank row, so the source axis still shows
            weights = np.zeros((1, max(len(source), 1)), "float32")
        ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=max(float(weights.max(initial=0.0)), 1e-6), aspect="auto")
        ax.set_xticks(range(len(source)))
        ax.set_xticklabels(list(source), fontsize=8)
        ax.set_yticks(range(len(output)))
        ax.set_yticklabels(list(output), fontsize=8)
        ax.set_xlabel("source")
        ax.set_ylabel("output")
        ax.set_title(f"{source!r} → {output!r}", fontsize=9)
    for ax in axes.ravel()[len(examples) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)
