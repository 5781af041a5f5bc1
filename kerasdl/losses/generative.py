"""Moved to :mod:`kerasdl.generative.losses` (the generative family's home): the generative losses.

Kept so imports of ``kerasdl.losses.generative`` still work; :mod:`kerasdl.losses` re-exports them too.
"""

from kerasdl.generative.losses import (
    bernoulli_reconstruction,
    check_label_smoothing,
    discriminator_loss,
    gaussian_kl,
    generator_loss,
    mean_pixel_crossentropy,
)

__all__ = [
    "bernoulli_reconstruction",
    "check_label_smoothing",
    "discriminator_loss",
    "gaussian_kl",
    "generator_loss",
    "mean_pixel_crossentropy",
]
