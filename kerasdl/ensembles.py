"""Model ensembles: independent members averaged at test time, and snapshot ensembles.

The seed notes (001_95a778d327d97535.txt, "Model Ensembles"): *train multiple independent
models; at test time average their results.* Members differ by their random initialisation
and the order of their mini-batches (one seed each); their errors are partly independent,
so the combination is usually at least as good as the average member (Hansen & Salamon
1990; Lakshminarayanan, Pritzel & Blundell 2017 for deep networks).

**Combining** members that output class probabilities ``p_i`` (softmax), with weights
``w_i >= 0`` normalised to ``sum w_i = 1`` (equal by default), :func:`average_ensemble`:

- ``"mean"``: ``p = sum_i w_i p_i`` (Keras' ``Average`` layer when unweighted);
- ``"geometric"``: ``p = softmax(sum_i w_i log p_i)``, the weighted geometric mean of the
  members' probabilities renormalised to sum to 1 (a product of experts); ``p_i`` is clipped
  to ``keras.config.epsilon()`` before the log so one member's 0 cannot veto a class;
- ``"vote"``: majority vote of the members' argmax classes. The output is
  ``(v + eps * p_mean) / (1 + eps)`` with ``v_k = sum_i w_i [argmax p_i = k]`` the vote
  shares and ``p_mean`` the weighted mean probability; ``eps`` is half the smallest gap
  between two different vote shares the weights allow (``1 / (2M)`` for equal weights),
  so the argmax of the output is the class with the most votes and, **ties broken**, the
  tied class with the highest mean probability (then the lowest class index, ``argmax``'s
  rule). Rows sum to 1.

The result is one functional Keras model (one input, one output) that exports as one
SavedModel (:func:`kerasdl.export.export_saved_model`).

**Snapshot ensembles** (Huang, Li, Pleiss, Liu, Hopcroft & Weinberger, "Snapshot Ensembles:
Train 1, Get M for Free", ICLR 2017): one training run of ``T`` steps with a cyclic cosine
learning rate restarted ``M`` times,

    alpha(t) = alpha_0 / 2 * (cos(pi * mod(t, T/M) / (T/M)) + 1),

and a copy of the model taken at the end of each cycle (where the rate is near 0 and the
model sits in a local minimum); the ``M`` copies are the members. Keras'
``CosineDecayRestarts`` with ``t_mul = m_mul = 1`` and ``alpha = 0`` is exactly this
schedule; :class:`SnapshotCallback` takes the copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path

import kerasdl  # noqa: F401  (sets KERAS_BACKEND=tensorflow before keras is imported)
import keras
import numpy as np

from kerasdl._validation import check_choice, check_float, check_int

__all__ = [
    "METHODS",
    "EnsembleCombine",
    "average_ensemble",
    "combine_probabilities",
    "vote_tie_epsilon",
    "EnsembleMembers",
    "train_ensemble",
    "SnapshotCallback",
    "snapshot_schedule",
    "train_snapshot_ensemble",
    "EnsembleEvaluation",
    "evaluate_ensemble",
    "KINDS",
    "EnsembleRun",
    "fit_and_evaluate_ensemble",
]

METHODS = ("mean", "geometric", "vote")

# Members with unequal vote weights: the tie-break margin is found by listing every subset sum
# of the weights (2**M of them), affordable up to this many members.
_MAX_WEIGHTED_VOTERS = 20


# =========================================================================== combining


def _check_weights(weights, members: int) -> np.ndarray:
    """``weights`` (``None``: equal) as a float64 array of ``members`` non-negative values summing to 1."""
    if weights is None:
        return np.full(members, 1.0 / members)
    if isinstance(weights, (str, bytes)) or not isinstance(weights, (Sequence, np.ndarray)):
        raise TypeError(f"weights must be a sequence of {members} numbers or None, got {weights!r}")
    if len(weights) != members:
        raise ValueError(f"weights must have one value per member ({members}), got {len(weights)}: {list(weights)!r}")
    values = [check_float(f"weights[{i}]", w, minimum=0.0) for i, w in enumerate(weights)]
    if not all(np.isfinite(values)):
        raise ValueError(f"weights must be finite, got {list(weights)!r}")
    total = sum(values)
    if total <= 0:
        raise ValueError(f"weights must not all be 0, got {list(weights)!r}")
    return np.asarray(values, dtype="float64") / total


def vote_tie_epsilon(weights) -> float:
    """Half the smallest positive gap between two vote shares the normalised ``weights`` allow.

    A vote share is a sum of some members' weights, so the gaps are the gaps between the
    distinct subset sums (``1/M`` for ``M`` equal weights). Adding ``eps * p`` with
    ``0 <= p <= 1`` therefore never reorders two classes with different shares. Sums within
    ``1e-6`` of each other count as equal (a tie).
    """
    w = np.asarray(weights, dtype="float64")
    if np.allclose(w, w[0]):
        return 0.5 / len(w)
    if len(w) > _MAX_WEIGHTED_VOTERS:
        raise ValueError(
            f"method='vote' with unequal weights supports at most {_MAX_WEIGHTED_VOTERS} members, got {len(w)}"
        )
    sums = np.zeros(1)
    for weight in w:
        sums = np.concatenate([sums, sums + weight])
    distinct = np.unique(np.round(sums, 6))
    return float(0.5 * np.min(np.diff(distinct)))


def combine_probabilities(probabilities, weights=None, method: str = "mean") -> np.ndarray:
    """NumPy reference of :class:`EnsembleCombine`: ``probabilities`` of shape ``(M, ..., K)``.

    The formulas are those of the module docstring; :func:`average_ensemble`'s model gives
    the same numbers (tested).
    """
    check_choice("method", method, METHODS)
    p = np.asarray(probabilities, dtype="float64")
    if p.ndim < 2:
        raise ValueError(f"probabilities must have shape (members, ..., classes), got {p.shape}")
    w = _check_weights(weights, p.shape[0]).reshape((-1,) + (1,) * (p.ndim - 1))
    if method == "mean":
        return np.sum(w * p, axis=0)
    if method == "geometric":
        logits = np.sum(w * np.log(np.clip(p, keras.config.epsilon(), 1.0)), axis=0)
        logits -= logits.max(axis=-1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=-1, keepdims=True)
    eps = vote_tie_epsilon(w.reshape(-1))
    votes = np.eye(p.shape[-1])[np.argmax(p, axis=-1)]
    shares = np.sum(w * votes, axis=0)
    return (shares + eps * np.sum(w * p, axis=0)) / (1.0 + eps)


@keras.saving.register_keras_serializable(package="kerasdl")
class EnsembleCombine(keras.layers.Layer):
    """Combine a list of members' probability tensors (same shape ``(batch, ..., K)``) into one.

    ``method`` is ``"mean"``, ``"geometric"`` or ``"vote"`` (formulas and tie-breaking in the
    module docstring); ``member_weights`` are the normalised weights (equal when ``None``).
    Keras' ``Average`` covers only the unweighted mean, hence this layer.
    """

    def __init__(self, method: str = "mean", member_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.method = check_choice("method", method, METHODS)
        self.member_weights = None if member_weights is None else [float(w) for w in member_weights]

    def call(self, inputs):
        ops = keras.ops
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError("EnsembleCombine needs a list of at least 2 member outputs")
        stacked = ops.stack(list(inputs), axis=0)  # (M, batch, ..., K)
        weights = _check_weights(self.member_weights, len(inputs))
        w = ops.reshape(ops.convert_to_tensor(weights, dtype=stacked.dtype), (-1,) + (1,) * (len(stacked.shape) - 1))
        if self.method == "mean":
            return ops.sum(w * stacked, axis=0)
        if self.method == "geometric":
            log_p = ops.log(ops.clip(stacked, keras.config.epsilon(), 1.0))
            return ops.softmax(ops.sum(w * log_p, axis=0), axis=-1)
        eps = vote_tie_epsilon(weights)
        votes = ops.one_hot(ops.argmax(stacked, axis=-1), stacked.shape[-1], dtype=stacked.dtype)
        shares = ops.sum(w * votes, axis=0)
        return (shares + eps * ops.sum(w * stacked, axis=0)) / (1.0 + eps)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "method": self.method, "member_weights": self.member_weights}


def _single_tensor_shape(model, what: str, index: int):
    shape = getattr(model, what + "_shape", None)
    if isinstance(shape, list) or (isinstance(shape, tuple) and shape and isinstance(shape[0], (tuple, list))):
        raise ValueError(f"models[{index}] ({model.name!r}) has several {what}s; ensembles need one {what} per model")
    return tuple(shape)


def average_ensemble(models, weights=None, method: str = "mean", *, name: str = "ensemble") -> keras.Model:
    """One functional model that runs every member and combines their probabilities.

    Args:
        models: at least 2 built Keras models with one input and one output each, the same
            input shape and the same output shape ``(batch, ..., K)`` of class probabilities.
        weights: one non-negative weight per member (normalised to sum 1), or ``None`` (equal).
        method: ``"mean"``, ``"geometric"`` or ``"vote"`` (see the module docstring; ``"vote"``
            breaks ties by the members' mean probability).
        name: the ensemble model's name.

    Returns:
        A functional ``keras.Model`` whose sub-models are the members (sharing their weights,
        wrapped as ``member_0``, ``member_1``, ... so equal member names do not clash),
        combined by ``keras.layers.Average`` (unweighted mean) or :class:`EnsembleCombine`.

    Raises:
        TypeError: ``models`` is not a sequence of Keras models, or ``weights`` not a sequence.
        ValueError: fewer than 2 models, several inputs/outputs, different input or output
            shapes, a bad ``weights`` length or value, or an unknown ``method``.
    """
    check_choice("method", method, METHODS)
    if isinstance(models, keras.Model) or not isinstance(models, Sequence):
        raise TypeError(f"models must be a sequence of keras.Model, got {type(models).__name__}")
    models = list(models)
    if len(models) < 2:
        raise ValueError(f"an ensemble needs at least 2 models, got {len(models)}")
    for i, model in enumerate(models):
        if not isinstance(model, keras.Model):
            raise TypeError(f"models[{i}] must be a keras.Model, got {type(model).__name__}")
        if not model.built:
            raise ValueError(f"models[{i}] ({model.name!r}) is not built; call it on data or give it an Input first")
    input_shapes = [_single_tensor_shape(m, "input", i) for i, m in enumerate(models)]
    output_shapes = [_single_tensor_shape(m, "output", i) for i, m in enumerate(models)]
    for i in range(1, len(models)):
        if input_shapes[i][1:] != input_shapes[0][1:]:
            raise ValueError(
                f"models[{i}] takes inputs of shape {input_shapes[i]}, models[0] {input_shapes[0]}: members "
                "must share the input shape"
            )
        if output_shapes[i][1:] != output_shapes[0][1:]:
            raise ValueError(
                f"models[{i}] gives outputs of shape {output_shapes[i]}, models[0] {output_shapes[0]}: members "
                "must give the same output shape"
            )
    normalised = _check_weights(weights, len(models))
    if method == "vote":
        vote_tie_epsilon(normalised)  # validates the member count for unequal weights

    dtype = models[0].inputs[0].dtype if getattr(models[0], "inputs", None) else "float32"
    inputs = keras.Input(shape=input_shapes[0][1:], dtype=dtype, name="inputs")
    outputs = []
    for i, model in enumerate(models):
        # a thin functional wrapper per member: unique names even when every member is "mnist_cnn"
        member_input = keras.Input(shape=input_shapes[0][1:], dtype=dtype, name=f"member_{i}_inputs")
        member = keras.Model(member_input, model(member_input), name=f"member_{i}")
        outputs.append(member(inputs))
    # float32 whatever the global policy: under mixed precision the members end in float32 and
    # the combination (a log, a softmax, small weights) should not be rounded to 8 mantissa bits
    dtype_policy = "float64" if keras.backend.standardize_dtype(outputs[0].dtype) == "float64" else "float32"
    if method == "mean" and weights is None:
        combined = keras.layers.Average(name="combine_mean", dtype=dtype_policy)(outputs)
    else:
        combined = EnsembleCombine(method, normalised.tolist(), name=f"combine_{method}", dtype=dtype_policy)(outputs)
    return keras.Model(inputs, combined, name=name)


# =========================================================================== training members


@dataclass
class EnsembleMembers:
    """Trained members and what they cost.

    Attributes:
        models: the member models (independent runs, or snapshots of one run).
        kind: ``"independent"`` or ``"snapshot"``.
        seeds: each member's seed (independent), or the one run's seed repeated (snapshot).
        seconds: wall-clock training seconds per member (a snapshot: its cycle).
        histories: ``History.history`` per member (snapshot: the one run's, once).
        total_seconds: wall-clock seconds of all training (members loaded from a
            ``member_dir`` count with the seconds recorded when they were trained).
        loaded_seeds: the seeds of the members read back from ``member_dir`` instead of trained.
    """

    models: list
    kind: str
    seeds: list
    seconds: list
    histories: list = field(default_factory=list)
    total_seconds: float = 0.0
    loaded_seeds: list = field(default_factory=list)

    def ensemble(self, method: str = "mean", weights=None, *, name: str = "ensemble") -> keras.Model:
        """:func:`average_ensemble` of these members."""
        return average_ensemble(self.models, weights, method, name=name)


def _training_arrays(data, name: str = "data"):
    """``data`` as ``(x, y)``: a ``(x, y)`` pair, or an object with ``x_train``/``y_train``
    (:class:`kerasdl.data.ImageClassificationData`)."""
    if hasattr(data, "x_train") and hasattr(data, "y_train"):
        return data.x_train, data.y_train
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise TypeError(f"{name} must be an (x, y) pair or have x_train/y_train (ImageClassificationData), got {data!r}")


def _check_builder(builder):
    if isinstance(builder, keras.layers.Layer) or not callable(builder):
        raise TypeError(f"builder must be a callable returning a new keras.Model, got {builder!r}")


def _build(builder, strategy):
    import contextlib

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = builder()
    if not isinstance(model, keras.Model):
        raise TypeError(f"builder must return a keras.Model, got {type(model).__name__}")
    return model


def _compile(model, strategy, optimizer, learning_rate, jit_compile):
    import contextlib

    from kerasdl.training import compile_model

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        compile_model(model, optimizer, learning_rate, jit_compile=jit_compile)


def _check_augment(augment) -> dict | None:
    """``augment`` checked by building it once: ``None`` or :func:`image_augmentation` keywords."""
    if augment is None:
        return None
    if not isinstance(augment, dict):
        raise TypeError(f"augment must be None or a dict of image_augmentation arguments, got {augment!r}")
    if "seed" in augment:
        raise ValueError("augment: leave out 'seed'; each member's augmentation is seeded with the member's seed")
    _augmenter(augment, 0)  # unknown keywords or bad values fail here, before any training
    return dict(augment)


def _augmenter(augment: dict | None, seed: int):
    from kerasdl.data import image_augmentation

    return None if augment is None else image_augmentation(**augment, seed=seed)


def _training_fingerprint(model, x, y, **settings) -> dict:
    """What decides a member's weights besides its seed: the architecture (every layer's class
    and configuration, names left out as Keras numbers them per process), a SHA-256 of the
    training images and labels, and the training settings. Two members with equal fingerprints
    and seeds train to the same weights on the same machine."""
    layers = [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"}) for layer in model.layers
    ]
    digest = hashlib.sha256()
    for array in (x, y):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    return {
        "architecture": hashlib.sha256(json.dumps(layers, sort_keys=True, default=str).encode()).hexdigest(),
        "parameters": int(model.count_params()),
        "training_data": digest.hexdigest(),
        **json.loads(json.dumps(settings, sort_keys=True, default=str)),
    }


def _software() -> dict:
    """What a member was trained with besides its fingerprint: the TensorFlow and Keras versions
    and the oneDNN setting. Other versions or kernels train valid members that are not
    bit-identical to this machine's, so they are reported on loading, not refused."""
    import tensorflow as tf

    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "TF_ENABLE_ONEDNN_OPTS": onednn}


