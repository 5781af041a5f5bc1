"""Plots saved as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path, title: str | None = None) -> Path:
    """Training curves from a ``keras.callbacks.History`` (or its ``.history`` dict).

    One panel per metric (loss, accuracy, ...), training and ``val_`` curves together.
    """
    logs = getattr(history, "history", history)
    if not logs:
        raise ValueError("history is empty: nothing to plot")
    metrics = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        epochs = range(1, len(logs[metric]) + 1)
        ax.plot(epochs, logs[metric], marker="o", label="train")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _save(fig, path) -> Path:
    """Lay out and write ``fig`` at ``path`` (PNG, or the format its suffix names), atomically:
    a killed run leaves the previous picture or none, never a truncated one. Closes ``fig``."""
    from kerasdl.export import atomic_file

    plt = _pyplot()
    path = Path(path)
    try:
        fig.tight_layout()
        with atomic_file(path, suffix=path.suffix) as tmp:
            fig.savefig(tmp, dpi=100, format=path.suffix.lstrip(".").lower() or "png")
    finally:
        plt.close(fig)
    return path


def plot_image_grid(
    images, path, *, titles=None, ncols: int = 8, cmap="gray", title: str | None = None, value_range=None
) -> Path:
    """A grid of images (N, H, W) or (N, H, W, C) with optional per-image titles.

    Single-channel images are drawn with ``cmap``; ``value_range=(low, high)`` fixes the
    colour scale (default: each image's own range for greyscale, [0, 1] or [0, 255] for RGB).
    """
    import numpy as np

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must be a non-empty batch (N, H, W) or (N, H, W, C), got shape {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    ncols = max(1, min(int(ncols), len(images)))
    nrows = -(-len(images) // ncols)
    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.7 * nrows), squeeze=False)
    vmin, vmax = value_range if value_range is not None else (None, None)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = images[index]
        if image.ndim == 3 and value_range is None:
            image = image / 255.0 if image.max() > 1.0 else image
            image = np.clip(image, 0.0, 1.0)
        ax.imshow(image, cmap=cmap if image.ndim == 2 else None, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(str(titles[index]), fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_confusion_matrix(matrix, path, *, class_names=None, title: str = "confusion matrix") -> Path:
    """A confusion matrix (rows: true class, columns: predicted) with the counts written in."""
    import numpy as np

    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {matrix.shape}")
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(matrix))]
    if len(names) != len(matrix):
        raise ValueError(f"got {len(names)} class names for a {len(matrix)}x{len(matrix)} matrix")
    plt = _pyplot()
    size = 2.5 + 0.45 * len(names)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(
            col,
            row,
            f"{count:g}",
            ha="center",
            va="center",
            color="white" if count > threshold else "black",
            fontsize=8,
        )
    ax.set_title(title)
    return _save(fig, path)


def plot_curves(
    curves: dict,
    path,
    *,
    xlabel: str = "step",
    ylabel: str | None = None,
    title: str | None = None,
    hline: float | None = None,
) -> Path:
    """Line plot of named series, ``{"name": ys}`` or ``{"name": (xs, ys)}``, on one axis.

    ``hline`` draws a dashed reference line (a target or threshold).
    """
    if not curves:
        raise ValueError("curves is empty: nothing to plot")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, series in curves.items():
        xs, ys = series if isinstance(series, tuple) else (range(1, len(series) + 1), series)
        ax.plot(list(xs), list(ys), label=name)
    if hline is not None:
        ax.axhline(hline, linestyle="--", color="gray")
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)
