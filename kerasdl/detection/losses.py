"""Detection losses: the single-object localization loss and the YOLO grid loss.

Both take ``y_pred`` as the network's *raw* output (logits; activations are applied here,
in the numerically stable from-logits forms: ``keras.ops.binary_crossentropy`` /
``categorical_crossentropy(..., from_logits=True)``, which are TensorFlow's
``sigmoid_cross_entropy_with_logits`` / ``softmax_cross_entropy_with_logits`` on that backend)
and return one loss per example, which Keras averages over the (global) batch. Written with
``keras.ops`` only, so they run on any Keras backend.
"""

from __future__ import annotations

import functools
import operator

import keras
from keras import ops

from kerasdl._validation import check_float

__all__ = ["LocalizationLoss", "YoloLoss"]


@keras.saving.register_keras_serializable(package="kerasdl")
class LocalizationLoss(keras.losses.Loss):
    """The course notes' classification-with-localization loss ("Object Localization").

    ``y = (p, b_x, b_y, b_w, b_h, c_1..c_K)``; per example

        L = BCE(p, σ(p̂)) + p · [box_weight · Σ (b − b̂)² + class_weight · CE(c, softmax(ĉ))]

    logistic loss for the object flag, squared error for the box, cross-entropy for the
    class; the box and class terms are masked out when ``p = 0`` ("if p=0 the remaining
    values don't matter").
    """

    def __init__(self, box_weight: float = 1.0, class_weight: float = 1.0, name="localization_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.box_weight = check_float("box_weight", box_weight, minimum=0.0)
        self.class_weight = check_float("class_weight", class_weight, minimum=0.0)

    def components(self, y_true, y_pred) -> dict:
        """Per-example ``object``, ``box`` and ``class`` terms (box/class already masked)."""
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        p = y_true[..., 0]
        obj = ops.binary_crossentropy(p, y_pred[..., 0], from_logits=True)
        box = ops.sum(ops.square(y_pred[..., 1:5] - y_true[..., 1:5]), axis=-1)
        cls = ops.categorical_crossentropy(y_true[..., 5:], y_pred[..., 5:], from_logits=True)
        return {"object": obj, "box": p * self.box_weight * box, "class": p * self.class_weight * cls}

    def call(self, y_true, y_pred):
        return functools.reduce(operator.add, self.components(y_true, y_pred).values())

    def get_config(self):
        return {**super().get_config(), "box_weight": self.box_weight, "class_weight": self.class_weight}


@keras.saving.register_keras_serializable(package="kerasdl")
class YoloLoss(keras.losses.Loss):
    """YOLO loss on the ``(N, S, S, B, 5 + C)`` grid of :func:`kerasdl.detection.encode_targets`.

    Redmon et al., "You Only Look Once", CVPR 2016, eq. (3), in YOLOv2's parametrisation
    (sigmoid cell offsets, log-space sizes relative to the anchor) and with logistic
    objectness/softmax classes instead of squared errors. With ``1_obj`` the target's
    ``p`` (1 in a responsible cell/anchor slot):

        objectness  Σ 1_obj · BCE(1, σ(t_o)) + λ_noobj · Σ (1 − 1_obj) · BCE(0, σ(t_o))
        box         λ_coord · Σ 1_obj · [(σ(t_x) − b_x)² + (σ(t_y) − b_y)² + (t_w − b_w)² + (t_h − b_h)²]
        class       λ_class · Σ 1_obj · CE(c, softmax(t_c))

    summed over the grid of each image. ``λ_coord = 5`` and ``λ_noobj = 0.5`` are the paper's.
    """

    def __init__(
        self,
        lambda_coord: float = 5.0,
        lambda_noobj: float = 0.5,
        lambda_class: float = 1.0,
        name="yolo_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.lambda_coord = check_float("lambda_coord", lambda_coord, minimum=0.0)
        self.lambda_noobj = check_float("lambda_noobj", lambda_noobj, minimum=0.0)
        self.lambda_class = check_float("lambda_class", lambda_class, minimum=0.0)

    def components(self, y_true, y_pred) -> dict:
        """Per-example ``objectness``, ``box`` and ``class`` terms."""
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        mask = y_true[..., 0]
        bce = ops.binary_crossentropy(mask, y_pred[..., 0], from_logits=True)
        objectness = mask * bce + self.lambda_noobj * (1.0 - mask) * bce
        xy = ops.sum(ops.square(ops.sigmoid(y_pred[..., 1:3]) - y_true[..., 1:3]), axis=-1)
        wh = ops.sum(ops.square(y_pred[..., 3:5] - y_true[..., 3:5]), axis=-1)
        cls = ops.categorical_crossentropy(y_true[..., 5:], y_pred[..., 5:], from_logits=True)
        per_image = lambda t: ops.sum(t, axis=(1, 2, 3))  # noqa: E731
        return {
            "objectness": per_image(objectness),
            "box": per_image(self.lambda_coord * mask * (xy + wh)),
            "class": per_image(self.lambda_class * mask * cls),
        }

    def call(self, y_true, y_pred):
        return functools.reduce(operator.add, self.components(y_true, y_pred).values())

    def get_config(self):
        return {
            **super().get_config(),
            "lambda_coord": self.lambda_coord,
            "lambda_noobj": self.lambda_noobj,
            "lambda_class": self.lambda_class,
        }
