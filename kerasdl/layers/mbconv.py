"""Squeeze-and-excitation and the MBConv (mobile inverted bottleneck) block of EfficientNet.

* Squeeze-and-excitation (SE): J. Hu, L. Shen and G. Sun, "Squeeze-and-Excitation
  Networks", CVPR 2018 (arXiv:1709.01507). Global-average-pool each channel ("squeeze"),
  pass the channel vector through a small bottleneck (reduce → activation → expand →
  sigmoid, "excitation") and multiply the feature map by the resulting per-channel gates
  in (0, 1): the block learns which channels to emphasise for this input.
* MBConv: the inverted residual of MobileNetV2 (M. Sandler et al., "MobileNetV2: Inverted
  Residuals and Linear Bottlenecks", CVPR 2018) with SE, as used by MnasNet and
  EfficientNet (M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for
  Convolutional Neural Networks", ICML 2019, arXiv:1905.11946)::

      [1x1 expand conv → BN → swish]        (only when expand_ratio != 1)
      kxk depthwise conv (stride s) → BN → swish
      SE (squeeze to max(1, int(filters_in * se_ratio)) channels)
      1x1 project conv → BN                  (linear bottleneck: no activation)
      [stochastic depth → + input]           (only when s == 1 and filters_in == filters_out)

  Stochastic depth (G. Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016;
  "drop connect" in the EfficientNet code) drops the whole residual branch of a sample
  during training: a ``Dropout`` with ``noise_shape=(None, 1, 1, 1)``, which zeroes the
  branch for some samples of the batch and scales the others by ``1 / (1 - rate)``.

Layer names are those of ``keras.applications.efficientnet`` (``{name}_expand_conv``,
``{name}_dwconv_pad``, ``{name}_dwconv``, ``{name}_bn``, ``{name}_se_squeeze``, ...,
``{name}_project_bn``, ``{name}_drop``, ``{name}_add``), in the same order, so the weight
files ``keras.applications`` publishes load into a network built from these blocks.

Blocks are functional-API helpers (Keras tensor in, Keras tensor out) built only from
Keras' own layers, so models using them save and load without custom objects.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_float, check_int
from kerasdl.layers.blocks import check_activation, correct_pad

__all__ = [
    "CONV_KERNEL_INITIALIZER",
    "DENSE_KERNEL_INITIALIZER",
    "mbconv_block",
    "se_filters",
    "squeeze_excite",
]

# He-style initialisation on the fan-out, truncated normal (the EfficientNet reference code).
CONV_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
# The classifier's initialisation: uniform with variance 1/(3 * fan_out).
DENSE_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}


def _initializer(value):
    # A dict config gives each layer its own initializer object (as keras.applications does).
    return dict(value) if isinstance(value, dict) else value


def se_filters(filters_in: int, se_ratio: float) -> int:
    """Bottleneck width of the SE block of an MBConv block: ``max(1, int(filters_in * se_ratio))``.

    EfficientNet squeezes relative to the block's *input* filters, not the expanded ones.
    """
    return max(1, int(filters_in * se_ratio))


def squeeze_excite(
    x,
    squeeze_filters: int,
    *,
    activation="swish",
    kernel_initializer=CONV_KERNEL_INITIALIZER,
    name: str,
):
    """Squeeze-and-excitation (Hu et al. 2018) of a 4-D channels-last tensor ``x``.

    ``{name}_se_squeeze`` (global average pool) → ``{name}_se_reshape`` (to 1x1xC) →
    ``{name}_se_reduce`` (1x1 conv to ``squeeze_filters``, ``activation``) →
    ``{name}_se_expand`` (1x1 conv back to C, sigmoid) → ``{name}_se_excite`` (``x * gates``).
    The output has the shape of ``x``; each channel is scaled by its own gate in (0, 1).
    Parameters: ``C * s + s`` (reduce) ``+ s * C + C`` (expand) for C channels and s =
    ``squeeze_filters``.
    """
    squeeze_filters = check_int("squeeze_filters", squeeze_filters, minimum=1)
    activation = check_activation("activation", activation)
    channels = x.shape[-1]
    if channels is None:
        raise ValueError(f"squeeze_excite needs a known channel count, got a tensor of shape {x.shape}")
    se = keras.layers.GlobalAveragePooling2D(name=f"{name}_se_squeeze")(x)
    se = keras.layers.Reshape((1, 1, channels), name=f"{name}_se_reshape")(se)
    se = keras.layers.Conv2D(
        squeeze_filters,
        1,
        padding="same",
        activation=activation,
        kernel_initializer=_initializer(kernel_initializer),
        name=f"{name}_se_reduce",
    )(se)
    se = keras.layers.Conv2D(
        channels,
        1,
        padding="same",
        activation="sigmoid",
        kernel_initializer=_initializer(kernel_initializer),
        name=f"{name}_se_expand",
    )(se)
    return keras.layers.Multiply(name=f"{name}_se_excite")([x, se])


def mbconv_block(
    x,
    filters_out: int,
    *,
    kernel_size: int = 3,
    strides: int = 1,
    expand_ratio: int = 1,
    se_ratio: float = 0.25,
    id_skip: bool = True,
    drop_rate: float = 0.0,
    activation="swish",
    kernel_initializer=CONV_KERNEL_INITIALIZER,
    name: str,
):
    """One MBConv block (inverted residual + SE) as in EfficientNet; layers named ``{name}_*``.

    Args:
        x: 4-D channels-last Keras tensor with a known channel count (``filters_in``).
        filters_out: channels of the block's output.
        kernel_size: size of the depthwise kernel (3 or 5 in EfficientNet).
        strides: 1 or 2; with 2 the input is zero-padded (``{name}_dwconv_pad``, see
            :func:`correct_pad`) and the depthwise conv is 'valid', halving the size.
        expand_ratio: the 1x1 expansion multiplies the channels by this (1: no expansion
            layers at all).
        se_ratio: SE bottleneck as a fraction of ``filters_in``, in (0, 1]; 0 disables SE.
        id_skip: allow the residual connection (used only when ``strides == 1`` and
            ``filters_in == filters_out``).
        drop_rate: stochastic-depth rate of the residual branch, in [0, 1); a
            ``{name}_drop`` Dropout layer with ``noise_shape=(None, 1, 1, 1)`` is added
            only when the block has a residual connection and ``drop_rate > 0``.
        activation: activation after the expansion and the depthwise conv (and in SE).
        kernel_initializer: initializer of every convolution kernel.
        name: block name, e.g. ``"block2a"``.

    Returns:
        The block's output tensor.
    """
    filters_in = x.shape[-1]
    if filters_in is None:
        raise ValueError(f"mbconv_block needs a known channel count, got a tensor of shape {x.shape}")
    filters_out = check_int("filters_out", filters_out, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    if strides not in (1, 2) or isinstance(strides, bool):
        raise ValueError(f"strides must be 1 or 2, got {strides!r}")
    expand_ratio = check_int("expand_ratio", expand_ratio, minimum=1)
    se_ratio = check_float("se_ratio", se_ratio, minimum=0.0, maximum=1.0)
    drop_rate = check_float("drop_rate", drop_rate, minimum=0.0, maximum=1.0, max_inclusive=False)
    activation = check_activation("activation", activation)
    if id_skip not in (True, False):
        raise ValueError(f"id_skip must be True or False, got {id_skip!r}")

    inputs = x
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = keras.layers.Conv2D(
            filters,
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=_initializer(kernel_initializer),
            name=f"{name}_expand_conv",
        )(x)
        x = keras.layers.BatchNormalization(name=f"{name}_expand_bn")(x)
        x = keras.layers.Activation(activation, name=f"{name}_expand_activation")(x)

    if strides == 2:
        x = keras.layers.ZeroPadding2D(padding=correct_pad(x.shape[1:3], kernel_size), name=f"{name}_dwconv_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    x = keras.layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        depthwise_initializer=_initializer(kernel_initializer),
        name=f"{name}_dwconv",
    )(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    x = keras.layers.Activation(activation, name=f"{name}_activation")(x)

    if se_ratio > 0:
        x = squeeze_excite(
            x,
            se_filters(filters_in, se_ratio),
            activation=activation,
            kernel_initializer=kernel_initializer,
            name=name,
        )

    x = keras.layers.Conv2D(
        filters_out,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=_initializer(kernel_initializer),
        name=f"{name}_project_conv",
    )(x)
    x = keras.layers.BatchNormalization(name=f"{name}_project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x
