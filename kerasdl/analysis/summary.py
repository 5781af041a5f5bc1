"""A model summary with the quizzes' arithmetic: per layer output shape, parameters, MACs and receptive field.

What ``kerasdl summary`` prints. Keras' ``model.summary()`` gives shapes and parameters; the
seeds' quizzes also ask what a layer costs and how much of the image it sees. This module
joins the two walks of :mod:`kerasdl.analysis` over the model's graph:

* :func:`kerasdl.analysis.layer_stats`: output shape, parameters (shared layers counted once,
  so the column sums to ``model.count_params()``) and multiply-accumulates
  ``MACs = H_out * W_out * C_out * k_h * k_w * C_in / groups`` for a convolution
  (``in * out`` per position for a Dense layer; depthwise, separable and transposed
  convolutions by their own formulas);
* :func:`kerasdl.analysis.conv_path_receptive_fields`: the receptive field ``r`` and jump ``j``
  of every output on the spatial path, ``r_out = r_in + (k - 1) * d * j_in``, ``j_out = j_in * s``
  (Araujo, Norris & Sim, Distill 2019).

A layer after the spatial axes have been collapsed (Flatten, global pooling) sees the whole
input: its receptive field is reported as ``"all"`` (``None`` in :class:`LayerSummary`). The
receptive fields are those of the convolution path
(:func:`kerasdl.analysis.conv_path_receptive_fields`): a squeeze-and-excitation gate
(EfficientNet's ``*_se_excite``), whose global average strictly makes every later output depend
on the whole image, is counted as the channel weighting it is, so the field keeps growing
through the backbone as the quizzes count it; the gate's own branch shows ``"all"``.

:func:`summarize_builder` builds a :data:`kerasdl.models.BUILDERS` network inside a
``keras.StatelessScope``, so its weights are declared but never initialised: the summary of
EfficientNet-B7 at 600x600 needs no 66-million-weight initialisation.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import kerasdl  # noqa: F401  (sets KERAS_BACKEND=tensorflow before keras is imported)
import keras

from kerasdl.analysis import _human, conv_path_receptive_fields, layer_stats

__all__ = ["LayerSummary", "ModelSummary", "summarize", "summarize_builder", "format_summary"]


@dataclass(frozen=True)
class LayerSummary:
    """One layer of a :class:`ModelSummary`.

    ``output_shape`` includes the batch axis (``None``); ``receptive_field`` and ``jump`` give
    one value per spatial axis (``None`` when the layer sees the whole input, or for input
    layers and non-spatial models).
    """

    name: str
    class_name: str
    output_shape: tuple | list
    params: int
    macs: int
    receptive_field: tuple[int, ...] | None
    jump: tuple[int | float, ...] | None


@dataclass(frozen=True)
class ModelSummary:
    """Per-layer rows and totals of one model (see :func:`summarize`).

    ``receptive_field`` is the largest receptive field on the spatial path (per axis), i.e.
    what the last spatial layer sees, ``None`` for a model without spatial layers.
    """

    model_name: str
    input_shape: tuple | list
    layers: list[LayerSummary]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_macs: int
    receptive_field: tuple[int, ...] | None

    def to_dict(self) -> dict:
        """A JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    def to_json(self, indent: int | None = 2) -> str:
        """The summary as JSON text (what ``kerasdl summary --json`` prints)."""
        return json.dumps(self.to_dict(), indent=indent)


def _count(weights) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def summarize(model, *, input_shape=None, expand_nested: bool = False) -> ModelSummary:
    """Output shape, parameters, MACs and receptive field of every layer of ``model``, and totals.

    Args:
        model: a functional or Sequential ``keras.Model`` (a subclassed one has no graph to
            walk: ``ValueError``).
        input_shape: optional input shape without the batch axis to evaluate the model at
            (e.g. for a model built with ``None`` sizes), as :func:`kerasdl.analysis.layer_stats`.
        expand_nested: one row per layer of a nested functional/Sequential model (named
            ``outer/inner``) instead of one row for the nested model.

    Returns:
        A :class:`ModelSummary`; ``total_params == model.count_params()`` and ``total_macs``
        is :func:`kerasdl.analysis.total_macs` for one example.
    """
    stats = layer_stats(model, input_shape=input_shape, expand_nested=expand_nested)
    fields = {record.name: record for record in conv_path_receptive_fields(model)}  # last call of a shared layer wins
    rows = []
    for row in stats:
        field = fields.get(row.name)
        rows.append(
            LayerSummary(
                name=row.name,
                class_name=row.class_name,
                output_shape=row.output_shape,
                params=row.params,
                macs=row.macs,
                receptive_field=None if field is None else field.receptive_field_per_axis,
                jump=None if field is None else field.jump_per_axis,
            )
        )
    spatial = [r.receptive_field for r in rows if r.receptive_field is not None]
    largest = max(spatial, key=math.prod) if spatial else None
    trainable = _count(model.trainable_weights)
    total = sum(r.params for r in rows)
    return ModelSummary(
        model_name=model.name,
        input_shape=rows[0].output_shape
        if len(model.inputs) == 1
        else [r.output_shape for r in rows[: len(model.inputs)]],
        layers=rows,
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        total_macs=sum(r.macs for r in rows),
        receptive_field=largest,
    )


