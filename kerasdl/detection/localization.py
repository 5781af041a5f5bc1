"""Single-object classification with localization: ``y = (p, b_x, b_y, b_w, b_h, c_1..c_K)``.

Course notes, "Object Localization": for an image with at most one object, ``p`` says
whether there is one, ``(b_x, b_y)`` is its centre and ``(b_w, b_h)`` its width and height,
all as fractions of the image, and ``c`` its class. The loss is
:class:`kerasdl.detection.losses.LocalizationLoss` (logistic for ``p``, squared error for the
box, cross-entropy for the class, box and class masked out when ``p = 0``); the builder is
:func:`kerasdl.detection.yolo.localizer`. A localizer trained on crops and convolutionalized is
the notes' sliding-window detector (:mod:`kerasdl.detection.sliding_window`).
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_int, check_shape
from kerasdl.detection.boxes import centers_to_corners, corners_to_centers

__all__ = ["decode_localization", "encode_localization", "localization_head"]


def localization_head(x, num_classes: int, name: str = "localization"):
    """The output layer: ``Dense(5 + K)``, raw (logit for ``p`` and the classes, linear box)."""
    import keras

    num_classes = check_int("num_classes", num_classes, minimum=1)
    return keras.layers.Dense(5 + num_classes, name=name)(x)


def encode_localization(boxes, labels, image_size, num_classes: int):
    """Targets ``(N, 5 + K)`` for images holding zero or one object each.

    ``boxes``/``labels``: per image an ``(n, 4)`` corner-box array (pixels) and ``(n,)``
    labels with ``n ∈ {0, 1}``. Images without an object get ``p = 0`` and zeros elsewhere.
    """
    height, width = check_shape("image_size", image_size, ndim=2)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    if len(boxes) != len(labels):
        raise ValueError(f"got boxes for {len(boxes)} images but labels for {len(labels)}")
    y = np.zeros((len(boxes), 5 + num_classes), np.float32)
    for n, (b, lab) in enumerate(zip(boxes, labels)):
        b = np.asarray(b, np.float32).reshape(-1, 4)
        lab = np.asarray(lab).reshape(-1)
        if len(b) > 1 or len(b) != len(lab):
            raise ValueError(f"image {n}: single-object localization needs at most one box, got {len(b)}")
        if len(b):
            if not 0 <= int(lab[0]) < num_classes:
                raise ValueError(f"image {n}: label {int(lab[0])} not in [0, {num_classes})")
            y[n, 0] = 1.0
            y[n, 1:5] = corners_to_centers(b[0]) / np.array([width, height, width, height], np.float32)
            y[n, 5 + int(lab[0])] = 1.0
    return y


def decode_localization(raw, image_size):
    """Raw localizer output ``(..., 5 + K)`` → ``(p, boxes, class_probs)`` (NumPy).

    ``p = σ(raw_0)``, boxes are corner boxes in pixels of an ``image_size = (height, width)``
    image, class probabilities the softmax of the class logits.
    """
    height, width = (float(v) for v in image_size)
    raw = np.asarray(raw, np.float32)
    p = 1.0 / (1.0 + np.exp(-raw[..., 0]))
    boxes = centers_to_corners(raw[..., 1:5] * np.array([width, height, width, height], np.float32))
    logits = raw[..., 5:] - raw[..., 5:].max(axis=-1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return p, boxes, probs
