"""Dense and convolutional autoencoders with a configurable bottleneck.

Each builder returns :class:`AutoencoderParts` ``(encoder, decoder, autoencoder)``: the
encoder can be reused on its own (features for a classifier, the unsupervised pretraining
the IBM notes describe, seed 003 §5.12), the decoder maps codes back to images, and the
autoencoder is ``decoder(encoder(x))``. Outputs are sigmoid intensities in [0, 1].

The code layer (``code``) takes an optional sparsity penalty (:mod:`kerasdl.layers.sparsity`):
L1 or the KL sparsity target ρ, which needs ``code_activation="sigmoid"``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras

from kerasdl._validation import check_choice, check_image_shape, check_int, check_shape
from kerasdl.layers.sparsity import SPARSITY, sparsity_regularizer


class AutoencoderParts(NamedTuple):
    """What an autoencoder builder returns."""

    encoder: keras.Model
    decoder: keras.Model
    autoencoder: keras.Model


def _check_code(code_size, code_activation, sparsity):
    code_size = check_int("code_size", code_size, minimum=1)
    check_choice("sparsity", sparsity, SPARSITY)
    code_activation = check_choice("code_activation", code_activation, ("relu", "sigmoid", "linear", "tanh"))
    if sparsity == "kl" and code_activation != "sigmoid":
        raise ValueError(
            f"sparsity='kl' needs code_activation='sigmoid' (activations in (0, 1)), got {code_activation!r}"
        )
    return code_size, code_activation


def _join(encoder, decoder, input_shape, name):
    inputs = keras.Input(shape=input_shape, name="image")
    return keras.Model(inputs, decoder(encoder(inputs)), name=name)


def dense_autoencoder(
    input_shape=(28, 28, 1),
    code_size: int = 32,
    hidden_units=(256,),
    activation: str = "relu",
    code_activation: str = "relu",
    sparsity: str = "none",
    sparsity_weight: float = 1e-4,
    sparsity_target: float = 0.05,
) -> AutoencoderParts:
    """Fully connected autoencoder: flatten → hidden → ``code`` → mirrored hidden → image.

    Encoder: ``flatten`` → ``encoder_dense_{i}`` (``hidden_units``) → ``code`` (``code_size``,
    ``code_activation``, optional sparsity penalty). Decoder: ``decoder_dense_{i}`` (hidden
    units reversed) → ``reconstruction`` (sigmoid, prod(input_shape) units) → ``reshape``.

    Parameters at the defaults (784 → 256 → 32 → 256 → 784): 200,960 + 8,224 + 8,448 +
    201,488 = **419,120**.
    """
    input_shape = check_shape("input_shape", input_shape)
    hidden_units = tuple(check_int("hidden_units", u, minimum=1) for u in (hidden_units or ()))
    code_size, code_activation = _check_code(code_size, code_activation, sparsity)
    regularizer = sparsity_regularizer(sparsity, sparsity_weight, sparsity_target)
    size = math.prod(input_shape)

    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, activation=activation, name=f"encoder_dense_{i}")(x)
    code = keras.layers.Dense(code_size, activation=code_activation, activity_regularizer=regularizer, name="code")(x)
    encoder = keras.Model(inputs, code, name="encoder")

    code_in = keras.Input(shape=(code_size,), name="code_input")
    y = code_in
    for i, units in enumerate(reversed(hidden_units), start=1):
        y = keras.layers.Dense(units, activation=activation, name=f"decoder_dense_{i}")(y)
    y = keras.layers.Dense(size, activation="sigmoid", dtype="float32", name="reconstruction")(y)
    outputs = keras.layers.Reshape(input_shape, dtype="float32", name="reshape")(y)
    decoder = keras.Model(code_in, outputs, name="decoder")
    return AutoencoderParts(encoder, decoder, _join(encoder, decoder, input_shape, "dense_autoencoder"))


def conv_autoencoder(
    input_shape=(28, 28, 1),
    code_size: int = 16,
    filters=(32, 64),
    kernel_size: int = 3,
    code_activation: str = "linear",
    sparsity: str = "none",
    sparsity_weight: float = 1e-4,
    sparsity_target: float = 0.05,
) -> AutoencoderParts:
    """Convolutional autoencoder: strided 3x3 convolutions → dense ``code`` → transposed convolutions.

    Encoder: ``encoder_conv_{i}`` (``filters[i]``, stride 2, 'same', ReLU) → ``flatten`` →
    ``code``. Decoder: ``decoder_dense`` (to the last feature map) → ``decoder_reshape`` →
    ``decoder_deconv_{i}`` (filters reversed, stride 2, ReLU) → ``reconstruction`` (3x3
    conv, sigmoid). Height and width must be divisible by ``2 ** len(filters)``.

    Parameters at the defaults (28x28x1, 32/64 filters, 16-D code): encoder 320 + 18,496
    + 50,192 = 69,008; decoder 53,312 + 36,928 + 18,464 + 289 = 108,993; **178,001** in all.
    """
    input_shape = check_image_shape("input_shape", input_shape)
    filters = tuple(check_int("filters", f, minimum=1) for f in check_shape("filters", filters))
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    code_size, code_activation = _check_code(code_size, code_activation, sparsity)
    factor = 2 ** len(filters)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"input_shape={input_shape!r}: height and width must be divisible by {factor} "
            f"(2 ** len(filters), one stride-2 stage per filter count)"
        )
    regularizer = sparsity_regularizer(sparsity, sparsity_weight, sparsity_target)
    fmap = (input_shape[0] // factor, input_shape[1] // factor, filters[-1])

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = keras.layers.Conv2D(f, kernel_size, strides=2, padding="same", activation="relu", name=f"encoder_conv_{i}")(
            x
        )
    x = keras.layers.Flatten(name="flatten")(x)
    code = keras.layers.Dense(code_size, activation=code_activation, activity_regularizer=regularizer, name="code")(x)
    encoder = keras.Model(inputs, code, name="encoder")

    code_in = keras.Input(shape=(code_size,), name="code_input")
    y = keras.layers.Dense(math.prod(fmap), activation="relu", name="decoder_dense")(code_in)
    y = keras.layers.Reshape(fmap, name="decoder_reshape")(y)
    for i, f in enumerate(reversed(filters), start=1):
        y = keras.layers.Conv2DTranspose(
            f, kernel_size, strides=2, padding="same", activation="relu", name=f"decoder_deconv_{i}"
        )(y)
    outputs = keras.layers.Conv2D(
        input_shape[2], kernel_size, padding="same", activation="sigmoid", dtype="float32", name="reconstruction"
    )(y)
    decoder = keras.Model(code_in, outputs, name="decoder")
    return AutoencoderParts(encoder, decoder, _join(encoder, decoder, input_shape, "conv_autoencoder"))


def autoencoder(kind: str = "dense", **kwargs) -> AutoencoderParts:
    """``dense_autoencoder`` or ``conv_autoencoder`` by name."""
    check_choice("kind", kind, ("dense", "conv"))
    return (dense_autoencoder if kind == "dense" else conv_autoencoder)(**kwargs)
