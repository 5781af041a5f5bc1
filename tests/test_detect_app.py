"""apps/detect.py: a tiny end-to-end run, and one SavedModel export reloaded and compared."""

import json

import numpy as np

import kerasdl  # noqa: F401
import keras
import tensorflow as tf
from kerasdl.apps import detect
from kerasdl.detection.data import synthetic_digit_detection
from kerasdl.detection.decoding import postprocess
from kerasdl.detection.anchors import kmeans_anchors
from kerasdl.models.yolo import yolo_detector


def test_detect_app_runs_end_to_end(tmp_path, capsys):
    argv = ["--train-images", "24", "--test-images", "6", "--image-size", "32", "--epochs", "1",
            "--batch-size", "8", "--sliding-window", "--sliding-epochs", "1", "--no-export", "--verbose", "0",
            "--runs-dir", str(tmp_path / "runs")]
    assert detect.main(argv) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("yolo", "sliding_window"):
        assert 0.0 <= summary[key]["map_50"] <= 1.0 and 0.0 <= summary[key]["coco_map_50_95"] <= 1.0
    assert summary["grid"] == [4, 4] and len(summary["anchors"]) == 3
    assert (run_dir / "detections.png").stat().st_size > 1000
    assert (run_dir / "training_curves.png").is_file()
    assert "mAP@0.5" in capsys.readouterr().out


def test_detect_app_bad_input_exit_codes(tmp_path):
    assert detect.main(["--data", "voc"]) == 2  # ValueError: needs --voc-dir
    assert detect.main(["--data", "voc", "--voc-dir", str(tmp_path / "none"), "--runs-dir", str(tmp_path)]) == 1
    assert detect.main(["--epochs", "0"]) == 2


def test_exported_detector_matches_the_in_memory_pipeline(tmp_path):
    # Untrained weights suffice to compare the export with the in-memory pipeline (and save a fit).
    keras.utils.set_random_seed(0)
    train = synthetic_digit_detection(4, image_size=32, digit_size=(6, 14), seed=0)
    anchors = kmeans_anchors(train.normalized_sizes(), 2)
    model = yolo_detector((32, 32, 3), 10, anchors, filters=(8, 8, 16))
    nms = {"score_threshold": 0.01, "iou_threshold": 0.5}
    path = detect.export_detector(model, anchors, tmp_path / "export", **nms)
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
