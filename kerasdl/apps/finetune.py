"""Fine-tune a pretrained image classifier on a folder of images and export it for serving.

    kerasdl finetune DATA_DIR --backbone mobilenet_v2 --weights imagenet
    python -m apps.finetune ../shared/data/alpaca --head-epochs 5 --fine-tune-epochs 5

``DATA_DIR`` holds one sub-folder per class. Every file is decoded once up front: files that
are not images or cannot be decoded are skipped with a warning naming them. Then, as the
seeds describe: (1) the base is frozen (and called with ``training=False`` so its
batch-norm statistics stay fixed) and a new head is trained; (2) the top ``--unfreeze-top``
layers of the base are unfrozen and trained on with a 10x lower learning rate. Early
stopping and a best-model checkpoint guard both phases. The run writes accuracy and
per-class precision/recall, a confusion-matrix PNG, the training curves, the class names and
a SavedModel (``serve``: uint8 images; ``serve_bytes``: encoded JPEG/PNG bytes; both return
probabilities, class id and class name) to ``saved_models/finetune/<run-id>/``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments, new_run_dir, setup_runtime, weights_value, write_summary

DESCRIPTION = "fine-tune a pretrained CNN (keras.applications, kerasdl or TF Hub) on an image folder and export it"


def add_arguments(parser):
    parser.add_argument("data_dir", help="folder with one sub-folder of images per class")
    parser.add_argument("--backbone", default="mobilenet_v2",
                        help="mobilenet_v2, efficientnet_b0, resnet50, vgg16, kerasdl:<builder> or hub:<handle-or-path>")
    parser.add_argument("--weights", default="imagenet",
                        help="'imagenet' (data folder or Keras cache), 'none' (random init) or a weights file")
    parser.add_argument("--image-size", type=int, default=None, help="square input size (default: the backbone's, 224)")
    parser.add_argument("--batch-size", type=int, default=32, help="global batch size")
    parser.add_argument("--validation-fraction", type=float, default=0.2, help="held-out fraction, stratified")
    parser.add_argument("--head-epochs", type=int, default=5, help="phase 1 epochs (frozen base)")
    parser.add_argument("--fine-tune-epochs", type=int, default=5, help="phase 2 epochs (0 to skip)")
    parser.add_argument("--unfreeze-top", type=int, default=30, help="layers of the base unfrozen in phase 2")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="phase 1 learning rate (Adam)")
    parser.add_argument("--fine-tune-lr-factor", type=float, default=0.1, help="phase 2 learning rate factor")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout before the new head")
    parser.add_argument("--no-augment", action="store_true", help="no flip/rotation/zoom/contrast/colour jitter")
    parser.add_argument("--patience", type=int, default=3, help="early-stopping patience (epochs)")
    parser.add_argument("--export", dest="export_dir", default="saved_models/finetune",
                        help="folder that receives <run-id>/ (the SavedModel)")
    parser.add_argument("--runs-dir", default="runs/finetune", help="folder for curves, logs and checkpoints")
    add_runtime_arguments(parser)


def check_arguments(args) -> None:
    """Refuse a bad training flag before any data is read or folder created (``ValueError``, exit 2).

    ``--image-size``, ``--dropout``, ``--batch-size`` and ``--validation-fraction`` are checked
    by the library calls that take them, which also run before the run folder is created.
    """
    from kerasdl._validation import check_int
    from kerasdl.transfer.finetune import check_fine_tune_settings

    check_fine_tune_settings(head_epochs=args.head_epochs, fine_tune_epochs=args.fine_tune_epochs,
                             learning_rate=args.learning_rate, fine_tune_lr_factor=args.fine_tune_lr_factor,
                             unfreeze_top=args.unfreeze_top, label=lambda name: "--" + name.replace("_", "-"))
    check_int("--patience", args.patience, minimum=0)


def run(args) -> int:
    import tensorflow as tf

    from kerasdl.data import image_augmentation
    from kerasdl.evaluation import classification_summary
    from kerasdl.export import atomic_file, check_export_agrees
    from kerasdl.plots import plot_history
    from kerasdl.training import make_callbacks
    from kerasdl.transfer import (
        build_transfer_model,
        export_image_classifier,
        fine_tune,
        image_folder_datasets,
        load_backbone,
        scan_image_folder,
    )

    started = time.perf_counter()
    check_arguments(args)
    folder = scan_image_folder(args.data_dir)  # validates the folder before anything is built
    print(f"{folder.root}: {len(folder.paths)} images, classes {folder.counts()}"
          + (f", {len(folder.skipped)} unusable file(s) skipped" if folder.skipped else ""))
    strategy = setup_runtime(args)
    input_shape = (args.image_size, args.image_size, 3) if args.image_size else None
    with strategy.scope():
        backbone = load_backbone(args.backbone, input_shape=input_shape, weights=weights_value(args.weights))
        augmentation = None if args.no_augment else image_augmentation(
            flip=True, translation=0.0, rotation=0.1, zoom=0.1, contrast=0.1, color_jitter=0.1,
            value_range=(0, 255), seed=args.seed)
        model = build_transfer_model(backbone, folder.num_classes, augmentation=augmentation, dropout=args.dropout)
    image_size = backbone.input_shape[:2]
    train_ds, val_ds, val_labels = image_folder_datasets(
        folder, image_size=image_size, batch_size=args.batch_size, validation_fraction=args.validation_fraction,
        seed=args.seed)

    run_dir = new_run_dir(args.runs_dir)
    callbacks = make_callbacks(checkpoint_path=run_dir / "best.weights.h5", early_stopping_patience=args.patience,
                               csv_path=run_dir / "log.csv")
    print(f"backbone {backbone.name} ({backbone.weights or 'random init'}), input {backbone.input_shape}; "
          f"phase 1: {args.head_epochs} epochs frozen, phase 2: {args.fine_tune_epochs} epochs, top "
          f"{args.unfreeze_top} layers unfrozen")
    result = fine_tune(model, backbone, train_ds, val_ds, head_epochs=args.head_epochs,
                       fine_tune_epochs=args.fine_tune_epochs, learning_rate=args.learning_rate,
                       fine_tune_lr_factor=args.fine_tune_lr_factor, unfreeze_top=args.unfreeze_top,
                       callbacks=callbacks, jit_compile=args.jit, verbose=2)

    probabilities = model.predict(val_ds, verbose=0)
    summary = classification_summary(val_labels, probabilities.argmax(-1), class_names=folder.class_names,
                                     confusion_png=run_dir / "confusion.png")
    curves = plot_history(result.history, run_dir / "curves.png", title=f"fine-tuning {backbone.name}")
    with atomic_file(run_dir / "class_names.txt") as tmp:
        tmp.write_text("\n".join(folder.class_names) + "\n")

    export_path = export_image_classifier(model, Path(args.export_dir) / run_dir.name,
                                          class_names=folder.class_names, image_size=image_size)
    reloaded = tf.saved_model.load(str(export_path))
    images, _ = next(iter(val_ds))
    pixels = tf.cast(tf.clip_by_value(tf.round(images), 0, 255), tf.uint8)
    served = reloaded.serve(pixels)["probabilities"].numpy()
    direct = model(tf.image.resize(tf.cast(pixels, tf.float32), image_size), training=False).numpy()
    max_diff = check_export_agrees(served, direct)

    figures = {
        "backbone": backbone.name, "weights": backbone.weights, "image_size": list(image_size),
        "train_images": len(folder.paths) - len(val_labels), "validation_images": int(len(val_labels)),
        "skipped_files": folder.skipped, "epochs_run": len(result.history.get("loss", [])),
        "trainable_layers_phase2": result.trainable_layers,
        "validation": {k: summary[k] for k in ("accuracy", "precision", "recall", "f1", "per_class",
                                                "confusion_matrix", "class_names")},
        "export_path": str(export_path), "export_max_abs_diff": max_diff, "curves_png": str(curves),
        "confusion_png": summary["confusion_png"], "seconds": round(time.perf_counter() - started, 1),
    }
    write_summary(run_dir, figures)
    print(f"validation accuracy {summary['accuracy']:.4f}")
    for name, scores in summary["per_class"].items():
        print(f"  {name:20s} precision {scores['precision']:.3f} recall {scores['recall']:.3f} "
              f"(n={scores['support']})")
    print(f"export  {export_path} (serve: uint8 images, serve_bytes: encoded images; reload max |diff| "
          f"{max_diff:.1e})")
    print(f"run     {run_dir} (curves.png, confusion.png, class_names.txt, summary.json)")
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
