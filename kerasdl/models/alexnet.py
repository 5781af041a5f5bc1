"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), single-tower version.

A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet classification with deep
convolutional neural networks", NeurIPS 2012.

The paper split the network over two GPUs (conv2, conv4 and conv5 only saw the half of
the previous layer on their own GPU: 60,965,224 parameters). This builder is the
single-tower network with the same layer sizes, every convolution seeing all input maps.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_float, check_num_classes
from kerasdl.layers.blocks import (
    POOLING_CHOICES,
    check_backbone_input_shape,
    classifier_head,
    min_input_size,
    output_activation_for,
)

DEFAULT_INPUT_SIZE = 227
# conv1 11x11/4 valid, then three 3x3/2 max-poolings ('same' convolutions keep the size):
# 67 → 15 → 7 → 3 → 1, so 67x67 is the smallest input.
MIN_INPUT_SIZE = min_input_size([(11, 4, "valid"), (3, 2, "valid"), (3, 2, "valid"), (3, 2, "valid")])


def alexnet(input_shape=(227, 227, 3), num_classes=1000, include_top=True, pooling=None, dropout=0.5):
    """Build the single-tower AlexNet.

    Layers (ReLU after every convolution and hidden fully connected layer, He-normal init):

    ===========  ===========================================  ===============
    name         layer                                        output (227px)
    ===========  ===========================================  ===============
    conv1        Conv 11x11, stride 4, 96 maps, valid         55x55x96
    pool1        MaxPool 3x3, stride 2                        27x27x96
    conv2        Conv 5x5, 256 maps, same                     27x27x256
    pool2        MaxPool 3x3, stride 2                        13x13x256
    conv3        Conv 3x3, 384 maps, same                     13x13x384
    conv4        Conv 3x3, 384 maps, same                     13x13x384
    conv5        Conv 3x3, 256 maps, same                     13x13x256
    pool5        MaxPool 3x3, stride 2                        6x6x256
    flatten      Flatten                                      9216
    fc1          Dense 4096 (then ``dropout1``)               4096
    fc2          Dense 4096 (then ``dropout2``)               4096
    predictions  Dense num_classes, softmax                   num_classes
    ===========  ===========================================  ===============

    No local response normalisation: the paper's LRN after conv1 and conv2 has no
    parameters (so the count below is unaffected) and later work (Simonyan & Zisserman
    2014) found it does not help; add ``keras.layers.Lambda(tf.nn.local_response_normalization)``
    after ``conv1``/``conv2`` to reproduce it. The input is 227x227, not the paper's
    "224x224": 227 is the size for which the conv1 arithmetic gives 55x55.

    Parameters at the defaults (227x227x3, 1000 classes, top included): 34,944 + 614,656
    + 885,120 + 1,327,488 + 884,992 (convolutions) + 37,752,832 + 16,781,312 + 4,097,000
    (fully connected) = **62,378,344**. The convolutional base alone has 3,747,200.

    Args:
        input_shape: ``(height, width, channels)``, at least 67x67. With
            ``include_top=False`` height/width may be ``None``. With the top on, a size
            other than 227 changes the size of ``fc1``.
        num_classes: number of classes (>= 1; 1 gives a single sigmoid unit).
        include_top: include the three fully connected layers.
        pooling: without the top, ``None`` (4-D feature map), ``"avg"`` or ``"max"``
            (global pooling to a vector); ignored with the top.
        dropout: dropout rate after ``fc1`` and ``fc2``, in [0, 1) (0.5 in the paper).

    Returns:
        A ``keras.Model`` named ``alexnet``.
    """
    check_choice("include_top", include_top, [True, False])
    input_shape = check_backbone_input_shape(
        input_shape, include_top=include_top, min_size=MIN_INPUT_SIZE, default_size=DEFAULT_INPUT_SIZE
    )
    num_classes = check_num_classes(num_classes)
    check_choice("pooling", pooling, POOLING_CHOICES)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)

    def conv(filters, kernel, name, strides=1, padding="same"):
        return keras.layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding=padding,
            activation="relu",
            kernel_initializer="he_normal",
            name=name,
        )

    def max_pool(name):
        return keras.layers.MaxPooling2D(pool_size=3, strides=2, name=name)

    inputs = keras.Input(shape=input_shape, name="input")
    x = conv(96, 11, "conv1", strides=4, padding="valid")(inputs)
    x = max_pool("pool1")(x)
    x = conv(256, 5, "conv2")(x)
    x = max_pool("pool2")(x)
    x = conv(384, 3, "conv3")(x)
    x = conv(384, 3, "conv4")(x)
    x = conv(256, 3, "conv5")(x)
    x = max_pool("pool5")(x)
    outputs = classifier_head(
        x,
        num_classes,
        include_top=include_top,
        pooling=pooling,
        hidden_units=(4096, 4096),
        dropout=dropout,
        classifier_activation=output_activation_for(num_classes),
        kernel_initializer="he_normal",
    )
    return keras.Model(inputs, outputs, name="alexnet")
