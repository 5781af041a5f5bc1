"""kerasdl.detection.metrics: VOC all-point and COCO 101-point AP on hand-computed cases."""

import numpy as np
import pytest

from kerasdl.detection.metrics import average_precision, coco_map, mean_average_precision

GT1, GT2 = [0, 0, 10, 10], [20, 20, 30, 30]


def _det(boxes, scores, classes):
    return (np.array(boxes, np.float32).reshape(-1, 4), np.array(scores), np.array(classes))


def test_tp_fp_tp_sequence():
    gts = [(np.array([GT1, GT2]), np.array([0, 0]))]
    dets = [_det([GT1, [50, 50, 60, 60], GT2], [0.9, 0.8, 0.7], [0, 0, 0])]
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 → envelope 1 up to r = 0.5, 2/3 up to r = 1
    out = mean_average_precision(dets, gts, 1)
    assert out["map"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    coco = mean_average_precision(dets, gts, 1, interpolation="coco101")["map"]
    assert coco == pytest.approx((51 * 1 + 50 * 2 / 3) / 101)  # recall points 0..0.50 → 1, 0.51..1 → 2/3


def test_duplicates_are_false_positives_and_order_is_by_score():
    gts = [(np.array([GT1]), np.array([0]))]
    # the duplicate scores higher than the match: FP first → precision 0 then 1/2 at recall 1
    dets = [_det([[0, 0, 10, 10.5], GT1, [60, 60, 70, 70]], [0.5, 0.9, 0.95], [0, 0, 0])]
    assert mean_average_precision(dets, gts, 1)["map"] == pytest.approx(0.5)
    dets = [_det([GT1, GT1], [0.9, 0.8], [0, 0])]
    assert mean_average_precision(dets, gts, 1)["map"] == pytest.approx(1.0)  # dup after full recall


def test_iou_threshold_classes_without_ground_truth_and_difficult():
    shifted = [4, 0, 14, 10]  # IoU with GT1 = 6*10 / (200 - 60) = 0.4286
    gts = [(np.array([GT1]), np.array([1]))]
    assert mean_average_precision([_det([shifted], [1], [1])], gts, 3, iou_threshold=0.4)["map"] == 1.0
    assert mean_average_precision([_det([shifted], [1], [1])], gts, 3, iou_threshold=0.5)["map"] == 0.0
    out = mean_average_precision([_det([GT1, GT2], [1, 1], [1, 2])], gts, 3)
    assert np.isnan(out["ap"][0]) and np.isnan(out["ap"][2]) and out["map"] == 1.0  # class 2: no GT → left out
    assert out["num_ground_truth"].tolist() == [0, 1, 0]
    # a detection on a "difficult" box is neither TP nor FP; the difficult box is not needed for recall
    gts_d = [(np.array([GT1, GT2]), np.array([0, 0]), np.array([False, True]))]
    assert mean_average_precision([_det([GT2, GT1], [0.9, 0.8], [0, 0])], gts_d, 1)["map"] == 1.0
    # wrong class = FP for the predicted class and a miss for the true one; several images pooled
    gts2 = [(np.array([GT1]), np.array([0])), (np.array([GT2]), np.array([0]))]
    out = mean_average_precision([_det([GT1], [0.9], [0]), _det([GT2], [0.9], [1])], gts2, 2)
    assert out["ap"][0] == pytest.approx(0.5) and np.isnan(out["ap"][1])


def test_no_detections_and_coco_map():
    gts = [(np.array([GT1, GT2]), np.array([0, 1]))]
    assert mean_average_precision([_det([], [], [])], gts, 2)["map"] == 0.0
    perfect = coco_map([_det([GT1, GT2], [0.9, 0.8], [0, 1])], gts, 2)
    assert perfect["map"] == pytest.approx(1.0)
    # IoU 80 / 120 = 2/3 with GT1 (shifted 2 px): a hit at thresholds 0.50 … 0.65, a miss above,
    # so class 0 has AP 1 at 4 of the 10 thresholds and class 1 always 1
    loose = coco_map([_det([[2, 0, 12, 10], GT2], [0.9, 0.8], [0, 1])], gts, 2)
    assert loose["per_threshold"][0.65] == 1.0 and loose["per_threshold"][0.7] == pytest.approx(0.5)
    assert loose["map"] == pytest.approx((4 * 1.0 + 6 * 0.5) / 10)


def test_average_precision_and_bad_arguments():
    assert average_precision([], []) == 0.0
    assert average_precision([0.5, 1.0], [1.0, 1.0]) == 1.0
    with pytest.raises(ValueError, match="interpolation"):
        average_precision([1.0], [1.0], "eleven_points")
    with pytest.raises(ValueError, match="detections for 1 images but ground truth for 2"):
        mean_average_precision([_det([], [], [])], [(np.zeros((0, 4)), []), (np.zeros((0, 4)), [])], 1)
    with pytest.raises(ValueError, match="iou_threshold"):
        mean_average_precision([], [], 1, iou_threshold=0.0)


def test_coco_map_equals_pycocotools_on_random_detections():
    """Cross-check with the reference COCO evaluator (optional dev dependency)."""
    pytest.importorskip("pycocotools")
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    gts, dets, images, anns, results = [], [], [], [], []
    to_xywh = lambda b: [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]  # noqa: E731

    def random_boxes(k):
        xy = rng.uniform(0, 60, (k, 2))
        return np.concatenate([xy, xy + rng.uniform(8, 30, (k, 2))], 1)

    for i in range(30):
        n, extra = int(rng.integers(1, 5)), int(rng.integers(0, 3))
        boxes, labels = random_boxes(n), rng.integers(0, 3, n)
        det_boxes = np.concatenate([boxes + rng.uniform(-3, 3, boxes.shape), random_boxes(extra)])  # stay >= 2 px wide
        det_classes = np.concatenate(
            [np.where(rng.random(n) < 0.8, labels, rng.integers(0, 3, n)), rng.integers(0, 3, extra)]
        )
        det_scores = rng.random(n + extra)
        gts.append((boxes, labels))
        dets.append((det_boxes, det_scores, det_classes))
        images.append({"id": i, "width": 100, "height": 100})
        for b, label in zip(boxes, labels):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": int(label),
                    "bbox": to_xywh(b),
                    "area": float((b[2] - b[0]) * (b[3] - b[1])),
                    "iscrowd": 0,
                }
            )
        results += [
            {"image_id": i, "category_id": int(c), "bbox": to_xywh(b), "score": float(s)}
            for b, s, c in zip(det_boxes, det_scores, det_classes)
        ]
    reference = COCO()
    reference.dataset = {"images": images, "annotations": anns, "categories": [{"id": k} for k in range(3)]}
    with contextlib.redirect_stdout(io.StringIO()):
        reference.createIndex()
        evaluator = COCOeval(reference, reference.loadRes(results), "bbox")
        evaluator.evaluate(), evaluator.accumulate(), evaluator.summarize()
    ours = coco_map(dets, gts, 3)
    # (pycocotools ignores detections of negative width, where IoU makes them false positives;
    # the boxes above are all proper, as a detector's are)
    np.testing.assert_allclose([ours["map"], ours["map_50"], ours["map_75"]], evaluator.stats[:3], atol=1e-9)
