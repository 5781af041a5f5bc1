"""Moved to :mod:`kerasdl.generative.vae_networks` (the generative family's home): the VAE encoder
and decoder builders.

Kept so imports of ``kerasdl.models.vae`` still work; :mod:`kerasdl.models` re-exports them too.
"""

from kerasdl.generative.vae_networks import KINDS, vae_decoder, vae_encoder

__all__ = ["KINDS", "vae_decoder", "vae_encoder"]
