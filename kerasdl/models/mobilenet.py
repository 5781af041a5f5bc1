"""MobileNet v1 (Howard et al. 2017) and MobileNetV2 (Sandler et al. 2018).

* A. G. Howard, M. Zhu, B. Chen, D. Kalenichenko, W. Wang, T. Weyand, M. Andreetto and
  H. Adam, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
  Applications", arXiv:1704.04861 (2017), table 1.
* M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, "MobileNetV2: Inverted
  Residuals and Linear Bottlenecks", arXiv:1801.04381 (CVPR 2018), table 2.

The builders mirror ``keras.applications.MobileNet`` and ``MobileNetV2`` layer by layer:
same layers, same names, same order, same parameter counts, so
``weights="imagenet"`` loads the very files keras.applications uses
(``mobilenet_{alpha}_{rows}_tf[_no_top].h5`` and
``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}[_no_top].h5``), found in
the data folder or the Keras cache (:mod:`kerasdl.models.weights`). The only naming
difference: Keras leaves the global pooling layer unnamed (``global_average_pooling2d``,
``_1``, ... depending on the session); here it is always ``avg_pool`` / ``max_pool``.
The blocks live in :mod:`kerasdl.layers.mobile`.

Inputs are expected in [-1, 1] (``keras.applications.mobilenet_v2.preprocess_input``).

Input sizes: keras.applications refuses anything below 32x32. The networks' own
arithmetic allows less, and these builders accept it (28x28 digits work with MobileNetV2):

* MobileNet v1: a stride-2 "same" convolution, then four stride-2 blocks that pad one
  row/column at the bottom/right and take a 3x3 "valid" window (``floor(n / 2)``; each
  needs n >= 2): the minimum is 31x31.
* MobileNetV2: every stride-2 block pads so that the output is ``ceil(n / 2)``, like
  "same", so any size >= 1 works. With ``None`` (unknown) sizes the padding assumes even
  sizes, exactly as in keras.applications.

Drop-in for ``keras.applications``: :func:`MobileNet` and :func:`MobileNetV2` take Keras' own
arguments (``input_tensor``, ``classes``, ``weights="imagenet"`` by default, ``name``); the
lower-case builders take ``input_tensor`` too. This module exports Keras' own
``preprocess_input`` / ``decode_predictions`` of ``keras.applications.mobilenet`` and, as
``preprocess_input_v2`` / ``decode_predictions_v2``, those of ``keras.applications.mobilenet_v2``
(both scale to [-1, 1]). So::

    from keras.applications.mobilenet_v2 import MobileNetV2, preprocess_input, decode_predictions

becomes ``from kerasdl.models.mobilenet import MobileNetV2, preprocess_input_v2 as
preprocess_input, decode_predictions_v2 as decode_predictions``.
"""

from __future__ import annotations

import warnings

import keras
from keras.applications.mobilenet import decode_predictions, preprocess_input
from keras.applications.mobilenet_v2 import decode_predictions as decode_predictions_v2
from keras.applications.mobilenet_v2 import preprocess_input as preprocess_input_v2

from kerasdl._validation import check_choice, check_float, check_int, check_num_classes
from kerasdl.layers.blocks import (
    POOLING_CHOICES,
    check_activation,
    check_backbone_input_shape,
    classifier_head,
    global_pool,
    make_divisible,
    min_input_size,
    output_activation_for,
)
from kerasdl.layers.mobile import depthwise_separable_block, inverted_residual_block
from kerasdl.models._keras_applications import image_input, keras_application, model_inputs, resolve_input_tensor
from kerasdl.models.weights import WeightsFile, check_weights, load_weights

__all__ = [
    "mobilenet",
    "mobilenet_v2",
    "MobileNet",
    "MobileNetV2",
    "preprocess_input",
    "decode_predictions",
    "preprocess_input_v2",
    "decode_predictions_v2",
]

DEFAULT_INPUT_SIZE = 224

# ---------------------------------------------------------------------------------- v1

