"""EfficientNet-B0 ... B7 (Tan & Le 2019) from one builder driven by compound scaling.

M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019, arXiv:1905.11946.

**The baseline.** EfficientNet-B0 was found by a neural architecture search (as MnasNet):
a 3x3 stride-2 stem convolution, seven stages of MBConv blocks (inverted residuals with
squeeze-and-excitation, :mod:`kerasdl.layers.mbconv`), a 1x1 convolution to 1280 channels,
global average pooling, dropout and the classifier. :data:`B0_BLOCKS` is its table.

**Compound scaling.** Instead of scaling one dimension, scale depth ``d`` (layers), width
``w`` (channels) and resolution ``r`` (input size) together with one coefficient φ::

    d = α^φ,   w = β^φ,   r = γ^φ,   with α · β² · γ² ≈ 2,  α, β, γ >= 1

so that the FLOPs (proportional to d · w² · r²) grow by about 2^φ. A grid search at φ = 1
on B0 gave α = 1.2, β = 1.1, γ = 1.15 (paper, section 4); :func:`compound_scaling`
computes these multipliers for any φ.

**What the published models use.** B1–B7 in the paper's reference code (and in
``keras.applications``, whose weights we load) use the hand-rounded per-variant table
:data:`VARIANTS` — (width, depth, resolution, dropout) = (1.0, 1.0, 224, 0.2) for B0 up to
(2.0, 3.1, 600, 0.5) for B7 — not the exact powers: e.g. φ = 1 predicts depth 1.2,
width 1.1 and 1.15 · 224 ≈ 258 pixels, while B1 is (width 1.0, depth 1.1, 240 pixels).
The builders follow the table so parameter counts and weight files match
``keras.applications``; :func:`efficientnet` builds any other (width, depth) pair, e.g.
from :func:`compound_scaling`.

**Rounding, as keras.applications.** Filters: ``make_divisible(filters * width, 8)``
(nearest multiple of 8, never more than 10% below). Repeats: ``ceil(depth * repeats)``.
Stochastic depth ("drop connect"): block ``b`` (counted from 0 over all blocks of the
network) drops its residual branch with rate ``drop_connect_rate * b / total_blocks``, so
the rate grows linearly with depth (Huang et al. 2016).

**Preprocessing inside the model** (``include_preprocessing=True``, as keras.applications):
inputs are pixels in [0, 255]; ``rescaling`` divides by 255 and ``normalization`` (a
Keras ``Normalization`` layer, identity until loaded or adapted) subtracts the ImageNet
mean and divides by the standard deviation stored in the ImageNet weight file. With
``weights="imagenet"`` a third layer ``rescaling_1`` divides by ``sqrt(std)`` once more,
because the original implementation divided by the variance (see
tensorflow/tensorflow#49930); ``keras.applications`` adds the same layer.

**Small and 1-channel inputs.** Every stride-2 layer is zero-padded as TensorFlow's "same"
padding, so a side of ``n`` pixels becomes ``ceil(n / 2)``: any input of at least 1x1 gives
a valid (if tiny) feature map — ``keras.applications`` insists on 32x32 by convention,
kerasdl accepts e.g. 28x28x1 digits (final map 1x1). With random weights any channel count
works (the normalization layer has one mean/variance per channel); ImageNet weights need 3
channels and raise ``ValueError`` otherwise.

**Drop-in for keras.applications.** :func:`EfficientNetB0` ... :func:`EfficientNetB7` take
Keras' own arguments (``input_tensor``, ``classes``, ``weights="imagenet"`` by default,
``name``); the lower-case builders take ``input_tensor`` too. ``preprocess_input`` and
``decode_predictions`` are Keras' own from ``keras.applications.efficientnet`` (the models
preprocess inside, so ``preprocess_input`` returns its input). So
``from keras.applications.efficientnet import EfficientNetB0, preprocess_input`` becomes
``from kerasdl.models.efficientnet import EfficientNetB0, preprocess_input``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import keras
from keras.applications.efficientnet import decode_predictions, preprocess_input

from kerasdl._validation import check_choice, check_float, check_num_classes
from kerasdl.layers.blocks import (
    POOLING_CHOICES,
    check_activation,
    check_backbone_input_shape,
    global_pool,
    make_divisible,
    min_input_size,
)
from kerasdl.layers.blocks import correct_pad
from kerasdl.layers.mbconv import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER, mbconv_block
from kerasdl.models._keras_applications import image_input, keras_application, model_inputs, resolve_input_tensor
from kerasdl.models.weights import WeightsFile, check_weights, load_weights

__all__ = [
    "ALPHA",
    "B0_BLOCKS",
    "BETA",
    "GAMMA",
    "IMAGENET_STDDEV_RGB",
    "MIN_INPUT_SIZE",
    "VARIANTS",
    "BlockArgs",
    "CompoundScaling",
    "Variant",
    "compound_scaling",
    "drop_connect_rates",
    "efficientnet",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "preprocess_input",
    "decode_predictions",
    "round_filters",
    "round_repeats",
]

# --------------------------------------------------------------------------- the tables


@dataclass(frozen=True)
class BlockArgs:
    """One stage of MBConv blocks of the B0 baseline (before scaling)."""

    kernel_size: int
    repeats: int
    filters_in: int
    filters_out: int
    expand_ratio: int
    strides: int
    se_ratio: float = 0.25


# EfficientNet-B0 (paper, Table 1): stem 3x3/2 conv to 32, then these 7 stages, then 1x1 to 1280.
B0_BLOCKS = (
    BlockArgs(kernel_size=3, repeats=1, filters_in=32, filters_out=16, expand_ratio=1, strides=1),
    BlockArgs(kernel_size=3, repeats=2, filters_in=16, filters_out=24, expand_ratio=6, strides=2),
    BlockArgs(kernel_size=5, repeats=2, filters_in=24, filters_out=40, expand_ratio=6, strides=2),
    BlockArgs(kernel_size=3, repeats=3, filters_in=40, filters_out=80, expand_ratio=6, strides=2),
    BlockArgs(kernel_size=5, repeats=3, filters_in=80, filters_out=112, expand_ratio=6, strides=1),
    BlockArgs(kernel_size=5, repeats=4, filters_in=112, filters_out=192, expand_ratio=6, strides=2),
    BlockArgs(kernel_size=3, repeats=1, filters_in=192, filters_out=320, expand_ratio=6, strides=1),
)
STEM_FILTERS = 32
TOP_FILTERS = 1280
DEPTH_DIVISOR = 8


class Variant(NamedTuple):
    """Scaling of one published EfficientNet (the table of the reference code)."""

    width_coefficient: float
    depth_coefficient: float
    resolution: int
    dropout_rate: float


VARIANTS = {
    "b0": Variant(1.0, 1.0, 224, 0.2),
    "b1": Variant(1.0, 1.1, 240, 0.2),
    "b2": Variant(1.1, 1.2, 260, 0.3),
    "b3": Variant(1.2, 1.4, 300, 0.3),
    "b4": Variant(1.4, 1.8, 380, 0.4),
    "b5": Variant(1.6, 2.2, 456, 0.4),
    "b6": Variant(1.8, 2.6, 528, 0.5),
    "b7": Variant(2.0, 3.1, 600, 0.5),
}

# Compound-scaling constants found by grid search at phi = 1 (paper, section 4).
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
B0_RESOLUTION = 224

# keras.applications: ImageNet mean and std of RGB in [0, 1]; the std fix-up (see module doc).
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)

# Stem and the 4 stride-2 stages are "same"-padded stride-2 layers: n -> ceil(n / 2).
MIN_INPUT_SIZE = min_input_size(
    [(3, 2, "same")] + [(b.kernel_size, b.strides, "same") for b in B0_BLOCKS if b.strides == 2]
)

# keras.applications' EfficientNet weight files: md5 with and without the top.
_WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"
_WEIGHTS_MD5 = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}


def _imagenet_file(variant: str, include_top: bool) -> WeightsFile:
    file_name = f"efficientnet{variant}{'' if include_top else '_notop'}.h5"
    return WeightsFile(file_name, _WEIGHTS_URL + file_name, _WEIGHTS_MD5[variant][0 if include_top else 1])


# --------------------------------------------------------------------------- scaling arithmetic


class CompoundScaling(NamedTuple):
    """Multipliers of compound scaling for one φ (relative to B0)."""

    depth: float  # alpha ** phi
    width: float  # beta ** phi
    resolution: float  # gamma ** phi
    resolution_pixels: int  # round(224 * gamma ** phi)
    flops: float  # depth * width**2 * resolution**2, about 2 ** phi


def compound_scaling(phi, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> CompoundScaling:
    """Depth, width and resolution multipliers ``α^φ, β^φ, γ^φ`` for compound coefficient ``phi``.

    With the paper's α = 1.2, β = 1.1, γ = 1.15 (α·β²·γ² ≈ 1.92 ≈ 2) the FLOPs multiplier
    ``d·w²·r²`` is about ``2^φ``. ``resolution_pixels`` is ``round(224 · γ^φ)``. This is
    the paper's rule, given for reference: the published B1–B7 (:data:`VARIANTS`) use a
    hand-rounded table instead. Feed ``width``/``depth`` to :func:`efficientnet` to build
    a network scaled by the exact rule.

    >>> s = compound_scaling(1)
    >>> (s.depth, s.width, s.resolution, s.resolution_pixels)
    (1.2, 1.1, 1.15, 258)
    """
    phi = check_float("phi", phi, minimum=0.0)
    alpha = check_float("alpha", alpha, minimum=1.0)
    beta = check_float("beta", beta, minimum=1.0)
    gamma = check_float("gamma", gamma, minimum=1.0)
    depth, width, resolution = alpha**phi, beta**phi, gamma**phi
    return CompoundScaling(
        depth=depth,
        width=width,
        resolution=resolution,
        resolution_pixels=int(round(B0_RESOLUTION * resolution)),
        flops=depth * width**2 * resolution**2,
    )


def round_filters(filters: int, width_coefficient: float, divisor: int = DEPTH_DIVISOR) -> int:
    """Channels of a layer with ``filters`` in B0 after width scaling: ``make_divisible(filters * width)``."""
    return make_divisible(filters * width_coefficient, divisor)


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    """Blocks of a stage with ``repeats`` in B0 after depth scaling: ``ceil(depth * repeats)``."""
    return int(math.ceil(depth_coefficient * repeats))


def drop_connect_rates(depth_coefficient: float = 1.0, drop_connect_rate: float = 0.2, blocks=B0_BLOCKS) -> list[float]:
    """Stochastic-depth rate of every MBConv block, in order: ``drop_connect_rate * b / total``.

    Only blocks with a residual connection actually get a ``*_drop`` layer.
    """
    total = sum(round_repeats(args.repeats, depth_coefficient) for args in blocks)
    return [drop_connect_rate * b / total for b in range(total)]


# --------------------------------------------------------------------------- the builder


def _check_bool(name, value):
    return check_choice(name, value, [True, False])


def efficientnet(
    width_coefficient=1.0,
    depth_coefficient=1.0,
    *,
    default_size=B0_RESOLUTION,
    dropout_rate=0.2,
    drop_connect_rate=0.2,
    activation="swish",
    blocks=B0_BLOCKS,
    name="efficientnet",
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    input_tensor=None,
):
    """An EfficientNet with any width/depth scaling of the B0 baseline (random or file weights).

    The named builders :func:`efficientnet_b0` ... :func:`efficientnet_b7` call this with
    their row of :data:`VARIANTS` (and can load ImageNet weights); call it directly for
    other coefficients, e.g. ``efficientnet(s.width, s.depth, default_size=s.resolution_pixels)``
    with ``s = compound_scaling(1.5)``. ``weights`` here is ``None`` or a file path.
    """
    return _build(
        width_coefficient,
        depth_coefficient,
        default_size=default_size,
        dropout_rate=dropout_rate,
        drop_connect_rate=drop_connect_rate,
        activation=activation,
        blocks=blocks,
        name=name,
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        include_preprocessing=include_preprocessing,
        variant=None,
        input_tensor=input_tensor,
    )


def _build(
    width_coefficient,
    depth_coefficient,
    *,
    default_size,
    dropout_rate,
    drop_connect_rate,
    activation,
    blocks,
    name,
    include_top,
    weights,
    input_shape,
    pooling,
    num_classes,
    classifier_activation,
    include_preprocessing,
    variant,
    input_tensor=None,
):
    # ---- validate everything before building a layer
    width_coefficient = check_float("width_coefficient", width_coefficient, minimum=0.0, min_inclusive=False)
    depth_coefficient = check_float("depth_coefficient", depth_coefficient, minimum=0.0, min_inclusive=False)
    dropout_rate = check_float("dropout_rate", dropout_rate, minimum=0.0, maximum=1.0, max_inclusive=False)
    drop_connect_rate = check_float(
        "drop_connect_rate", drop_connect_rate, minimum=0.0, maximum=1.0, max_inclusive=False
    )
    activation = check_activation("activation", activation, allow_none=False)
    blocks = tuple(blocks)
    if not blocks or not all(isinstance(b, BlockArgs) and b.repeats >= 1 for b in blocks):
        raise ValueError(f"blocks must be a non-empty sequence of BlockArgs with repeats >= 1, got {blocks!r}")
    _check_bool("include_top", include_top)
    _check_bool("include_preprocessing", include_preprocessing)
    weights = check_weights(weights, imagenet_available=variant is not None)
    input_shape = check_backbone_input_shape(
        resolve_input_tensor(input_tensor, input_shape),
        include_top=include_top,
        min_size=MIN_INPUT_SIZE,
        default_size=default_size,
    )
    check_choice("pooling", pooling, POOLING_CHOICES)
    num_classes = check_num_classes(num_classes)
    classifier_activation = check_activation("classifier_activation", classifier_activation)
    if weights == "imagenet":
        if input_shape[2] != 3:
            raise ValueError(
                f"weights='imagenet' needs 3-channel (RGB) input, got input_shape={input_shape!r}; "
                "use weights=None for other channel counts"
            )
        if include_top and num_classes != 1000:
            raise ValueError(
                f"weights='imagenet' with include_top=True needs num_classes=1000, got {num_classes!r}; "
                "use include_top=False to put your own head on the backbone"
            )
        if include_top and classifier_activation not in (None, "softmax"):
            raise ValueError(
                "weights='imagenet' with include_top=True needs classifier_activation 'softmax' or "
                f"None, got {classifier_activation!r}"
            )

    if weights == "imagenet" and not include_preprocessing:
        # The official files hold the normalization layer's weights first: load them into
        # the full network, then copy every other layer's weights by name.
        full = _build_graph(
            width_coefficient,
            depth_coefficient,
            dropout_rate,
            drop_connect_rate,
            activation,
            blocks,
            name,
            include_top,
            input_shape,
            pooling,
            num_classes,
            classifier_activation,
            True,
            True,
        )
        load_weights(full, weights, _imagenet_file(variant, include_top))
        model = _build_graph(
            width_coefficient,
            depth_coefficient,
            dropout_rate,
            drop_connect_rate,
            activation,
            blocks,
            name,
            include_top,
            input_shape,
            pooling,
            num_classes,
            classifier_activation,
            False,
            False,
            input_tensor,
        )
        for layer in model.layers:
            if layer.weights:
                layer.set_weights(full.get_layer(layer.name).get_weights())
        return model

    model = _build_graph(
        width_coefficient,
        depth_coefficient,
        dropout_rate,
        drop_connect_rate,
        activation,
        blocks,
        name,
        include_top,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        weights == "imagenet",
        input_tensor,
    )
    imagenet_file = _imagenet_file(variant, include_top) if variant is not None else None
    return load_weights(model, weights, imagenet_file)


def _build_graph(
    width_coefficient,
    depth_coefficient,
    dropout_rate,
    drop_connect_rate,
    activation,
    blocks,
    name,
    include_top,
    input_shape,
    pooling,
    num_classes,
    classifier_activation,
    include_preprocessing,
    imagenet_std_fix,
    input_tensor=None,
):
    inputs = image_input(input_tensor, input_shape)
    x = inputs
    if include_preprocessing:
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescaling")(x)
        x = keras.layers.Normalization(axis=-1, name="normalization")(x)
        if imagenet_std_fix:
            x = keras.layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB], name="rescaling_1")(x)

    # Stem: 3x3 stride-2 conv, "same"-padded by hand as in the reference.
    x = keras.layers.ZeroPadding2D(padding=correct_pad(x.shape[1:3], 3), name="stem_conv_pad")(x)
    x = keras.layers.Conv2D(
        round_filters(STEM_FILTERS, width_coefficient),
        3,
        strides=2,
        padding="valid",
        use_bias=False,
        kernel_initializer=dict(CONV_KERNEL_INITIALIZER),
        name="stem_conv",
    )(x)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.Activation(activation, name="stem_activation")(x)

    # MBConv stages: the first block of a stage changes stride/filters, the others repeat.
    rates = iter(drop_connect_rates(depth_coefficient, drop_connect_rate, blocks))
    for stage, args in enumerate(blocks, start=1):
        filters_out = round_filters(args.filters_out, width_coefficient)
        for j in range(round_repeats(args.repeats, depth_coefficient)):
            x = mbconv_block(
                x,
                filters_out,
                kernel_size=args.kernel_size,
                strides=args.strides if j == 0 else 1,
                expand_ratio=args.expand_ratio,
                se_ratio=args.se_ratio,
                drop_rate=next(rates),
                activation=activation,
                name=f"block{stage}{_block_letter(j)}",
            )

    # Top: 1x1 conv to 1280 (scaled), then the classifier or the pooling switch.
    x = keras.layers.Conv2D(
        round_filters(TOP_FILTERS, width_coefficient),
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=dict(CONV_KERNEL_INITIALIZER),
        name="top_conv",
    )(x)
    x = keras.layers.BatchNormalization(name="top_bn")(x)
    x = keras.layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = keras.layers.Dense(
            num_classes,
            activation=classifier_activation,
            kernel_initializer=dict(DENSE_KERNEL_INITIALIZER),
            name="predictions",
        )(x)
    else:
        x = global_pool(x, pooling)
    return keras.Model(model_inputs(input_tensor, inputs), x, name=name)


def _block_letter(j: int) -> str:
    # a, b, c, ... as keras.applications (chr(97 + j)); B7's longest stage has 13 blocks.
    return chr(ord("a") + j)


# --------------------------------------------------------------------------- B0 ... B7


def _variant(
    key,
    include_top,
    weights,
    input_shape,
    pooling,
    num_classes,
    classifier_activation,
    include_preprocessing,
    drop_connect_rate,
    dropout_rate,
    input_tensor=None,
):
    spec = VARIANTS[key]
    return _build(
        spec.width_coefficient,
        spec.depth_coefficient,
        default_size=spec.resolution,
        dropout_rate=spec.dropout_rate if dropout_rate is None else dropout_rate,
        drop_connect_rate=drop_connect_rate,
        activation="swish",
        blocks=B0_BLOCKS,
        name=f"efficientnet{key}",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        include_preprocessing=include_preprocessing,
        variant=key,
        input_tensor=input_tensor,
    )


def efficientnet_b0(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B0 (Tan & Le 2019): the searched baseline, 224x224, 16 MBConv blocks.

    Width 1.0, depth 1.0, dropout 0.2. Parameters at 224x224x3 with 1000 classes:
    **5,330,571** with the top (as ``keras.applications.EfficientNetB0``; 7 of them are the
    normalization layer's mean/variance/count), 4,049,571 without.
    """
    return _variant(
        "b0",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


def efficientnet_b1(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B1 (Tan & Le 2019): width 1.0, depth 1.1, 240x240, dropout 0.2.

    Parameters at 240x240x3 with 1000 classes: **7,856,239** with the top (as
    ``keras.applications.EfficientNetB1``), 6,575,239 without.
    """
    return _variant(
        "b1",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


def efficientnet_b2(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B2 (Tan & Le 2019): width 1.1, depth 1.2, 260x260, dropout 0.3.

    Parameters at 260x260x3 with 1000 classes: **9,177,569** with the top (as
    ``keras.applications.EfficientNetB2``), 7,768,569 without.
    """
    return _variant(
        "b2",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


def efficientnet_b3(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B3 (Tan & Le 2019): width 1.2, depth 1.4, 300x300, dropout 0.3.

    Parameters at 300x300x3 with 1000 classes: **12,320,535** with the top (as
    ``keras.applications.EfficientNetB3``), 10,783,535 without.
    """
    return _variant(
        "b3",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


def efficientnet_b4(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B4 (Tan & Le 2019): width 1.4, depth 1.8, 380x380, dropout 0.4.

    Parameters at 380x380x3 with 1000 classes: **19,466,823** with the top (as
    ``keras.applications.EfficientNetB4``), 17,673,823 without.
    """
    return _variant(
        "b4",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


def efficientnet_b5(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B5 (Tan & Le 2019): width 1.6, depth 2.2, 456x456, dropout 0.4.

    Parameters at 456x456x3 with 1000 classes: **30,562,527** with the top (as
    ``keras.applications.EfficientNetB5``), 28,513,527 without.
    """
    return _variant(
        "b5",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


def efficientnet_b6(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B6 (Tan & Le 2019): width 1.8, depth 2.6, 528x528, dropout 0.5.

    Parameters at 528x528x3 with 1000 classes: **43,265,143** with the top (as
    ``keras.applications.EfficientNetB6``), 40,960,143 without.
    """
    return _variant(
        "b6",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


def efficientnet_b7(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    include_preprocessing=True,
    drop_connect_rate=0.2,
    dropout_rate=None,
    input_tensor=None,
):
    """EfficientNet-B7 (Tan & Le 2019): width 2.0, depth 3.1, 600x600, dropout 0.5.

    Parameters at 600x600x3 with 1000 classes: **66,658,687** with the top (as
    ``keras.applications.EfficientNetB7``), 64,097,687 without.
    """
    return _variant(
        "b7",
        include_top,
        weights,
        input_shape,
        pooling,
        num_classes,
        classifier_activation,
        include_preprocessing,
        drop_connect_rate,
        dropout_rate,
        input_tensor,
    )


_ARGS_DOC = """
    Args:
        include_top: include ``avg_pool`` → ``top_dropout`` → ``predictions`` after
            ``top_activation``.
        weights: ``None`` (random initialisation), ``"imagenet"`` (the file
            ``keras.applications`` uses, ``efficientnetbN[_notop].h5``, found in the data
            folder or Keras cache; see :mod:`kerasdl.models.weights`; needs 3 channels and,
            with the top, 1000 classes), or the path of a weights file.
        input_shape: ``(height, width, channels)``; defaults to the variant's resolution
            with 3 channels. Any size >= 1x1 works (stride-2 layers give ``ceil(n/2)``);
            without the top height and width may be ``None``.
        pooling: without the top, ``None`` (4-D output of ``top_activation``), ``"avg"`` or
            ``"max"``; ignored with the top.
        num_classes: number of classes of ``predictions`` (>= 1).
        classifier_activation: activation of ``predictions``: a Keras activation name, a
            callable, or ``None`` for logits.
        include_preprocessing: start with ``rescaling`` (1/255) and ``normalization``, so
            the model takes pixels in [0, 255] (as ``keras.applications``). ``False``: the
            model takes already-normalised inputs.
        drop_connect_rate: stochastic-depth rate of the last block (block ``b`` of ``B``
            uses ``drop_connect_rate * b / B``), in [0, 1).
        dropout_rate: dropout before ``predictions``; ``None`` uses the variant's value.
        input_tensor: a Keras tensor (``keras.Input(...)`` or a layer's output) to build the
            network on, as in ``keras.applications``; its shape is the input shape.

    Returns:
        A ``keras.Model``.
"""

for _builder in (
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
):
    if _builder.__doc__ is not None:  # None under python -OO
        _builder.__doc__ += _ARGS_DOC

EfficientNetB0 = keras_application(efficientnet_b0, "EfficientNetB0")
"""``keras.applications.EfficientNetB0`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b0`."""
EfficientNetB1 = keras_application(efficientnet_b1, "EfficientNetB1")
"""``keras.applications.EfficientNetB1`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b1`."""
EfficientNetB2 = keras_application(efficientnet_b2, "EfficientNetB2")
"""``keras.applications.EfficientNetB2`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b2`."""
EfficientNetB3 = keras_application(efficientnet_b3, "EfficientNetB3")
"""``keras.applications.EfficientNetB3`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b3`."""
EfficientNetB4 = keras_application(efficientnet_b4, "EfficientNetB4")
"""``keras.applications.EfficientNetB4`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b4`."""
EfficientNetB5 = keras_application(efficientnet_b5, "EfficientNetB5")
"""``keras.applications.EfficientNetB5`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b5`."""
EfficientNetB6 = keras_application(efficientnet_b6, "EfficientNetB6")
"""``keras.applications.EfficientNetB6`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b6`."""
EfficientNetB7 = keras_application(efficientnet_b7, "EfficientNetB7")
"""``keras.applications.EfficientNetB7`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`efficientnet_b7`."""
