"""Box conversions and intersection over union, vectorised for NumPy arrays and tf tensors.

Boxes are ``(..., 4)`` arrays: corners ``(x_min, y_min, x_max, y_max)`` or centres
``(x_center, y_center, width, height)``. Every function takes NumPy arrays (returning NumPy)
or TensorFlow tensors (returning tensors, usable inside ``tf.function``), using only
slicing, arithmetic, minimum/maximum and stacking, so one formula serves both.

IoU (Jaccard index) = area(A ∩ B) / area(A ∪ B), the overlap measure the course notes use
for non-max suppression, anchor assignment and evaluation ("Week 3: Object Detection").
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["box_area", "centers_to_corners", "corners_to_centers", "iou_matrix", "pairwise_iou", "wh_iou"]

_EPS = 1e-9


def _is_tensor(x) -> bool:
    """True for a tf tensor; never imports TensorFlow (no tensor exists before it is imported)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.is_tensor(x)


def _ops(x):
    """(module, stack) for ``x``: TensorFlow for tensors, NumPy otherwise."""
    if _is_tensor(x):
        import tensorflow as tf

        return tf.math, lambda parts: tf.stack(parts, axis=-1)
    return np, lambda parts: np.stack(parts, axis=-1)


def _as_boxes(boxes, name="boxes"):
    if not _is_tensor(boxes):
        boxes = np.asarray(boxes, dtype=np.float32)
    if boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have a last axis of size 4, got shape {tuple(boxes.shape)}")
    return boxes


def corners_to_centers(boxes):
    """``(x_min, y_min, x_max, y_max)`` → ``(x_center, y_center, width, height)``."""
    boxes = _as_boxes(boxes)
    _, stack = _ops(boxes)
    x0, y0, x1, y1 = (boxes[..., i] for i in range(4))
    return stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])


def centers_to_corners(boxes):
    """``(x_center, y_center, width, height)`` → ``(x_min, y_min, x_max, y_max)``."""
    boxes = _as_boxes(boxes)
    _, stack = _ops(boxes)
    cx, cy, w, h = (boxes[..., i] for i in range(4))
    return stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def box_area(boxes):
    """Area of corner boxes; boxes with ``x_max < x_min`` or ``y_max < y_min`` have area 0."""
    boxes = _as_boxes(boxes)
    m, _ = _ops(boxes)
    return m.maximum(boxes[..., 2] - boxes[..., 0], 0.0) * m.maximum(boxes[..., 3] - boxes[..., 1], 0.0)


def pairwise_iou(boxes_a, boxes_b):
    """IoU of corresponding corner boxes, broadcasting ``(..., 4)`` against ``(..., 4)``."""
    a, b = _as_boxes(boxes_a, "boxes_a"), _as_boxes(boxes_b, "boxes_b")
    m, _ = _ops(a)
    w = m.maximum(m.minimum(a[..., 2], b[..., 2]) - m.maximum(a[..., 0], b[..., 0]), 0.0)
    h = m.maximum(m.minimum(a[..., 3], b[..., 3]) - m.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = w * h
    return inter / m.maximum(box_area(a) + box_area(b) - inter, _EPS)


def iou_matrix(boxes_a, boxes_b):
    """``(N, M)`` IoU of every box in ``boxes_a`` (N, 4) with every box in ``boxes_b`` (M, 4)."""
    a, b = _as_boxes(boxes_a, "boxes_a"), _as_boxes(boxes_b, "boxes_b")
    return pairwise_iou(a[:, None, :], b[None, :, :])


def wh_iou(wh_a, wh_b):
    """IoU of boxes given only ``(width, height)``, as if they shared their centre.

    Broadcasts ``(..., 2)`` against ``(..., 2)``. This is the overlap YOLOv2 uses to compare a
    box with an anchor shape (Redmon & Farhadi, "YOLO9000", CVPR 2017, §"Dimension clusters"):
    position is the cell's job, the anchor only describes the shape.
    """
    if not _is_tensor(wh_a):
        wh_a = np.asarray(wh_a, dtype=np.float32)
    if not _is_tensor(wh_b):
        wh_b = np.asarray(wh_b, dtype=np.float32)
    m, _ = _ops(wh_a)
    inter = m.minimum(wh_a[..., 0], wh_b[..., 0]) * m.minimum(wh_a[..., 1], wh_b[..., 1])
    union = wh_a[..., 0] * wh_a[..., 1] + wh_b[..., 0] * wh_b[..., 1] - inter
    return inter / m.maximum(union, _EPS)