# Table 1 of Howard et al.: (pointwise filters, stride) of the 13 depthwise-separable blocks
# after the first 3x3/2 convolution with 32 filters.
MOBILENET_BLOCKS = (
    (64, 1),
    (128, 2), (128, 1),
    (256, 2), (256, 1),
    (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)  # fmt: skip
# conv1 is 3x3/2 "same"; a stride-2 block pads (0, 1) and takes a 3x3/2 "valid" window:
# floor((n + 1 - 3) / 2) + 1, the same arithmetic as a 2x2/2 "valid" window.
MOBILENET_MIN_INPUT_SIZE = min_input_size(
    [(3, 2, "same")] + [(2, 2, "valid")] * sum(stride == 2 for _, stride in MOBILENET_BLOCKS)
)
MOBILENET_IMAGENET_ALPHAS = (0.25, 0.5, 0.75, 1.0)
MOBILENET_IMAGENET_SIZES = (128, 160, 192, 224)
_MOBILENET_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
_MOBILENET_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}

# ---------------------------------------------------------------------------------- v2

# Table 2 of Sandler et al.: (expansion t, output channels c, repeats n, first stride s).
MOBILENET_V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
MOBILENET_V2_MIN_INPUT_SIZE = 1  # every stride-2 layer gives ceil(n / 2), like "same"
MOBILENET_V2_IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
MOBILENET_V2_IMAGENET_SIZES = (96, 128, 160, 192, 224)
_MOBILENET_V2_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"


# ---------------------------------------------------------------------------------- helpers


def _check_alpha(alpha, weights, imagenet_alphas, *, smallest_width):
    alpha = check_float("alpha", alpha, minimum=0.0, min_inclusive=False)
    if weights == "imagenet" and alpha not in imagenet_alphas:
        raise ValueError(
            f"alpha must be one of {list(imagenet_alphas)!r} with weights='imagenet' "
            f"(the widths keras.applications has ImageNet files for), got {alpha!r}"
        )
    if smallest_width is not None and int(smallest_width * alpha) < 1:
        raise ValueError(
            f"alpha={alpha!r} is too small: the narrowest layer ({smallest_width} filters at "
            f"alpha=1) would get int({smallest_width} * alpha) = 0 filters; use alpha >= {1 / smallest_width}"
        )
    return alpha


def _check_top_and_input(
    input_shape, *, weights, include_top, pooling, num_classes, classifier_activation, min_size, imagenet_sizes
):
    """The checks MobileNet v1 and v2 share; returns ``(input_shape, num_classes,
    output activation, rows of the ImageNet file)``."""
    input_shape = check_backbone_input_shape(
        input_shape, include_top=include_top, min_size=min_size, default_size=DEFAULT_INPUT_SIZE
    )
    check_choice("pooling", pooling, POOLING_CHOICES)
    num_classes = check_num_classes(num_classes)
    classifier_activation = check_activation("classifier_activation", classifier_activation)
    rows = input_shape[0]
    if weights == "imagenet":
        rows = _imagenet_rows(
            input_shape,
            include_top=include_top,
            num_classes=num_classes,
            classifier_activation=classifier_activation,
            sizes=imagenet_sizes,
        )
    return input_shape, num_classes, output_activation_for(num_classes, classifier_activation), rows


def _imagenet_rows(input_shape, *, include_top, num_classes, classifier_activation, sizes):
    """The ``rows`` of the ImageNet file to load (as keras.applications picks it) and the
    checks that file imposes. Returns ``None`` when ``weights`` is not ``"imagenet"``."""
    if input_shape[2] != 3:
        raise ValueError(f"weights='imagenet' needs 3 input channels, got input_shape={input_shape!r}")
    rows, cols = input_shape[:2]
    square_known = rows is not None and rows == cols and rows in sizes
    if include_top:
        if num_classes != 1000:
            raise ValueError(f"weights='imagenet' with include_top=True needs num_classes=1000, got {num_classes!r}")
        if classifier_activation not in (None, "softmax") and not (
            callable(classifier_activation) and classifier_activation is keras.activations.softmax
        ):
            raise ValueError(
                "weights='imagenet' with include_top=True needs classifier_activation 'softmax' or None, "
                f"got {classifier_activation!r}"
            )
        if not square_known:
            raise ValueError(
                f"weights='imagenet' with include_top=True needs a square input of one of {list(sizes)!r} "
                f"pixels (the sizes of the ImageNet files), got input_shape={input_shape!r}"
            )
    if not square_known:
        warnings.warn(
            f"input_shape={input_shape!r} is not square or its size is not one of {list(sizes)!r}: "
            "loading the ImageNet weights trained at 224x224 (as keras.applications does).",
            stacklevel=4,
        )
        return 224
    return rows


# ---------------------------------------------------------------------------------- builders


