"""Moved to :mod:`kerasdl.generative.gan` (the generative family's home): the GAN models.

Kept so imports of ``kerasdl.training.gan`` still work; :mod:`kerasdl.training` re-exports them too.
"""

from kerasdl.generative.gan import DEFAULT_LEARNING_RATE, ConditionalGAN, GAN

__all__ = ["ConditionalGAN", "DEFAULT_LEARNING_RATE", "GAN"]
