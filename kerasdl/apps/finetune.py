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
probabilities, class id and class name) to ``saved_models/finetune/<run-id>/``. ``--tflite``
adds ``model.tflite`` (float32) and ``model_int8.tflite`` (int8 post-training quantisation
calibrated on training images) to that folder and reports their sizes and validation
accuracies (:mod:`kerasdl.tflite`).

The flow itself is :func:`kerasdl.transfer.image_classifier.fine_tune_image_classifier`;
this module parses and checks the flags, calls it and prints the validation figures.
"""

from __future__ import annotations

import sys

from kerasdl.apps._common import add_runtime_arguments, weights_value

DESCRIPTION = "fine-tune a pretrained CNN (keras.applications, kerasdl or TF Hub) on an image folder and export it"


def add_arguments(parser):
    parser.add_argument("data_dir", help="folder with one sub-folder of images per class")
    parser.add_argument(
        "--backbone",
        default="mobilenet_v2",
        help="mobilenet_v2, efficientnet_b0, resnet50, vgg16, kerasdl:<builder> or hub:<handle-or-path>",
    )
    parser.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet' (data folder or Keras cache), 'none' (random init) or a weights file",
    )
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
    parser.add_argument(
        "--export",
        dest="export_dir",
        default="saved_models/finetune",
        help="folder that receives <run-id>/ (the SavedModel)",
    )
    parser.add_argument("--runs-dir", default="runs/finetune", help="folder for curves, logs and checkpoints")
    parser.add_argument(
        "--tflite",
        action="store_true",
        help="also write model.tflite (float32) and model_int8.tflite (int8, calibrated on training images) into "
        "the export folder, and compare them on the validation images",
    )
    parser.add_argument(
        "--calibration-examples", type=int, default=200, help="training images calibrating the int8 model (--tflite)"
    )
    add_runtime_arguments(parser)


def check_arguments(args) -> None:
    """Refuse a bad training flag before any data is read or folder created (``ValueError``, exit 2).

    ``--image-size``, ``--dropout``, ``--batch-size`` and ``--validation-fraction`` are checked
    by the library calls that take them, which also run before the run folder is created.
    """
    from kerasdl._validation import check_int
    from kerasdl.transfer.finetune import check_fine_tune_settings

    check_fine_tune_settings(
        head_epochs=args.head_epochs,
        fine_tune_epochs=args.fine_tune_epochs,
        learning_rate=args.learning_rate,
        fine_tune_lr_factor=args.fine_tune_lr_factor,
        unfreeze_top=args.unfreeze_top,
        label=lambda name: "--" + name.replace("_", "-"),
    )
    check_int("--patience", args.patience, minimum=0)
    check_int("--calibration-examples", args.calibration_examples, minimum=1)
    if args.tflite and args.mixed_precision:
        raise ValueError("--tflite converts a float32 model; drop --mixed-precision")


def run(args) -> int:
    from kerasdl.apps._common import jit_flag
    from kerasdl.transfer.image_classifier import fine_tune_image_classifier

    check_arguments(args)  # with the flags' spelling in the messages
    result = fine_tune_image_classifier(
        args.data_dir,
        backbone=args.backbone,
        weights=weights_value(args.weights),
        image_size=args.image_size,
        batch_size=args.batch_size,
        validation_fraction=args.validation_fraction,
        head_epochs=args.head_epochs,
        fine_tune_epochs=args.fine_tune_epochs,
        unfreeze_top=args.unfreeze_top,
        learning_rate=args.learning_rate,
        fine_tune_lr_factor=args.fine_tune_lr_factor,
        dropout=args.dropout,
        augment=not args.no_augment,
        patience=args.patience,
        export_dir=args.export_dir,
        runs_dir=args.runs_dir,
        seed=args.seed,
        jit_compile=jit_flag(args.jit_compile),
        mixed_precision=args.mixed_precision,
        strategy=args.strategy,
    )
    summary = result.summary
    validation = summary["validation"]
    print(f"validation accuracy {validation['accuracy']:.4f}")
    for name, scores in validation["per_class"].items():
        print(f"  {name:20s} precision {scores['precision']:.3f} recall {scores['recall']:.3f} (n={scores['support']})")
    print(
        f"export  {summary['export_path']} (serve: uint8 images, serve_bytes: encoded images; reload max |diff| "
        f"{summary['export_max_abs_diff']:.1e})"
    )
    print(f"run     {result.run_dir} (curves.png, confusion.png, class_names.txt, summary.json)")
    if args.tflite:
        from kerasdl.tflite import export_tflite, image_folder_arrays

        # The same stratified split as the fine-tuning: calibrate on training images, compare on validation ones.
        x_train, x_val, y_val = image_folder_arrays(
            args.data_dir,
            image_size=summary["image_size"],
            validation_fraction=args.validation_fraction,
            seed=args.seed,
        )
        report = export_tflite(
            result.model,
            result.export_path,
            representative_data=x_train,
            x_held_out=x_val,
            y_held_out=y_val,
            calibration_examples=args.calibration_examples,
            seed=args.seed,
        )
        for line in report.lines():
            print(line)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
