"""Mean average precision for object detection (Pascal VOC and COCO styles).

* Matching (Everingham et al., "The PASCAL Visual Object Classes (VOC) Challenge", IJCV
  2010, §4.2): per class, detections over all images in order of decreasing score; a
  detection is a true positive when its best-overlapping ground-truth box of that class in
  the same image has IoU ≥ the threshold and was not matched by a higher-scored detection,
  otherwise a false positive. Ground truth marked ``difficult`` counts neither way.
  ``matching="coco"`` (the ``pycocotools`` rule) instead lets a detection take the
  best-overlapping ground-truth box *not yet matched*, so a duplicate near two objects can
  still hit the second one.
* AP, ``interpolation="all_points"`` (VOC 2010+): the area under the precision–recall curve
  after making precision monotonically non-increasing, ``Σ (r_{i+1} − r_i) · p_interp(r_{i+1})``.
* AP, ``interpolation="coco101"`` (Lin et al., "Microsoft COCO", ECCV 2014; the
  ``pycocotools`` evaluator): the mean of the interpolated precision at 101 recall points
  0, 0.01, …, 1.
* mAP = mean AP over the classes that have ground truth; :func:`coco_map` also averages over
  IoU thresholds 0.50, 0.55, …, 0.95 (COCO's headline "AP"; no area ranges or
  max-detection caps beyond what the detector returns).

No library in the stack computes VOC-style AP from box lists (scikit-learn's
``average_precision_score`` has no box matching), so the matching is written here.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_choice, check_float, check_int
from kerasdl.detection.boxes import iou_matrix

__all__ = ["average_precision", "coco_map", "mean_average_precision"]

COCO_IOU_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.96, 0.05), 2))


def average_precision(recall, precision, interpolation: str = "all_points") -> float:
    """AP from a precision–recall curve given in order of decreasing score."""
    check_choice("interpolation", interpolation, ["all_points", "coco101"])
    recall = np.asarray(recall, np.float64)
    precision = np.asarray(precision, np.float64)
    if recall.shape != precision.shape or recall.ndim != 1:
        raise ValueError(f"recall and precision must be 1-D of equal length, got {recall.shape} and {precision.shape}")
    if len(recall) == 0:
        return 0.0
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope: max over higher recall
    if interpolation == "all_points":
        steps = np.nonzero(mrec[1:] != mrec[:-1])[0]
        return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))
    points = np.linspace(0.0, 1.0, 101)
    index = np.searchsorted(mrec[1:-1], points, side="left")  # first curve point with recall >= r
    values = np.where(index < len(recall), mpre[1:-1][np.minimum(index, len(recall) - 1)], 0.0)
    return float(values.mean())


def _ground_truth(entry, index):
    if len(entry) not in (2, 3):
        raise ValueError(f"ground_truths[{index}] must be (boxes, labels) or (boxes, labels, difficult)")
    boxes = np.asarray(entry[0], np.float32).reshape(-1, 4)
    labels = np.asarray(entry[1]).reshape(-1).astype(np.int64)
    difficult = np.asarray(entry[2], bool).reshape(-1) if len(entry) == 3 else np.zeros(len(labels), bool)
    if not (len(boxes) == len(labels) == len(difficult)):
        raise ValueError(f"ground_truths[{index}]: {len(boxes)} boxes, {len(labels)} labels, {len(difficult)} flags")
    return boxes, labels, difficult


def _detections(entry, index):
    if len(entry) != 3:
        raise ValueError(f"detections[{index}] must be (boxes, scores, classes)")
    boxes = np.asarray(entry[0], np.float32).reshape(-1, 4)
    scores = np.asarray(entry[1], np.float64).reshape(-1)
    classes = np.asarray(entry[2]).reshape(-1).astype(np.int64)
    if not (len(boxes) == len(scores) == len(classes)):
        raise ValueError(f"detections[{index}]: {len(boxes)} boxes, {len(scores)} scores, {len(classes)} classes")
    return boxes, scores, classes


def mean_average_precision(
    detections,
    ground_truths,
    num_classes: int,
    *,
    iou_threshold: float = 0.5,
    interpolation: str = "all_points",
    matching: str = "voc",
) -> dict:
    """VOC-style mAP at one IoU threshold.

    Args:
        detections: per image, ``(boxes (n, 4), scores (n,), classes (n,))`` — what
            :func:`kerasdl.detection.decoding.detect` returns.
        ground_truths: per image, ``(boxes (m, 4), labels (m,))`` or with a third
            ``difficult (m,)`` flag array.
        num_classes: ``K``; class ids lie in ``[0, K)``.
        iou_threshold: minimum IoU for a true positive (0.5: "mAP@0.5").
        interpolation: ``"all_points"`` (VOC) or ``"coco101"``.
        matching: ``"voc"`` (best box, a miss if already taken) or ``"coco"`` (best free box).

    Returns:
        ``{"map": float, "ap": (K,) array with NaN for classes without ground truth,
        "num_ground_truth": (K,) int array}``; ``map`` is NaN when no class has ground truth.
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    iou_threshold = check_float("iou_threshold", iou_threshold, minimum=0.0, maximum=1.0, min_inclusive=False)
    check_choice("interpolation", interpolation, ["all_points", "coco101"])
    check_choice("matching", matching, ["voc", "coco"])
    if len(detections) != len(ground_truths):
        raise ValueError(f"got detections for {len(detections)} images but ground truth for {len(ground_truths)}")
    gts = [_ground_truth(g, i) for i, g in enumerate(ground_truths)]
    dets = [_detections(d, i) for i, d in enumerate(detections)]

    ap = np.full(num_classes, np.nan)
    counts = np.zeros(num_classes, np.int64)
    for k in range(num_classes):
        gt_k = [(b[labels == k], d[labels == k]) for b, labels, d in gts]
        counts[k] = sum(int((~d).sum()) for _, d in gt_k)
        if counts[k] == 0:
            continue
        records = [(s, i, j) for i, (b, s_all, c) in enumerate(dets) for j, s in enumerate(s_all) if c[j] == k]
        records.sort(key=lambda r: -r[0])
        matched = [np.zeros(len(b), bool) for b, _ in gt_k]
        tp, fp = [], []
        for _, i, j in records:
            gt_boxes, difficult = gt_k[i]
            if len(gt_boxes):
                overlaps = iou_matrix(dets[i][0][j : j + 1], gt_boxes)[0]
                if matching == "coco":  # only boxes still free (difficult ones may absorb any number)
                    overlaps = np.where(matched[i] & ~difficult, -1.0, overlaps)
                best = int(overlaps.argmax())
                if overlaps[best] >= iou_threshold:
                    if difficult[best]:
                        continue  # neither true nor false positive
                    if not matched[i][best]:
                        matched[i][best] = True
                        tp.append(1.0), fp.append(0.0)
                        continue
            tp.append(0.0), fp.append(1.0)
        tp_cum, fp_cum = np.cumsum(tp), np.cumsum(fp)
        recall = tp_cum / counts[k]
        precision = tp_cum / np.maximum(tp_cum + fp_cum, np.finfo(np.float64).eps)
        ap[k] = average_precision(recall, precision, interpolation)
    valid = ~np.isnan(ap)
    return {"map": float(ap[valid].mean()) if valid.any() else float("nan"), "ap": ap, "num_ground_truth": counts}


def coco_map(detections, ground_truths, num_classes: int, *, iou_thresholds=COCO_IOU_THRESHOLDS) -> dict:
    """COCO-style AP: 101-point AP averaged over classes and IoU thresholds 0.50:0.05:0.95.

    Uses COCO's matching rule (``matching="coco"``); no area ranges, and no cap on
    detections per image beyond what the detector returns (COCO caps at 100).

    Returns ``{"map": float, "map_50": float, "map_75": float, "per_threshold": {iou: map}}``.
    """
    per = {
        float(t): mean_average_precision(
            detections, ground_truths, num_classes, iou_threshold=float(t), interpolation="coco101", matching="coco"
        )["map"]
        for t in iou_thresholds
    }
    return {
        "map": float(np.mean(list(per.values()))),
        "map_50": per.get(0.5, float("nan")),
        "map_75": per.get(0.75, float("nan")),
        "per_threshold": per,
    }
