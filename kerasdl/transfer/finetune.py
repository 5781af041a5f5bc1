"""Transfer learning in the seeds' two phases: train a new head on a frozen base, then
fine-tune the top of the base with a learning rate about ten times lower.

Batch normalisation stays frozen in both phases, so it keeps using its ImageNet moving
statistics (a few batches of a small data set would otherwise overwrite statistics learned
on a million images, and the first fine-tuning steps would wreck the features). The base
is called with ``training=False`` as the Keras guide shows, but in Keras 3 ``fit()``'s
``training=True`` overrides that flag inside a functional model (keras-team/keras#20285,
measured in ``tests/test_transfer.py``); what keeps a ``BatchNormalization`` layer in
inference mode is ``trainable=False``, which :func:`set_trainable_top` sets on every one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kerasdl._validation import check_float, check_int

# Several outputs on one backbone (seed: multi-task learning): {"task name": num_classes}.
DEFAULT_TASK = "class"


def _tasks(num_classes) -> dict[str, int]:
    tasks = num_classes if isinstance(num_classes, dict) else {DEFAULT_TASK: num_classes}
    if not tasks:
        raise ValueError("num_classes must be an int or a non-empty {task: num_classes} dict")
    for task, count in tasks.items():
        if not isinstance(task, str) or not task.isidentifier():
            raise ValueError(f"task names must be identifiers (they name the output layers), got {task!r}")
        check_int(f"num_classes[{task!r}]", count, minimum=2)
    return dict(tasks)


def build_transfer_model(backbone, num_classes, *, augmentation=None, dropout: float = 0.2, name=None):
    """New classification head(s) on a :class:`~kerasdl.transfer.LoadedBackbone`.

    image (float pixels in [0, 255]) → augmentation (training only) → the backbone's own
    preprocessing → base(training=False) → global average pooling → dropout → one softmax
    ``Dense`` per task. ``num_classes`` is an int (one output, named ``class``) or a
    ``{task: num_classes}`` dict for a multi-task model with one named output per task.
    """
    import keras

    tasks = _tasks(num_classes)
    check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    inputs = keras.Input(shape=backbone.input_shape, name="image")
    x = augmentation(inputs) if augmentation is not None else inputs
    x = backbone.preprocess(x)
    x = backbone.model(x, training=False)
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = {
        task: keras.layers.Dense(count, activation="softmax", dtype="float32", name=task)(x)
        for task, count in tasks.items()
    }
    if len(outputs) == 1:
        outputs = next(iter(outputs.values()))
    return keras.Model(inputs, outputs, name=name or f"transfer_{backbone.name.replace(':', '_')}")


def _batch_norm_layers(model):
    import keras

    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            yield layer
        yield from _batch_norm_layers(layer)


def set_trainable_top(backbone, unfreeze_top: int | None) -> int:
    """Freeze the base except its last ``unfreeze_top`` layers (all of them for ``None``);
    batch-normalisation layers stay frozen whatever their position.

    Returns the number of layers left trainable. A TF Hub backbone is one layer: any
    ``unfreeze_top >= 1`` unfreezes it whole.
    """
    layers = backbone.fine_tunable_layers
    base = backbone.model
    if unfreeze_top == 0:
        base.trainable = False
        return 0
    if unfreeze_top is not None:
        check_int("unfreeze_top", unfreeze_top, minimum=0)
    base.trainable = True
    if unfreeze_top is not None and unfreeze_top < len(layers) and hasattr(base, "layers"):
        for layer in layers[:-unfreeze_top]:
            layer.trainable = False
    for layer in _batch_norm_layers(base):
        layer.trainable = False
    return sum(1 for layer in layers if layer.trainable)


@dataclass
class FineTuneResult:
    """The two phases of a transfer-learning run: a new head on a frozen backbone, then fine-tuning.

    Attributes:
        head_history: ``History.history`` of the frozen-backbone phase.
        fine_tune_history: ``History.history`` of the fine-tuning phase (empty when there was none).
        trainable_layers: backbone layers made trainable for fine-tuning (batch norm stays frozen).
    """

    head_history: dict
    fine_tune_history: dict = field(default_factory=dict)
    trainable_layers: int = 0

    @property
    def history(self) -> dict:
        """Both phases' logs, concatenated epoch by epoch."""
        merged = {}
        for logs in (self.head_history, self.fine_tune_history):
            for key, values in logs.items():
                merged.setdefault(key, []).extend(values)
        return merged


