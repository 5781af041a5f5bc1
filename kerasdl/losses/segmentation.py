"""Segmentation losses and metrics: pixel cross-entropy, soft Dice, and the two combined.

Labels are integer class maps ``(batch, H, W)`` or ``(batch, H, W, 1)``; predictions are
per-pixel class probabilities ``(batch, H, W, classes)`` (a softmax output, e.g.
:func:`kerasdl.models.unet.unet`). Pixel cross-entropy is Keras' own
``SparseCategoricalCrossentropy``; Keras has no Dice loss, hence :class:`DiceLoss`.
Metrics are Keras' own: :func:`segmentation_metrics`.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_float, check_int


def _one_hot_labels(y_true, num_classes: int):
    labels = keras.ops.cast(y_true, "int32")
    if len(labels.shape) == 4:
        labels = keras.ops.squeeze(labels, axis=-1)
    return keras.ops.one_hot(labels, num_classes)


def soft_dice_loss(y_true, y_pred, smooth: float = 1.0):
    """Per-image soft Dice loss (Milletari et al. 2016, V-Net), averaged over classes.

    ``1 - (2 Σ p·t + s) / (Σ p + Σ t + s)`` per image and class, sums over the pixels; a
    class absent from both the label and the prediction scores a perfect 1. Returns
    shape ``(batch,)``.
    """
    y_pred = keras.ops.cast(y_pred, "float32")
    y_true = _one_hot_labels(y_true, y_pred.shape[-1])
    axes = (1, 2)
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    totals = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes)
    dice = (2.0 * intersection + smooth) / (totals + smooth)
    return 1.0 - keras.ops.mean(dice, axis=-1)


@keras.saving.register_keras_serializable(package="kerasdl")
class DiceLoss(keras.losses.Loss):
    """Soft Dice loss on integer labels and softmax probabilities (see :func:`soft_dice_loss`)."""

    def __init__(self, smooth: float = 1.0, name: str = "dice_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smooth = check_float("smooth", smooth, minimum=0.0)

    def call(self, y_true, y_pred):
        return soft_dice_loss(y_true, y_pred, self.smooth)

    def get_config(self):
        return {**super().get_config(), "smooth": self.smooth}


@keras.saving.register_keras_serializable(package="kerasdl")
class CrossEntropyDiceLoss(keras.losses.Loss):
    """``mean-over-pixels cross-entropy + dice_weight * soft Dice``, per image.

    Cross-entropy gives every pixel a gradient; Dice counters class imbalance (a small
    object is not drowned by the background).
    """

    def __init__(self, dice_weight: float = 1.0, smooth: float = 1.0, name: str = "ce_dice_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dice_weight = check_float("dice_weight", dice_weight, minimum=0.0)
        self.smooth = check_float("smooth", smooth, minimum=0.0)

    def call(self, y_true, y_pred):
        labels = keras.ops.cast(y_true, "int32")
        if len(labels.shape) == 4:
            labels = keras.ops.squeeze(labels, axis=-1)
        pixel_ce = keras.losses.sparse_categorical_crossentropy(labels, keras.ops.cast(y_pred, "float32"))
        return keras.ops.mean(pixel_ce, axis=(1, 2)) + self.dice_weight * soft_dice_loss(y_true, y_pred, self.smooth)

    def get_config(self):
        return {**super().get_config(), "dice_weight": self.dice_weight, "smooth": self.smooth}


SEGMENTATION_LOSSES = ("cross_entropy", "dice", "ce_dice")


def segmentation_loss(name: str = "ce_dice"):
    """``"cross_entropy"`` (Keras' SparseCategoricalCrossentropy), ``"dice"`` or ``"ce_dice"``."""
    if name == "cross_entropy":
        return keras.losses.SparseCategoricalCrossentropy(name="cross_entropy")
    if name == "dice":
        return DiceLoss()
    if name == "ce_dice":
        return CrossEntropyDiceLoss()
    raise ValueError(f"loss must be one of {list(SEGMENTATION_LOSSES)!r}, got {name!r}")


def segmentation_metrics(num_classes: int):
    """Keras' pixel accuracy and mean IoU (argmax of the probabilities vs integer labels)."""
    num_classes = check_int("num_classes", num_classes, minimum=2)
    return [
        keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"),
        keras.metrics.MeanIoU(num_classes, sparse_y_true=True, sparse_y_pred=False, name="mean_iou"),
    ]
