"""Multilayer perceptron (fully connected feed-forward network).

The feed-forward network of Rumelhart, Hinton & Williams (1986) with the modern
defaults: ReLU hidden units with He initialisation (He et al. 2015), optional batch
normalisation (Ioffe & Szegedy 2015), dropout (Srivastava et al. 2014) and L1/L2
weight penalties.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_float, check_int, check_num_classes, check_shape
from kerasdl.layers.blocks import (
    check_activation,
    dense_block,
    l1_l2_regularizer,
    output_activation_for,
    resolve_initializer,
)


def _check_hidden_units(hidden_units) -> tuple[int, ...]:
    if isinstance(hidden_units, (str, bytes)) or not hasattr(hidden_units, "__iter__"):
        raise ValueError(
            f"hidden_units must be a sequence of positive integers (e.g. (512, 256)), got {hidden_units!r}"
        )
    units = tuple(hidden_units)
    return tuple(check_int(f"hidden_units[{i}]", u, minimum=1) for i, u in enumerate(units))


def mlp(
    input_shape,
    num_classes,
    hidden_units=(512, 256),
    activation="relu",
    dropout=0.0,
    l1=0.0,
    l2=0.0,
    batch_norm=False,
    kernel_initializer=None,
    output_activation="softmax",
):
    """Fully connected classifier: Flatten → hidden Dense blocks → Dense(num_classes).

    Each hidden layer ``i`` (1-based) is a :func:`kerasdl.layers.dense_block` named
    ``hidden{i}``: ``hidden{i}_dense`` with the activation fused in, or, with
    ``batch_norm=True``, ``hidden{i}_dense`` (no bias) → ``hidden{i}_bn`` →
    ``hidden{i}_act``; then ``hidden{i}_dropout`` when ``dropout > 0``. The output layer
    is ``predictions``.

    At the defaults on 28x28 inputs with 10 classes the model has
    784*512+512 + 512*256+256 + 256*10+10 = 535,818 parameters.

    Args:
        input_shape: shape of one example without the batch axis; it is flattened.
        num_classes: number of outputs. With ``num_classes=1`` and the default
            ``output_activation`` the output is one sigmoid unit (binary classification:
            a softmax over one unit is constantly 1).
        hidden_units: widths of the hidden layers, in order; ``()`` gives softmax regression.
        activation: hidden activation, any Keras activation name or a callable.
        dropout: dropout rate after every hidden layer, in [0, 1).
        l1: L1 penalty factor on the kernels of the hidden and output layers (>= 0).
        l2: L2 penalty factor on the kernels of the hidden and output layers (>= 0).
        batch_norm: insert BatchNormalization between each hidden Dense and its activation.
        kernel_initializer: ``None`` picks the initializer suited to ``activation``
            (``he_normal`` for relu, leaky_relu, elu, gelu, swish; ``lecun_normal`` for selu;
            ``glorot_uniform`` for tanh, sigmoid, linear and others); ``"he"``,
            ``"glorot"``, ``"lecun"`` are shorthands; any Keras initializer is accepted.
            It applies to the hidden layers; the output layer uses ``glorot_uniform``.
        output_activation: activation of the output layer (``"softmax"``, ``"sigmoid"``,
            ``None`` for logits, ``"linear"`` for regression, ...).

    Returns:
        A ``keras.Model`` named ``mlp``.
    """
    input_shape = check_shape("input_shape", input_shape)
    num_classes = check_num_classes(num_classes)
    hidden_units = _check_hidden_units(hidden_units)
    activation = check_activation("activation", activation, allow_none=False)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    l1 = check_float("l1", l1, minimum=0.0)
    l2 = check_float("l2", l2, minimum=0.0)
    check_choice("batch_norm", batch_norm, [True, False])
    # Validate once; each layer gets its own initializer object from the same identifier.
    resolve_initializer("kernel_initializer", kernel_initializer, activation)
    output_activation = check_activation("output_activation", output_activation)
    output_activation = output_activation_for(num_classes, output_activation)

    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden_units, start=1):
        x = dense_block(
            x,
            units,
            activation,
            batch_norm=bool(batch_norm),
            dropout=dropout,
            kernel_initializer=resolve_initializer("kernel_initializer", kernel_initializer, activation),
            kernel_regularizer=l1_l2_regularizer(l1, l2),
            name=f"hidden{i}",
        )
    outputs = keras.layers.Dense(
        num_classes,
        activation=output_activation,
        kernel_regularizer=l1_l2_regularizer(l1, l2),
        name="predictions",
    )(x)
    return keras.Model(inputs, outputs, name="mlp")
