"""Linear classifiers: logistic regression and softmax (multinomial logistic) regression.

Both are a single Dense layer on the flattened input, the starting point of the
feed-forward curriculum. The loss is convex, so the weights start at zero (the textbook
formulation) and an optional L2 penalty on the kernel gives ridge-style regularisation.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_float, check_num_classes, check_shape
from kerasdl.layers.blocks import l1_l2_regularizer


def _linear_model(input_shape, units, activation, l2, name):
    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    outputs = keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer="zeros",
        kernel_regularizer=l1_l2_regularizer(l2=l2),
        name="predictions",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def logistic_regression(input_shape, num_classes=1, l2=0.0):
    """Binary logistic regression: Flatten → Dense(1, sigmoid).

    Args:
        input_shape: shape of one example without the batch axis, e.g. ``(64,)`` or
            ``(28, 28, 1)``; it is flattened.
        num_classes: 1 or 2. Both mean a binary problem modelled by one sigmoid unit
            that outputs P(y = 1); train with ``binary_crossentropy`` on 0/1 labels.
        l2: L2 penalty factor on the kernel (>= 0; 0 disables it).

    Returns:
        A ``keras.Model`` named ``logistic_regression`` with ``prod(input_shape) + 1``
        parameters (65 for 8x8 digits).
    """
    input_shape = check_shape("input_shape", input_shape)
    num_classes = check_num_classes(num_classes)
    check_choice("num_classes", num_classes, [1, 2])
    l2 = check_float("l2", l2, minimum=0.0)
    return _linear_model(input_shape, 1, "sigmoid", l2, "logistic_regression")


def softmax_regression(input_shape, num_classes, l2=0.0):
    """Multinomial logistic (softmax) regression: Flatten → Dense(num_classes, softmax).

    Args:
        input_shape: shape of one example without the batch axis; it is flattened.
        num_classes: number of classes, >= 2; train with
            ``sparse_categorical_crossentropy`` on integer labels.
        l2: L2 penalty factor on the kernel (>= 0; 0 disables it).

    Returns:
        A ``keras.Model`` named ``softmax_regression`` with
        ``(prod(input_shape) + 1) * num_classes`` parameters (650 for 8x8 digits, 10 classes).
    """
    input_shape = check_shape("input_shape", input_shape)
    num_classes = check_num_classes(num_classes)
    if num_classes < 2:
        raise ValueError(
            f"num_classes must be >= 2 for softmax_regression, got {num_classes!r} "
            "(use logistic_regression for a binary problem)"
        )
    l2 = check_float("l2", l2, minimum=0.0)
    return _linear_model(input_shape, num_classes, "softmax", l2, "softmax_regression")
