"""Residual blocks (He et al. 2015, 2016), written once for every ResNet builder.

K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for image recognition",
CVPR 2016 (arXiv:1512.03385) — *post-activation* ("v1") blocks; and "Identity mappings in
deep residual networks", ECCV 2016 (arXiv:1603.05027) — *pre-activation* ("v2") blocks.

A residual block adds a shortcut to a small stack of convolutions, ``y = F(x) + shortcut(x)``:

* **basic** block: two 3x3 convolutions (ResNet-18/34 and the CIFAR ResNets);
* **bottleneck** block: 1x1 (reduce to ``filters``) → 3x3 → 1x1 (expand to
  ``4 * filters``, :data:`EXPANSION`) (ResNet-50/101/152).

The shortcut is the **identity** when the block keeps the shape (the "identity block" of
the course notes), or a **projection** — a 1x1 convolution with the block's stride, followed
by batch norm in v1 — when the channel count or the spatial size changes (the
"convolutional block"; option B of He et al. 2015).

* **v1** (post-activation): ``conv → BN → ReLU`` for each convolution but the last, whose
  ReLU comes after the addition: ``out = ReLU(BN(conv(...)) + shortcut)``.
* **v2** (pre-activation): ``BN → ReLU`` first (``_preact_bn``, ``_preact_relu``), then
  ``conv → BN → ReLU → ... → conv``; the sum is left unactivated, so the identity path
  runs clean through the network. A projection shortcut starts from the pre-activated
  tensor; an identity shortcut with a stride is subsampled by a 1x1 max pooling.

Layer names follow ``keras.applications`` (``{name}_0_conv``/``_0_bn`` for the projection,
``{name}_1_conv``, ``_1_bn``, ``_1_relu``, ``_2_pad``, ``_2_conv``, ..., ``{name}_add`` and
``{name}_out`` in v1, ``{name}_preact_bn``, ``_preact_relu`` and ``{name}_out`` in v2), and
the graph is wired in the same order, so ``keras.applications``' ResNet/ResNetV2 weight
files load into :mod:`kerasdl.models.resnet` unchanged. The one layer ``keras.applications``
leaves unnamed (the 1x1 max pooling subsampling a strided v2 identity shortcut) is named
``{name}_0_pool`` here; it has no weights.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_int

EXPANSION = 4
"""Output channels of a bottleneck block per bottleneck filter (He et al. 2015, Table 1)."""

BN_EPSILON = 1.001e-5
"""Batch-norm epsilon of ``keras.applications``' ResNets (kept for identical outputs)."""

SHORTCUT_CHOICES = ("auto", "identity", "projection")
STRIDE_AT_CHOICES = ("first", "last")


def _conv(x, filters, kernel_size, *, stride, use_bias, explicit_pad, init, reg, name):
    """A convolution; ``explicit_pad`` pads (k-1)/2 zeros on each side first (``{name}_pad``)
    instead of TensorFlow's ``'same'``, which pads asymmetrically when the stride is 2."""
    if kernel_size > 1 and explicit_pad:
        pad = (kernel_size - 1) // 2
        x = keras.layers.ZeroPadding2D(padding=((pad, pad), (pad, pad)), name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=stride,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer=init,
        kernel_regularizer=reg,
        name=f"{name}_conv",
    )(x)


def _bn(x, name):
    return keras.layers.BatchNormalization(axis=-1, epsilon=BN_EPSILON, name=name)(x)


