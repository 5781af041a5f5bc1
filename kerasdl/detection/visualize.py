"""Detections drawn on their images (matplotlib, Agg), saved as a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_detections"]


def plot_detections(
    images, detections, path, *, class_names=None, ground_truths=None, ncols: int = 4, title: str | None = None
) -> Path:
    """A grid of images with predicted boxes (labelled ``class score``) and optional ground truth.

    ``detections``: per image ``(boxes, scores, classes)``; ``ground_truths``: per image
    ``(boxes, labels, ...)``, drawn dashed in white.
    """
    from kerasdl.plots import _pyplot, _save

    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, H, W, C) batch, got shape {images.shape}")
    if len(detections) != len(images):
        raise ValueError(f"got detections for {len(detections)} images but {len(images)} images")
    plt = _pyplot()
    ncols = max(1, min(ncols, len(images)))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 3 * nrows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = images[index]
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
        if ground_truths is not None:
            for box in np.asarray(ground_truths[index][0]).reshape(-1, 4):
                ax.add_patch(
                    plt.Rectangle(
                        box[:2],
                        box[2] - box[0],
                        box[3] - box[1],
                        fill=False,
                        edgecolor="white",
                        linestyle="--",
                        linewidth=0.8,
                    )
                )
        boxes, scores, classes = detections[index]
        for box, score, cls in zip(np.asarray(boxes), np.asarray(scores), np.asarray(classes)):
            colour = colours(int(cls) % 10)
            ax.add_patch(
                plt.Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, edgecolor=colour, linewidth=1.5)
            )
            name = class_names[int(cls)] if class_names is not None else str(int(cls))
            ax.text(
                box[0],
                box[1] - 1,
                f"{name} {score:.2f}",
                color="black",
                fontsize=7,
                bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "linewidth": 0},
            )
    if title:
        fig.suptitle(title)
    return _save(fig, path)
