"""Fine-tuning a pretrained image classifier on a folder of images, end to end: scan the
folder → load the backbone → two-phase fine-tuning → per-class evaluation → a serving
SavedModel, reloaded and checked.

:func:`fine_tune_image_classifier` is the flow behind ``kerasdl finetune`` and
``benchmarks/finetune_alpaca.py``; its keyword arguments are the app's flags
(``--head-epochs`` → ``head_epochs``). The steps are the package's own:
:func:`~kerasdl.transfer.scan_image_folder` (every file decoded once; unusable ones skipped
with a warning), :func:`~kerasdl.transfer.load_backbone`,
:func:`~kerasdl.transfer.build_transfer_model`, :func:`~kerasdl.transfer.fine_tune` (phase 1
frozen base, phase 2 the top layers at a lower learning rate; early stopping and a
best-model checkpoint in both) and :func:`~kerasdl.transfer.export_image_classifier`
(``serve``: uint8 images; ``serve_bytes``: encoded JPEG/PNG bytes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class ImageClassifierResult:
    """What :func:`fine_tune_image_classifier` returns.

    ``summary`` is the dict also written to ``summary.json`` (backbone, split sizes, skipped
    files, validation accuracy/precision/recall/F1 per class, export path and reload
    difference); ``model`` the fine-tuned Keras model; ``history`` both phases' logs.
    """

    summary: dict
    model: Any = field(repr=False)
    history: dict = field(default_factory=dict, repr=False)
    run_dir: Path | None = None

    @property
    def validation_accuracy(self) -> float:
        return self.summary["validation"]["accuracy"]

    @property
    def export_path(self) -> Path:
        return Path(self.summary["export_path"])


def fine_tune_image_classifier(
    data_dir,
    *,
    backbone: str = "mobilenet_v2",
    weights: str | None = "imagenet",
    image_size: int | None = None,
    batch_size: int = 32,
    validation_fraction: float = 0.2,
    head_epochs: int = 5,
    fine_tune_epochs: int = 5,
    unfreeze_top: int = 30,
    learning_rate: float = 1e-3,
    fine_tune_lr_factor: float = 0.1,
    dropout: float = 0.2,
    augment: bool = True,
    patience: int = 3,
    export_dir="saved_models/finetune",
    runs_dir="runs/finetune",
    seed: int = 0,
    jit_compile="auto",
    mixed_precision: bool = False,
    strategy: str = "auto",
    log: Callable[[str], None] = print,
) -> ImageClassifierResult:
    """Fine-tune ``backbone`` on ``data_dir`` (one sub-folder of images per class) and export it.

    ``weights``: ``"imagenet"``, ``None`` (random initialisation) or a weights file.
    ``image_size``: the square input size (``None``: the backbone's own). The validation
    split is stratified (``validation_fraction``, ``seed``). Writes the curves, a
    confusion-matrix PNG, ``log.csv``, ``class_names.txt`` and ``summary.json`` into
    ``runs_dir/<run-id>/`` and the SavedModel into ``export_dir/<run-id>/``.

    A bad setting raises ``ValueError`` before any data is read or folder created; a
    missing folder ``FileNotFoundError``; an export that disagrees with the model on reload
    an error from :func:`kerasdl.export.check_export_agrees`.
    """
    from kerasdl._runs import setup_runtime, write_summary
    from kerasdl._validation import check_int
    from kerasdl.data import image_augmentation
    from kerasdl.evaluation import classification_summary
    from kerasdl.export import atomic_file, create_run_dir
    from kerasdl.plots import plot_history
    from kerasdl.training import make_callbacks
    from kerasdl.transfer.backbones import load_backbone
    from kerasdl.transfer.data import image_folder_datasets, scan_image_folder
    from kerasdl.transfer.finetune import build_transfer_model, check_fine_tune_settings, fine_tune
    from kerasdl.transfer.serving import export_image_classifier

    started = time.perf_counter()
    check_fine_tune_settings(
        head_epochs=head_epochs,
        fine_tune_epochs=fine_tune_epochs,
        learning_rate=learning_rate,
        fine_tune_lr_factor=fine_tune_lr_factor,
        unfreeze_top=unfreeze_top,
    )
    check_int("patience", patience, minimum=0)
    folder = scan_image_folder(data_dir)  # validates the folder before anything is built
    log(
        f"{folder.root}: {len(folder.paths)} images, classes {folder.counts()}"
        + (f", {len(folder.skipped)} unusable file(s) skipped" if folder.skipped else "")
    )
    distribution = setup_runtime(seed=seed, mixed_precision=mixed_precision, strategy=strategy)
    input_shape = (image_size, image_size, 3) if image_size else None
    with distribution.scope():
        base = load_backbone(backbone, input_shape=input_shape, weights=weights)
        augmentation = (
            image_augmentation(
                flip=True,
                translation=0.0,
                rotation=0.1,
                zoom=0.1,
                contrast=0.1,
                color_jitter=0.1,
                value_range=(0, 255),
                seed=seed,
            )
            if augment
            else None
        )
        model = build_transfer_model(base, folder.num_classes, augmentation=augmentation, dropout=dropout)
    size = base.input_shape[:2]
    train_ds, val_ds, val_labels = image_folder_datasets(
        folder, image_size=size, batch_size=batch_size, validation_fraction=validation_fraction, seed=seed
    )

    run_dir = create_run_dir(runs_dir)
    callbacks = make_callbacks(
        checkpoint_path=run_dir / "best.weights.h5", early_stopping_patience=patience, csv_path=run_dir / "log.csv"
    )
    log(
        f"backbone {base.name} ({base.weights or 'random init'}), input {base.input_shape}; "
        f"phase 1: {head_epochs} epochs frozen, phase 2: {fine_tune_epochs} epochs, top "
        f"{unfreeze_top} layers unfrozen"
    )
    result = fine_tune(
        model,
        base,
        train_ds,
        val_ds,
        head_epochs=head_epochs,
        fine_tune_epochs=fine_tune_epochs,
        learning_rate=learning_rate,
        fine_tune_lr_factor=fine_tune_lr_factor,
        unfreeze_top=unfreeze_top,
        callbacks=callbacks,
        jit_compile=jit_compile,
        verbose=2,
    )

    probabilities = model.predict(val_ds, verbose=0)
    scores = classification_summary(
        val_labels, probabilities.argmax(-1), class_names=folder.class_names, confusion_png=run_dir / "confusion.png"
    )
    curves = plot_history(result.history, run_dir / "curves.png", title=f"fine-tuning {base.name}")
    with atomic_file(run_dir / "class_names.txt") as tmp:
        tmp.write_text("\n".join(folder.class_names) + "\n")

    export_path = export_image_classifier(
        model, Path(export_dir) / run_dir.name, class_names=folder.class_names, image_size=size
    )
    max_diff = _check_reloaded_export(export_path, model, val_ds, size)

    summary = {
        "backbone": base.name,
        "weights": base.weights,
        "image_size": list(size),
        "train_images": len(folder.paths) - len(val_labels),
        "validation_images": int(len(val_labels)),
        "skipped_files": folder.skipped,
        "epochs_run": len(result.history.get("loss", [])),
        "trainable_layers_phase2": result.trainable_layers,
        "validation": {
            k: scores[k]
            for k in ("accuracy", "precision", "recall", "f1", "per_class", "confusion_matrix", "class_names")
        },
        "export_path": str(export_path),
        "export_max_abs_diff": max_diff,
        "curves_png": str(curves),
        "confusion_png": scores["confusion_png"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_summary(run_dir, summary)
    return ImageClassifierResult(summary=summary, model=model, history=result.history, run_dir=run_dir)


def _check_reloaded_export(export_path, model, val_ds, image_size) -> float:
    """Reload the export and compare its ``serve`` probabilities on one validation batch (as
    uint8 pixels) with the in-memory model's; returns the largest absolute difference."""
    import tensorflow as tf

    from kerasdl.export import check_export_agrees

    reloaded = tf.saved_model.load(str(export_path))
    images, _ = next(iter(val_ds))
    pixels = tf.cast(tf.clip_by_value(tf.round(images), 0, 255), tf.uint8)
    served = reloaded.serve(pixels)["probabilities"].numpy()
    direct = model(tf.image.resize(tf.cast(pixels, tf.float32), image_size), training=False).numpy()
    return check_export_agrees(served, direct)