def _saved_member(member_dir: Path, seed: int, fingerprint: dict):
    """``(model, seconds, history, software)`` of the member with ``seed`` saved in
    ``member_dir``, or None when none is there; ``software`` names what differs from
    :func:`_software` now ("" when nothing does or the record predates it). A member trained
    otherwise (``fingerprint`` differs) raises ``ValueError`` naming the differences: it is
    never mixed in."""
    from kerasdl.export import load_keras

    record = member_dir / f"member_seed{seed}.json"
    if not record.is_file():  # written after the model: without it the member was not finished
        return None
    saved = json.loads(record.read_text())
    differences = {
        key: (saved["fingerprint"].get(key), value)
        for key, value in fingerprint.items()
        if saved["fingerprint"].get(key) != value
    }
    if differences:
        listed = "; ".join(f"{key}: saved {old!r}, now {new!r}" for key, (old, new) in sorted(differences.items()))
        raise ValueError(
            f"{record} holds a member trained otherwise ({listed}); use another member_dir or delete that member"
        )
    now, then = _software(), saved.get("trained_with", {})
    software = ", ".join(f"{key} {then[key]} (now {now[key]})" for key in now if then.get(key, now[key]) != now[key])
    return load_keras(member_dir / f"member_seed{seed}.keras"), saved["seconds"], saved["history"], software