def summarize_builder(builder: str, *, input_shape=None, expand_nested: bool = False, **options) -> ModelSummary:
    """Summarise the network a :data:`kerasdl.models.BUILDERS` builder makes, without initialising weights.

    Args:
        builder: a builder name (``kerasdl list``), e.g. ``"resnet50"``.
        input_shape: the builder's ``input_shape`` (``None``: its default).
        expand_nested: see :func:`summarize`.
        **options: other builder arguments (``depth=56``, ``alpha=0.5``, ``num_classes=10``).
            ``weights`` is refused: a summary does not depend on weight values.

    Raises:
        ValueError: an unknown builder, ``weights``, or what the builder itself refuses.
    """
    from kerasdl.models import BUILDERS

    if builder not in BUILDERS:
        raise ValueError(f"unknown builder {builder!r}; choose one of: {', '.join(BUILDERS)}")
    if options.get("weights") is not None:
        raise ValueError("weights: a summary does not depend on weight values; leave weights unset")
    if input_shape is not None:
        options["input_shape"] = tuple(input_shape)
    # Variables created in a StatelessScope are declared with their shapes but not initialised
    # (Keras' deferred initialisation), so even EfficientNet-B7 costs only its graph.
    pending = _pending_initialisations()
    already_pending = len(pending)
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = BUILDERS[builder](**options)
        return summarize(model, expand_nested=expand_nested)
    except TypeError as error:  # a required argument missing (mlp's input_shape, softmax_regression's num_classes)
        raise ValueError(f"builder {builder!r}: {error}; give it as --input-shape / --num-classes") from error
    finally:
        # Keras keeps deferred variables in a global list and initialises them all when the next
        # StatelessScope closes; these belong to a model nobody will run, so drop them.
        del pending[already_pending:]


def _pending_initialisations() -> list:
    """Keras' global list of variables waiting for deferred initialisation (a private Keras detail)."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # another Keras layout: nothing to clean up
        return []
    return global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)


def _rf_text(values, sep="x"):
    if values is None:
        return "all"
    if len(set(values)) == 1:
        return f"{values[0]:g}" if isinstance(values[0], float) else str(values[0])
    return sep.join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def format_summary(summary: ModelSummary) -> str:
    """A printable table of a :class:`ModelSummary`: layer (type), output shape, params, MACs, RF, jump; then totals.

    ``RF`` is the receptive field in input pixels (one number when equal on every axis),
    ``jump`` the input pixels between neighbouring outputs; ``all``: the layer sees the whole input.
    """
    header = ("Layer (type)", "Output shape", "Params", "MACs", "RF", "Jump")
    body = []
    for r in summary.layers:
        is_input = r.class_name == "InputLayer"
        body.append(
            (
                f"{r.name} ({r.class_name})",
                str(r.output_shape),
                f"{r.params:,}",
                f"{r.macs:,}",
                "-" if is_input else _rf_text(r.receptive_field),
                "-" if is_input or r.jump is None else _rf_text(r.jump),
            )
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(line):
        return "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))

    rule = "-" * len(fmt(header))
    lines = [f"Model: {summary.model_name}, input {summary.input_shape}", rule, fmt(header), rule]
    lines += [fmt(line) for line in body]
    lines.append(rule)
    lines.append(
        f"Total params: {summary.total_params:,} ({_human(summary.total_params)}): trainable "
        f"{summary.trainable_params:,}, non-trainable {summary.non_trainable_params:,}"
    )
    lines.append(f"Total MACs: {summary.total_macs:,} ({_human(summary.total_macs)}) per example")
    if summary.receptive_field is not None:
        lines.append(f"Largest receptive field on the spatial path: {_rf_text(summary.receptive_field)} pixels")
    return "\n".join(lines)
