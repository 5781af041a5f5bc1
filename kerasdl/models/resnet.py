"""Residual networks: ResNet-18/34/50/101/152 (v1), ResNet-50/101/152 v2, CIFAR ResNets.

* K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for image recognition",
  CVPR 2016, arXiv:1512.03385 ("He et al. 2015"): Table 1 (ImageNet ResNets) and §4.2
  (the CIFAR-10 ResNets of depth 6n+2).
* K. He, X. Zhang, S. Ren and J. Sun, "Identity mappings in deep residual networks",
  ECCV 2016, arXiv:1603.05027 ("He et al. 2016"): pre-activation (v2) units.

The blocks live in :mod:`kerasdl.layers.residual`. The ImageNet builders have the same
layers, names and wiring as ``keras.applications.ResNet50`` ... ``ResNet152V2`` (stem
``conv1_pad``/``conv1_conv``/``conv1_bn``/``conv1_relu``/``pool1_pad``/``pool1_pool``,
stages ``conv2`` ... ``conv5`` of ``convN_blockM_*`` layers, ``post_bn``/``post_relu`` in
v2, then ``avg_pool`` + ``predictions``), hence the same parameter counts, and
``weights="imagenet"`` loads the very files ``keras.applications`` uses
(:data:`IMAGENET_WEIGHTS`).

Parameter counts (``count_params()``, 224x224x3, 1000 classes, with the top; Keras counts
the batch-norm moving mean/variance too):

==================  ============  ==================================================
builder             parameters    notes
==================  ============  ==================================================
resnet18            11,699,112    trainable 11,689,512 = torchvision ``resnet18``
resnet34            21,814,696    trainable 21,797,672 = torchvision ``resnet34``
resnet50            25,636,712    = ``keras.applications.ResNet50``
resnet101           44,707,176    = ``keras.applications.ResNet101``
resnet152           60,419,944    = ``keras.applications.ResNet152``
resnet50_v2         25,613,800    = ``keras.applications.ResNet50V2``
resnet101_v2        44,675,560    = ``keras.applications.ResNet101V2``
resnet152_v2        60,380,648    = ``keras.applications.ResNet152V2``
resnet_cifar(20)    274,042       32x32x3, 10 classes (He et al. 2015: 0.27M)
resnet_cifar(110)   1,739,002     (He et al. 2015: 1.7M)
==================  ============  ==================================================

Drop-in for ``keras.applications``: :func:`ResNet50` ... :func:`ResNet152V2` take Keras' own
arguments (``input_tensor``, ``classes``, ``weights="imagenet"`` by default, ``name``); the
lower-case builders take ``input_tensor`` too. This module exports Keras' own
``preprocess_input`` / ``decode_predictions`` of ``keras.applications.resnet`` (v1: "caffe"
mode, BGR minus the ImageNet mean) and, as ``preprocess_input_v2`` / ``decode_predictions_v2``,
those of ``keras.applications.resnet_v2`` (v2: "tf" mode, [-1, 1]). So::

    from keras.applications.resnet import ResNet50, preprocess_input, decode_predictions
    from keras.applications.resnet_v2 import ResNet50V2, preprocess_input

become ``from kerasdl.models.resnet import ResNet50, preprocess_input, decode_predictions`` and
``from kerasdl.models.resnet import ResNet50V2, preprocess_input_v2 as preprocess_input``.
"""

from __future__ import annotations

import keras
from keras.applications.resnet import decode_predictions, preprocess_input
from keras.applications.resnet_v2 import decode_predictions as decode_predictions_v2
from keras.applications.resnet_v2 import preprocess_input as preprocess_input_v2

from kerasdl._validation import check_choice, check_image_shape, check_num_classes
from kerasdl.layers.blocks import (
    POOLING_CHOICES,
    check_activation,
    check_backbone_input_shape,
    classifier_head,
    min_input_size,
)
from kerasdl.layers.residual import BN_EPSILON, residual_stack
from kerasdl.models._keras_applications import image_input, keras_application, model_inputs, resolve_input_tensor
from kerasdl.models.weights import WeightsFile, check_weights, load_weights

__all__ = [
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet50_v2",
    "resnet101_v2",
    "resnet152_v2",
    "resnet_cifar",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet50V2",
    "ResNet101V2",
    "ResNet152V2",
    "preprocess_input",
    "decode_predictions",
    "preprocess_input_v2",
    "decode_predictions_v2",
    "IMAGENET_WEIGHTS",
    "CIFAR_DEPTHS",
]

