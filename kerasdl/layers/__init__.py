"""Reusable building blocks for the :mod:`kerasdl.models` builders.

:mod:`kerasdl.layers.residual` holds the residual block (basic/bottleneck, v1/v2),
:mod:`kerasdl.layers.inception` and :mod:`kerasdl.layers.mobile` the Inception module and
the MobileNet v1/v2 blocks, :mod:`kerasdl.layers.mbconv` EfficientNet's MBConv and
squeeze-and-excitation blocks. :mod:`kerasdl.layers.blocks` holds functional-API helpers (tensor in, tensor out, layers
named from an explicit prefix) and the small argument/shape helpers the builders share.
:mod:`kerasdl.layers.elastic` holds ``RandomElasticDistortion`` (Simard et al. 2003), an
augmentation for ``tf.data`` pipelines and, like ``HubLayer``, TensorFlow only.
"""

from kerasdl.layers.blocks import (
    check_activation,
    check_backbone_input_shape,
    classifier_head,
    correct_pad,
    default_initializer,
    dense_block,
    global_pool,
    l1_l2_regularizer,
    make_divisible,
    min_input_size,
    output_activation_for,
    resolve_initializer,
)
from kerasdl.layers.elastic import RandomElasticDistortion
from kerasdl.layers.evidential import DirichletEvidence, NormalInverseGamma
from kerasdl.layers.hub import HubLayer, HubModelNotFoundError, hub_cache_dir, resolve_handle
from kerasdl.layers.inception import inception_module
from kerasdl.layers.mbconv import mbconv_block, se_filters, squeeze_excite
from kerasdl.layers.mobile import depthwise_separable_block, inverted_residual_block
from kerasdl.layers.sampling import Sampling
from kerasdl.layers.sequence_pooling import MaskedGlobalMaxPooling1D
from kerasdl.layers.sparsity import KLSparsityRegularizer, sparsity_regularizer
from kerasdl.layers.residual import (
    basic_block,
    bottleneck_block,
    convolutional_block,
    identity_block,
    residual_block,
    residual_stack,
)

__all__ = [
    "HubLayer",
    "HubModelNotFoundError",
    "hub_cache_dir",
    "resolve_handle",
    "DirichletEvidence",
    "NormalInverseGamma",
    "RandomElasticDistortion",
    "KLSparsityRegularizer",
    "MaskedGlobalMaxPooling1D",
    "Sampling",
    "sparsity_regularizer",
    "basic_block",
    "bottleneck_block",
    "convolutional_block",
    "identity_block",
    "residual_block",
    "residual_stack",
    "check_activation",
    "check_backbone_input_shape",
    "classifier_head",
    "correct_pad",
    "mbconv_block",
    "se_filters",
    "squeeze_excite",
    "default_initializer",
    "dense_block",
    "depthwise_separable_block",
    "global_pool",
    "inception_module",
    "inverted_residual_block",
    "l1_l2_regularizer",
    "make_divisible",
    "min_input_size",
    "output_activation_for",
    "resolve_initializer",
]
