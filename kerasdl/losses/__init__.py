"""Losses Keras lacks, one module per task family (generative, evidential, detection,
metric learning, style transfer). Each is a plain function ``loss(y_true, y_pred)`` or a
registered ``keras.losses.Loss`` subclass, with the formula and paper in its docstring."""

from kerasdl.losses.detection import LocalizationLoss, YoloLoss
from kerasdl.losses.generative import (
    bernoulli_reconstruction,
    discriminator_loss,
    gaussian_kl,
    generator_loss,
    mean_pixel_crossentropy,
)

__all__ = [
    "LocalizationLoss", "YoloLoss", "bernoulli_reconstruction", "discriminator_loss", "gaussian_kl",
    "generator_loss", "mean_pixel_crossentropy",
]