def _save_member(member_dir: Path, seed: int, model, fingerprint: dict, seconds: float, history: dict) -> None:
    """The member as ``member_seed<seed>.keras``, then its record (fingerprint, seconds,
    history, the software it was trained with) as ``member_seed<seed>.json``; both atomic, the
    record last."""
    from kerasdl.benchmarking import write_json
    from kerasdl.export import save_keras

    member_dir.mkdir(parents=True, exist_ok=True)
    save_keras(model, member_dir / f"member_seed{seed}.keras")
    record = {"seed": seed, "fingerprint": fingerprint, "seconds": seconds, "history": history}
    record["trained_with"] = _software()
    write_json(member_dir / f"member_seed{seed}.json", record)


def train_ensemble(
    builder: Callable[[], keras.Model],
    data,
    members: int = 5,
    seeds: Sequence[int] | None = None,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    optimizer="adam",
    learning_rate: float = 1e-3,
    schedule: str = "constant",
    augment: dict | None = None,
    validation_data=None,
    member_dir=None,
    jit_compile="auto",
    strategy=None,
    verbose: int = 0,
    log: Callable[[str], None] | None = None,
) -> EnsembleMembers:
    """Train ``members`` independent copies of ``builder()``, one seed each.

    Each member: ``set_seed(seed)`` (weights initialised and batches shuffled from it), a new
    model from ``builder()``, :func:`kerasdl.training.compile_model`, ``fit`` with
    :class:`~kerasdl.training.StopOnNonFinite` (a NaN/inf loss raises ``TrainingDiverged``).

    Args:
        builder: a callable with no arguments that returns a *new* uncompiled ``keras.Model``
            (e.g. ``functools.partial(mnist_cnn, dropout=0.3)``).
        data: ``(x_train, y_train)`` or an ``ImageClassificationData`` (its training split).
        members: number of members, at least 2.
        seeds: one distinct integer per member (default ``0 .. members-1``).
        epochs: training epochs per member (``fit``).
        batch_size: training batch size (``fit``).
        optimizer: the optimizer name or instance (``compile_model``).
        learning_rate: the (peak) learning rate (``compile_model``).
        schedule: ``compile_model``'s schedule name, decayed over ``epochs`` (e.g. ``"cosine"``).
        augment: optional keyword arguments of :func:`kerasdl.data.image_augmentation`
            (e.g. ``{"translation": 0.1, "rotation": 0.025}``); each member gets its own
            random layers, seeded with its seed, so the members also differ in the images they
            see (more diverse errors, a larger gain from averaging).
        validation_data: optional ``(x_val, y_val)`` reported in each member's history.
        member_dir: optional folder that makes a long run resumable and splittable: each
            finished member is saved there (``member_seed<seed>.keras`` and a ``.json`` record
            of how it was trained, both atomic), and a member already there with the same
            seed, architecture, training data and settings is loaded instead of trained. A
            killed run loses only the member in progress, and an ensemble of many members can
            be trained in parts (``seeds=[5, 6, ...]`` one day, all of them the next). A
            member saved with other settings raises ``ValueError`` rather than being mixed in;
            one trained with other TensorFlow or Keras versions or another oneDNN setting
            (valid, not bit-identical) is loaded and ``log`` says so.
        jit_compile: ``"auto"``, ``True`` or ``False``.
        strategy: optional ``tf.distribute.Strategy`` to build and compile under.
        verbose: ``fit``'s verbosity.
        log: called with one line per finished or loaded member (e.g. ``print``).

    Returns:
        :class:`EnsembleMembers` (``kind="independent"``); ``.ensemble(method)`` combines them.
    """
    from kerasdl.data import make_dataset
    from kerasdl.training import StopOnNonFinite, set_seed
    from kerasdl.training.callbacks import check_finite_weights

    _check_builder(builder)
    members = check_int("members", members, minimum=2)
    seeds = list(range(members)) if seeds is None else list(seeds)
    if len(seeds) != members:
        raise ValueError(f"seeds must have one seed per member ({members}), got {len(seeds)}: {seeds!r}")
    seeds = [check_int(f"seeds[{i}]", s, minimum=0) for i, s in enumerate(seeds)]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (equal seeds train equal members), got {seeds!r}")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    x, y = _training_arrays(data)
    augment = _check_augment(augment)
    steps = -(-len(x) // batch_size)
    validation = None if validation_data is None else make_dataset(*validation_data, 256, shuffle=False)
    fingerprint = None
    if member_dir is not None:
        member_dir = Path(member_dir)
        settings = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, schedule=schedule)
        settings["optimizer"] = optimizer if isinstance(optimizer, str) else keras.optimizers.serialize(optimizer)
        fingerprint = _training_fingerprint(_build(builder, None), x, y, augment=augment, **settings)

    models, seconds, histories, loaded = [], [], [], []
    start_all = time.perf_counter()
    for i, seed in enumerate(seeds):
        saved = None if member_dir is None else _saved_member(member_dir, seed, fingerprint)
        if saved is not None:
            model, trained_seconds, history, software = saved
            models.append(model)
            seconds.append(trained_seconds)
            histories.append(history)
            loaded.append(seed)
            if log is not None:
                other = f"; trained with {software}: valid, not bit-identical to a fresh run" if software else ""
                where = f"loaded from {member_dir} (trained in {trained_seconds:.1f} s{other})"
                log(f"member {i + 1}/{members} (seed {seed}): {where}")
            continue
        start = time.perf_counter()
        set_seed(seed)
        model = _build(builder, strategy)
        if any(model is m for m in models):
            raise ValueError("builder returned a model it had returned before; it must build a new model per call")
        rate = learning_rate
        if schedule != "constant":
            from kerasdl.training import make_schedule

            rate = make_schedule(schedule, learning_rate, decay_steps=epochs * steps)
        _compile(model, strategy, optimizer, rate, jit_compile)
        history = model.fit(
            make_dataset(x, y, batch_size, shuffle=True, augment=_augmenter(augment, seed), seed=seed),
            validation_data=validation,
            epochs=epochs,
            shuffle=False,  # make_dataset reshuffles every epoch
            callbacks=[StopOnNonFinite()],
            verbose=verbose,
        )
        check_finite_weights(model, f"ensemble member {i}")
        models.append(model)
        histories.append({k: [float(v) for v in vs] for k, vs in history.history.items()})
        seconds.append(time.perf_counter() - start)
        if member_dir is not None:
            _save_member(member_dir, seed, model, fingerprint, seconds[-1], histories[-1])
        if log is not None:
            log(f"member {i + 1}/{members} (seed {seed}): {epochs} epochs in {seconds[-1]:.1f} s")
    total = time.perf_counter() - start_all + sum(s for s, seed in zip(seconds, seeds) if seed in loaded)
    return EnsembleMembers(models, "independent", seeds, seconds, histories, total, loaded)


