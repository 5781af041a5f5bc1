"""MobileNet blocks: the depthwise-separable block (v1) and the inverted residual block (v2).

* A. G. Howard, M. Zhu, B. Chen, D. Kalenichenko, W. Wang, T. Weyand, M. Andreetto and
  H. Adam, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
  Applications", arXiv:1704.04861 (2017), figure 3.
* M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, "MobileNetV2: Inverted
  Residuals and Linear Bottlenecks", arXiv:1801.04381 (CVPR 2018), table 1.

A depthwise-separable convolution splits a standard ``f x f`` convolution into a depthwise
``f x f`` convolution (one filter per input channel) and a pointwise 1x1 convolution that
mixes the channels. Its cost relative to the standard convolution is ``1/N + 1/f**2`` for
``N`` output channels (Howard et al., section 3.1): going from 6x6x3 to 4x4x5 with 3x3
kernels costs 4*4*5*3*3*3 = 2,160 multiplications as one convolution and
4*4*3*3*3 + 4*4*3*5 = 432 + 240 = 672 separated, a ratio of 1/5 + 1/9 = 0.311.

The layer names, padding and BatchNormalization settings are those of
``keras.applications.MobileNet`` / ``MobileNetV2``, so their ImageNet weight files load
into the models built from these blocks.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_int
from kerasdl.layers.blocks import correct_pad, make_divisible

# MobileNetV2's BatchNormalization (as in TF-slim and keras.applications).
_V2_BN = {"epsilon": 1e-3, "momentum": 0.999}


def depthwise_separable_block(x, pointwise_filters, *, strides=1, depth_multiplier=1, block_id):
    """MobileNet v1 block: depthwise 3x3 → BN → ReLU6 → pointwise 1x1 → BN → ReLU6.

    Args:
        x: 4-D channels-last tensor.
        pointwise_filters: output channels of the pointwise 1x1 convolution (already
            multiplied by the width multiplier ``alpha``).
        strides: 1, or 2 to halve the size. A stride-2 block pads one row and one column
            at the bottom/right (``conv_pad_{block_id}``) and uses a "valid" window, as
            ``keras.applications.MobileNet`` does (output ``floor(n / 2)``).
        depth_multiplier: depthwise output channels per input channel (the paper's
            resolution-independent "depth multiplier"; 1 in the paper).
        block_id: number in the layer names ``conv_dw_{id}``, ``conv_dw_{id}_bn``,
            ``conv_dw_{id}_relu``, ``conv_pw_{id}``, ``conv_pw_{id}_bn``, ``conv_pw_{id}_relu``.

    Parameters: ``9*C*m`` (depthwise) + ``C*m*N`` (pointwise) weights and 4 BN values per
    channel (gamma, beta, moving mean and variance), with no biases.
    """
    check_int("pointwise_filters", pointwise_filters, minimum=1)
    check_choice("strides", strides, [1, 2])
    check_int("depth_multiplier", depth_multiplier, minimum=1)
    check_int("block_id", block_id, minimum=0)
    if strides == 2:
        x = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = keras.layers.DepthwiseConv2D(
        3,
        strides=strides,
        padding="same" if strides == 1 else "valid",
        depth_multiplier=depth_multiplier,
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(x)
    x = keras.layers.BatchNormalization(name=f"conv_dw_{block_id}_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = keras.layers.Conv2D(pointwise_filters, 1, padding="same", use_bias=False, name=f"conv_pw_{block_id}")(x)
    x = keras.layers.BatchNormalization(name=f"conv_pw_{block_id}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def inverted_residual_block(x, filters, *, alpha=1.0, stride=1, expansion=6, block_id):
    """MobileNetV2 block: 1x1 expand → BN → ReLU6 → 3x3 depthwise → BN → ReLU6 → 1x1 project → BN.

    The projection is linear (no activation: the "linear bottleneck" of Sandler et al.),
    and the block's input is added back only when ``stride == 1`` and the input and output channel
    counts are equal.

    Args:
        x: 4-D channels-last tensor with ``C`` channels.
        filters: output channels before the width multiplier; the block outputs
            ``make_divisible(int(filters * alpha), 8)`` channels.
        alpha: width multiplier.
        stride: 1 or 2 (a stride-2 block zero-pads first, ``{prefix}pad``).
        expansion: the expand convolution has ``expansion * C`` channels (6 in the paper);
            with 1 there is no expand convolution (MobileNetV2's first block).
        block_id: 0 names the layers ``expanded_conv_*``; others
            ``block_{id}_expand``, ``block_{id}_expand_BN``, ``block_{id}_expand_relu``,
            ``block_{id}_pad``, ``block_{id}_depthwise``, ``block_{id}_depthwise_BN``,
            ``block_{id}_depthwise_relu``, ``block_{id}_project``,
            ``block_{id}_project_BN``, ``block_{id}_add``, as in ``keras.applications``.
    """
    check_int("filters", filters, minimum=1)
    check_choice("stride", stride, [1, 2])
    check_int("expansion", expansion, minimum=1)
    check_int("block_id", block_id, minimum=0)
    in_channels = x.shape[-1]
    out_channels = make_divisible(int(filters * alpha), 8)
    inputs = x
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    if expansion > 1:
        x = keras.layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = keras.layers.BatchNormalization(**_V2_BN, name=f"{prefix}expand_BN")(x)
        x = keras.layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = keras.layers.ZeroPadding2D(correct_pad((x.shape[1], x.shape[2]), 3), name=f"{prefix}pad")(x)
    x = keras.layers.DepthwiseConv2D(
        3, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False, name=f"{prefix}depthwise"
    )(x)
    x = keras.layers.BatchNormalization(**_V2_BN, name=f"{prefix}depthwise_BN")(x)
    x = keras.layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = keras.layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = keras.layers.BatchNormalization(**_V2_BN, name=f"{prefix}project_BN")(x)
    if stride == 1 and in_channels == out_channels:
        x = keras.layers.Add(name=f"{prefix}add")([inputs, x])
    return x
