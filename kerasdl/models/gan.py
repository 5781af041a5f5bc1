"""Moved to :mod:`kerasdl.generative.gan_networks` (the generative family's home): the GAN builders.

Kept so imports of ``kerasdl.models.gan`` still work; :mod:`kerasdl.models` re-exports them too.
"""

from kerasdl.generative.gan_networks import dcgan, gan_mlp

__all__ = ["dcgan", "gan_mlp"]