DEFAULT_INPUT_SIZE = 224
STAGE_FILTERS = (64, 128, 256, 512)
# The padded convolutions and poolings accept any size, but the network halves the input
# five times (conv1, pool1, conv3, conv4, conv5): below 32x32 the last stages would see
# nothing but padding. keras.applications enforces the same minimum.
MIN_INPUT_SIZE = min_input_size([(2, 2, "valid")] * 5)

# Blocks per stage conv2..conv5 and block type (He et al. 2015, Table 1; He et al. 2016).
_ARCHITECTURES = {
    "resnet18": dict(blocks=(2, 2, 2, 2), bottleneck=False, preactivation=False),
    "resnet34": dict(blocks=(3, 4, 6, 3), bottleneck=False, preactivation=False),
    "resnet50": dict(blocks=(3, 4, 6, 3), bottleneck=True, preactivation=False),
    "resnet101": dict(blocks=(3, 4, 23, 3), bottleneck=True, preactivation=False),
    "resnet152": dict(blocks=(3, 8, 36, 3), bottleneck=True, preactivation=False),
    "resnet50_v2": dict(blocks=(3, 4, 6, 3), bottleneck=True, preactivation=True),
    "resnet101_v2": dict(blocks=(3, 4, 23, 3), bottleneck=True, preactivation=True),
    "resnet152_v2": dict(blocks=(3, 8, 36, 3), bottleneck=True, preactivation=True),
}

# keras.applications' ResNet weight files: file stem -> (md5 with the top, md5 without).
_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
_WEIGHTS_MD5 = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}


def _weights_file(stem, include_top):
    file_name = f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return WeightsFile(file_name, _WEIGHTS_URL + file_name, _WEIGHTS_MD5[stem][0 if include_top else 1])


IMAGENET_WEIGHTS = {
    (builder, include_top): _weights_file(builder.replace("_", ""), include_top)
    for builder in ("resnet50", "resnet101", "resnet152", "resnet50_v2", "resnet101_v2", "resnet152_v2")
    for include_top in (True, False)
}
"""``(builder name, include_top) -> WeightsFile``: the ``keras.applications`` ImageNet files.
resnet18/34 have none (``keras.applications`` publishes no ResNet-18/34)."""


def _check_imagenet_compatible(weights, input_shape, include_top, num_classes):
    if weights != "imagenet":
        return
    if input_shape[2] != 3:
        raise ValueError(f"weights='imagenet' needs 3 input channels (RGB), got input_shape={input_shape!r}")
    if include_top and num_classes != 1000:
        raise ValueError(
            "weights='imagenet' with include_top=True needs num_classes=1000 (the ImageNet "
            f"classifier), got num_classes={num_classes!r}; use include_top=False for other classes"
        )


