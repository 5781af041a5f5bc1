"""kerasdl.detection boxes/anchors/encoding/decoding: IoU by hand, k-means anchors, round trip."""

import warnings

import numpy as np
import pytest

import kerasdl  # noqa: F401
import tensorflow as tf
from kerasdl.detection.anchors import kmeans_anchors, mean_best_iou
from kerasdl.detection.boxes import box_area, centers_to_corners, corners_to_centers, iou_matrix, pairwise_iou, wh_iou
from kerasdl.detection.decoding import decode_grid, non_max_suppression, split_detections
from kerasdl.detection.encoding import encode_targets


def test_iou_hand_cases_numpy_and_tf():
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2], [1, 1, 3, 3]], np.float32)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6], [1, 1, 2, 4]], np.float32)
    # overlap 1 / union 7; identical; disjoint; inner 1x2 box of a 2x2 / (4 + 3 - 2)
    want = np.array([1 / 7, 1.0, 0.0, 2 / 5])
    np.testing.assert_allclose(pairwise_iou(a, b), want, rtol=1e-6)
    np.testing.assert_allclose(pairwise_iou(tf.constant(a), tf.constant(b)).numpy(), want, rtol=1e-6)
    m = iou_matrix(a[:2], b)
    assert m.shape == (2, 4)
    np.testing.assert_allclose(m[0], [1 / 7, 1.0, 0.0, 1 / 6], rtol=1e-6)  # 1 / (4 + 3 - 1)
    np.testing.assert_allclose(box_area(np.array([[0, 0, 3, 2], [2, 2, 1, 5]])), [6, 0])
    np.testing.assert_allclose(wh_iou([2, 4], [4, 2]), 4 / 12)


def test_corner_centre_conversions_round_trip():
    boxes = np.random.default_rng(0).uniform(0, 50, (5, 4)).astype(np.float32)
    boxes[:, 2:] += boxes[:, :2]
    np.testing.assert_allclose(corners_to_centers([[2, 4, 10, 8]]), [[6, 6, 8, 4]])
    np.testing.assert_allclose(centers_to_corners(corners_to_centers(boxes)), boxes, rtol=1e-5)
    assert tf.is_tensor(corners_to_centers(tf.constant(boxes)))
    with pytest.raises(ValueError, match="last axis of size 4"):
        corners_to_centers(np.zeros((3, 5)))


def test_kmeans_anchors_find_the_shape_clusters_with_iou_distance():
    rng = np.random.default_rng(0)
    shapes = np.array([[0.05, 0.1], [0.3, 0.15], [0.4, 0.6]])  # tall small, wide, large
    wh = np.concatenate([s * rng.uniform(0.9, 1.1, (200, 2)) for s in shapes])
    anchors = kmeans_anchors(wh, 3, seed=1)
    assert anchors.shape == (3, 2)
    np.testing.assert_allclose(anchors, shapes, rtol=0.05)  # sorted by area, like `shapes`
    assert mean_best_iou(wh, anchors) > 0.85
    assert mean_best_iou(wh, anchors) > mean_best_iou(wh, anchors[[0]]) + 0.2
    with pytest.raises(ValueError, match="at least 5 boxes"):
        kmeans_anchors(wh[:4], 5)
    with pytest.raises(ValueError, match="positive"):
        kmeans_anchors(np.array([[0.1, 0.0], [0.2, 0.3]]), 1)


def test_encoding_follows_the_seed_rules():
    anchors = np.array([[0.1, 0.3], [0.3, 0.1]], np.float32)  # tall, wide
    boxes = [np.array([[10, 0, 20, 30], [30, 45, 60, 55]], np.float32)]  # tall box, wide box (100x100 image)
    t = encode_targets(boxes, [np.array([4, 7])], (100, 100), 4, anchors, num_classes=10)
    assert t.shape == (1, 4, 4, 2, 15)
    assert t[..., 0].sum() == 2
    # tall box: centre (15, 15) → cell (row 0, col 0), anchor 0, offsets 0.6/0.6, size = anchor
    np.testing.assert_allclose(t[0, 0, 0, 0, :5], [1, 0.6, 0.6, 0, 0], atol=1e-6)
    assert t[0, 0, 0, 0, 5 + 4] == 1
    # wide box: centre (45, 50) → row 2 (50/25 = 2.0), col 1 (1.8), anchor 1; w = 0.3 → log 1
    np.testing.assert_allclose(t[0, 2, 1, 1, :5], [1, 0.8, 0.0, 0, 0], atol=1e-6)
    assert t[0, 2, 1, 1, 5 + 7] == 1


