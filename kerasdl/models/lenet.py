"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998).

Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
document recognition", Proceedings of the IEEE 86(11), 1998.

The usual modern reading of the paper's network: C1 (6 maps, 5x5) → S2 (2x2 average
pooling) → C3 (16 maps, 5x5) → S4 → C5/F5 (120) → F6 (84) → output. Three simplifications
of the 1998 design, all common practice: C3 connects to all six S2 maps (the paper used a
sparse connection table), the subsampling layers have no trainable coefficient and bias,
and the output is a softmax instead of Euclidean RBF units.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_image_shape, check_num_classes
from kerasdl.layers.blocks import default_initializer, min_input_size, output_activation_for

# conv 5x5 valid → pool 2 → conv 5x5 valid → pool 2: 16x16 is the smallest input that
# leaves S4 with a 1x1 map (16 → 12 → 6 → 2 → 1).
MIN_INPUT_SIZE = min_input_size([(5, 1, "valid"), (2, 2, "valid"), (5, 1, "valid"), (2, 2, "valid")])


def lenet5(input_shape=(32, 32, 1), num_classes=10, classic=True):
    """Build LeNet-5.

    ``classic=True``: tanh units and 2x2 average pooling as in the paper.
    ``classic=False``: ReLU units (He-normal init) and 2x2 max pooling, the modern variant;
    the parameter count is the same.

    Layers: ``conv1`` (6, 5x5, valid) → ``pool1`` → ``conv2`` (16, 5x5, valid) →
    ``pool2`` → ``flatten`` → ``fc1`` (120) → ``fc2`` (84) → ``predictions``.

    Parameters at the defaults (32x32x1, 10 classes): 156 + 2,416 + 48,120 + 10,164 + 850
    = **61,706**.

    Args:
        input_shape: ``(height, width, channels)``, at least 16x16 (smaller inputs leave
            the second pooling with no output). 32x32 is the paper's size (28x28 MNIST
            digits padded by 2).
        num_classes: number of classes (>= 1; 1 gives a single sigmoid unit).
        classic: ``True`` for tanh + average pooling, ``False`` for ReLU + max pooling.

    Returns:
        A ``keras.Model`` named ``lenet5``.
    """
    input_shape = check_image_shape("input_shape", input_shape, min_size=MIN_INPUT_SIZE)
    num_classes = check_num_classes(num_classes)
    check_choice("classic", classic, [True, False])

    activation = "tanh" if classic else "relu"
    init = default_initializer(activation)
    pool = keras.layers.AveragePooling2D if classic else keras.layers.MaxPooling2D

    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.Conv2D(6, 5, activation=activation, kernel_initializer=init, name="conv1")(inputs)
    x = pool(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 5, activation=activation, kernel_initializer=init, name="conv2")(x)
    x = pool(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation=activation, kernel_initializer=init, name="fc1")(x)
    x = keras.layers.Dense(84, activation=activation, kernel_initializer=init, name="fc2")(x)
    outputs = keras.layers.Dense(num_classes, activation=output_activation_for(num_classes), name="predictions")(x)
    return keras.Model(inputs, outputs, name="lenet5")
