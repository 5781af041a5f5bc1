"""Anchor shapes by k-means on the training boxes with ``1 − IoU`` as the distance.

Redmon & Farhadi, "YOLO9000: Better, Faster, Stronger", CVPR 2017, §"Dimension clusters":
running k-means on box widths and heights with Euclidean distance lets large boxes dominate
the error, so the distance is ``d(box, centroid) = 1 − IoU(box, centroid)`` with both boxes
placed on the same centre (:func:`kerasdl.detection.boxes.wh_iou`). The course notes pick
anchors by hand ("Anchor Boxes"); this picks them from the data.

scikit-learn's ``KMeans`` only minimises squared Euclidean distance and takes no custom
metric, so the small Lloyd loop is written here.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_int
from kerasdl.detection.boxes import wh_iou

__all__ = ["kmeans_anchors", "mean_best_iou"]


def _check_wh(wh):
    wh = np.asarray(wh, dtype=np.float64)
    if wh.ndim != 2 or wh.shape[1] != 2:
        raise ValueError(f"wh must be an (N, 2) array of box widths and heights, got shape {wh.shape}")
    if not np.all(np.isfinite(wh)) or np.any(wh <= 0):
        raise ValueError("wh must hold finite, positive widths and heights")
    return wh


def mean_best_iou(wh, anchors) -> float:
    """Average over boxes of the best IoU with any anchor (YOLOv2's "Avg IOU", Table 1)."""
    wh, anchors = _check_wh(wh), _check_wh(anchors)
    return float(wh_iou(wh[:, None, :], anchors[None, :, :]).max(axis=1).mean())


def kmeans_anchors(wh, k: int, *, iterations: int = 100, seed: int = 0):
    """``k`` anchor shapes ``(width, height)`` clustering ``wh`` with distance ``1 − IoU``.

    Lloyd's algorithm: assign each box to the centroid of highest IoU, move each centroid to
    the mean width/height of its boxes, stop when the assignment no longer changes. Seeded
    k-means++ style (each new centroid drawn with probability ∝ distance to the nearest one);
    a cluster that empties is reseeded with the box that fits its centroid worst.

    Args:
        wh: ``(N, 2)`` widths and heights of the training boxes (any unit; the anchors come
            back in the same unit), ``N >= k``.
        k: number of anchors (the ``B`` of the ``S x S x B x (5 + C)`` head).
        iterations: maximum Lloyd iterations.
        seed: random seed for the initial centroids.

    Returns:
        ``(k, 2)`` float32 anchors sorted by area, smallest first.
    """
    wh = _check_wh(wh)
    k = check_int("k", k, minimum=1)
    iterations = check_int("iterations", iterations, minimum=1)
    if len(wh) < k:
        raise ValueError(f"k={k} anchors need at least {k} boxes, got {len(wh)}")
    rng = np.random.default_rng(seed)

    centroids = [wh[rng.integers(len(wh))]]
    for _ in range(1, k):  # k-means++ seeding with the 1 - IoU distance
        dist = 1.0 - wh_iou(wh[:, None, :], np.array(centroids)[None, :, :]).max(axis=1)
        total = dist.sum()
        probs = dist / total if total > 0 else np.full(len(wh), 1.0 / len(wh))
        centroids.append(wh[rng.choice(len(wh), p=probs)])
    centroids = np.array(centroids)

    assignment = None
    for _ in range(iterations):
        iou = wh_iou(wh[:, None, :], centroids[None, :, :])  # (N, k)
        new_assignment = iou.argmax(axis=1)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        for j in range(k):
            members = wh[assignment == j]
            if len(members):
                centroids[j] = members.mean(axis=0)
            else:  # empty cluster: take the box that fits the current centroids worst
                worst = iou.max(axis=1).argmin()
                centroids[j] = wh[worst]
                assignment[worst] = j
    order = np.argsort(centroids[:, 0] * centroids[:, 1])
    return centroids[order].astype(np.float32)
