"""kerasdl.detection.yolo + kerasdl.detection.losses: head shapes, loss masking, a loss that falls."""

import numpy as np
import pytest

import kerasdl  # noqa: F401
import keras
import tensorflow as tf
from kerasdl.detection.encoding import encode_targets
from kerasdl.detection.localization import decode_localization, encode_localization
from kerasdl.detection.sliding_window import SlidingWindowDetector
from kerasdl.export import load_keras, save_keras
from kerasdl.detection.losses import LocalizationLoss, YoloLoss
from kerasdl.detection.yolo import localizer, yolo_detector


def test_head_shape_of_the_seed_example_19x19x5x85():
    model = yolo_detector((608, 608, 3), 80, anchors=5, grid_size=19 * 1, filters=(4, 4, 4, 4, 4))
    assert model.output_shape == (None, 19, 19, 5, 85)  # 608 / 32 = 19, 5 anchors x (5 + 80)
    assert model.get_layer("yolo_head").count_params() == (4 + 1) * 5 * 85
    anchors = np.array([[0.1, 0.2], [0.3, 0.3]])
    assert yolo_detector((64, 64, 3), 10, anchors).output_shape == (None, 8, 8, 2, 15)
    assert yolo_detector((64, 32, 1), 3, 1, grid_size=(16, 8)).output_shape == (None, 16, 8, 1, 8)
    inner = keras.Sequential([keras.Input((48, 48, 3)), keras.layers.Conv2D(8, 3, strides=4, padding="same")])
    assert yolo_detector((48, 48, 3), 4, 3, backbone=inner).output_shape == (None, 12, 12, 3, 9)
    with pytest.raises(ValueError, match="power of two"):
        yolo_detector((64, 64, 3), 10, 3, grid_size=6)
    with pytest.raises(ValueError, match="backbone must be"):
        yolo_detector((64, 64, 3), 10, 3, backbone="no_such_net")
    with pytest.raises(ValueError, match="no include_top"):
        yolo_detector((64, 64, 3), 10, 3, backbone="mlp")
    with pytest.raises(ValueError, match="grid_size"):
        yolo_detector((48, 48, 3), 4, 3, backbone=inner, grid_size=6)


def test_localization_loss_masks_box_and_class_when_no_object():
    loss = LocalizationLoss()
    y_true = encode_localization([np.zeros((0, 4)), np.array([[4, 8, 12, 16]])], [[], [2]], (20, 20), 3)
    np.testing.assert_allclose(y_true[1, :6], [1, 0.4, 0.6, 0.4, 0.4, 0])
    y_pred = tf.Variable(np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32))
    with tf.GradientTape() as tape:
        terms = loss.components(y_true, y_pred)
        total = loss(y_true, y_pred)
    grad = tape.gradient(total, y_pred).numpy()
    assert np.all(grad[0, 1:] == 0) and grad[0, 0] != 0  # p = 0: only the object flag is trained
    assert np.all(grad[1] != 0)
    assert float(terms["box"][0]) == 0 and float(terms["class"][0]) == 0
    p, yp = 1.0, y_pred.numpy()[1]
    want_obj = np.log1p(np.exp(-yp[0]))  # BCE(1, σ(x)) = log(1 + e^-x)
    want_box = np.sum((yp[1:5] - y_true[1, 1:5]) ** 2)
    want_cls = -np.log(np.exp(yp[7]) / np.exp(yp[5:]).sum())
    assert float(terms["object"][1] + terms["box"][1] + terms["class"][1]) == pytest.approx(
        p * (want_obj + want_box + want_cls), rel=1e-5
    )
    # decode: p, the box in pixels, class probabilities
    prob, boxes, classes = decode_localization(y_true[1:] * np.array([20] + [1] * 7), (20, 20))
    np.testing.assert_allclose(boxes[0], [4, 8, 12, 16], atol=1e-5)
    assert prob[0] > 0.99 and classes[0].argmax() == 2


def test_yolo_loss_terms_by_hand():
    anchors = np.array([[0.5, 0.5]], np.float32)
    y_true = encode_targets([np.array([[0, 0, 8, 8]])], [np.array([1])], (16, 16), 2, anchors, 2)  # cell (0, 0)
    y_pred = np.zeros_like(y_true)
    y_pred[0, 0, 0, 0, 3:5] = 0.1  # log-size error 0.1 each
    terms = YoloLoss().components(y_true, y_pred)
    bce0 = np.log(2.0)  # logit 0 against either label
    assert float(terms["objectness"][0]) == pytest.approx(bce0 + 0.5 * 3 * bce0, rel=1e-5)
    # σ(0) = 0.5 against offsets 0.5 → 0; (0.1² + 0.1²) · λ_coord 5
    assert float(terms["box"][0]) == pytest.approx(5 * 0.02, rel=1e-4)
    assert float(terms["class"][0]) == pytest.approx(np.log(2.0), rel=1e-5)


@pytest.mark.learned
def test_yolo_loss_falls_on_a_tiny_set_and_round_trips_through_keras_file(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = np.zeros((16, 32, 32, 3), np.float32)
    boxes, labels = [], []
    for i in range(16):  # one bright square of class 0 or a dim one of class 1
        x, y, s = int(rng.integers(0, 20)), int(rng.integers(0, 20)), int(rng.integers(6, 12))
        label = i % 2
        images[i, y : y + s, x : x + s] = 1.0 if label == 0 else 0.5
        boxes.append(np.array([[x, y, x + s, y + s]], np.float32))
        labels.append(np.array([label]))
    anchors = np.array([[0.25, 0.25]], np.float32)
    targets = encode_targets(boxes, labels, (32, 32), 4, anchors, 2)
    model = yolo_detector((32, 32, 3), 2, anchors, filters=(8, 8, 16))
    model.compile(keras.optimizers.Adam(1e-2), loss=YoloLoss())
    first = float(model.evaluate(images, targets, verbose=0))
    history = model.fit(images, targets, batch_size=16, epochs=40, verbose=0)
    assert history.history["loss"][-1] < 0.3 * first
    path = save_keras(model, tmp_path / "yolo.keras")
    reloaded = load_keras(path)
    assert isinstance(reloaded.loss, YoloLoss) and reloaded.loss.lambda_coord == 5.0
    np.testing.assert_allclose(reloaded(images[:2]), model(images[:2]), atol=1e-5)
    clone = LocalizationLoss.from_config(LocalizationLoss(box_weight=3.0).get_config())
    assert clone.box_weight == 3.0


def test_sliding_window_detector_uses_the_convolutionalized_localizer():
    keras.utils.set_random_seed(1)
    crop_model = localizer((16, 16, 3), 4, filters=(4, 8), hidden_units=8)
    detector = SlidingWindowDetector(crop_model, scales=(1.0,))
    assert detector.stride == (4, 4)
    image = np.random.default_rng(0).random((1, 24, 28, 3), dtype=np.float32)
    boxes, scores = detector.windows(image)
    assert boxes.shape == (1, 3 * 4, 4) and scores.shape == (1, 12, 4)
    # window (row 1, col 2) = the crop at (y, x) = (4, 8); its box is the crop's, shifted
    raw = crop_model(image[:, 4:20, 8:24], training=False).numpy()
    p, crop_boxes, probs = decode_localization(raw, (16, 16))
    np.testing.assert_allclose(boxes[0, 1 * 4 + 2], crop_boxes[0] + [8, 4, 8, 4], atol=1e-4)
    np.testing.assert_allclose(scores[0, 1 * 4 + 2], p[0] * probs[0], atol=1e-5)
