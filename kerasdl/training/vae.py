"""Moved to :mod:`kerasdl.generative.vae` (the generative family's home): the VAE model.

Kept so imports of ``kerasdl.training.vae`` still work; :mod:`kerasdl.training` re-exports them too.
"""

from kerasdl.generative.vae import VAE, latent_manifold

__all__ = ["VAE", "latent_manifold"]
