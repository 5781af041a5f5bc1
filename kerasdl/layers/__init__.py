"""Reusable building blocks for the :mod:`kerasdl.models` builders.

:mod:`kerasdl.layers.blocks` holds functional-API helpers (tensor in, tensor out, layers
named from an explicit prefix) and the small argument/shape helpers the builders share.
"""

from kerasdl.layers.blocks import (
    check_activation,
    check_backbone_input_shape,
    classifier_head,
    default_initializer,
    dense_block,
    global_pool,
    l1_l2_regularizer,
    make_divisible,
    min_input_size,
    output_activation_for,
    resolve_initializer,
)

__all__ = [
    "check_activation",
    "check_backbone_input_shape",
    "classifier_head",
    "default_initializer",
    "dense_block",
    "global_pool",
    "l1_l2_regularizer",
    "make_divisible",
    "min_input_size",
    "output_activation_for",
    "resolve_initializer",
]