def _compile(model, learning_rate, loss_weights, jit_compile):
    from kerasdl.training import compile_model

    outputs = model.output_names
    loss = (
        {name: "sparse_categorical_crossentropy" for name in outputs}
        if len(outputs) > 1
        else "sparse_categorical_crossentropy"
    )
    metrics = {name: ["accuracy"] for name in outputs} if len(outputs) > 1 else ["accuracy"]
    compile_model(
        model,
        optimizer="adam",
        learning_rate=learning_rate,
        loss=loss,
        metrics=metrics,
        loss_weights=loss_weights,
        jit_compile=jit_compile,
    )


def check_fine_tune_settings(
    *, head_epochs, fine_tune_epochs, learning_rate, fine_tune_lr_factor, unfreeze_top, label=lambda name: name
) -> None:
    """Raise ``ValueError`` naming the setting, its value and the rule, for a bad :func:`fine_tune` setting.

    :func:`fine_tune` runs it first; an app runs it before it reads data or creates a run
    folder, so a bad flag leaves nothing behind. ``label(name)`` is how a setting is named
    in the message (an app passes its flag spelling, ``--head-epochs``).
    """
    check_int(label("head_epochs"), head_epochs, minimum=1)
    check_int(label("fine_tune_epochs"), fine_tune_epochs, minimum=0)
    check_float(label("learning_rate"), learning_rate, minimum=0.0, min_inclusive=False)
    check_float(label("fine_tune_lr_factor"), fine_tune_lr_factor, minimum=0.0, maximum=1.0, min_inclusive=False)
    if unfreeze_top is not None:
        check_int(label("unfreeze_top"), unfreeze_top, minimum=1)


def fine_tune(
    model,
    backbone,
    train_ds,
    val_ds,
    *,
    head_epochs: int = 5,
    fine_tune_epochs: int = 5,
    learning_rate: float = 1e-3,
    fine_tune_lr_factor: float = 0.1,
    unfreeze_top: int | None = 30,
    loss_weights=None,
    callbacks=(),
    jit_compile="auto",
    verbose=1,
) -> FineTuneResult:
    """Phase 1: base frozen, head trained at ``learning_rate``. Phase 2 (if
    ``fine_tune_epochs``): the top ``unfreeze_top`` layers of the base unfrozen, trained on at
    ``learning_rate * fine_tune_lr_factor``, continuing the epoch count.

    ``callbacks`` (e.g. early stopping, checkpoints from :func:`kerasdl.training.make_callbacks`)
    are used in both phases; ``loss_weights`` weighs the tasks of a multi-task model.
    """
    check_fine_tune_settings(
        head_epochs=head_epochs,
        fine_tune_epochs=fine_tune_epochs,
        learning_rate=learning_rate,
        fine_tune_lr_factor=fine_tune_lr_factor,
        unfreeze_top=unfreeze_top,
    )

    set_trainable_top(backbone, 0)
    _compile(model, learning_rate, loss_weights, jit_compile)
    # shuffle=False: the datasets shuffle themselves (Keras ignores, and warns about, shuffle for tf.data)
    head = model.fit(
        train_ds, validation_data=val_ds, epochs=head_epochs, callbacks=list(callbacks), verbose=verbose, shuffle=False
    )
    result = FineTuneResult(head_history=dict(head.history))
    if not fine_tune_epochs:
        return result

    result.trainable_layers = set_trainable_top(backbone, unfreeze_top)
    _compile(model, learning_rate * fine_tune_lr_factor, loss_weights, jit_compile)  # recompile: trainable changed
    done = len(head.history.get("loss", []))
    fine = model.fit(
        train_ds,
        validation_data=val_ds,
        initial_epoch=done,
        epochs=done + fine_tune_epochs,
        callbacks=list(callbacks),
        verbose=verbose,
        shuffle=False,
    )
    result.fine_tune_history = dict(fine.history)
    return result