def snapshot_schedule(learning_rate: float, steps_per_cycle: int):
    """Huang et al.'s cyclic cosine rate: ``alpha_0/2 (cos(pi mod(t, c)/c) + 1)``, ``c`` steps a cycle.

    Keras' ``CosineDecayRestarts`` with ``t_mul = m_mul = 1`` (every cycle as long and as high
    as the first) and ``alpha = 0`` (down to 0) is exactly this formula.
    """
    learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
    steps_per_cycle = check_int("steps_per_cycle", steps_per_cycle, minimum=1)
    return keras.optimizers.schedules.CosineDecayRestarts(
        learning_rate, first_decay_steps=steps_per_cycle, t_mul=1.0, m_mul=1.0, alpha=0.0
    )


class SnapshotCallback(keras.callbacks.Callback):
    """Copy the model at the end of every cycle of ``epochs_per_cycle`` epochs (a snapshot).

    ``snapshots`` holds in-memory copies (``keras.models.clone_model`` + the current weights);
    with ``directory`` each is also written as ``snapshot_<k>.keras`` (atomically,
    :func:`kerasdl.export.save_keras`). A model with NaN/inf weights is never snapshotted:
    ``TrainingDiverged`` is raised instead. ``cycle_seconds`` is the wall time of each cycle.
    """

    def __init__(self, epochs_per_cycle: int, directory=None):
        super().__init__()
        self.epochs_per_cycle = check_int("epochs_per_cycle", epochs_per_cycle, minimum=1)
        self.directory = None if directory is None else Path(directory)
        self.snapshots: list = []
        self.paths: list = []
        self.cycle_seconds: list = []

    def on_train_begin(self, logs=None):
        self.snapshots, self.paths, self.cycle_seconds = [], [], []
        self._cycle_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.epochs_per_cycle:
            return
        from kerasdl.training.callbacks import check_finite_weights

        check_finite_weights(self.model, f"snapshot {len(self.snapshots)}")
        copy = keras.models.clone_model(self.model)
        copy.set_weights(self.model.get_weights())
        self.snapshots.append(copy)
        if self.directory is not None:
            from kerasdl.export import save_keras

            self.directory.mkdir(parents=True, exist_ok=True)
            self.paths.append(save_keras(copy, self.directory / f"snapshot_{len(self.snapshots) - 1}.keras"))
        now = time.perf_counter()
        self.cycle_seconds.append(now - self._cycle_start)
        self._cycle_start = now


