"""The generative task family's home: autoencoders, variational autoencoders and GANs.

Each family's pieces sit side by side here:

=======================  ===============================================================
module                   what lives there
=======================  ===============================================================
``gan_networks``         ``gan_mlp``, ``dcgan``: (generator, discriminator) builders
``gan``                  ``GAN`` / ``ConditionalGAN`` (custom ``train_step``), ``build_gan``
``vae_networks``         ``vae_encoder``, ``vae_decoder`` (``Sampling`` is a general layer,
                         :mod:`kerasdl.layers.sampling`)
``vae``                  ``VAE`` (custom ``train_step``), ``latent_manifold``
``autoencoder_networks`` ``dense_autoencoder``, ``conv_autoencoder``, ``autoencoder(kind)``,
                         ``AutoencoderParts``
``autoencoder``          ``DenoisingAutoencoder`` (custom ``train_step``), ``corrupt``
``losses``               ELBO terms, GAN discriminator / generator losses (per example)
``callbacks``            ``SampleGrid``, ``InceptionScoreCurve``, image-grid helpers
``evaluation``           MNIST-analogue Inception Score / Fréchet distance, ``sample_scores``
``export``               ``export_image_generator`` / ``verify_export`` (SavedModel)
``flows``                ``train_and_score_gan``: the training-and-scoring loop of
                         ``benchmarks/generative.py``
=======================  ===============================================================

Import direction: this package uses the core (:mod:`kerasdl.layers`, :mod:`kerasdl.training`
helpers, :mod:`kerasdl.data`, :mod:`kerasdl.export`); the apps (``kerasdl.apps.gan``,
``vae``, ``autoencoder``) and benchmarks use it. For compatibility the builders are also
exported by :mod:`kerasdl.models`, the models and callbacks by :mod:`kerasdl.training`, the
losses by :mod:`kerasdl.losses` and the scores by :mod:`kerasdl.evaluation`.

The names below resolve on first use, so ``import kerasdl.generative`` stays cheap and the
backend-neutral modules (networks, losses, evaluation) import under Keras' JAX backend
without pulling in TensorFlow.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "gan_networks": ("dcgan", "gan_mlp"),
    "gan": ("GAN", "ConditionalGAN", "build_gan"),
    "vae_networks": ("vae_decoder", "vae_encoder"),
    "vae": ("VAE", "latent_manifold"),
    # not the autoencoder(kind) function: ``kerasdl.generative.autoencoder`` is the module
    "autoencoder_networks": ("AutoencoderParts", "conv_autoencoder", "dense_autoencoder"),
    "autoencoder": ("DenoisingAutoencoder", "corrupt"),
    "losses": (
        "bernoulli_reconstruction",
        "discriminator_loss",
        "gaussian_kl",
        "generator_loss",
        "mean_pixel_crossentropy",
    ),
    "callbacks": ("InceptionScoreCurve", "SampleGrid", "save_image_grid", "tile_images", "to_uint8"),
    "evaluation": (
        "GenerativeEvaluator",
        "frechet_distance_from_stats",
        "inception_score_from_probs",
        "inception_score_parts",
        "round_parts",
        "sample_scores",
    ),
    "export": ("export_image_generator", "verify_export"),
    "flows": ("train_and_score_gan",),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
