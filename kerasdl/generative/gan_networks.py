"""GAN generators and discriminators for 28x28 images, unconditional or class-conditional.

Every builder returns ``(generator, discriminator)``. Generators map a latent vector
``z ~ N(0, I)`` to images in [-1, 1] (tanh); discriminators output one **logit** (no
sigmoid: the losses in :mod:`kerasdl.generative.losses` work on logits, which is
numerically safer). With ``num_classes`` set, both take an integer class label as a
second input (a conditional GAN, Mirza & Osindero 2014): the generator concatenates a
one-hot label to ``z``; the discriminator sees the label as extra constant image channels
(DCGAN) or concatenated to the flattened image (MLP).

- :func:`gan_mlp`: fully connected networks, as in Goodfellow et al. 2014 (seed 003 §5.12:
  "fully connected layers with ReLU activations" generating 28x28 MNIST digits), here with
  the now-usual LeakyReLU(0.2) and dropout in the discriminator.
- :func:`dcgan`: Radford et al. 2016 guidelines (transposed convolutions with batch norm
  and ReLU-family activations in G, strided convolutions with LeakyReLU in D), sized as the
  TensorFlow DCGAN tutorial for MNIST: generator **2,330,944** parameters, discriminator
  **212,865** at a 100-D latent.

``spectral_norm=True`` wraps every weight layer of the discriminator (convolutions, dense
layers, the logit) in ``keras.layers.SpectralNormalization`` (Miyato et al. 2018, "Spectral
normalization for generative adversarial networks"): each kernel is divided by its largest
singular value, estimated by one power iteration per training step, which bounds D's Lipschitz
constant. The trainable parameter count is unchanged; each wrapped layer adds a non-trainable
vector ``u`` of its output width. Pair it with ``GAN(..., loss="hinge")``.
"""

from __future__ import annotations

import math

import keras

from kerasdl._validation import check_choice, check_float, check_image_shape, check_int, check_shape


def _check_common(latent_dim, image_shape, num_classes):
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    image_shape = check_image_shape("image_shape", image_shape)
    if num_classes is not None:
        num_classes = check_int("num_classes", num_classes, minimum=2)
    return latent_dim, image_shape, num_classes


def _generator_inputs(latent_dim, num_classes):
    z = keras.Input(shape=(latent_dim,), name="latent")
    if num_classes is None:
        return [z], z
    label = keras.Input(shape=(), dtype="int32", name="label")
    one_hot = keras.layers.CategoryEncoding(num_classes, output_mode="one_hot", name="label_one_hot")(label)
    return [z, label], keras.layers.Concatenate(name="latent_and_label")([z, one_hot])


def _discriminator_inputs(image_shape, num_classes):
    image = keras.Input(shape=image_shape, name="image")
    if num_classes is None:
        return [image], image, None
    label = keras.Input(shape=(), dtype="int32", name="label")
    one_hot = keras.layers.CategoryEncoding(num_classes, output_mode="one_hot", name="label_one_hot")(label)
    return [image, label], image, one_hot


def _model(inputs, outputs, name):
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=name)


def _weight_layer(layer, spectral_norm: bool):
    """``layer`` itself, or wrapped in ``keras.layers.SpectralNormalization`` (named ``<name>_sn``)."""
    if not spectral_norm:
        return layer
    return keras.layers.SpectralNormalization(layer, name=f"{layer.name}_sn", dtype=layer.dtype_policy)


