"""YOLO target encoding: ground-truth boxes → the ``S x S x B x (5 + C)`` training target.

Course notes ("YOLO algorithm", "Anchor Boxes"): the image is divided into an ``S x S``
grid; the cell holding a box's centre is responsible for it, through the anchor whose IoU
with the box is highest; each responsible slot holds ``(p, b_x, b_y, b_w, b_h, c_1..c_C)``.
The notes' worked example is a 19 x 19 grid with 5 anchors and 80 classes: a
19 x 19 x 5 x 85 output for a 608 x 608 image (stride 32).

Parametrisation (Redmon & Farhadi, "YOLO9000", CVPR 2017, §"Direct location prediction"):

* ``p = 1`` in a responsible slot, ``0`` elsewhere;
* ``(b_x, b_y)`` = the centre's offset inside its cell, in cell units, in ``[0, 1)``;
* ``(b_w, b_h)`` = ``(log(w / anchor_w), log(h / anchor_h))``, the box size relative to the
  anchor in log space (so the network's raw output is unconstrained and ``exp`` recovers it);
* ``c`` = the one-hot class.

Anchors are ``(width, height)`` as fractions of the image size (what
:func:`kerasdl.detection.anchors.kmeans_anchors` returns on normalised box sizes), so one set
of anchors serves any image size. Boxes are ``(x_min, y_min, x_max, y_max)`` pixels.
"""

from __future__ import annotations

import warnings

import numpy as np

from kerasdl._validation import check_int, check_shape
from kerasdl.detection.boxes import corners_to_centers, wh_iou

__all__ = ["check_anchors", "encode_targets", "grid_shape"]


def grid_shape(grid_size) -> tuple[int, int]:
    """``S`` or ``(rows, cols)`` → ``(rows, cols)``."""
    if np.ndim(grid_size) == 0:
        return check_shape("grid_size", grid_size) * 2
    return check_shape("grid_size", grid_size, ndim=2)


def check_anchors(anchors) -> np.ndarray:
    """``(B, 2)`` positive widths/heights as fractions of the image; returned as float32."""
    anchors = np.asarray(anchors, dtype=np.float32)
    if anchors.ndim != 2 or anchors.shape[1] != 2 or len(anchors) == 0:
        raise ValueError(f"anchors must be a (B, 2) array of (width, height), got shape {anchors.shape}")
    if not np.all(np.isfinite(anchors)) or np.any(anchors <= 0):
        raise ValueError(f"anchors must be finite and positive, got {anchors.tolist()}")
    return anchors


def encode_targets(boxes, labels, image_size, grid_size, anchors, num_classes: int):
    """Training targets for a batch of images.

    Args:
        boxes: per image, an ``(n_i, 4)`` array of ``(x_min, y_min, x_max, y_max)`` pixels.
        labels: per image, ``(n_i,)`` integer class ids in ``[0, num_classes)``.
        image_size: ``(height, width)`` of the images, in pixels.
        grid_size: ``S`` or ``(rows, cols)`` of the output grid.
        anchors: ``(B, 2)`` anchor ``(width, height)`` as fractions of the image.
        num_classes: ``C``.

    Returns:
        float32 ``(N, rows, cols, B, 5 + C)``.

    When two boxes want the same cell and anchor, the later one takes the cell's next-best
    free anchor; only when every anchor of the cell is taken is a box dropped, with a
    warning giving the count (more anchors or a finer grid fix it).
    """
    height, width = check_shape("image_size", image_size, ndim=2)
    rows, cols = grid_shape(grid_size)
    anchors = check_anchors(anchors)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    if len(boxes) != len(labels):
        raise ValueError(f"got boxes for {len(boxes)} images but labels for {len(labels)}")
    num_anchors = len(anchors)
    targets = np.zeros((len(boxes), rows, cols, num_anchors, 5 + num_classes), np.float32)
    dropped = 0
    for n, (img_boxes, img_labels) in enumerate(zip(boxes, labels)):
        img_boxes = np.asarray(img_boxes, np.float32).reshape(-1, 4)
        img_labels = np.asarray(img_labels).reshape(-1)
        if len(img_boxes) != len(img_labels):
            raise ValueError(f"image {n}: {len(img_boxes)} boxes but {len(img_labels)} labels")
        if len(img_labels) and (img_labels.min() < 0 or img_labels.max() >= num_classes):
            raise ValueError(f"image {n}: labels must lie in [0, {num_classes}), got {img_labels.tolist()}")
        centres = corners_to_centers(img_boxes) / np.array([width, height, width, height], np.float32)
        if np.any(centres[:, 2:] <= 0):
            raise ValueError(f"image {n}: boxes must have positive width and height, got {img_boxes.tolist()}")
        ious = wh_iou(centres[:, None, 2:], anchors[None, :, :])  # (n_i, B)
        for (cx, cy, w, h), label, box_ious in zip(centres, img_labels, ious):
            col = min(int(np.floor(cx * cols)), cols - 1)
            row = min(int(np.floor(cy * rows)), rows - 1)
            free = [a for a in np.argsort(-box_ious, kind="stable") if targets[n, row, col, a, 0] == 0]
            if not free:
                dropped += 1
                continue
            a = free[0]
            targets[n, row, col, a, :5] = (
                1.0,
                cx * cols - col,
                cy * rows - row,
                np.log(w / anchors[a, 0]),
                np.log(h / anchors[a, 1]),
            )
            targets[n, row, col, a, 5 + int(label)] = 1.0
    if dropped:
        warnings.warn(
            f"encode_targets: {dropped} box(es) dropped because all {num_anchors} anchors of their "
            "grid cell were already taken; use more anchors or a finer grid",
            stacklevel=2,
        )
    return targets
