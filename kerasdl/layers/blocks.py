"""Small building blocks shared by the model builders.

Every block is a plain functional-API helper: it takes a Keras tensor, adds a few layers
with deterministic names built from ``name`` / ``name_prefix``, and returns the new tensor.
The builders in :mod:`kerasdl.models` compose them, so an idea used by several families
(a dense layer with optional batch norm and dropout, the classifier head with its
``include_top`` / ``pooling`` switches, the default initializer for an activation, the
smallest input a stack of poolings accepts) is written once, here.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kerasdl._validation import check_choice, check_float, check_image_shape, check_int
from kerasdl.analysis import conv_output_size

POOLING_CHOICES = (None, "avg", "max")
TOP_POOLING_CHOICES = ("flatten", "avg", "max")

# Activations whose variance-preserving initializer is He (Kaiming) normal: the ReLU family.
_HE_ACTIVATIONS = frozenset(
    {"relu", "relu6", "leaky_relu", "elu", "gelu", "swish", "silu", "hard_swish", "hard_silu", "mish"}
)
# SELU's self-normalising property assumes LeCun normal weights (Klambauer et al. 2017).
_LECUN_ACTIVATIONS = frozenset({"selu"})
# Shorthands accepted wherever a kernel initializer is asked for.
_INITIALIZER_SHORTHANDS = {"he": "he_normal", "glorot": "glorot_uniform", "lecun": "lecun_normal"}


# --------------------------------------------------------------------------- argument helpers


def check_activation(name: str, value, *, allow_none: bool = True):
    """Return ``value`` if Keras understands it as an activation, else raise ``ValueError``.

    Accepted: a Keras activation name (``"relu"``, ``"tanh"``, ``"softmax"``, ...), a
    callable, or ``None`` (no activation, i.e. logits) when ``allow_none`` is true.
    """
    if value is None and allow_none:
        return None
    if callable(value):
        return value
    if isinstance(value, str):
        try:
            keras.activations.get(value)
            return value
        except ValueError:
            pass
    allowed = "a Keras activation name such as 'relu', 'tanh', 'sigmoid', 'softmax', or a callable"
    if allow_none:
        allowed += ", or None"
    raise ValueError(f"{name} must be {allowed}, got {value!r}")


def _activation_name(activation) -> str:
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", type(activation).__name__).lower()


def default_initializer(activation) -> str:
    """The kernel initializer that keeps activations' variance stable for ``activation``.

    He normal for the ReLU family (relu, leaky_relu, elu, gelu, swish/silu, mish), LeCun
    normal for selu, Glorot uniform (the Keras default) for tanh, sigmoid, linear and
    anything else.
    """
    name = _activation_name(activation)
    if name in _HE_ACTIVATIONS:
        return "he_normal"
    if name in _LECUN_ACTIVATIONS:
        return "lecun_normal"
    return "glorot_uniform"


def resolve_initializer(name: str, value, activation):
    """Turn a kernel-initializer argument into a ``keras.initializers.Initializer``.

    ``None`` picks :func:`default_initializer` for ``activation``; ``"he"``, ``"glorot"``
    and ``"lecun"`` are shorthands for ``he_normal``, ``glorot_uniform`` and
    ``lecun_normal``; anything ``keras.initializers.get`` accepts (a name, a config dict,
    an ``Initializer`` instance) is passed through. A fresh initializer object is returned
    for string identifiers so layers do not share one stateful instance.
    """
    if value is None:
        value = default_initializer(activation)
    if isinstance(value, str):
        value = _INITIALIZER_SHORTHANDS.get(value.lower(), value)
    try:
        return keras.initializers.get(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"{name} must be None, 'he', 'glorot', 'lecun' or a Keras initializer "
            f"(e.g. 'he_uniform', keras.initializers.HeNormal()), got {value!r}"
        ) from None


def output_activation_for(num_classes: int, activation="softmax"):
    """``"sigmoid"`` when a softmax would sit on a single unit (its output is always 1), else
    ``activation``: ``num_classes=1`` means one sigmoid unit for a binary problem."""
    return "sigmoid" if num_classes == 1 and activation == "softmax" else activation


def l1_l2_regularizer(l1: float = 0.0, l2: float = 0.0):
    """``keras.regularizers.L1L2(l1, l2)``, or ``None`` when both factors are zero."""
    if l1 == 0.0 and l2 == 0.0:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


# --------------------------------------------------------------------------- shape arithmetic


def check_backbone_input_shape(input_shape, *, include_top: bool, min_size: int, default_size: int):
    """Check the ``input_shape`` of a convolutional backbone with an ``include_top`` switch.

    ``None`` gives ``(default_size, default_size, 3)``. With the top on, height and width
    must be integers >= ``min_size`` (the flatten layer needs a fixed size). Without the
    top the network is fully convolutional, so height and/or width may also be ``None``.
    """
    if input_shape is None:
        return (default_size, default_size, 3)
    if include_top:
        return check_image_shape("input_shape", input_shape, min_size=min_size)
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != 3 or shape[2] is None:
        return check_image_shape("input_shape", input_shape, min_size=min_size)  # raises
    probe = tuple(min_size if d is None else d for d in shape[:2]) + shape[2:]
    try:
        check_image_shape("input_shape", probe, min_size=min_size)
    except ValueError:
        raise ValueError(
            "input_shape must be (height, width, channels) with height and width None or "
            f"integers of at least {min_size} for this architecture (None is allowed only "
            f"with include_top=False), got {input_shape!r}"
        ) from None
    return tuple(None if d is None else int(d) for d in shape)


def min_input_size(ops: Sequence[tuple[int, int, str]]) -> int:
    """Smallest height/width that keeps every ``(kernel, stride, padding)`` op's output >= 1.

    ``ops`` lists the spatially-reducing layers in order, e.g. LeNet-5's
    ``[(5, 1, "valid"), (2, 2, "valid"), (5, 1, "valid"), (2, 2, "valid")]`` gives 16.
    """
    size = 1
    while True:
        out = size
        try:
            for kernel, stride, padding in ops:
                out = conv_output_size(out, kernel, stride, padding)
        except ValueError:  # this size is too small for one of the windows
            size += 1
        else:
            return size


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10%.

    The rounding of MobileNetV2 (Sandler et al. 2018) and EfficientNet (Tan & Le 2019),
    as in the TF-slim reference and ``keras.applications``: nearest multiple, at least
    ``min_value`` (default ``divisor``), bumped up one ``divisor`` if that lost > 10%.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


def correct_pad(size, kernel_size: int):
    """Zero padding ``((top, bottom), (left, right))`` in front of a stride-2 'valid' conv.

    ``size`` is the ``(height, width)`` of the input (entries may be ``None``). The padding
    is TensorFlow's ``"same"`` padding for stride 2: ``kernel_size // 2`` after, one less
    before when the size is even, so the output has ``ceil(n / 2)`` rows and columns. As
    ``keras.applications.imagenet_utils.correct_pad`` for known sizes; an unknown size is
    treated as even, each axis on its own (Keras treats both axes as even as soon as the
    height is unknown, which loses a column on an odd known width).

    >>> correct_pad((224, 224), 3), correct_pad((9, None), 5)
    (((0, 1), (0, 1)), ((2, 2), (1, 2)))
    """
    half = kernel_size // 2
    pads = []
    for n in size:
        adjust = 1 if n is None else 1 - n % 2
        pads.append((half - adjust, half))
    return tuple(pads)


# --------------------------------------------------------------------------- blocks


def dense_block(
    x,
    units: int,
    activation="relu",
    *,
    batch_norm: bool = False,
    dropout: float = 0.0,
    kernel_initializer="glorot_uniform",
    kernel_regularizer=None,
    name: str,
):
    """Dense → [BatchNormalization → Activation] → [Dropout], layers named ``{name}_*``.

    Without batch norm the activation is fused into the Dense layer (``{name}_dense``).
    With batch norm the order is Dense(use_bias=False) → ``{name}_bn`` → ``{name}_act``:
    the bias is dropped because BatchNormalization's beta already provides it
    (Ioffe & Szegedy 2015). ``{name}_dropout`` is added only when ``dropout > 0``.
    """
    if batch_norm:
        x = keras.layers.Dense(
            units,
            use_bias=False,
            kernel_initializer=kernel_initializer,
            kernel_regularizer=kernel_regularizer,
            name=f"{name}_dense",
        )(x)
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        x = keras.layers.Activation(activation, name=f"{name}_act")(x)
    else:
        x = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=kernel_initializer,
            kernel_regularizer=kernel_regularizer,
            name=f"{name}_dense",
        )(x)
    if dropout > 0.0:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def global_pool(x, pooling, *, name_prefix: str = ""):
    """Apply the ``pooling`` switch of a headless backbone (as in ``keras.applications``).

    ``None`` returns the 4-D feature map unchanged; ``"avg"`` / ``"max"`` reduce it to a
    vector with GlobalAveragePooling2D / GlobalMaxPooling2D named ``avg_pool`` / ``max_pool``.
    """
    check_choice("pooling", pooling, POOLING_CHOICES)
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name=f"{name_prefix}avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name=f"{name_prefix}max_pool")(x)
    return x


def classifier_head(
    x,
    num_classes: int,
    *,
    include_top: bool = True,
    pooling=None,
    top_pooling: str = "flatten",
    hidden_units: Sequence[int] = (),
    activation="relu",
    dropout: float = 0.0,
    classifier_activation="softmax",
    kernel_initializer="glorot_uniform",
    name_prefix: str = "",
):
    """The top of a convolutional classifier, or the pooling of a headless backbone.

    * ``include_top=False``: return :func:`global_pool` of ``x`` with ``pooling``
      (``None``, ``"avg"`` or ``"max"``); nothing else is added.
    * ``include_top=True``: ``x`` is turned into a vector by ``top_pooling``
      (``"flatten"`` → ``flatten`` as in VGG/AlexNet, ``"avg"``/``"max"`` → global
      pooling as in ResNet), followed by one Dense(``activation``) layer per entry of
      ``hidden_units`` named ``fc1``, ``fc2``, ... (each followed by ``dropout1``,
      ``dropout2``, ... when ``dropout > 0``) and the output layer ``predictions``:
      Dense(num_classes, ``classifier_activation``). ``pooling`` is ignored.
    """
    check_choice("top_pooling", top_pooling, TOP_POOLING_CHOICES)
    check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    if not include_top:
        return global_pool(x, pooling, name_prefix=name_prefix)
    check_int("num_classes", num_classes, minimum=1)

    if top_pooling == "flatten":
        x = keras.layers.Flatten(name=f"{name_prefix}flatten")(x)
    else:
        x = global_pool(x, top_pooling, name_prefix=name_prefix)
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(
            units, activation=activation, kernel_initializer=kernel_initializer, name=f"{name_prefix}fc{i}"
        )(x)
        if dropout > 0.0:
            x = keras.layers.Dropout(dropout, name=f"{name_prefix}dropout{i}")(x)
    return keras.layers.Dense(num_classes, activation=classifier_activation, name=f"{name_prefix}predictions")(x)
