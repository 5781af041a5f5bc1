"""Shape, cost and receptive-field arithmetic for convolutional networks.

Pencil-and-paper formulas, and the same figures read off a built Keras model.

Output size of a convolution or pooling window along one axis (input ``n``, kernel ``k``,
stride ``s``, padding ``p`` on each side, dilation ``d``)::

    out = floor((n + 2p - d(k - 1) - 1) / s) + 1          # = floor((n + 2p - k)/s) + 1 for d = 1

Keras/TensorFlow ``padding="valid"`` is ``p = 0``; ``padding="same"`` (and Conv1D's
``"causal"``) pad just enough that ``out = ceil(n / s)`` (Dumoulin & Visin, "A guide to
convolution arithmetic for deep learning", 2016).

Multiply-accumulate count (MACs) of a standard convolution producing an
``H_out x W_out x C_out`` map with an ``f x f`` kernel over ``C_in`` channels::

    MACs = H_out * W_out * C_out * f * f * C_in / groups

and of a depthwise-separable one (depthwise ``f x f`` per channel, then pointwise 1x1)::

    MACs = H_out * W_out * C_in * f * f  +  H_out * W_out * C_in * C_out
    ratio to the standard conv = 1/C_out + 1/f**2

(Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications", 2017, section 3.1). A Dense layer costs ``in * out`` MACs per position; a
transposed convolution costs ``H_in * W_in * C_in * f * f * C_out`` (every input pixel is
scattered through the whole kernel).

Receptive field along one axis, walking from the input (``r = 1``, jump ``j = 1``) through
layers with kernel ``k``, stride ``s`` and dilation ``d``::

    r_out = r_in + (k - 1) * d * j_in
    j_out = j_in * s

(Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019). ``j`` ("jump", the effective stride) is how many input pixels separate two
neighbouring outputs.

Public API:

- :func:`conv_output_size`, :func:`pool_output_size`, :func:`output_shape_chain`:
  shapes by the formula;
- :func:`conv_macs`, :func:`depthwise_separable_macs`, :func:`separable_cost_ratio`:
  costs by the formula;
- :func:`receptive_fields`: receptive field and jump of every layer of a built model;
  :func:`conv_path_receptive_fields`: the same through squeeze-and-excitation gates;
- :func:`layer_stats`, :func:`total_macs`, :func:`model_summary_table`: output shape,
  parameter count and MACs per layer of a built model.

The model helpers take a functional or Sequential ``keras.Model``. They walk the model's
graph node by node (Keras' own ``_nodes_by_depth`` topological order), so branches,
merges and shared layers are handled. A functional or Sequential model nested inside
another is walked recursively (its layers are reported as ``outer/inner``); a subclassed
model nested inside is a black box: its parameters are counted, its MACs are 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral
from typing import NamedTuple

import kerasdl  # noqa: F401  (sets KERAS_BACKEND=tensorflow before keras is imported)
import keras

from kerasdl._validation import check_choice, check_int

__all__ = [
    "conv_output_size",
    "pool_output_size",
    "output_shape_chain",
    "conv_macs",
    "depthwise_separable_macs",
    "SeparableMacs",
    "separable_cost_ratio",
    "ReceptiveField",
    "receptive_fields",
    "conv_path_receptive_fields",
    "LayerStats",
    "layer_stats",
    "total_macs",
    "model_summary_table",
]

_PADDING_MODES = ("valid", "same", "causal")


# =========================================================================== formulas


def _check_padding(padding):
    if isinstance(padding, str) and padding.lower() in _PADDING_MODES:
        return padding.lower()
    if isinstance(padding, bool) or not isinstance(padding, Integral):
        raise ValueError(f"padding must be an integer >= 0 or one of {list(_PADDING_MODES)!r}, got {padding!r}")
    return check_int("padding", padding, minimum=0)


def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1) -> int:
    """Output length of a convolution along one axis.

    ``floor((n + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``; ``padding``
    is the number of zeros added on *each* side, or ``"valid"`` (0), or ``"same"`` /
    ``"causal"`` (Keras/TensorFlow: ``ceil(n / stride)``).

    >>> conv_output_size(224, 3, stride=2, padding=1)
    112
    >>> conv_output_size(32, 5, stride=2)
    14

    Raises:
        ValueError: a bad argument, or an input too small for the window (output < 1).
    """
    n = check_int("n", n, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    dilation = check_int("dilation", dilation, minimum=1)
    padding = _check_padding(padding)
    if padding in ("same", "causal"):
        return -(-n // stride)
    pad = 0 if padding == "valid" else padding
    extent = dilation * (kernel_size - 1) + 1
    if n + 2 * pad < extent:
        window = f"kernel_size={kernel_size}" + (f", dilation={dilation}" if dilation > 1 else "")
        raise ValueError(
            f"n={n} is too small: the window ({window}) spans {extent} positions, more than "
            f"the input with padding={padding!r}; need n >= {extent - 2 * pad}"
        )
    return (n + 2 * pad - extent) // stride + 1


def pool_output_size(n, pool_size, stride=None, padding=0) -> int:
    """Output length of a pooling window along one axis (``stride`` defaults to ``pool_size``).

    Same formula as :func:`conv_output_size` (Keras' default pooling stride is the pool size).
    """
    pool_size = check_int("pool_size", pool_size, minimum=1)
    if stride is None:
        stride = pool_size
    try:
        return conv_output_size(n, pool_size, stride=stride, padding=padding)
    except ValueError as err:
        raise ValueError(str(err).replace("kernel_size=", "pool_size=")) from None


def _spatial_tuple(name, value, rank):
    """An int or a length-``rank`` sequence of ints, as a tuple of ``rank`` ints >= 1."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer or a tuple of {rank} integers, got {value!r}") from None
    if len(value) != rank:
        raise ValueError(f"{name} must be an integer or a tuple of {rank} integers, got {value!r}")
    return tuple(check_int(name, v, minimum=1) for v in value)


def output_shape_chain(input_shape, layers, data_format="channels_last") -> list[tuple[int, ...]]:
    """Walk layer specs by the formulas and return the shape after each one.

    Args:
        input_shape: the input without batch axis: ``(H, W, C)`` (``(C, H, W)`` with
            ``data_format="channels_first"``); any number of spatial axes.
        layers: a sequence of ``(kind, params)`` pairs (a bare ``kind`` string for
            ``"flatten"``). Kinds and their params:

            - ``"conv"``: ``filters``, ``kernel_size``, ``stride=1``, ``padding=0``, ``dilation=1``;
            - ``"depthwise"``: ``kernel_size``, ``stride=1``, ``padding=0``, ``dilation=1``,
              ``depth_multiplier=1``;
            - ``"pool"``: ``pool_size``, ``stride=pool_size``, ``padding=0``;
            - ``"flatten"``: no params;
            - ``"dense"``: ``units`` (on a flat input).

            Sizes, strides and dilations are ints (same on every spatial axis) or tuples.
        data_format: ``"channels_last"`` (Keras' default) or ``"channels_first"``.

    Returns:
        One shape tuple per layer spec (the input shape is not included).

    >>> output_shape_chain((3, 32, 32), [("conv", dict(filters=100, kernel_size=5, stride=2)),
    ...                                  ("pool", dict(pool_size=2, stride=2, padding=1))],
    ...                    data_format="channels_first")
    [(100, 14, 14), (100, 8, 8)]
    """
    check_choice("data_format", data_format, ["channels_last", "channels_first"])
    if isinstance(input_shape, Integral) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(f"input_shape must be a tuple of positive integers, got {input_shape!r}") from None
    shape = tuple(check_int("input_shape", d, minimum=1) for d in shape)
    if not shape:
        raise ValueError(f"input_shape must be a non-empty tuple of positive integers, got {input_shape!r}")

    kinds = ["conv", "depthwise", "pool", "flatten", "dense"]
    shapes = []
    for i, spec in enumerate(layers):
        if isinstance(spec, str):
            kind, params = spec, {}
        else:
            try:
                kind, params = spec
                params = dict(params)
            except (TypeError, ValueError):
                raise ValueError(f"layers[{i}] must be a (kind, params) pair, got {spec!r}") from None
        check_choice(f"layers[{i}] kind", kind, kinds)

        if kind == "flatten":
            shape = (math.prod(shape),)
        elif kind == "dense":
            if len(shape) != 1:
                raise ValueError(f"layers[{i}] ('dense') needs a flat input, got shape {shape!r}; add 'flatten'")
            shape = (check_int("units", params.get("units"), minimum=1),)
        else:
            if len(shape) < 2:
                raise ValueError(f"layers[{i}] ({kind!r}) needs spatial axes, got shape {shape!r}")
            if data_format == "channels_last":
                spatial, channels = shape[:-1], shape[-1]
            else:
                spatial, channels = shape[1:], shape[0]
            rank = len(spatial)
            padding = params.get("padding", 0)
            if kind == "pool":
                window = _spatial_tuple("pool_size", params.get("pool_size"), rank)
                stride = params.get("stride")
                strides = window if stride is None else _spatial_tuple("stride", stride, rank)
                dilations = (1,) * rank
                out_channels = channels
            else:
                window = _spatial_tuple("kernel_size", params.get("kernel_size"), rank)
                strides = _spatial_tuple("stride", params.get("stride", 1), rank)
                dilations = _spatial_tuple("dilation", params.get("dilation", 1), rank)
                if kind == "conv":
                    out_channels = check_int("filters", params.get("filters"), minimum=1)
                else:
                    out_channels = channels * check_int(
                        "depth_multiplier", params.get("depth_multiplier", 1), minimum=1
                    )
            spatial = tuple(
                conv_output_size(n, k, s, padding, d) for n, k, s, d in zip(spatial, window, strides, dilations)
            )
            if data_format == "channels_last":
                shape = (*spatial, out_channels)
            else:
                shape = (out_channels, *spatial)
        shapes.append(shape)
    return shapes


def _out_hw(height, width, kernel, strides, padding, dilation):
    height = check_int("height", height, minimum=1)
    width = check_int("width", width, minimum=1)
    return (
        conv_output_size(height, kernel[0], strides[0], padding, dilation[0]),
        conv_output_size(width, kernel[1], strides[1], padding, dilation[1]),
    )


def conv_macs(
    height,
    width,
    in_channels,
    out_channels,
    kernel_size,
    stride=1,
    padding="same",
    *,
    dilation=1,
    groups=1,
) -> int:
    """Multiplications (MACs) of a 2-D convolution: ``H_out*W_out*C_out*kh*kw*C_in/groups``.

    ``kernel_size``, ``stride`` and ``dilation`` are ints or ``(h, w)`` pairs; ``padding``
    is as in :func:`conv_output_size`. Bias additions are not counted.

    >>> conv_macs(28, 28, 192, 32, 5)   # 5x5 'same' conv, 32 filters, on 28x28x192
    120422400
    """
    in_channels = check_int("in_channels", in_channels, minimum=1)
    out_channels = check_int("out_channels", out_channels, minimum=1)
    groups = check_int("groups", groups, minimum=1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}")
    kernel = _spatial_tuple("kernel_size", kernel_size, 2)
    strides = _spatial_tuple("stride", stride, 2)
    dilations = _spatial_tuple("dilation", dilation, 2)
    h, w = _out_hw(height, width, kernel, strides, padding, dilations)
    return h * w * out_channels * kernel[0] * kernel[1] * (in_channels // groups)


class SeparableMacs(NamedTuple):
    """MACs of a depthwise-separable convolution, split into its two stages."""

    depthwise: int
    pointwise: int
    total: int


def depthwise_separable_macs(
    height,
    width,
    in_channels,
    out_channels,
    kernel_size,
    stride=1,
    padding="same",
    *,
    dilation=1,
    depth_multiplier=1,
) -> SeparableMacs:
    """MACs of a depthwise ``kh x kw`` conv followed by a pointwise 1x1 conv to ``out_channels``.

    Depthwise: ``H_out*W_out*C_in*m*kh*kw``; pointwise: ``H_out*W_out*C_in*m*C_out``
    (``m`` = ``depth_multiplier``). Keras' ``SeparableConv2D`` computes exactly this.

    >>> depthwise_separable_macs(6, 6, 3, 5, 3, padding="valid")
    SeparableMacs(depthwise=432, pointwise=240, total=672)
    """
    in_channels = check_int("in_channels", in_channels, minimum=1)
    out_channels = check_int("out_channels", out_channels, minimum=1)
    depth_multiplier = check_int("depth_multiplier", depth_multiplier, minimum=1)
    kernel = _spatial_tuple("kernel_size", kernel_size, 2)
    strides = _spatial_tuple("stride", stride, 2)
    dilations = _spatial_tuple("dilation", dilation, 2)
    h, w = _out_hw(height, width, kernel, strides, padding, dilations)
    mid = in_channels * depth_multiplier
    depthwise = h * w * mid * kernel[0] * kernel[1]
    pointwise = h * w * mid * out_channels
    return SeparableMacs(depthwise, pointwise, depthwise + pointwise)


def separable_cost_ratio(out_channels, kernel_size) -> float:
    """Cost of a depthwise-separable conv relative to a standard one: ``1/N + 1/f**2``.

    ``N`` = ``out_channels``, ``f`` = ``kernel_size`` (an int, or an ``(h, w)`` pair for
    ``1/N + 1/(h*w)``). MobileNet (Howard et al. 2017): 3x3 kernels cost 8-9x less.
    """
    out_channels = check_int("out_channels", out_channels, minimum=1)
    kh, kw = _spatial_tuple("kernel_size", kernel_size, 2)
    return 1.0 / out_channels + 1.0 / (kh * kw)


# =========================================================================== graph walking

_L = keras.layers
_CONV = (_L.Conv1D, _L.Conv2D, _L.Conv3D)
_CONV_T = (_L.Conv1DTranspose, _L.Conv2DTranspose, _L.Conv3DTranspose)
_DEPTHWISE = (_L.DepthwiseConv1D, _L.DepthwiseConv2D)
_SEPARABLE = (_L.SeparableConv1D, _L.SeparableConv2D)
_POOL = (
    _L.MaxPooling1D, _L.MaxPooling2D, _L.MaxPooling3D,
    _L.AveragePooling1D, _L.AveragePooling2D, _L.AveragePooling3D,
)  # fmt: skip
_UPSAMPLE = (_L.UpSampling1D, _L.UpSampling2D, _L.UpSampling3D)
_COLLAPSE = (
    _L.Flatten, _L.Reshape,
    _L.GlobalAveragePooling1D, _L.GlobalAveragePooling2D, _L.GlobalAveragePooling3D,
    _L.GlobalMaxPooling1D, _L.GlobalMaxPooling2D, _L.GlobalMaxPooling3D,
)  # fmt: skip


def _graph_of(model):
    """The Functional graph to walk: the model itself, or a built Sequential's inner graph."""
    if isinstance(model, keras.Sequential):
        graph = getattr(model, "_functional", None)
        if graph is None:
            raise ValueError(
                f"model {model.name!r} is a Sequential model that is not built with a known "
                "input shape; start it with keras.Input(shape=...) or call model.build(...)"
            )
        return graph
    if isinstance(model, keras.Model) and hasattr(model, "_nodes_by_depth"):
        return model
    return None


def _require_graph(model):
    graph = _graph_of(model) if isinstance(model, keras.Model) else None
    if graph is None:
        raise ValueError(
            f"model must be a functional or Sequential keras.Model, got {type(model).__name__} "
            "(a subclassed model has no graph to walk)"
        )
    return graph


def _walk(graph, input_values, visit):
    """Run ``visit(node, input_values, values) -> output_values`` over ``graph``'s nodes.

    Mirrors ``keras.src.ops.function.Function._run_through_graph``: values are carried per
    symbolic tensor (keyed by ``id``), nodes are visited from the inputs to the outputs.
    Returns the values of the graph's outputs.
    """
    values = {id(x): v for x, v in zip(graph.inputs, input_values)}
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            if not node.operation or node.is_input:
                continue
            if any(id(x) not in values for x in node.input_tensors):
                continue
            outputs = visit(node, [values[id(x)] for x in node.input_tensors], values)
            for x, y in zip(node.outputs, outputs):
                values[id(x)] = y
    return [values.get(id(x)) for x in graph.outputs]


def _shape(x):
    return tuple(x.shape)


# --------------------------------------------------------------------------- receptive fields


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one layer's output, in input pixels.

    ``receptive_field`` and ``jump`` are for the first spatial axis (height); the
    ``*_per_axis`` tuples give every spatial axis. After an upsampling layer or a
    transposed convolution the jump is a fraction and the receptive field is rounded up.
    """

    name: str
    class_name: str
    receptive_field: int
    jump: int | float
    receptive_field_per_axis: tuple[int, ...]
    jump_per_axis: tuple[int | float, ...]


def _as_number(fraction):
    return int(fraction) if fraction.denominator == 1 else float(fraction)


def _window_rf(value, kernel, strides, dilation):
    rank = len(kernel)
    if value is None or len(value) != rank:
        return None
    return tuple((r + (k - 1) * d * j, j * s) for (r, j), k, s, d in zip(value, kernel, strides, dilation))


def _rf_for_node(node, inputs):
    """Receptive-field value after ``node``: a tuple of (r, j) Fractions per axis, or None."""
    op = node.operation
    first = inputs[0] if inputs else None
    if isinstance(op, (*_CONV, *_DEPTHWISE, *_SEPARABLE)):
        return _window_rf(first, op.kernel_size, op.strides, op.dilation_rate)
    if isinstance(op, _POOL):
        return _window_rf(first, op.pool_size, op.strides, (1,) * len(op.pool_size))
    if isinstance(op, _CONV_T):
        if first is None or len(first) != len(op.kernel_size):
            return None
        return tuple(
            (r + (math.ceil((d * (k - 1) + 1) / s) - 1) * j, j / s)
            for (r, j), k, s, d in zip(first, op.kernel_size, op.strides, op.dilation_rate)
        )
    if isinstance(op, _UPSAMPLE):
        if first is None:
            return None
        size = op.size if isinstance(op.size, Sequence) else (op.size,) * len(first)
        extra = 0 if getattr(op, "interpolation", "nearest") == "nearest" else 1
        return tuple((r + extra * j, j / s) for (r, j), s in zip(first, size))
    if isinstance(op, _L.Embedding):
        return ((Fraction(1), Fraction(1)),)
    if isinstance(op, _COLLAPSE):
        return None
    if isinstance(op, _L.Dense):
        return first  # per position; None on a flat input
    if any(v is None for v in inputs) or not inputs:
        return None
    # Element-wise layers (activations, BN, dropout, padding, cropping) and merges
    # (Add, Concatenate, ...): the widest field among the inputs, when the output keeps
    # the spatial layout; anything else ends the spatial path.
    in_shape, out_shape = _shape(node.input_tensors[0]), _shape(node.outputs[0])
    if len(in_shape) != len(out_shape):
        return None
    if not isinstance(op, (_L.ZeroPadding1D, _L.ZeroPadding2D, _L.ZeroPadding3D,
                           _L.Cropping1D, _L.Cropping2D, _L.Cropping3D)):  # fmt: skip
        spatial = slice(1, 1 + len(first))
        if in_shape[spatial] != out_shape[spatial] and in_shape[2:] != out_shape[2:]:
            return None
    if any(len(v) != len(first) for v in inputs):
        return None
    return tuple((max(v[a][0] for v in inputs), max(v[a][1] for v in inputs)) for a in range(len(first)))


def _initial_rf(tensor):
    rank = len(tensor.shape)
    if rank < 3:
        return None
    return ((Fraction(1), Fraction(1)),) * (rank - 2)


def receptive_fields(model) -> list[ReceptiveField]:
    """Receptive field and jump of every layer output along the model's spatial path.

    Uses ``r_out = r_in + (k-1)*d*j_in`` and ``j_out = j_in*s`` for Conv1D/2D/3D,
    DepthwiseConv, SeparableConv and pooling layers. Layers that act per position
    (activations, BatchNormalization, Dropout, padding, Dense on a feature map) pass the
    field through; merge layers (Add, Concatenate, ...) take the largest field among
    their inputs. Transposed convolutions and UpSampling divide the jump by the stride.
    The list ends at the layer that collapses the spatial axes (Flatten, Reshape,
    global pooling): those and later layers have the whole input as receptive field
    and are not listed. Input layers are not listed. Nested functional/Sequential
    models are walked recursively (records named ``outer/inner``, then one record for
    the nested model's output).

    >>> m = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3),
    ...                       keras.layers.Conv2D(8, 3)])
    >>> receptive_fields(m)[-1].receptive_field
    5
    """
    return _receptive_field_records(model, _rf_for_node)


def _receptive_field_records(model, rule) -> list[ReceptiveField]:
    """Walk ``model``'s graph (nested models recursively), applying ``rule(node, input_fields)``
    to every layer, and list a record for each layer whose output still has a field."""
    graph = _require_graph(model)
    records: list[ReceptiveField] = []

    def run(graph, inputs, prefix):
        def visit(node, ins, _values):
            op = node.operation
            sub = _graph_of(op) if isinstance(op, keras.Model) else None
            if sub is not None:
                outs = run(sub, ins, f"{prefix}{op.name}/")
                value = outs[0] if outs else None
            else:
                value = rule(node, ins)
                outs = [value] * len(node.outputs)
            if value is not None:
                rs = tuple(math.ceil(r) for r, _ in value)
                js = tuple(_as_number(j) for _, j in value)
                records.append(ReceptiveField(f"{prefix}{op.name}", type(op).__name__, rs[0], js[0], rs, js))
            return outs

        return _walk(graph, inputs, visit)

    run(graph, [_initial_rf(x) for x in graph.inputs], "")
    return records


_MERGE = (_L.Add, _L.Multiply, _L.Average, _L.Maximum, _L.Minimum, _L.Subtract, _L.Concatenate)


def _rf_through_gates(node, inputs):
    """:func:`_rf_for_node`, except that a merge whose inputs are partly collapsed (a
    squeeze-and-excitation gate multiplied back onto its feature map) keeps the field of its
    spatial inputs instead of ending the spatial path."""
    op = node.operation
    kept = [v for v in inputs if v is not None]
    if isinstance(op, _MERGE) and kept and len(kept) < len(inputs) and all(len(v) == len(kept[0]) for v in kept):
        if len(_shape(node.outputs[0])) == len(kept[0]) + 2:
            return tuple((max(v[a][0] for v in kept), max(v[a][1] for v in kept)) for a in range(len(kept[0])))
    return _rf_for_node(node, inputs)


def conv_path_receptive_fields(model) -> list[ReceptiveField]:
    """:func:`receptive_fields` along the convolution path, counting gates as channel weights.

    A squeeze-and-excitation block (Hu et al. 2018; MobileNetV3, EfficientNet) multiplies a
    feature map by per-channel weights computed from its global average, so strictly every
    later output depends on the whole input and :func:`receptive_fields` ends the list at
    the first such gate. Here a merge layer whose inputs are partly collapsed keeps the
    field of its spatial inputs, giving the field of the convolutions and poolings alone,
    ``r_out = r_in + (k - 1) * d * j_in`` through the whole backbone, as a course quiz
    counts it. For networks without gates both functions agree.
    """
    return _receptive_field_records(model, _rf_through_gates)


# --------------------------------------------------------------------------- layer statistics


@dataclass(frozen=True)
class LayerStats:
    """One row of :func:`layer_stats`.

    ``output_shape`` includes the batch axis (``None``); a layer with several outputs
    gets a list of shapes. ``macs`` is summed over every call of a shared layer, and
    ``params`` is counted at the layer's first appearance only, so that the column sums
    to ``model.count_params()``.
    """

    name: str
    class_name: str
    output_shape: tuple | list
    params: int
    macs: int


def _channels_last(op) -> bool:
    return getattr(op, "data_format", "channels_last") != "channels_first"


def _spatial_dims(shape, op, rank):
    dims = shape[1 : 1 + rank] if _channels_last(op) else shape[2 : 2 + rank]
    return dims


def _prod_known(dims, op, what):
    if any(d is None for d in dims):
        raise ValueError(
            f"layer {op.name!r} ({type(op).__name__}) has an unknown {what} {tuple(dims)!r}, so "
            "its MACs cannot be counted; pass input_shape=(...) with concrete sizes"
        )
    return math.prod(dims)


def _layer_macs(op, in_shape, out_shape) -> int:
    """MACs of one call of ``op`` from its weights' shapes and the call's input/output shapes."""
    if isinstance(op, _SEPARABLE):
        rank = len(op.kernel_size)
        n = _prod_known(_spatial_dims(out_shape, op, rank), op, "output size")
        return n * (math.prod(op.depthwise_kernel.shape) + math.prod(op.pointwise_kernel.shape))
    if isinstance(op, (*_CONV, *_DEPTHWISE)):
        # kernel: (*k, C_in/groups, C_out) for Conv, (*k, C_in, multiplier) for Depthwise.
        rank = len(op.kernel_size)
        n = _prod_known(_spatial_dims(out_shape, op, rank), op, "output size")
        return n * math.prod(op.kernel.shape)
    if isinstance(op, _CONV_T):
        # kernel: (*k, C_out, C_in); every input pixel is scattered through the kernel.
        rank = len(op.kernel_size)
        n = _prod_known(_spatial_dims(in_shape, op, rank), op, "input size")
        return n * math.prod(op.kernel.shape)
    if isinstance(op, _L.Dense):
        n = _prod_known(out_shape[1:-1], op, "output shape") if len(out_shape) > 2 else 1
        return n * math.prod(op.kernel.shape)
    return 0


def _params(op, seen) -> int:
    if id(op) in seen:
        return 0
    seen.add(id(op))
    return op.count_params() if getattr(op, "built", False) else 0


def _input_specs(graph, input_shape):
    if input_shape is None:
        return list(graph.inputs)
    shapes = [input_shape] if len(graph.inputs) == 1 else list(input_shape)
    if len(shapes) != len(graph.inputs):
        raise ValueError(f"input_shape must give {len(graph.inputs)} shapes (one per model input), got {input_shape!r}")
    specs = []
    for x, shape in zip(graph.inputs, shapes):
        try:
            shape = tuple(shape)
        except TypeError:
            raise ValueError(f"input_shape must be a shape tuple without batch axis, got {input_shape!r}") from None
        if len(shape) != len(x.shape) - 1:
            raise ValueError(
                f"input_shape {shape!r} must have {len(x.shape) - 1} axes (no batch axis) "
                f"to match the model input {tuple(x.shape)!r}"
            )
        for d in shape:
            if d is not None:
                check_int("input_shape", d, minimum=1)
        specs.append(keras.KerasTensor((None, *shape), dtype=x.dtype))
    return specs


def _collect_stats(model, input_shape, expand_nested):
    graph = _require_graph(model)
    rows: dict = {}  # key -> mutable [name, class, shape, params, macs]
    seen: set = set()

    def add(key, name, class_name, shape, params, macs):
        if key in rows:
            rows[key][3] += params
            rows[key][4] += macs
        else:
            rows[key] = [name, class_name, shape, params, macs]

    def run(graph, inputs, prefix, expand):
        def visit(node, ins, values):
            op = node.operation
            sub = _graph_of(op) if isinstance(op, keras.Model) else None
            if sub is not None:
                # Nested functional/Sequential model: walk it with this call's input specs.
                if expand:
                    return run(sub, ins, f"{prefix}{op.name}/", True)
                # One row for the whole nested model: walk it, total what it added, and
                # put the rows back as they were.
                snapshot = {key: list(row) for key, row in rows.items()}
                params_before = sum(row[3] for row in rows.values())
                macs_before = sum(row[4] for row in rows.values())
                outs = run(sub, ins, f"{prefix}{op.name}/", True)
                params = sum(row[3] for row in rows.values()) - params_before
                macs = sum(row[4] for row in rows.values()) - macs_before
                rows.clear()
                rows.update(snapshot)
                add((prefix, id(op)), f"{prefix}{op.name}", type(op).__name__,
                    _shape_of(outs), params, macs)  # fmt: skip
                return outs
            # Output specs: the graph's own tensors when the shapes agree, else recompute.
            if all(_shape(v) == _shape(x) for v, x in zip(ins, node.input_tensors)):
                outs = list(node.outputs)
            else:
                args, kwargs = node.arguments.fill_in(values)
                outs = keras.tree.flatten(op.compute_output_spec(*args, **kwargs))
            params = _params(op, seen) if isinstance(op, keras.layers.Layer) else 0
            macs = _layer_macs(op, _shape(ins[0]), _shape(outs[0])) if ins and outs else 0
            name = f"{prefix}{op.name}"
            add((prefix, id(op)), name, type(op).__name__, _shape_of(outs), params, macs)
            return outs

        return _walk(graph, inputs, visit)

    specs = _input_specs(graph, input_shape)
    for x, spec in zip(graph.inputs, specs):
        layer = x._keras_history[0] if hasattr(x, "_keras_history") else None
        name = layer.name if layer is not None else "input"
        add(("", id(layer)), name, "InputLayer", _shape(spec), 0, 0)
    run(graph, specs, "", expand_nested)
    return [LayerStats(*row) for row in rows.values()]


def _shape_of(outs):
    shapes = [_shape(o) for o in outs]
    return shapes[0] if len(shapes) == 1 else shapes


def layer_stats(model, *, input_shape=None, expand_nested=False) -> list[LayerStats]:
    """Output shape, parameter count and MACs of every layer of a built model.

    MACs (multiply-accumulates, bias additions not counted) are computed for Dense,
    Conv1D/2D/3D (``groups`` respected, from the kernel's shape), DepthwiseConv1D/2D,
    SeparableConv1D/2D and Conv1D/2D/3DTranspose, from the output (input for transposed
    convs) shape of the call; every other layer counts 0 (pooling, BN and activations
    are additions/comparisons, and recurrent/attention layers are not covered).

    Args:
        model: a functional or Sequential ``keras.Model``.
        input_shape: optional input shape without batch axis (a list of them for a
            multi-input model) to evaluate the model at, e.g. when it was built with
            ``None`` spatial sizes.
        expand_nested: ``False``: a nested functional/Sequential model is one row with
            its total params and MACs; ``True``: one row per inner layer, named
            ``outer/inner`` (and no row for the nested model itself). A subclassed
            nested model is always one row, with its params and 0 MACs.

    Returns:
        Rows in graph order, starting with the input layers. ``sum(r.params)`` equals
        ``model.count_params()`` (shared layers are counted once).
    """
    check_choice("expand_nested", expand_nested, [True, False])
    return _collect_stats(model, input_shape, expand_nested)


def total_macs(model, *, input_shape=None) -> int:
    """Total multiply-accumulates of one forward pass of one example (see :func:`layer_stats`)."""
    return sum(r.macs for r in layer_stats(model, input_shape=input_shape, expand_nested=True))


def _human(n: int) -> str:
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f}{suffix}"
    return str(n)


def model_summary_table(model, *, input_shape=None, expand_nested=False) -> str:
    """A printable table of :func:`layer_stats`: layer (type), output shape, params, MACs."""
    rows = layer_stats(model, input_shape=input_shape, expand_nested=expand_nested)
    header = ("Layer (type)", "Output shape", "Params", "MACs")
    body = [(f"{r.name} ({r.class_name})", str(r.output_shape), f"{r.params:,}", f"{r.macs:,}") for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

    def fmt(line):
        return "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))

    rule = "-" * len(fmt(header))
    params = sum(r.params for r in rows)
    macs = sum(r.macs for r in rows)
    lines = [f"Model: {model.name}", rule, fmt(header), rule, *(fmt(line) for line in body), rule]
    lines.append(f"Total params: {params:,} ({_human(params)})")
    lines.append(f"Total MACs: {macs:,} ({_human(macs)}) per example")
    return "\n".join(lines)