def train_snapshot_ensemble(
    builder: Callable[[], keras.Model],
    data,
    snapshots: int = 5,
    epochs_per_cycle: int = 2,
    *,
    batch_size: int = 64,
    optimizer="adam",
    learning_rate: float = 1e-3,
    seed: int = 0,
    augment: dict | None = None,
    validation_data=None,
    snapshot_dir=None,
    jit_compile="auto",
    strategy=None,
    verbose: int = 0,
    log: Callable[[str], None] | None = None,
) -> EnsembleMembers:
    """One run of ``snapshots * epochs_per_cycle`` epochs with :func:`snapshot_schedule`
    (peak ``learning_rate``), a member copied at the end of each cycle (Huang et al. 2017).

    Args:
        builder: a callable with no arguments returning a new uncompiled ``keras.Model``.
        data: ``(x_train, y_train)`` or an ``ImageClassificationData``.
        snapshots: number of cycles and members, at least 2.
        epochs_per_cycle: epochs from one restart to the next snapshot.
        learning_rate: ``alpha_0``, the rate at each restart.
        seed: the run's seed (initialisation, batch order and augmentation).
        augment: optional :func:`kerasdl.data.image_augmentation` keyword arguments, as in
            :func:`train_ensemble`.
        snapshot_dir: optional folder for ``snapshot_<k>.keras`` files.
        batch_size: training batch size, as in :func:`train_ensemble`.
        optimizer: the optimizer name or instance, as in :func:`train_ensemble`.
        validation_data: optional ``(x_val, y_val)``, as in :func:`train_ensemble`.
        jit_compile: ``"auto"``, ``True`` or ``False``.
        strategy: optional ``tf.distribute.Strategy`` to build and compile under.
        verbose: ``fit``'s verbosity.
        log: called with one line per snapshot taken (e.g. ``print``).

    Returns:
        :class:`EnsembleMembers` (``kind="snapshot"``).
    """
    from kerasdl.data import make_dataset
    from kerasdl.training import StopOnNonFinite, set_seed

    _check_builder(builder)
    snapshots = check_int("snapshots", snapshots, minimum=2)
    epochs_per_cycle = check_int("epochs_per_cycle", epochs_per_cycle, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, Real):
        raise ValueError(f"learning_rate must be a number (the rate at each restart), got {learning_rate!r}")
    x, y = _training_arrays(data)
    augment = _check_augment(augment)
    steps = -(-len(x) // batch_size)

    start = time.perf_counter()
    set_seed(seed)
    model = _build(builder, strategy)
    _compile(model, strategy, optimizer, snapshot_schedule(learning_rate, epochs_per_cycle * steps), jit_compile)
    collector = SnapshotCallback(epochs_per_cycle, snapshot_dir)
    history = model.fit(
        make_dataset(x, y, batch_size, shuffle=True, augment=_augmenter(augment, seed), seed=seed),
        validation_data=None if validation_data is None else make_dataset(*validation_data, 256, shuffle=False),
        epochs=snapshots * epochs_per_cycle,
        shuffle=False,
        callbacks=[collector, StopOnNonFinite()],
        verbose=verbose,
    )
    if log is not None:
        for k, s in enumerate(collector.cycle_seconds):
            log(f"snapshot {k + 1}/{snapshots}: cycle of {epochs_per_cycle} epochs in {s:.1f} s")
    return EnsembleMembers(
        collector.snapshots,
        "snapshot",
        [seed] * snapshots,
        collector.cycle_seconds,
        [{k: [float(v) for v in vs] for k, vs in history.history.items()}],
        time.perf_counter() - start,
    )


# =========================================================================== evaluation


@dataclass
class EnsembleEvaluation:
    """Test accuracies of the members and of their combination.

    ``member_accuracies`` per member; ``mean_member_accuracy``, ``std_member_accuracy``
    (population std), ``best_member_accuracy``; ``ensemble_accuracy`` of the ensemble model;
    ``gain_over_mean_member`` = ensemble − mean member.
    """

    member_accuracies: list
    mean_member_accuracy: float
    std_member_accuracy: float
    best_member_accuracy: float
    ensemble_accuracy: float
    gain_over_mean_member: float


def evaluate_ensemble(models, ensemble, x, y, *, batch_size: int = 256) -> EnsembleEvaluation:
    """Top-1 accuracy of every member in ``models`` and of ``ensemble`` on ``(x, y)`` (integer labels)."""
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"x and y must have the same number of examples, got {len(x)} and {len(y)}")
    batch_size = check_int("batch_size", batch_size, minimum=1)

    def accuracy(model):
        probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
        return float(np.mean(probs.argmax(axis=-1) == y))

    members = [accuracy(m) for m in models]
    combined = accuracy(ensemble)
    mean = float(np.mean(members))
    return EnsembleEvaluation(members, mean, float(np.std(members)), float(np.max(members)), combined, combined - mean)