def test_encode_then_decode_gives_the_boxes_back():
    rng = np.random.default_rng(3)
    anchors = np.array([[0.1, 0.1], [0.2, 0.35], [0.4, 0.3]], np.float32)
    boxes, labels = [], []
    for _ in range(4):
        xy = rng.uniform(0, 40, (3, 2))
        wh = rng.uniform(5, 24, (3, 2))
        boxes.append(np.concatenate([xy, xy + wh], 1).astype(np.float32))
        labels.append(rng.integers(0, 5, 3))
    targets = encode_targets(boxes, labels, (64, 80), (8, 10), anchors, 5)
    decoded, objectness, probs = decode_grid(targets, anchors, (64, 80), from_logits=False)
    dets = split_detections(
        non_max_suppression(decoded, objectness[..., None] * probs, (64, 80), score_threshold=0.5, iou_threshold=0.99)
    )
    for (got_boxes, scores, classes), want_boxes, want_labels in zip(dets, boxes, labels):
        order_got, order_want = np.lexsort(got_boxes.T[::-1]), np.lexsort(want_boxes.T[::-1])
        np.testing.assert_allclose(got_boxes[order_got], want_boxes[order_want], atol=1e-3)
        np.testing.assert_array_equal(classes[order_got], want_labels[order_want])
        np.testing.assert_allclose(scores, 1.0)


def test_same_cell_boxes_take_the_next_free_anchor_then_are_dropped():
    anchors = np.array([[0.2, 0.2], [0.4, 0.4]], np.float32)
    box = np.array([10, 10, 20, 20], np.float32)
    three = [np.stack([box, box + 0.5, box - 1])]  # centres 15, 15.5, 14: all in cell (0, 0)
    with pytest.warns(UserWarning, match="1 box"):
        t = encode_targets(three, [np.array([0, 1, 2])], (32, 32), 2, anchors, 3)
    assert t[0, 0, 0, :, 0].tolist() == [1, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode_targets([box[None]], [np.array([0])], (32, 32), 2, anchors, 3)
    with pytest.raises(ValueError, match="labels must lie in"):
        encode_targets([box[None]], [np.array([3])], (32, 32), 2, anchors, 3)
    with pytest.raises(ValueError, match="anchors"):
        encode_targets([box[None]], [np.array([0])], (32, 32), 2, np.zeros((2, 3)), 3)


def test_decode_applies_logits_and_nms_is_per_class():
    anchors = np.array([[0.5, 0.5]], np.float32)
    raw = np.zeros((1, 1, 1, 1, 5 + 2), np.float32)
    raw[..., 5] = 10.0  # class 0
    boxes, p, probs = decode_grid(raw, anchors, (20, 40))
    np.testing.assert_allclose(boxes.numpy()[0, 0], [10, 5, 30, 15], atol=1e-5)  # centre (20, 10), 20x10
    np.testing.assert_allclose(p.numpy(), 0.5)
    # Two overlapping boxes: suppressed when of the same class, both kept when not.
    b = tf.constant([[[0, 0, 10, 10], [1, 1, 11, 11]]], tf.float32)
    same = non_max_suppression(b, tf.constant([[[0.9, 0.0], [0.8, 0.0]]]), (20, 20))
    diff = non_max_suppression(b, tf.constant([[[0.9, 0.0], [0.0, 0.8]]]), (20, 20))
    assert int(same["num_detections"][0]) == 1 and int(diff["num_detections"][0]) == 2
    np.testing.assert_allclose(same["boxes"][0, 0], [0, 0, 10, 10], atol=1e-5)
    assert sorted(diff["classes"][0, :2].numpy().tolist()) == [0, 1]
