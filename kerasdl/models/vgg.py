"""VGG-16 and VGG-19 (Simonyan & Zisserman 2014).

K. Simonyan and A. Zisserman, "Very deep convolutional networks for large-scale image
recognition", arXiv:1409.1556 (ICLR 2015), configurations D (VGG-16) and E (VGG-19).

The builders mirror ``keras.applications.VGG16`` / ``VGG19``: the same layers with the
same names (``block1_conv1`` ... ``block5_pool``, ``flatten``, ``fc1``, ``fc2``,
``predictions``), so weights saved from one load into the other.

Drop-in for ``keras.applications``: :func:`VGG16` and :func:`VGG19` take Keras' own arguments
(``input_tensor``, ``classes``, ``weights="imagenet"`` by default, ``name``), and this module
exports Keras' own ``preprocess_input`` and ``decode_predictions`` (those of
``keras.applications.vgg16``; ``vgg19``'s are the same "caffe" preprocessing), so::

    from keras.applications.vgg16 import VGG16, preprocess_input, decode_predictions

becomes ``from kerasdl.models.vgg import VGG16, preprocess_input, decode_predictions``.
"""

from __future__ import annotations

import keras
from keras.applications.vgg16 import decode_predictions, preprocess_input

from kerasdl._validation import check_choice, check_num_classes
from kerasdl.layers.blocks import (
    POOLING_CHOICES,
    check_activation,
    check_backbone_input_shape,
    classifier_head,
    min_input_size,
)
from kerasdl.models._keras_applications import image_input, keras_application, model_inputs, resolve_input_tensor
from kerasdl.models.weights import WeightsFile, check_weights, load_weights

__all__ = ["vgg16", "vgg19", "VGG16", "VGG19", "preprocess_input", "decode_predictions"]

DEFAULT_INPUT_SIZE = 224
STAGE_FILTERS = (64, 128, 256, 512, 512)
# Five 2x2/2 max-poolings ('same' 3x3 convolutions keep the size): 32x32 is the minimum.
MIN_INPUT_SIZE = min_input_size([(2, 2, "valid")] * len(STAGE_FILTERS))


# keras.applications' VGG weight files: (file name, md5) with and without the top.
_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg{depth}/"
_WEIGHTS_MD5 = {
    ("vgg16", True): "64373286793e3c8b2b4e3219cbf3544b",
    ("vgg16", False): "6d6bbae143d832006294945121d1f1fc",
    ("vgg19", True): "cbe5617147190e668d6c5d5026f83318",
    ("vgg19", False): "253f8cb515780f3b799900260a226db6",
}


def _imagenet_file(name, include_top):
    file_name = f"{name}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return WeightsFile(file_name, _WEIGHTS_URL.format(depth=name[3:]) + file_name, _WEIGHTS_MD5[(name, include_top)])


def _vgg(
    stage_convs,
    *,
    name,
    include_top,
    weights,
    input_shape,
    pooling,
    num_classes,
    classifier_activation,
    input_tensor,
):
    """Build a VGG network with ``stage_convs[i]`` 3x3 convolutions in stage ``i + 1``."""
    check_choice("include_top", include_top, [True, False])
    weights = check_weights(weights)
    input_shape = check_backbone_input_shape(
        resolve_input_tensor(input_tensor, input_shape),
        include_top=include_top,
        min_size=MIN_INPUT_SIZE,
        default_size=DEFAULT_INPUT_SIZE,
    )
    check_choice("pooling", pooling, POOLING_CHOICES)
    num_classes = check_num_classes(num_classes)
    classifier_activation = check_activation("classifier_activation", classifier_activation)

    inputs = image_input(input_tensor, input_shape)
    x = inputs
    for stage, (filters, convs) in enumerate(zip(STAGE_FILTERS, stage_convs), start=1):
        for i in range(1, convs + 1):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{stage}_conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{stage}_pool")(x)
    outputs = classifier_head(
        x,
        num_classes,
        include_top=include_top,
        pooling=pooling,
        hidden_units=(4096, 4096),
        classifier_activation=classifier_activation,
    )
    model = keras.Model(model_inputs(input_tensor, inputs), outputs, name=name)
    return load_weights(model, weights, _imagenet_file(name, include_top))


_ARGS_DOC = """
    Args:
        include_top: include the three fully connected layers ``fc1``, ``fc2``,
            ``predictions`` (after ``flatten``).
        weights: ``None`` (random initialisation), ``"imagenet"`` (the file
            ``keras.applications`` uses, found in the data folder or Keras cache; see
            :mod:`kerasdl.models.weights`), or the path of a weights file.
        input_shape: ``(height, width, channels)``; defaults to ``(224, 224, 3)``.
            Height and width must be at least 32 (five 2x2 poolings); without the top they
            may be ``None``. With the top on, a size other than 224 changes ``fc1``.
        pooling: without the top, ``None`` (4-D output of ``block5_pool``), ``"avg"`` or
            ``"max"`` (global pooling to a vector); ignored with the top.
        num_classes: number of classes of ``predictions`` (>= 1).
        classifier_activation: activation of ``predictions``: a Keras activation name, a
            callable, or ``None`` for logits.
        input_tensor: a Keras tensor (``keras.Input(...)`` or a layer's output) to build the
            network on, as in ``keras.applications``; its shape is the input shape.

    Returns:
        A ``keras.Model``.
"""


def vgg16(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """VGG-16 (configuration D): 13 convolutions in 5 stages of 2, 2, 3, 3, 3, then 3 FC layers.

    Parameters at 224x224x3 with 1000 classes: **138,357,544** with the top (the same as
    ``keras.applications.VGG16``), 14,714,688 without.
    """
    return _vgg(
        (2, 2, 3, 3, 3),
        name="vgg16",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


def vgg19(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    input_tensor=None,
):
    """VGG-19 (configuration E): 16 convolutions in 5 stages of 2, 2, 4, 4, 4, then 3 FC layers.

    Parameters at 224x224x3 with 1000 classes: **143,667,240** with the top (the same as
    ``keras.applications.VGG19``), 20,024,384 without.
    """
    return _vgg(
        (2, 2, 4, 4, 4),
        name="vgg19",
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        input_tensor=input_tensor,
    )


for _builder in (vgg16, vgg19):
    if _builder.__doc__ is not None:  # None under python -OO
        _builder.__doc__ += _ARGS_DOC

VGG16 = keras_application(vgg16, "VGG16")
"""``keras.applications.VGG16`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`vgg16`."""
VGG19 = keras_application(vgg19, "VGG19")
"""``keras.applications.VGG19`` (same arguments, order and defaults: ``classes``, ``name``, ``weights="imagenet"``), built by :func:`vgg19`."""
