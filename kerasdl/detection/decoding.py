"""Decoding the YOLO grid to image-coordinate boxes, and per-class non-max suppression.

Inverse of :func:`kerasdl.detection.encoding.encode_targets`. For the slot of anchor
``a`` in the cell at ``(row, col)`` of an ``R x C`` grid on an ``H x W`` image
(Redmon & Farhadi, "YOLO9000", CVPR 2017, eq. for ``b_x, b_y, b_w, b_h``):

    x_center = (col + σ(t_x)) / C · W          width  = anchor_w · exp(t_w) · W
    y_center = (row + σ(t_y)) / R · H          height = anchor_h · exp(t_h) · H
    objectness = σ(t_o)                         class probabilities = softmax(t_c)

(on targets, ``from_logits=False``: offsets, objectness and one-hot classes are used as
stored; the log-space sizes are exponentiated either way). The score of a box for class
``k`` is ``objectness · P(k)``.

Non-max suppression, per class as the course notes ask ("If you have multiple classes,
perform non-max suppression for each class separately"), is TensorFlow's
``tf.image.combined_non_max_suppression``; it is not re-implemented here.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_float, check_int
from kerasdl.detection.encoding import check_anchors

__all__ = ["decode_grid", "detect", "non_max_suppression", "postprocess", "split_detections"]


def decode_grid(grid, anchors, image_size, *, from_logits: bool = True):
    """Grid output ``(N, R, C, B, 5 + K)`` → boxes, objectness and class probabilities.

    Args:
        grid: the detector's raw output (``from_logits=True``) or an encoded target.
        anchors: ``(B, 2)`` anchor sizes as fractions of the image.
        image_size: ``(height, width)`` in pixels of the image the boxes refer to (may be a
            tensor, e.g. the size of an image given to a serving function).
        from_logits: apply sigmoid/softmax to the raw outputs (False for targets).

    Returns:
        ``(boxes, objectness, class_probs)``: float32 tensors ``(N, R*C*B, 4)`` corner boxes
        in pixels, ``(N, R*C*B)`` and ``(N, R*C*B, K)``.
    """
    import tensorflow as tf

    anchors = tf.constant(check_anchors(anchors))
    grid = tf.convert_to_tensor(grid, tf.float32)
    if grid.shape.rank != 5 or (grid.shape[3] is not None and grid.shape[3] != anchors.shape[0]):
        raise ValueError(
            f"grid must be (batch, rows, cols, {anchors.shape[0]} anchors, 5 + classes), got shape {grid.shape}"
        )
    shape = tf.shape(grid)
    rows, cols, num_anchors = shape[1], shape[2], shape[3]
    height, width = tf.unstack(tf.cast(image_size, tf.float32))

    p, txy, twh, classes = grid[..., 0], grid[..., 1:3], grid[..., 3:5], grid[..., 5:]
    if from_logits:
        p, txy, classes = tf.sigmoid(p), tf.sigmoid(txy), tf.nn.softmax(classes, axis=-1)
    col_index, row_index = tf.meshgrid(tf.range(cols), tf.range(rows))  # (R, C) each
    offsets = tf.cast(tf.stack([col_index, row_index], axis=-1), tf.float32)[None, :, :, None, :]
    cells = tf.cast(tf.stack([cols, rows]), tf.float32)
    image_wh = tf.stack([width, height])
    centre = (offsets + txy) / cells * image_wh
    size = anchors * tf.exp(twh) * image_wh
    boxes = tf.concat([centre - size / 2, centre + size / 2], axis=-1)
    flat = tf.stack([shape[0], rows * cols * num_anchors])
    return (
        tf.reshape(boxes, tf.concat([flat, [4]], 0)),
        tf.reshape(p, flat),
        tf.reshape(classes, tf.concat([flat, [shape[4] - 5]], 0)),
    )


def non_max_suppression(
    boxes,
    scores,
    image_size,
    *,
    max_per_class: int = 20,
    max_total: int = 50,
    iou_threshold: float = 0.5,
    score_threshold: float = 0.05,
):
    """Per-class NMS with ``tf.image.combined_non_max_suppression``.

    Args:
        boxes: ``(N, M, 4)`` corner boxes in pixels (shared by all classes).
        scores: ``(N, M, K)`` per-class scores.
        image_size: ``(height, width)``; boxes are normalised by it for the call and clipped
            to the image.

    Returns:
        dict with ``boxes`` ``(N, max_total, 4)`` pixels, ``scores`` ``(N, max_total)``,
        ``classes`` int32 ``(N, max_total)`` and ``num_detections`` int32 ``(N,)``; rows
        beyond ``num_detections`` are zero padding.
    """
    import tensorflow as tf

    max_per_class = check_int("max_per_class", max_per_class, minimum=1)
    max_total = check_int("max_total", max_total, minimum=1)
    iou_threshold = check_float("iou_threshold", iou_threshold, minimum=0.0, maximum=1.0)
    score_threshold = check_float("score_threshold", score_threshold, minimum=0.0, maximum=1.0)
    height, width = tf.unstack(tf.cast(image_size, tf.float32))
    scale = tf.stack([width, height, width, height])
    x0, y0, x1, y1 = tf.unstack(tf.convert_to_tensor(boxes, tf.float32) / scale, axis=-1)
    yxyx = tf.stack([y0, x0, y1, x1], axis=-1)[:, :, None, :]  # q = 1: one box for all classes
    nmsed_boxes, nmsed_scores, nmsed_classes, valid = tf.image.combined_non_max_suppression(
        yxyx,
        tf.convert_to_tensor(scores, tf.float32),
        max_per_class,
        max_total,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        clip_boxes=True,
    )
    y0, x0, y1, x1 = tf.unstack(nmsed_boxes, axis=-1)
    return {
        "boxes": tf.stack([x0, y0, x1, y1], axis=-1) * scale,
        "scores": nmsed_scores,
        "classes": tf.cast(nmsed_classes, tf.int32),
        "num_detections": valid,
    }


def detect(model, images, anchors, *, batch_size: int = 64, **nms_kwargs):
    """Run a YOLO ``model`` on float ``images`` ``(N, H, W, C)`` and return per-image detections.

    Returns a list with one ``(boxes, scores, classes)`` NumPy triple per image (only the
    valid detections), the form :func:`kerasdl.detection.metrics.mean_average_precision` takes.
    """
    images = np.asarray(images, np.float32)
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        out.extend(postprocess(model(batch, training=False), anchors, batch.shape[1:3], **nms_kwargs))
    return out


def postprocess(raw, anchors, image_size, **nms_kwargs):
    """Raw grid output → list of ``(boxes, scores, classes)`` per image after decoding + NMS."""
    boxes, objectness, class_probs = decode_grid(raw, anchors, image_size)
    result = non_max_suppression(boxes, objectness[..., None] * class_probs, image_size, **nms_kwargs)
    return split_detections(result)


def split_detections(result):
    """NMS dict (padded batch) → list of ``(boxes, scores, classes)`` NumPy triples."""
    counts = np.asarray(result["num_detections"])
    boxes, scores, classes = (np.asarray(result[k]) for k in ("boxes", "scores", "classes"))
    return [(boxes[i, :n], scores[i, :n], classes[i, :n]) for i, n in enumerate(counts)]