def residual_block(
    x,
    filters: int,
    *,
    bottleneck: bool = False,
    preactivation: bool = False,
    stride: int = 1,
    shortcut: str = "auto",
    use_bias: bool = True,
    kernel_initializer="glorot_uniform",
    kernel_regularizer=None,
    name: str,
):
    """One residual block on ``x``; returns its output tensor.

    Args:
        x: a 4-D channels-last Keras tensor.
        filters: output channels of a basic block; bottleneck width of a bottleneck block
            (its output has ``4 * filters`` channels).
        bottleneck: ``False`` for the basic block (3x3, 3x3), ``True`` for the bottleneck
            block (1x1, 3x3, 1x1).
        preactivation: ``False`` for v1 (post-activation, He et al. 2015), ``True`` for v2
            (pre-activation, He et al. 2016).
        stride: spatial stride of the block (1 or 2 in the ResNets). v1 bottleneck blocks
            put it on the first 1x1 convolution (the original Caffe model and
            ``keras.applications.ResNet50``); every other block puts it on the first 3x3.
        shortcut: ``"identity"``, ``"projection"``, or ``"auto"``: identity when the block
            keeps the channel count and the stride is 1, projection otherwise. An identity
            shortcut with ``stride > 1`` is subsampled (``{name}_0_pool``, a 1x1 max pooling).
        use_bias: give the convolutions that are followed by batch norm a bias
            (``keras.applications`` v1 does; it is redundant with BN's beta). Convolutions
            *not* followed by batch norm (the last one and the projection of a v2 block)
            always have a bias.
        kernel_initializer: passed to every convolution.
        kernel_regularizer: passed to every convolution.
        name: prefix of the layer names, e.g. ``"conv2_block1"``.

    Raises:
        ValueError: a bad argument, or ``shortcut="identity"`` when the block changes the
            channel count.
    """
    filters = check_int("filters", filters, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    check_choice("bottleneck", bottleneck, [True, False])
    check_choice("preactivation", preactivation, [True, False])
    check_choice("shortcut", shortcut, SHORTCUT_CHOICES)
    check_choice("use_bias", use_bias, [True, False])
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")

    in_channels = x.shape[-1]
    out_channels = EXPANSION * filters if bottleneck else filters
    if shortcut == "auto":
        shortcut = "identity" if in_channels == out_channels and stride == 1 else "projection"
    if shortcut == "identity" and in_channels != out_channels:
        raise ValueError(
            f"shortcut='identity' needs the block to keep the channel count, but {name} maps "
            f"{in_channels} to {out_channels} channels; use shortcut='projection' or 'auto'"
        )

    # (kernel size, filters, stride) of the residual branch's convolutions.
    if bottleneck:
        s1, s2 = (stride, 1) if not preactivation else (1, stride)
        convs = [(1, filters, s1), (3, filters, s2), (1, out_channels, 1)]
    else:
        convs = [(3, filters, stride), (3, filters, 1)]
    conv_args = dict(init=kernel_initializer, reg=kernel_regularizer)

    if preactivation:
        preact = _bn(x, f"{name}_preact_bn")
        preact = keras.layers.Activation("relu", name=f"{name}_preact_relu")(preact)
        if shortcut == "projection":
            short = _conv(
                preact, out_channels, 1, stride=stride, use_bias=True, explicit_pad=False, name=f"{name}_0", **conv_args
            )
        elif stride > 1:
            short = keras.layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
        else:
            short = x
        y = preact
        for i, (k, f, s) in enumerate(convs, start=1):
            last = i == len(convs)
            y = _conv(y, f, k, stride=s, use_bias=use_bias or last, explicit_pad=True, name=f"{name}_{i}", **conv_args)
            if not last:
                y = _bn(y, f"{name}_{i}_bn")
                y = keras.layers.Activation("relu", name=f"{name}_{i}_relu")(y)
        return keras.layers.Add(name=f"{name}_out")([short, y])

    if shortcut == "projection":
        short = _conv(
            x, out_channels, 1, stride=stride, use_bias=use_bias, explicit_pad=False, name=f"{name}_0", **conv_args
        )
        short = _bn(short, f"{name}_0_bn")
    elif stride > 1:
        short = keras.layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    else:
        short = x
    y = x
    for i, (k, f, s) in enumerate(convs, start=1):
        y = _conv(y, f, k, stride=s, use_bias=use_bias, explicit_pad=s > 1, name=f"{name}_{i}", **conv_args)
        y = _bn(y, f"{name}_{i}_bn")
        if i < len(convs):
            y = keras.layers.Activation("relu", name=f"{name}_{i}_relu")(y)
    y = keras.layers.Add(name=f"{name}_add")([short, y])
    return keras.layers.Activation("relu", name=f"{name}_out")(y)


def basic_block(x, filters, *, stride=1, preactivation=False, shortcut="auto", name, **kwargs):
    """Basic residual block: two 3x3 convolutions (see :func:`residual_block`)."""
    return residual_block(
        x, filters, bottleneck=False, preactivation=preactivation, stride=stride, shortcut=shortcut, name=name, **kwargs
    )


def bottleneck_block(x, filters, *, stride=1, preactivation=False, shortcut="auto", name, **kwargs):
    """Bottleneck residual block: 1x1 → 3x3 → 1x1 with ``4 * filters`` outputs (see
    :func:`residual_block`)."""
    return residual_block(
        x, filters, bottleneck=True, preactivation=preactivation, stride=stride, shortcut=shortcut, name=name, **kwargs
    )


def identity_block(x, filters, *, bottleneck=False, preactivation=False, name, **kwargs):
    """The course notes' "identity block": stride 1 and an identity shortcut (input and
    output shapes are equal, so ``x`` is added unchanged)."""
    return residual_block(
        x,
        filters,
        bottleneck=bottleneck,
        preactivation=preactivation,
        stride=1,
        shortcut="identity",
        name=name,
        **kwargs,
    )


def convolutional_block(x, filters, *, stride=2, bottleneck=False, preactivation=False, name, **kwargs):
    """The course notes' "convolutional block": a projection shortcut (1x1 convolution with
    the block's stride, + BN in v1) matches a changed channel count and/or spatial size."""
    return residual_block(
        x,
        filters,
        bottleneck=bottleneck,
        preactivation=preactivation,
        stride=stride,
        shortcut="projection",
        name=name,
        **kwargs,
    )


def residual_stack(
    x,
    filters: int,
    blocks: int,
    *,
    stride: int = 2,
    stride_at: str = "first",
    bottleneck: bool = False,
    preactivation: bool = False,
    name: str,
    **kwargs,
):
    """``blocks`` residual blocks named ``{name}_block1`` ... ``{name}_block{blocks}``.

    The stage's down-sampling (``stride``) happens in the first block (``stride_at="first"``:
    He et al. 2015, ``keras.applications.ResNet50``) or in the last one (``"last"``:
    ``keras.applications.ResNet50V2`` and TF-slim's v2 models, with a subsampled identity
    shortcut there). The first block's shortcut is a projection when the channel count or
    size changes; every other block's is the identity. ``kwargs`` go to
    :func:`residual_block`.
    """
    blocks = check_int("blocks", blocks, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    check_choice("stride_at", stride_at, STRIDE_AT_CHOICES)
    common = dict(bottleneck=bottleneck, preactivation=preactivation, **kwargs)
    if stride_at == "first" or blocks == 1:
        x = residual_block(x, filters, stride=stride, name=f"{name}_block1", **common)
        for i in range(2, blocks + 1):
            x = residual_block(x, filters, shortcut="identity", name=f"{name}_block{i}", **common)
        return x
    x = residual_block(x, filters, name=f"{name}_block1", **common)
    for i in range(2, blocks):
        x = residual_block(x, filters, shortcut="identity", name=f"{name}_block{i}", **common)
    return residual_block(x, filters, stride=stride, shortcut="identity", name=f"{name}_block{blocks}", **common)