def _resnet(
    name,
    *,
    include_top,
    weights,
    input_shape,
    pooling,
    num_classes,
    classifier_activation,
    input_tensor=None,
):
    """Build the ImageNet-style ResNet ``name`` of :data:`_ARCHITECTURES`.

    The one generic builder under :func:`resnet18` ... :func:`resnet152_v2` (as
    ``keras.applications``' ``ResNet()`` is under ``ResNet50`` ...): ``name`` picks the
    blocks per stage, basic or bottleneck blocks, and v1 or v2 (pre-activation) units.
    """
    arch = _ARCHITECTURES[name]
    preact = arch["preactivation"]
    keras_twin = arch["bottleneck"]  # the bottleneck nets mirror keras.applications exactly

    check_choice("include_top", include_top, [True, False])
    weights = check_weights(weights, imagenet_available=(name, include_top) in IMAGENET_WEIGHTS)
    input_shape = check_backbone_input_shape(
        resolve_input_tensor(input_tensor, input_shape),
        include_top=include_top,
        min_size=MIN_INPUT_SIZE,
        default_size=DEFAULT_INPUT_SIZE,
    )
    check_choice("pooling", pooling, POOLING_CHOICES)
    num_classes = check_num_classes(num_classes)
    classifier_activation = check_activation("classifier_activation", classifier_activation)
    _check_imagenet_compatible(weights, input_shape, include_top, num_classes)

    # keras.applications gives the stem convolution a bias, and every block convolution
    # too in v1 (in v2 only those not followed by batch norm), with Glorot-uniform kernels;
    # the basic-block nets follow torchvision/He et al.: no bias before BN, He-normal kernels.
    use_bias = keras_twin
    block_bias = keras_twin and not preact
    init = "glorot_uniform" if keras_twin else "he_normal"

    inputs = image_input(input_tensor, input_shape)
    x = keras.layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(inputs)
    x = keras.layers.Conv2D(64, 7, strides=2, use_bias=use_bias, kernel_initializer=init, name="conv1_conv")(x)
    if not preact:
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn")(x)
        x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = keras.layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

    for stage, (filters, blocks) in enumerate(zip(STAGE_FILTERS, arch["blocks"]), start=2):
        if preact:  # down-sample in the last block of conv2..conv4 (keras.applications v2)
            stride, stride_at = (1 if stage == 5 else 2), "last"
        else:  # down-sample in the first block of conv3..conv5 (He et al. 2015)
            stride, stride_at = (1 if stage == 2 else 2), "first"
        x = residual_stack(
            x,
            filters,
            blocks,
            stride=stride,
            stride_at=stride_at,
            bottleneck=arch["bottleneck"],
            preactivation=preact,
            use_bias=block_bias,
            kernel_initializer=init,
            name=f"conv{stage}",
        )
    if preact:
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="post_bn")(x)
        x = keras.layers.Activation("relu", name="post_relu")(x)

    outputs = classifier_head(
        x,
        num_classes,
        include_top=include_top,
        pooling=pooling,
        top_pooling="avg",
        classifier_activation=classifier_activation,
    )
    model = keras.Model(model_inputs(input_tensor, inputs), outputs, name=name)
    return load_weights(model, weights, IMAGENET_WEIGHTS.get((name, include_top)))


_ARGS_DOC = """
    Args:
        include_top: include ``avg_pool`` (global average pooling) and the classifier
            ``predictions``.
        weights: ``None`` (random initialisation), ``"imagenet"`` (the file
            ``keras.applications`` uses, found in the data folder or Keras cache; see
            :mod:`kerasdl.models.weights`; not available for ResNet-18/34), or the path of
            a weights file. ``"imagenet"`` needs 3 input channels and, with the top,
            ``num_classes=1000``.
        input_shape: ``(height, width, channels)``; defaults to ``(224, 224, 3)``.
            Height and width must be at least 32 (the network down-samples by 32); without
            the top they may be ``None``. The global average pooling makes any size >= 32
            work with the top too.
        pooling: without the top, ``None`` (4-D output of the last stage), ``"avg"`` or
            ``"max"`` (global pooling to a vector); ignored with the top.
        num_classes: number of classes of ``predictions`` (>= 1).
        classifier_activation: activation of ``predictions``: a Keras activation name, a
            callable, or ``None`` for logits.
        input_tensor: a Keras tensor (``keras.Input(...)`` or a layer's output) to build the
            network on, as in ``keras.applications``; its shape is the input shape.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: a bad argument (the message names it and what is allowed).
"""


