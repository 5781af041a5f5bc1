"""Train and evaluate a YOLO detector on a :class:`~kerasdl.detection.data.DetectionData`.

Shared by ``apps/detect.py`` and ``benchmarks/detection.py``: anchors by k-means on the
training boxes, targets by :func:`~kerasdl.detection.encoding.encode_targets`,
:class:`~kerasdl.detection.losses.YoloLoss` with Keras' ``fit`` (plain compile/fit: the loss
is an ordinary ``(y_true, y_pred)`` loss, so no custom ``train_step`` is needed), and mAP.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_int

__all__ = ["evaluate_detections", "train_yolo"]


def train_yolo(
    train,
    *,
    val=None,
    num_anchors: int = 3,
    grid_size=None,
    epochs: int = 30,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    filters=(16, 32, 64, 128),
    backbone=None,
    seed: int = 0,
    jit_compile="auto",
    callbacks=(),
    verbose: int = 0,
):
    """Fit :func:`kerasdl.detection.yolo.yolo_detector` on ``train``.

    Returns ``(model, anchors, history)``; ``model`` takes float images in ``[0, 1]`` and
    returns the raw grid, ``anchors`` are ``(B, 2)`` fractions of the image. A NaN loss stops
    training (``TerminateOnNaN``) and raises ``FloatingPointError`` naming the epoch.
    """
    import keras

    from kerasdl.detection.anchors import kmeans_anchors
    from kerasdl.detection.encoding import encode_targets
    from kerasdl.detection.losses import YoloLoss
    from kerasdl.detection.yolo import yolo_detector
    from kerasdl.training import compile_model

    num_anchors = check_int("num_anchors", num_anchors, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    keras.utils.set_random_seed(seed)
    anchors = kmeans_anchors(train.normalized_sizes(), num_anchors, seed=seed)
    model = yolo_detector(
        train.images.shape[1:], train.num_classes, anchors, grid_size=grid_size, backbone=backbone, filters=filters
    )
    grid = model.output_shape[1:3]
    steps = epochs * -(-len(train) // batch_size)
    compile_model(
        model,
        "adam",
        learning_rate,
        loss=YoloLoss(),
        metrics=None,
        schedule="cosine",
        decay_steps=steps,
        jit_compile=jit_compile,
    )

    def xy(data):
        return (
            data.images.astype(np.float32) / 255.0,
            encode_targets(data.boxes, data.labels, data.image_size, grid, anchors, data.num_classes),
        )

    history = model.fit(
        *xy(train),
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        validation_data=xy(val) if val is not None else None,
        callbacks=[keras.callbacks.TerminateOnNaN(), *callbacks],
        verbose=verbose,
    )
    if not np.isfinite(history.history["loss"][-1]):
        raise FloatingPointError(
            f"YOLO loss became {history.history['loss'][-1]} at epoch {len(history.history['loss'])}; "
            "training stopped (try a lower learning rate)"
        )
    return model, anchors, history


def evaluate_detections(detections, data) -> dict:
    """mAP@0.5 (VOC all-point), COCO AP@[0.5:0.95] and per-class AP@0.5 of ``detections`` on ``data``."""
    from kerasdl.detection.metrics import coco_map, mean_average_precision

    voc = mean_average_precision(detections, data.ground_truths(), data.num_classes, iou_threshold=0.5)
    coco = coco_map(detections, data.ground_truths(), data.num_classes)
    return {
        "map_50": voc["map"],
        "coco_map_50_95": coco["map"],
        "coco_map_75": coco["map_75"],
        "ap_50_per_class": {name: (None if np.isnan(a) else float(a)) for name, a in zip(data.class_names, voc["ap"])},
    }