def mobilenet(
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """MobileNet v1 (Howard et al. 2017, table 1): a 3x3/2 conv and 13 depthwise-separable blocks.

    Every block is depthwise 3x3 → BN → ReLU6 → pointwise 1x1 → BN → ReLU6
    (:func:`kerasdl.layers.mobile.depthwise_separable_block`); the top is global average
    pooling (kept 4-D) → dropout → 1x1 convolution ``conv_preds`` → reshape → softmax, as
    in keras.applications. Parameters at 224x224x3 with 1000 classes: **4,253,864**
    (= ``keras.applications.MobileNet``; 3,228,864 without the top); 2,601,976 at
    alpha 0.75, 1,342,536 at 0.5, 475,544 at 0.25 (all equal to keras.applications).

    Args:
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``; at least
            31x31 (keras.applications asks for 32). ``None`` height/width only without the top.
        alpha: width multiplier: every layer gets ``int(filters * alpha)`` filters. Any
            value >= 1/32; with ``weights="imagenet"`` one of 0.25, 0.5, 0.75, 1.0.
        depth_multiplier: depthwise channels per input channel (1 with ImageNet weights).
        dropout: dropout rate before ``conv_preds``, in [0, 1).
        include_top: include the classifier.
        weights: ``None``, ``"imagenet"`` (``mobilenet_{alpha}_{rows}_tf[_no_top].h5`` with
            rows 128/160/192/224; other sizes, without the top, load the 224 file with a
            warning) or the path of a weights file.
        pooling: without the top, ``None`` (4-D output of ``conv_pw_13_relu``), ``"avg"``
            or ``"max"``; ignored with the top.
        num_classes: number of classes (>= 1; 1 gives a single sigmoid unit; 1000 with
            ImageNet weights and the top).
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        input_tensor: a Keras tensor (``keras.Input(...)`` or a layer's output) to build the
            network on, as in ``keras.applications``; its shape is the input shape.

    Returns:
        A ``keras.Model`` named ``mobilenet_{alpha:.2f}_{rows}`` (as keras.applications).
    """
    check_choice("include_top", include_top, [True, False])
    weights = check_weights(weights)
    alpha = _check_alpha(alpha, weights, MOBILENET_IMAGENET_ALPHAS, smallest_width=32)
    depth_multiplier = check_int("depth_multiplier", depth_multiplier, minimum=1)
    if weights == "imagenet" and depth_multiplier != 1:
        raise ValueError(f"depth_multiplier must be 1 with weights='imagenet', got {depth_multiplier!r}")
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    input_shape, num_classes, classifier_activation, rows = _check_top_and_input(
        resolve_input_tensor(input_tensor, input_shape),
        weights=weights,
        include_top=include_top,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        min_size=MOBILENET_MIN_INPUT_SIZE,
        imagenet_sizes=MOBILENET_IMAGENET_SIZES,
    )

    inputs = image_input(input_tensor, input_shape)
    x = keras.layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="conv1_bn")(x)
    x = keras.layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(MOBILENET_BLOCKS, start=1):
        x = depthwise_separable_block(
            x, int(filters * alpha), strides=stride, depth_multiplier=depth_multiplier, block_id=block_id
        )

    if include_top:
        x = keras.layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)
        x = keras.layers.Dropout(dropout, name="dropout")(x)
        x = keras.layers.Conv2D(num_classes, 1, padding="same", name="conv_preds")(x)
        x = keras.layers.Reshape((num_classes,), name="reshape_2")(x)
        x = keras.layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = global_pool(x, pooling)
    model = keras.Model(model_inputs(input_tensor, inputs), x, name=f"mobilenet_{alpha:0.2f}_{rows}")

    imagenet_file = None
    if weights == "imagenet":
        file_name = f"mobilenet_{_MOBILENET_ALPHA_TEXT[alpha]}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        imagenet_file = WeightsFile(file_name, _MOBILENET_URL + file_name)
    return load_weights(model, weights, imagenet_file)


