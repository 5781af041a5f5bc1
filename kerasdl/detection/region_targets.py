"""Region-proposal building blocks: anchor grids, box deltas, target assignment, balanced sampling.

The pieces of Faster R-CNN (Ren, He, Girshick & Sun, "Faster R-CNN: Towards Real-Time
Object Detection with Region Proposal Networks", NeurIPS 2015) that
:mod:`kerasdl.detection.two_stage` trains with; each is a plain TensorFlow function on a
batch, so it runs inside ``train_step`` and is tested on hand-made boxes.

* **Anchors** (§3.1.1): at every cell of the backbone's feature map, ``len(sizes) ·
  len(ratios)`` boxes centred on the cell centre ``((col + ½)·stride, (row + ½)·stride)``;
  a box of size ``s`` and ratio ``r = h / w`` has ``w = s / √r``, ``h = s · √r`` (area ``s²``).
* **Box deltas** (R-CNN, Girshick et al. CVPR 2014, appendix C; Faster R-CNN eq. 2): a box
  ``(x, y, w, h)`` relative to a reference ``(x_a, y_a, w_a, h_a)`` is
  ``t = (w_x (x − x_a)/w_a, w_y (y − y_a)/h_a, w_w log(w/w_a), w_h log(h/h_a))``; the
  weights ``(10, 10, 5, 5)`` of the second stage are Detectron's fixed target
  normalisation (the paper's means/stds), ``(1, 1, 1, 1)`` for the RPN.
* **Assignment** (§3.1.2): an anchor is positive when its IoU with some ground-truth box is
  ≥ 0.7, or when it is the anchor of highest IoU for a ground-truth box; negative when its
  best IoU is < 0.3; otherwise ignored. A second-stage region is foreground (label
  ``class + 1``) at IoU ≥ 0.5 and background (label 0) below (Fast R-CNN §2.3).
* **Sampling**: a fixed number of anchors/regions per image, at most a fraction positive
  (RPN: 256 anchors, ½; Fast R-CNN: 128 regions, ¼), the rest negatives, drawn at random.

Box convention: corners ``(x_min, y_min, x_max, y_max)`` in pixels, as in the rest of
:mod:`kerasdl.detection`. Ground truth comes padded: ``(N, G, 4)`` boxes with ``(N, G)``
labels where ``-1`` marks padding.
"""

from __future__ import annotations

import math

import numpy as np

from kerasdl._validation import check_float, check_int

__all__ = [
    "RCNN_DELTA_WEIGHTS",
    "anchor_grid",
    "assign_anchors",
    "assign_regions",
    "decode_deltas",
    "encode_deltas",
    "sample_balanced",
]

RCNN_DELTA_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
_MAX_LOG_SCALE = math.log(1000.0 / 16)  # Detectron's clamp on exp(t_w), exp(t_h): no overflow early on


def anchor_grid(feature_size, stride, sizes, ratios) -> np.ndarray:
    """``(rows · cols · A, 4)`` float32 corner anchors, ordered (row, col, size, ratio).

    Args:
        feature_size: ``(rows, cols)`` of the feature map.
        stride: image pixels per feature cell (one number, or ``(stride_y, stride_x)``).
        sizes: anchor sides in pixels (square root of the area).
        ratios: aspect ratios ``height / width``.
    """
    rows, cols = (check_int("feature_size", int(v), minimum=1) for v in feature_size)
    stride_y, stride_x = (float(stride), float(stride)) if np.ndim(stride) == 0 else map(float, stride)
    sizes = np.asarray(sizes, np.float64).reshape(-1)
    ratios = np.asarray(ratios, np.float64).reshape(-1)
    if not len(sizes) or not len(ratios) or np.any(sizes <= 0) or np.any(ratios <= 0):
        raise ValueError(f"sizes and ratios must be non-empty and positive, got {sizes.tolist()} and {ratios.tolist()}")
    widths = (sizes[:, None] / np.sqrt(ratios[None, :])).reshape(-1)
    heights = (sizes[:, None] * np.sqrt(ratios[None, :])).reshape(-1)
    cy = (np.arange(rows) + 0.5) * stride_y
    cx = (np.arange(cols) + 0.5) * stride_x
    cy, cx = np.meshgrid(cy, cx, indexing="ij")  # (rows, cols)
    cx, cy = cx[..., None], cy[..., None]
    anchors = np.stack([cx - widths / 2, cy - heights / 2, cx + widths / 2, cy + heights / 2], axis=-1)
    return anchors.reshape(-1, 4).astype(np.float32)