def gan_mlp(
    latent_dim: int = 100,
    image_shape=(28, 28, 1),
    generator_units=(256, 512, 1024),
    discriminator_units=(1024, 512, 256),
    dropout: float = 0.3,
    num_classes: int | None = None,
    spectral_norm: bool = False,
):
    """Fully connected GAN: returns ``(generator, discriminator)``.

    Generator: ``generator_dense_{i}`` (``generator_units``, LeakyReLU 0.2) → ``generator_output``
    (prod(image_shape), tanh) → ``generator_reshape``. Discriminator: ``flatten`` →
    ``discriminator_dense_{i}`` (``discriminator_units``, LeakyReLU 0.2, dropout) → ``logit``.

    Parameters at the defaults (100-D latent, 28x28x1): generator 25,856 + 131,584 +
    525,312 + 803,600 = **1,486,352**; discriminator 803,840 + 524,800 + 131,328 + 257 =
    **1,460,225**. ``spectral_norm``: see the module docstring.
    """
    latent_dim, image_shape, num_classes = _check_common(latent_dim, image_shape, num_classes)
    generator_units = check_shape("generator_units", generator_units)
    discriminator_units = check_shape("discriminator_units", discriminator_units)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    check_choice("spectral_norm", spectral_norm, (True, False))

    inputs, x = _generator_inputs(latent_dim, num_classes)
    for i, units in enumerate(generator_units, start=1):
        x = keras.layers.Dense(units, name=f"generator_dense_{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"generator_lrelu_{i}")(x)
    x = keras.layers.Dense(math.prod(image_shape), activation="tanh", dtype="float32", name="generator_output")(x)
    image = keras.layers.Reshape(image_shape, dtype="float32", name="generator_reshape")(x)
    generator = _model(inputs, image, "mlp_generator")

    inputs, image_in, one_hot = _discriminator_inputs(image_shape, num_classes)
    x = keras.layers.Flatten(name="flatten")(image_in)
    if one_hot is not None:
        x = keras.layers.Concatenate(name="image_and_label")([x, one_hot])
    for i, units in enumerate(discriminator_units, start=1):
        x = _weight_layer(keras.layers.Dense(units, name=f"discriminator_dense_{i}"), spectral_norm)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"discriminator_lrelu_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"discriminator_dropout_{i}")(x)
    logit = _weight_layer(keras.layers.Dense(1, dtype="float32", name="logit"), spectral_norm)(x)
    discriminator = _model(inputs, logit, "mlp_discriminator")
    return generator, discriminator


def dcgan(
    latent_dim: int = 100,
    image_shape=(28, 28, 1),
    filters: int = 64,
    dropout: float = 0.3,
    num_classes: int | None = None,
    discriminator_filters: int | None = None,
    spectral_norm: bool = False,
):
    """DCGAN: returns ``(generator, discriminator)``; height and width divisible by 4.

    Generator: ``generator_dense`` (H/4·W/4·4f, no bias) → BN → LeakyReLU → reshape →
    ``generator_deconv_1`` (2f, 5x5, stride 1) → BN → LeakyReLU → ``generator_deconv_2``
    (f, 5x5, stride 2) → BN → LeakyReLU → ``generator_output`` (channels, 5x5, stride 2,
    tanh). Discriminator: ``discriminator_conv_1`` (f, 5x5, stride 2) → LeakyReLU(0.2) →
    dropout → ``discriminator_conv_2`` (2f, stride 2) → LeakyReLU → dropout → ``flatten``
    → ``logit``. ``f = filters`` (64 in the TensorFlow tutorial) in the generator, and in
    the discriminator unless ``discriminator_filters`` gives D its own width. ``spectral_norm``:
    D's convolutions and logit wrapped in ``keras.layers.SpectralNormalization`` (module docstring).
    """
    latent_dim, image_shape, num_classes = _check_common(latent_dim, image_shape, num_classes)
    filters = check_int("filters", filters, minimum=1)
    d_filters = (
        filters
        if discriminator_filters is None
        else check_int("discriminator_filters", discriminator_filters, minimum=1)
    )
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    check_choice("spectral_norm", spectral_norm, (True, False))
    if image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(f"image_shape={image_shape!r}: dcgan needs height and width divisible by 4")
    height, width, channels = image_shape

    inputs, x = _generator_inputs(latent_dim, num_classes)
    x = keras.layers.Dense(height // 4 * width // 4 * 4 * filters, use_bias=False, name="generator_dense")(x)
    x = keras.layers.BatchNormalization(name="generator_bn_0")(x)
    x = keras.layers.LeakyReLU(0.2, name="generator_lrelu_0")(x)
    x = keras.layers.Reshape((height // 4, width // 4, 4 * filters), name="generator_reshape")(x)
    for i, (f, stride) in enumerate(((2 * filters, 1), (filters, 2)), start=1):
        x = keras.layers.Conv2DTranspose(
            f, 5, strides=stride, padding="same", use_bias=False, name=f"generator_deconv_{i}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"generator_bn_{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"generator_lrelu_{i}")(x)
    image = keras.layers.Conv2DTranspose(
        channels,
        5,
        strides=2,
        padding="same",
        use_bias=False,
        activation="tanh",
        dtype="float32",
        name="generator_output",
    )(x)
    generator = _model(inputs, image, "dcgan_generator")

    inputs, x, one_hot = _discriminator_inputs(image_shape, num_classes)
    if one_hot is not None:  # the label as num_classes constant channels beside the image
        planes = keras.layers.RepeatVector(height * width, name="label_repeat")(one_hot)
        planes = keras.layers.Reshape((height, width, num_classes), name="label_planes")(planes)
        x = keras.layers.Concatenate(name="image_and_label")([x, planes])
    for i, f in enumerate((d_filters, 2 * d_filters), start=1):
        conv = keras.layers.Conv2D(f, 5, strides=2, padding="same", name=f"discriminator_conv_{i}")
        x = _weight_layer(conv, spectral_norm)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"discriminator_lrelu_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"discriminator_dropout_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logit = _weight_layer(keras.layers.Dense(1, dtype="float32", name="logit"), spectral_norm)(x)
    discriminator = _model(inputs, logit, "dcgan_discriminator")
    return generator, discriminator