def mobilenet_v2(
    input_shape=None,
    alpha=1.0,
    include_top=True,
    weights=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """MobileNetV2 (Sandler et al. 2018, table 2): 17 inverted residual blocks with linear bottlenecks.

    A 3x3/2 convolution, then blocks of 1x1 expansion (factor 6) → 3x3 depthwise → linear
    1x1 projection, with a residual add where stride is 1 and channels match
    (:func:`kerasdl.layers.mobile.inverted_residual_block`), a 1x1 convolution to 1280
    channels (``make_divisible(1280 * alpha, 8)`` when alpha > 1), global average pooling
    and ``predictions``. Channel counts are rounded to multiples of 8 with
    :func:`kerasdl.layers.blocks.make_divisible`. Parameters at 224x224x3 with 1000
    classes: **3,538,984** (= ``keras.applications.MobileNetV2``; 2,257,984 without the
    top); 1,691,208 / 1,987,224 / 2,663,064 / 5,431,048 / 6,156,712 at alpha 0.35 / 0.5 /
    0.75 / 1.3 / 1.4 (all equal to keras.applications).

    Args:
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``; any size
            >= 1 (keras.applications asks for 32). ``None`` height/width only without the top.
        alpha: width multiplier (> 0); with ``weights="imagenet"`` one of 0.35, 0.5,
            0.75, 1.0, 1.3, 1.4.
        include_top: include ``avg_pool`` and the ``predictions`` layer.
        weights: ``None``, ``"imagenet"``
            (``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}[_no_top].h5``
            with rows 96/128/160/192/224; other sizes, without the top, load the 224 file
            with a warning) or the path of a weights file.
        pooling: without the top, ``None`` (4-D output of ``out_relu``), ``"avg"`` or
            ``"max"``; ignored with the top.
        num_classes: number of classes (>= 1; 1 gives a single sigmoid unit; 1000 with
            ImageNet weights and the top).
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        input_tensor: a Keras tensor (``keras.Input(...)`` or a layer's output) to build the
            network on, as in ``keras.applications``; its shape is the input shape.

    Returns:
        A ``keras.Model`` named ``mobilenetv2_{alpha:.2f}_{rows}`` (as keras.applications).
    """
    check_choice("include_top", include_top, [True, False])
    weights = check_weights(weights)
    alpha = _check_alpha(alpha, weights, MOBILENET_V2_IMAGENET_ALPHAS, smallest_width=None)
    input_shape, num_classes, classifier_activation, rows = _check_top_and_input(
        resolve_input_tensor(input_tensor, input_shape),
        weights=weights,
        include_top=include_top,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        min_size=MOBILENET_V2_MIN_INPUT_SIZE,
        imagenet_sizes=MOBILENET_V2_IMAGENET_SIZES,
    )

    bn = {"epsilon": 1e-3, "momentum": 0.999}
    inputs = image_input(input_tensor, input_shape)
    x = keras.layers.Conv2D(make_divisible(32 * alpha, 8), 3, strides=2, padding="same", use_bias=False, name="Conv1")(
        inputs
    )
    x = keras.layers.BatchNormalization(**bn, name="bn_Conv1")(x)
    x = keras.layers.ReLU(6.0, name="Conv1_relu")(x)
    block_id = 0
    for expansion, filters, repeats, first_stride in MOBILENET_V2_BLOCKS:
        for i in range(repeats):
            x = inverted_residual_block(
                x,
                filters,
                alpha=alpha,
                stride=first_stride if i == 0 else 1,
                expansion=expansion,
                block_id=block_id,
            )
            block_id += 1
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = keras.layers.Conv2D(last_filters, 1, use_bias=False, name="Conv_1")(x)
    x = keras.layers.BatchNormalization(**bn, name="Conv_1_bn")(x)
    x = keras.layers.ReLU(6.0, name="out_relu")(x)
    x = classifier_head(
        x,
        num_classes,
        include_top=include_top,
        pooling=pooling,
        top_pooling="avg",
        classifier_activation=classifier_activation,
    )
    model = keras.Model(model_inputs(input_tensor, inputs), x, name=f"mobilenetv2_{alpha:0.2f}_{rows}")

    imagenet_file = None
    if weights == "imagenet":
        file_name = (
            f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}{'' if include_top else '_no_top'}.h5"
        )
        imagenet_file = WeightsFile(file_name, _MOBILENET_V2_URL + file_name)
    return load_weights(model, weights, imagenet_file)


MobileNet = keras_application(mobilenet, "MobileNet")
"""``keras.applications.MobileNet`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`mobilenet`."""
MobileNetV2 = keras_application(mobilenet_v2, "MobileNetV2")
"""``keras.applications.MobileNetV2`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`mobilenet_v2`."""