def _centres(boxes):
    import tensorflow as tf

    x0, y0, x1, y1 = tf.unstack(boxes, axis=-1)
    w, h = x1 - x0, y1 - y0
    return x0 + 0.5 * w, y0 + 0.5 * h, w, h


def encode_deltas(boxes, reference, weights=(1.0, 1.0, 1.0, 1.0)):
    """Deltas ``t`` of corner ``boxes`` relative to corner ``reference`` boxes (broadcasting)."""
    import tensorflow as tf

    boxes = tf.convert_to_tensor(boxes, tf.float32)
    reference = tf.convert_to_tensor(reference, tf.float32)
    wx, wy, ww, wh = weights
    x, y, w, h = _centres(boxes)
    xa, ya, wa, ha = _centres(reference)
    wa, ha = tf.maximum(wa, 1e-6), tf.maximum(ha, 1e-6)
    return tf.stack(
        [
            wx * (x - xa) / wa,
            wy * (y - ya) / ha,
            ww * tf.math.log(tf.maximum(w, 1e-6) / wa),
            wh * tf.math.log(tf.maximum(h, 1e-6) / ha),
        ],
        axis=-1,
    )


def decode_deltas(deltas, reference, weights=(1.0, 1.0, 1.0, 1.0)):
    """Corner boxes from ``deltas`` and ``reference`` boxes: the inverse of :func:`encode_deltas`.

    Log-scale deltas are clamped at ``log(1000/16)`` (Detectron) so an untrained network
    cannot overflow ``exp``.
    """
    import tensorflow as tf

    deltas = tf.convert_to_tensor(deltas, tf.float32)
    reference = tf.convert_to_tensor(reference, tf.float32)
    wx, wy, ww, wh = weights
    xa, ya, wa, ha = _centres(reference)
    tx, ty, tw, th = tf.unstack(deltas, axis=-1)
    x = tx / wx * wa + xa
    y = ty / wy * ha + ya
    w = tf.exp(tf.minimum(tw / ww, _MAX_LOG_SCALE)) * wa
    h = tf.exp(tf.minimum(th / wh, _MAX_LOG_SCALE)) * ha
    return tf.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=-1)


def _masked_iou(boxes, gt_boxes, gt_labels):
    """``(N, M, G)`` IoU of every box with every ground-truth box; padding columns get -1."""
    import tensorflow as tf

    from kerasdl.detection.boxes import pairwise_iou

    boxes = tf.convert_to_tensor(boxes, tf.float32)
    gt_boxes = tf.convert_to_tensor(gt_boxes, tf.float32)
    iou = pairwise_iou(boxes[..., :, None, :], gt_boxes[..., None, :, :])
    valid = tf.convert_to_tensor(gt_labels)[..., None, :] >= 0
    return tf.where(valid, iou, -1.0)


def assign_anchors(anchors, gt_boxes, gt_labels, *, positive_iou: float = 0.7, negative_iou: float = 0.3):
    """RPN labels of every anchor: 1 object, 0 background, -1 ignored (Faster R-CNN §3.1.2).

    Args:
        anchors: ``(M, 4)`` anchors, shared by the batch.
        gt_boxes: ``(N, G, 4)`` ground-truth boxes.
        gt_labels: ``(N, G)`` class ids, -1 for padding.
        positive_iou: IoU from which an anchor is an object (0.7).
        negative_iou: IoU below which an anchor is background (0.3).

    Returns:
        ``(labels (N, M) int32, matched (N, M) int32)``: ``matched`` indexes the ground-truth
        box each anchor regresses to (meaningful where the label is 1).
    """
    import tensorflow as tf

    positive_iou = check_float("positive_iou", positive_iou, minimum=0.0, maximum=1.0)
    negative_iou = check_float("negative_iou", negative_iou, minimum=0.0, maximum=positive_iou)
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    iou = _masked_iou(anchors[None], gt_boxes, gt_labels)  # (N, M, G)
    best = tf.reduce_max(iou, axis=2)
    matched = tf.argmax(iou, axis=2, output_type=tf.int32)
    labels = tf.where(best >= positive_iou, 1, tf.where((best < negative_iou) & (best >= 0.0), 0, -1))
    # Rule (i): the anchor(s) of highest IoU with each ground-truth box are positive, however low.
    best_per_gt = tf.reduce_max(iou, axis=1, keepdims=True)  # (N, 1, G)
    is_best = tf.reduce_any((iou >= best_per_gt - 1e-6) & (best_per_gt > 0.0), axis=2)
    labels = tf.where(is_best, 1, labels)
    # The anchor is positive for its best box, so it regresses to that box (argmax on ties).
    matched_if_best = tf.argmax(tf.where((iou >= best_per_gt - 1e-6) & (best_per_gt > 0.0), iou + 2.0, iou), axis=2)
    matched = tf.where(is_best, tf.cast(matched_if_best, tf.int32), matched)
    return tf.cast(labels, tf.int32), matched


