"""The two-convolution MNIST network (about 99.4% test accuracy on MNIST).

This is the convolutional network of the TensorFlow "Deep MNIST for experts" tutorial
used in Buduma, *Fundamentals of Deep Learning* (O'Reilly, 2017), ch. 5: two 5x5
convolution + 2x2 max-pooling stages, one 1024-unit fully connected layer with dropout
and a softmax output.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_float, check_image_shape, check_num_classes
from kerasdl.layers.blocks import min_input_size, output_activation_for

# Two 2x2/2 max-poolings ('same' convolutions keep the size): 4x4 is the smallest input.
MIN_INPUT_SIZE = min_input_size([(2, 2, "valid"), (2, 2, "valid")])


def mnist_cnn(input_shape=(28, 28, 1), num_classes=10, dropout=0.5):
    """Conv(5x5, 32) → pool → Conv(5x5, 64) → pool → fc 1024 → dropout → softmax.

    Layers: ``conv1`` (5x5x32, 'same', ReLU) → ``pool1`` (2x2 max) → ``conv2`` (5x5x64,
    'same', ReLU) → ``pool2`` → ``flatten`` → ``fc1`` (1024, ReLU) → ``dropout`` →
    ``predictions`` (num_classes, softmax). Kernels are He-normal initialised (ReLU
    units), biases start at zero.

    Parameters at the defaults (28x28x1, 10 classes): 832 + 51,264 + 3,212,288 + 10,250
    = **3,274,634**.

    Args:
        input_shape: ``(height, width, channels)``, at least 4x4 (two 2x2 poolings).
        num_classes: number of classes (>= 1; 1 gives a single sigmoid unit).
        dropout: dropout rate before the output layer, in [0, 1).

    Returns:
        A ``keras.Model`` named ``mnist_cnn``.
    """
    input_shape = check_image_shape("input_shape", input_shape, min_size=MIN_INPUT_SIZE)
    num_classes = check_num_classes(num_classes)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)

    def conv(filters, name):
        return keras.layers.Conv2D(
            filters,
            5,
            padding="same",
            activation="relu",
            kernel_initializer="he_normal",
            bias_initializer="zeros",
            name=name,
        )

    inputs = keras.Input(shape=input_shape, name="input")
    x = conv(32, "conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = conv(64, "conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(1024, activation="relu", kernel_initializer="he_normal", name="fc1")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(
        num_classes,
        activation=output_activation_for(num_classes),
        kernel_initializer="he_normal",
        name="predictions",
    )(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")
