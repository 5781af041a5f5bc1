"""Encoders and decoders of a variational autoencoder (VAE) for 28x28 images.

The encoder outputs ``[z_mean, z_log_var, z]`` (``z`` drawn by the :class:`Sampling`
reparametrisation layer); the decoder maps a latent vector to Bernoulli pixel
probabilities in [0, 1]. Train them together with :class:`kerasdl.generative.vae.VAE`.

- ``kind="conv"`` is the keras.io VAE example (F. Chollet, "Variational AutoEncoder"):
  Conv 3x3/2 × 32 → Conv 3x3/2 × 64 → Dense 16 → μ, log σ²; decoder Dense 7·7·64 →
  ConvT 64 → ConvT 32 → ConvT 1 (sigmoid). Encoder **69,076** and decoder **65,089**
  parameters at a 2-D latent, as that example prints.
- ``kind="dense"`` is the MLP of Kingma & Welling 2014 (one hidden layer; they use 500
  units); ``hidden_units=(512, 256)`` stacks more layers (the decoder mirrors them).
"""

from __future__ import annotations

import math

import keras

from kerasdl._validation import check_choice, check_image_shape, check_int
from kerasdl.layers.sampling import Sampling

KINDS = ("conv", "dense")


def _hidden_widths(hidden_units) -> tuple:
    """``hidden_units`` (one width or a sequence of widths) as a non-empty tuple of widths."""
    widths = (hidden_units,) if isinstance(hidden_units, int) else tuple(hidden_units)
    if not widths:
        raise ValueError("hidden_units must hold at least one width, got ()")
    return tuple(check_int("hidden_units", w, minimum=1) for w in widths)


def _dense_names(prefix: str, count: int) -> list:
    """``prefix``, ``prefix_2``, ``prefix_3``, ...: the first keeps the one-layer model's name."""
    return [prefix if i == 0 else f"{prefix}_{i + 1}" for i in range(count)]


def vae_encoder(
    input_shape=(28, 28, 1), latent_dim: int = 2, kind: str = "conv", hidden_units=512, seed: int | None = None
) -> keras.Model:
    """VAE encoder → ``[z_mean, z_log_var, z]`` (layers ``z_mean``, ``z_log_var``, ``z``).

    ``conv``: ``encoder_conv_1`` (32, 3x3, stride 2, ReLU) → ``encoder_conv_2`` (64) →
    ``flatten`` → ``encoder_dense`` (16, ReLU). ``dense``: ``flatten`` → ``encoder_dense``
    (ReLU) for each width in ``hidden_units`` (one int or a sequence, e.g. ``(512, 256)``:
    ``encoder_dense``, ``encoder_dense_2``). ``conv`` needs height and width divisible by 4.
    """
    input_shape = check_image_shape("input_shape", input_shape)
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    check_choice("kind", kind, KINDS)
    inputs = keras.Input(shape=input_shape, name="image")
    if kind == "conv":
        if input_shape[0] % 4 or input_shape[1] % 4:
            raise ValueError(f"input_shape={input_shape!r}: kind='conv' needs height and width divisible by 4")
        x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="encoder_conv_1")(inputs)
        x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="encoder_conv_2")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(16, activation="relu", name="encoder_dense")(x)
    else:
        widths = _hidden_widths(hidden_units)
        x = keras.layers.Flatten(name="flatten")(inputs)
        for width, name in zip(widths, _dense_names("encoder_dense", len(widths))):
            x = keras.layers.Dense(width, activation="relu", name=name)(x)
    z_mean = keras.layers.Dense(latent_dim, dtype="float32", name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, dtype="float32", name="z_log_var")(x)
    z = Sampling(seed=seed, dtype="float32", name="z")([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name=f"{kind}_vae_encoder")


def vae_decoder(latent_dim: int = 2, output_shape=(28, 28, 1), kind: str = "conv", hidden_units=512) -> keras.Model:
    """VAE decoder: latent vector → pixel probabilities (layer ``reconstruction``, sigmoid).

    ``conv``: ``decoder_dense`` (H/4·W/4·64, ReLU) → ``decoder_reshape`` →
    ``decoder_deconv_1`` (64, 3x3, stride 2) → ``decoder_deconv_2`` (32, stride 2) →
    ``reconstruction`` (3x3 transposed conv, sigmoid). ``dense``: ``decoder_dense``
    (ReLU) for each width of ``hidden_units`` in reverse order (the encoder's mirror:
    ``(512, 256)`` gives ``decoder_dense`` 256 → ``decoder_dense_2`` 512) →
    ``reconstruction`` (sigmoid) → ``reshape``.
    """
    output_shape = check_image_shape("output_shape", output_shape)
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    check_choice("kind", kind, KINDS)
    inputs = keras.Input(shape=(latent_dim,), name="latent")
    if kind == "conv":
        if output_shape[0] % 4 or output_shape[1] % 4:
            raise ValueError(f"output_shape={output_shape!r}: kind='conv' needs height and width divisible by 4")
        fmap = (output_shape[0] // 4, output_shape[1] // 4, 64)
        x = keras.layers.Dense(math.prod(fmap), activation="relu", name="decoder_dense")(inputs)
        x = keras.layers.Reshape(fmap, name="decoder_reshape")(x)
        x = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu", name="decoder_deconv_1")(
            x
        )
        x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu", name="decoder_deconv_2")(
            x
        )
        outputs = keras.layers.Conv2DTranspose(
            output_shape[2], 3, padding="same", activation="sigmoid", dtype="float32", name="reconstruction"
        )(x)
    else:
        widths = _hidden_widths(hidden_units)[::-1]
        x = inputs
        for width, name in zip(widths, _dense_names("decoder_dense", len(widths))):
            x = keras.layers.Dense(width, activation="relu", name=name)(x)
        x = keras.layers.Dense(math.prod(output_shape), activation="sigmoid", dtype="float32", name="reconstruction")(x)
        outputs = keras.layers.Reshape(output_shape, dtype="float32", name="reshape")(x)
    return keras.Model(inputs, outputs, name=f"{kind}_vae_decoder")