# =========================================================================== the whole flow


KINDS = ("independent", "snapshot")


@dataclass
class EnsembleRun:
    """What :func:`fit_and_evaluate_ensemble` returns: the members, the combined model and
    the test figures."""

    members: EnsembleMembers
    ensemble: keras.Model
    evaluation: EnsembleEvaluation
    method: str


def fit_and_evaluate_ensemble(
    builder: Callable[[], keras.Model],
    data,
    *,
    kind: str = "independent",
    members: int = 5,
    epochs: int = 5,
    batch_size: int = 64,
    optimizer="adam",
    learning_rate: float = 1e-3,
    validation_fraction: float | None = 0.1,
    seed: int = 0,
    method: str = "mean",
    augment: dict | None = None,
    jit_compile="auto",
    strategy=None,
    verbose: int = 0,
    log: Callable[[str], None] | None = None,
) -> EnsembleRun:
    """Train an ensemble on ``data``'s training split, combine it and score it on its test split.

    ``kind="independent"``: ``members`` runs of ``epochs`` epochs, seeds ``seed .. seed+members-1``
    (:func:`train_ensemble`). ``kind="snapshot"``: one run of ``epochs`` epochs cut into
    ``members`` cycles of ``epochs / members`` epochs (:func:`train_snapshot_ensemble`;
    ``epochs`` must be a multiple of ``members``), peak rate ``learning_rate``.
    ``validation_fraction`` of the training split is held out and reported in the histories
    (``None``: none). ``augment``: :func:`kerasdl.data.image_augmentation` keywords, each
    member's layers seeded with its seed (:func:`train_ensemble`). ``data`` is an
    ``ImageClassificationData`` (``x_train``, ``y_train``, ``x_test``, ``y_test``).

    Raises:
        ValueError: an unknown ``kind``/``method``, fewer than 2 members, ``epochs`` not a
            multiple of ``members`` for snapshots.
    """
    check_choice("kind", kind, KINDS)
    check_choice("method", method, METHODS)
    members = check_int("members", members, minimum=2)
    epochs = check_int("epochs", epochs, minimum=1)
    if kind == "snapshot" and epochs % members:
        raise ValueError(
            f"epochs ({epochs}) must be a multiple of the number of snapshots ({members}): every cycle "
            "has the same whole number of epochs"
        )
    for attribute in ("x_train", "y_train", "x_test", "y_test"):
        if not hasattr(data, attribute):
            raise TypeError(
                f"data must have x_train, y_train, x_test and y_test (ImageClassificationData), got {data!r}"
            )
    x, y, validation = data.x_train, data.y_train, None
    if validation_fraction is not None:
        from kerasdl.data import train_val_split

        (x, y), validation = train_val_split(x, y, validation_fraction=validation_fraction, seed=seed)
    common = dict(
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        validation_data=validation,
        augment=augment,
        jit_compile=jit_compile,
        strategy=strategy,
        verbose=verbose,
        log=log,
    )
    if kind == "independent":
        trained = train_ensemble(builder, (x, y), members, [seed + i for i in range(members)], epochs=epochs, **common)
    else:
        trained = train_snapshot_ensemble(builder, (x, y), members, epochs // members, seed=seed, **common)
    ensemble = trained.ensemble(method)
    evaluation = evaluate_ensemble(trained.models, ensemble, data.x_test, data.y_test)
    return EnsembleRun(trained, ensemble, evaluation, method)
