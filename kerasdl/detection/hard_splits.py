"""Harder test conditions for comparing detectors: crowded canvases and AP on small boxes.

The course notes contrast one-stage and region-proposal detectors ("slower, better on small
and overlapping objects"). :func:`synthetic_digit_detection` keeps boxes apart; here

* :func:`crowded_digit_detection` packs many digits per canvas and lets their boxes
  overlap (up to ``max_iou`` with every earlier box; later glyphs are painted over earlier
  ones, so objects are partly occluded);
* :func:`area_range_ground_truths` / :func:`area_range_detections` restrict an evaluation
  to boxes in an area range the way COCO's "AP small" does (Lin et al., ECCV 2014;
  ``pycocotools``): ground truth outside the range is ignored (the ``difficult`` flag of
  :mod:`kerasdl.detection.metrics`, neither hit nor miss), and a detection outside the range
  is ignored unless it matches a ground-truth box (IoU ≥ 0.5, same class).
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_float, check_int, check_shape

__all__ = ["area_range_detections", "area_range_ground_truths", "crowded_digit_detection"]


def crowded_digit_detection(
    num_images: int,
    *,
    image_size: int = 64,
    objects=(6, 10),
    digit_size=(12, 28),
    max_iou: float = 0.4,
    split: str = "test",
    source: str = "digits",
    seed: int = 0,
):
    """Canvases with ``objects`` digits each whose boxes may overlap up to ``max_iou``.

    Rendering as :func:`kerasdl.detection.data.synthetic_digit_detection` (same glyph pools,
    colours, noise and ink boxes); only the placement rule differs. Returns a
    :class:`~kerasdl.detection.data.DetectionData`.
    """
    from kerasdl.detection.boxes import iou_matrix
    from kerasdl.detection.data import DIGIT_NAMES, DetectionData, _glyphs, render_digit_canvases

    num_images = check_int("num_images", num_images, minimum=1)
    image_size = check_int("image_size", image_size, minimum=16)
    lo_obj, hi_obj = check_shape("objects", objects, ndim=2)
    lo_size, hi_size = check_shape("digit_size", digit_size, ndim=2)
    if lo_obj > hi_obj or lo_size > hi_size or hi_size > image_size:
        raise ValueError(f"objects {objects!r} and digit_size {digit_size!r} must be (min, max) within the image")
    max_iou = check_float("max_iou", max_iou, minimum=0.0, maximum=1.0)
    glyphs, glyph_labels = _glyphs(source, split)
    rng = np.random.default_rng(seed)

    def overlaps_at_most(box, boxes) -> bool:
        return not boxes or iou_matrix(box[None], np.array(boxes)).max() <= max_iou

    images, all_boxes, all_labels = render_digit_canvases(
        num_images, image_size, (lo_obj, hi_obj), (lo_size, hi_size), glyphs, glyph_labels, rng, overlaps_at_most
    )
    return DetectionData(
        images,
        all_boxes,
        all_labels,
        DIGIT_NAMES,
        source=f"crowded synthetic {source} ({split} glyphs, IoU <= {max_iou})",
    )


def _in_range(boxes, area_range):
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return (area >= area_range[0]) & (area < area_range[1])


def area_range_ground_truths(data, area_range):
    """``data.ground_truths()`` with every box outside ``area_range = (min, max)`` px² marked difficult."""
    return [(b, lab, np.asarray(d, bool) | ~_in_range(b, area_range)) for b, lab, d in data.ground_truths()]


def area_range_detections(detections, data, area_range, *, iou_threshold: float = 0.5):
    """Drop detections outside ``area_range`` that match no ground-truth box of their class."""
    from kerasdl.detection.boxes import iou_matrix

    out = []
    for (boxes, scores, classes), gt_boxes, gt_labels in zip(detections, data.boxes, data.labels):
        keep = _in_range(np.asarray(boxes, np.float32).reshape(-1, 4), area_range)
        if len(gt_boxes) and len(boxes):
            same = classes[:, None] == gt_labels[None, :]
            keep |= ((iou_matrix(boxes, gt_boxes) >= iou_threshold) & same).any(axis=1)
        out.append((boxes[keep], scores[keep], classes[keep]))
    return out