def resnet18(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-18 (He et al. 2015, Table 1): basic blocks, 2-2-2-2 in stages conv2..conv5.

    Post-activation basic blocks (two 3x3 convolutions) with projection shortcuts where a
    stage starts (conv3..conv5), 64/128/256/512 filters. ``keras.applications`` has no
    ResNet-18, so this one follows torchvision's ``resnet18`` (and He et al.): convolutions
    have no bias (the following batch norm's beta makes it redundant), kernels are He-normal,
    and a strided 3x3 convolution pads one pixel on every side. Its **11,689,512 trainable
    parameters equal torchvision's count**; ``count_params()`` is **11,699,112** because
    Keras also counts the 9,600 batch-norm moving means/variances. (With conv biases as in
    ``keras.applications``' ResNet-50 it would have 4,800 more.) No ImageNet file exists:
    ``weights="imagenet"`` raises ``ValueError``.
    """
    return _resnet(
        "resnet18",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def resnet34(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-34 (He et al. 2015, Table 1): basic blocks, 3-4-6-3 in stages conv2..conv5.

    Built like :func:`resnet18`. **21,797,672 trainable parameters = torchvision's
    ``resnet34``**; ``count_params()`` is **21,814,696** (with 17,024 batch-norm moving
    statistics). No ImageNet file exists: ``weights="imagenet"`` raises ``ValueError``.
    """
    return _resnet(
        "resnet34",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def resnet50(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-50 (He et al. 2015, Table 1): bottleneck blocks, 3-4-6-3 in stages conv2..conv5.

    The same network as ``keras.applications.ResNet50`` (layer names, order, conv biases,
    stride on the first 1x1 of a down-sampling block): **25,636,712** parameters with the
    top (25,583,592 trainable), 23,587,712 without.
    """
    return _resnet(
        "resnet50",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def resnet101(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-101 (He et al. 2015, Table 1): bottleneck blocks, 3-4-23-3.

    The same network as ``keras.applications.ResNet101``: **44,707,176** parameters with
    the top.
    """
    return _resnet(
        "resnet101",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def resnet152(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-152 (He et al. 2015, Table 1): bottleneck blocks, 3-8-36-3.

    The same network as ``keras.applications.ResNet152``: **60,419,944** parameters with
    the top.
    """
    return _resnet(
        "resnet152",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def resnet50_v2(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-50 v2 (He et al. 2016): pre-activation bottleneck blocks, 3-4-6-3.

    BN → ReLU → conv ordering, unactivated sums, ``post_bn``/``post_relu`` before the head.
    The same network as ``keras.applications.ResNet50V2`` (down-sampling in the *last* block
    of conv2..conv4, subsampled identity shortcut there): **25,613,800** parameters with
    the top, 23,564,800 without.
    """
    return _resnet(
        "resnet50_v2",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def resnet101_v2(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-101 v2 (He et al. 2016): pre-activation bottleneck blocks, 3-4-23-3.

    The same network as ``keras.applications.ResNet101V2``: **44,675,560** parameters with
    the top.
    """
    return _resnet(
        "resnet101_v2",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def resnet152_v2(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """ResNet-152 v2 (He et al. 2016): pre-activation bottleneck blocks, 3-8-36-3.

    The same network as ``keras.applications.ResNet152V2``: **60,380,648** parameters with
    the top.
    """
    return _resnet(
        "resnet152_v2",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


for _builder in (resnet18, resnet34, resnet50, resnet101, resnet152, resnet50_v2, resnet101_v2, resnet152_v2):
    if _builder.__doc__ is not None:  # None under python -OO
        _builder.__doc__ += _ARGS_DOC
del _builder

ResNet50 = keras_application(resnet50, "ResNet50")
"""``keras.applications.ResNet50`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`resnet50`."""
ResNet101 = keras_application(resnet101, "ResNet101")
"""``keras.applications.ResNet101`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`resnet101`."""
ResNet152 = keras_application(resnet152, "ResNet152")
"""``keras.applications.ResNet152`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`resnet152`."""
ResNet50V2 = keras_application(resnet50_v2, "ResNet50V2")
"""``keras.applications.ResNet50V2`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`resnet50_v2`."""
ResNet101V2 = keras_application(resnet101_v2, "ResNet101V2")
"""``keras.applications.ResNet101V2`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`resnet101_v2`."""
ResNet152V2 = keras_application(resnet152_v2, "ResNet152V2")
"""``keras.applications.ResNet152V2`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`resnet152_v2`."""


# --------------------------------------------------------------------------- CIFAR ResNets

CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)
"""Depths 6n+2 that He et al. 2015 (Table 6) train on CIFAR-10."""
CIFAR_STAGE_FILTERS = (16, 32, 64)
# Two stride-2 stages: 4x4 is the smallest input that leaves conv4 with a real pixel.
CIFAR_MIN_INPUT_SIZE = min_input_size([(2, 2, "valid")] * 2)


def resnet_cifar(
    depth=20,
    version=1,
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    l2=1e-4,
    weights=None,
):
    """The CIFAR-10 ResNets of He et al. 2015, §4.2 (ResNet-20/32/44/56/110/1202).

    A 3x3 convolution with 16 filters, then three stages (``conv2``, ``conv3``, ``conv4``)
    of n = (depth - 2) / 6 basic blocks with 16, 32 and 64 filters on 32x32, 16x16 and 8x8
    maps (the first block of ``conv3``/``conv4`` has stride 2), global average pooling and a
    ``num_classes``-way softmax: 6n + 2 weighted layers. Kernels are He-normal (He et al.
    2015) with an L2 penalty ``l2 * sum(w**2)`` on every convolution kernel (1e-4, as the
    Keras ``cifar10_resnet`` example), convolutions have no bias (batch norm follows).

    Shortcuts: where a stage starts the channel count doubles and the map halves; this
    builder uses **projection shortcuts** (1x1 convolution with stride 2 + batch norm,
    option B of He et al. 2015, as the Keras ``cifar10_resnet`` example and
    :mod:`kerasdl.layers.residual`) rather than the paper's parameter-free zero-padding
    (option A). ResNet-20 v1 thus has **274,042** parameters (``count_params()``;
    272,474 trainable) against the paper's 0.27M (option A: 269,722 trainable); the two
    projections add 2,752 trainable weights (2,944 with their batch-norm statistics).

    ``version=2`` uses the pre-activation unit of He et al. 2016 (BN → ReLU → conv, with
    ``post_bn``/``post_relu`` before the pooling) with the *same* basic blocks and depths,
    so v1 and v2 differ only in the order inside the block — the comparison of He et al.
    2016, Table 3 (ResNet-110 v2: 1.7M parameters). (The Keras ``cifar10_resnet`` example's
    v2 instead uses bottleneck blocks and depths 9n+2; He et al. 2016 use bottlenecks only
    from ResNet-164 on.) ResNet-20 v2: 274,090 parameters (272,714 trainable;
    the convolutions not followed by batch norm keep a bias, as in
    :mod:`kerasdl.layers.residual`).

    Layer names: ``conv1_conv``/``conv1_bn``/``conv1_relu`` (v1; v2 has only the conv),
    ``conv{2,3,4}_block{i}_*`` as in :mod:`kerasdl.layers.residual`, ``avg_pool``,
    ``predictions``.

    Args:
        depth: one of :data:`CIFAR_DEPTHS` (20, 32, 44, 56, 110, 1202).
        version: 1 (post-activation, He et al. 2015) or 2 (pre-activation, He et al. 2016).
        input_shape: ``(height, width, channels)``, at least 4x4 (two stride-2 stages);
            CIFAR-10's is ``(32, 32, 3)``.
        num_classes: number of classes (>= 1).
        include_top: include ``avg_pool`` and ``predictions``.
        pooling: without the top, ``None``, ``"avg"`` or ``"max"``.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        l2: L2 factor on the convolution kernels (>= 0; 0 turns it off).
        weights: ``None`` or the path of a weights file (there is no published file).

    Returns:
        A ``keras.Model`` named ``resnet{depth}_cifar`` (v1) or ``resnet{depth}v2_cifar``.
    """
    from kerasdl._validation import check_float

    check_choice("depth", depth, CIFAR_DEPTHS)
    check_choice("version", version, [1, 2])
    input_shape = check_image_shape("input_shape", input_shape, min_size=CIFAR_MIN_INPUT_SIZE)
    num_classes = check_num_classes(num_classes)
    check_choice("include_top", include_top, [True, False])
    check_choice("pooling", pooling, POOLING_CHOICES)
    classifier_activation = check_activation("classifier_activation", classifier_activation)
    l2 = check_float("l2", l2, minimum=0.0)
    weights = check_weights(weights, imagenet_available=False)

    n = (depth - 2) // 6
    preact = version == 2

    def reg():
        return keras.regularizers.L2(l2) if l2 > 0 else None

    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.Conv2D(
        CIFAR_STAGE_FILTERS[0], 3, padding="same", use_bias=False, kernel_initializer="he_normal",
        kernel_regularizer=reg(), name="conv1_conv",
    )(inputs)  # fmt: skip
    if not preact:
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn")(x)
        x = keras.layers.Activation("relu", name="conv1_relu")(x)
    for stage, filters in enumerate(CIFAR_STAGE_FILTERS, start=2):
        x = residual_stack(
            x,
            filters,
            n,
            stride=1 if stage == 2 else 2,
            stride_at="first",
            bottleneck=False,
            preactivation=preact,
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=reg(),
            name=f"conv{stage}",
        )
    if preact:
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="post_bn")(x)
        x = keras.layers.Activation("relu", name="post_relu")(x)
    outputs = classifier_head(
        x,
        num_classes,
        include_top=include_top,
        pooling=pooling,
        top_pooling="avg",
        classifier_activation=classifier_activation,
    )
    name = f"resnet{depth}{'v2' if preact else ''}_cifar"
    model = keras.Model(inputs, outputs, name=name)
    return load_weights(model, weights)
