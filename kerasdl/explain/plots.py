"""PNG figures for explanations: heat-map overlays, embeddings, patch grids, feature weights.

Generic grids and curves are in :mod:`kerasdl.plots` (reused here: its Agg pyplot and
saving helper); this module holds what is specific to explanations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerasdl.plots import _pyplot, _save


def _display(image):
    image = np.asarray(image, dtype="float32")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def plot_heatmaps(
    images,
    heatmaps,
    path,
    *,
    titles=None,
    cmap: str = "jet",
    alpha: float = 0.5,
    normalize: bool = False,
    symmetric: bool = False,
) -> Path:
    """One row per image: the image, the heat map, and the map over the image.

    ``normalize`` scales each map to [0, 1]; ``symmetric`` centres the colour scale on 0
    (signed attributions such as LIME weights).
    """
    images = np.asarray(images)
    heatmaps = np.asarray(heatmaps, dtype="float32")
    if len(images) != len(heatmaps) or len(images) == 0:
        raise ValueError(f"need one heat map per image, got {len(images)} images and {len(heatmaps)} maps")
    plt = _pyplot()
    fig, axes = plt.subplots(len(images), 3, figsize=(7.5, 2.5 * len(images)), squeeze=False)
    for row, (image, heat) in enumerate(zip(images, heatmaps)):
        if normalize:
            heat = _display(heat)
        limit = float(np.abs(heat).max()) or 1.0
        scale = {"vmin": -limit, "vmax": limit} if symmetric else {}
        shown = _display(image)
        gray = "gray" if shown.ndim == 2 else None
        axes[row, 0].imshow(shown, cmap=gray)
        axes[row, 1].imshow(heat, cmap=cmap, **scale)
        axes[row, 2].imshow(shown, cmap=gray)
        axes[row, 2].imshow(heat, cmap=cmap, alpha=alpha, **scale)
        for ax in axes[row]:
            ax.axis("off")
        if titles is not None:
            axes[row, 1].set_title(str(titles[row]), fontsize=9)
    return _save(fig, path)


def plot_embedding(points, path, *, labels=None, title: str | None = None) -> Path:
    """Scatter plot of 2-D points, coloured by ``labels`` when given."""
    points = np.asarray(points)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=8)
    else:
        labels = np.asarray(labels)
        for value in np.unique(labels):
            mask = labels == value
            ax.scatter(points[mask, 0], points[mask, 1], s=8, label=str(value))
        ax.legend(markerscale=2, fontsize=7, loc="best")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_patches(result: dict, path) -> Path:
    """Rows: channels; columns: their top-activating patches (from ``top_activating_patches``)."""
    channels = result["channels"]
    k = max(len(v["patches"]) for v in channels.values())
    plt = _pyplot()
    fig, axes = plt.subplots(len(channels), k, figsize=(1.2 * k, 1.3 * len(channels)), squeeze=False)
    for row, (channel, entry) in enumerate(channels.items()):
        for col in range(k):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(entry["patches"]):
                shown = _display(entry["patches"][col])
                ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None)
        axes[row, 0].set_title(f"ch {channel}", fontsize=7, loc="left")
    fig.suptitle(f"top-activating patches of {result['layer_name']} ({result['patch_size']} px)")
    return _save(fig, path)


def plot_feature_weights(weights, path, *, title: str | None = None) -> Path:
    """Horizontal bars for ``[(feature_name, weight), ...]`` (largest magnitude on top)."""
    weights = list(weights)[::-1]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(weights) + 1.2))
    values = [w for _, w in weights]
    ax.barh([name for name, _ in weights], values, color=["tab:green" if v >= 0 else "tab:red" for v in values])
    ax.axvline(0, color="gray", linewidth=0.8)
    if title:
        ax.set_title(title)
    return _save(fig, path)