def assign_regions(regions, region_valid, gt_boxes, gt_labels, *, foreground_iou: float = 0.5):
    """Second-stage labels: ``class + 1`` at IoU ≥ ``foreground_iou``, 0 (background) below, -1 for padding.

    Args:
        regions: ``(N, R, 4)`` proposals (with the ground-truth boxes appended, as in training).
        region_valid: ``(N, R)`` bool, False for padded proposals.
        gt_boxes: ``(N, G, 4)`` ground-truth boxes.
        gt_labels: ``(N, G)`` class ids, -1 for padding.
        foreground_iou: IoU from which a region takes its box's class.

    Returns:
        ``(labels (N, R) int32, matched (N, R) int32)``.
    """
    import tensorflow as tf

    foreground_iou = check_float("foreground_iou", foreground_iou, minimum=0.0, maximum=1.0, min_inclusive=False)
    iou = _masked_iou(regions, gt_boxes, gt_labels)
    best = tf.reduce_max(iou, axis=2)
    matched = tf.argmax(iou, axis=2, output_type=tf.int32)
    classes = tf.gather(tf.cast(gt_labels, tf.int32), matched, batch_dims=1)
    labels = tf.where(best >= foreground_iou, classes + 1, 0)
    return tf.where(tf.convert_to_tensor(region_valid, tf.bool), labels, -1), matched


def sample_balanced(labels, num_samples: int, positive_fraction: float, *, seed=None):
    """Draw ``num_samples`` entries per row: positives (label > 0) first, at most
    ``round(num_samples · positive_fraction)`` of them, then negatives (label 0), at random.

    Ignored entries (label -1) are never drawn. When a row has too few candidates the tail of
    its sample is marked invalid.

    Args:
        labels: ``(N, M)`` int labels, ``M >= num_samples``.
        num_samples: entries drawn per row.
        positive_fraction: largest share of positives.
        seed: op seed of the random order.

    Returns:
        ``(indices (N, num_samples) int32, valid (N, num_samples) bool)``.
    """
    import tensorflow as tf

    num_samples = check_int("num_samples", num_samples, minimum=1)
    positive_fraction = check_float("positive_fraction", positive_fraction, minimum=0.0, maximum=1.0)
    max_positive = max(0, min(num_samples, int(round(num_samples * positive_fraction))))
    labels = tf.convert_to_tensor(labels, tf.int32)
    if labels.shape[-1] is not None and labels.shape[-1] < num_samples:
        raise ValueError(f"num_samples={num_samples} exceeds the {labels.shape[-1]} candidates per row")
    noise = tf.random.uniform(tf.shape(labels), seed=seed)
    positive, negative = labels > 0, tf.equal(labels, 0)
    # Random order within each kind; capped positives rank above negatives, negatives above the rest.
    positive_rank = tf.argsort(tf.argsort(tf.where(positive, noise, 2.0), axis=-1), axis=-1)
    kept_positive = positive & (positive_rank < max_positive)
    key = tf.where(kept_positive, 2.0 + noise, tf.where(negative, 1.0 + noise, -1.0))
    values, indices = tf.math.top_k(key, k=num_samples)
    return indices, values >= 1.0
