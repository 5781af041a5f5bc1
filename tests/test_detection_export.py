"""kerasdl.detection.export: the detector as a SavedModel, reloaded and compared with the
in-memory pipeline (resize → model → decode → NMS)."""

import numpy as np
import pytest

import kerasdl  # noqa: F401
import keras
import tensorflow as tf
from kerasdl.detection.anchors import kmeans_anchors
from kerasdl.detection.data import synthetic_digit_detection
from kerasdl.detection.decoding import postprocess
from kerasdl.detection.export import check_detector_export, export_detector
from kerasdl.detection.yolo import yolo_detector


def test_exported_detector_matches_the_in_memory_pipeline(tmp_path):
    """The SavedModel's serve(uint8 images) gives the in-memory pipeline's boxes, scores and
    classes, and boxes in the pixels of a client image of another size."""
    # Untrained weights suffice to compare the export with the in-memory pipeline (and save a fit).
    keras.utils.set_random_seed(0)
    train = synthetic_digit_detection(4, image_size=32, digit_size=(6, 14), seed=0)
    anchors = kmeans_anchors(train.normalized_sizes(), 2)
    model = yolo_detector((32, 32, 3), 10, anchors, filters=(8, 8, 16))
    nms = {"score_threshold": 0.01, "iou_threshold": 0.5}
    path = export_detector(model, anchors, tmp_path / "export", **nms)
    loaded = tf.saved_model.load(str(path))  # keep the object: its functions hold weak references
    served = loaded.serve

    images = train.images[:4]
    out = served(tf.constant(images))
    expected = postprocess(model(images / 255.0, training=False), anchors, (32, 32), **nms)
    assert out["boxes"].dtype == tf.float32 and out["classes"].dtype == tf.int32
    for i, (boxes, scores, classes) in enumerate(expected):
        n = int(out["num_detections"][i])
        assert n == len(boxes) > 0
        np.testing.assert_allclose(out["boxes"][i, :n], boxes, atol=1e-3)
        np.testing.assert_allclose(out["scores"][i, :n], scores, atol=1e-5)
        np.testing.assert_array_equal(out["classes"][i, :n], classes)
    # A 2x larger client image (nearest-neighbour upscaled) is resized inside; boxes come back in its pixels.
    out_big = served(tf.constant(np.repeat(np.repeat(images, 2, axis=1), 2, axis=2)))
    n = int(out["num_detections"][0])
    assert int(out_big["num_detections"][0]) == n
    np.testing.assert_allclose(out_big["boxes"][0, :n], 2 * out["boxes"][0, :n].numpy(), atol=2e-3)


def test_check_detector_export_reports_the_difference_and_a_disagreement(tmp_path):
    keras.utils.set_random_seed(0)
    train = synthetic_digit_detection(4, image_size=32, digit_size=(6, 14), seed=0)
    anchors = kmeans_anchors(train.normalized_sizes(), 2)
    model = yolo_detector((32, 32, 3), 10, anchors, filters=(8, 8, 16))
    nms = {"score_threshold": 0.01, "iou_threshold": 0.5}
    path = export_detector(model, anchors, tmp_path / "export", **nms)
    assert check_detector_export(path, model, anchors, train.images[:4], **nms) < 1e-3

    other = yolo_detector((32, 32, 3), 10, anchors, filters=(8, 8, 16))  # other random weights
    with pytest.raises(RuntimeError, match="disagrees with the in-memory model"):
        check_detector_export(path, other, anchors, train.images[:4], **nms)


def test_served_detections_may_swap_score_ties_but_not_boxes_or_classes():
    from kerasdl.detection.export import compare_served_detections

    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [5, 5, 8, 8]], np.float32)
    scores = np.array([0.5, 0.49995, 0.3], np.float32)
    classes = np.array([1, 5, 2], np.int32)

    def served(order, box_shift=0.0, classes=classes):
        pad = lambda a: np.concatenate([a[order], np.zeros((2, *a.shape[1:]), a.dtype)])[None]  # noqa: E731
        return {
            "boxes": pad(boxes + box_shift),
            "scores": pad(scores),
            "classes": pad(classes),
            "num_detections": np.array([3]),
        }

    expected = [(boxes, scores, classes)]
    assert compare_served_detections(served([0, 1, 2]), expected) == 0.0
    assert compare_served_detections(served([1, 0, 2]), expected) == 0.0  # a float32 tie, served swapped
    expected_other_scores = [(boxes, scores + np.array([0, 0, 0.01], np.float32), classes)]
    with pytest.raises(RuntimeError, match="disagrees"):
        compare_served_detections(served([0, 1, 2]), expected_other_scores)
    with pytest.raises(RuntimeError, match="disagrees"):
        compare_served_detections(served([0, 1, 2], box_shift=1.0), expected)
    with pytest.raises(RuntimeError, match="disagrees"):
        compare_served_detections(served([0, 1, 2], classes=np.array([1, 4, 2], np.int32)), expected)
