"""Semantic segmentation with a U-Net: train, report mean IoU, plot, export.

    python -m apps.segment                                   # synthetic shapes (4 classes)
    python -m apps.segment --images-dir pets/images --masks-dir pets/annotations/trimaps --trimap

Data: the synthetic shapes set (:mod:`kerasdl.data.shapes`) or an image/mask folder pair
(:mod:`kerasdl.data.segmentation`; ``--trimap`` reads the Oxford-IIIT Pets trimaps). The
U-Net (:func:`kerasdl.models.unet.unet`) trains with cross-entropy, Dice or both; the test
split's mean IoU and pixel accuracy are Keras' ``MeanIoU``/``SparseCategoricalAccuracy``.
Writes ``runs/segment/<run-id>/`` (training curves, a PNG of image / true mask / predicted
mask, summary.json) and exports a SavedModel to ``saved_models/segment/<run-id>/`` that
takes uint8 images and returns per-pixel class indices; the export is reloaded and checked.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments, new_run_dir, setup_runtime, write_summary

DESCRIPTION = "train a U-Net on synthetic shapes or an image/mask folder, report mIoU and export"


def add_arguments(parser):
    parser.add_argument("--images-dir", default=None, help="folder of images (default: synthetic shapes)")
    parser.add_argument("--masks-dir", default=None, help="folder of masks named like the images (<stem>.png)")
    parser.add_argument(
        "--trimap", action="store_true", help="masks are Oxford-IIIT Pets trimaps (1 pet, 2 bg, 3 border)"
    )
    parser.add_argument("--num-images", type=int, default=800, help="synthetic images to generate")
    parser.add_argument("--image-size", type=int, default=64, help="images are SIZE x SIZE")
    parser.add_argument("--depth", type=int, default=3, help="U-Net depth (pooling steps)")
    parser.add_argument("--base-filters", type=int, default=16, help="filters of the first level")
    parser.add_argument("--batch-norm", action="store_true", help="batch norm after every convolution")
    parser.add_argument("--loss", choices=["cross_entropy", "dice", "ce_dice"], default="ce_dice")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument(
        "--export",
        dest="export_dir",
        default="saved_models/segment",
        help="folder that receives <run-id>/ (the SavedModel); 'none' skips the export",
    )
    parser.add_argument("--runs-dir", default="runs/segment")
    parser.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1, 2)")
    add_runtime_arguments(parser)


def load_data(args):
    """``SegmentationData`` from the folders, or synthetic shapes."""
    from kerasdl.data.segmentation import PETS_TRIMAP, SegmentationData, load_segmentation_folder
    from kerasdl.data.shapes import SHAPE_CLASSES, make_shapes

    if (args.images_dir is None) != (args.masks_dir is None):
        raise ValueError("--images-dir and --masks-dir go together")
    if args.images_dir:
        options = PETS_TRIMAP if args.trimap else {}
        return load_segmentation_folder(args.images_dir, args.masks_dir, (args.image_size, args.image_size), **options)
    images, masks = make_shapes(args.num_images, args.image_size, seed=args.seed)
    return SegmentationData(
        images, masks, len(SHAPE_CLASSES), list(SHAPE_CLASSES), f"synthetic shapes ({args.num_images} images)"
    )


def serving_model(model):
    """uint8 images → per-pixel class indices (int32), preprocessing and argmax inside."""
    import keras

    inputs = keras.Input(model.input_shape[1:], dtype="uint8", name="images")
    probabilities = model(keras.layers.Rescaling(1 / 255, name="scale_uint8")(inputs))
    classes = keras.layers.Lambda(lambda p: keras.ops.cast(keras.ops.argmax(p, axis=-1), "int32"), name="argmax")(
        probabilities
    )
    return keras.Model(inputs, classes, name=f"{model.name}_serving")


def run(args) -> int:
    import numpy as np
    from sklearn.model_selection import train_test_split

    from kerasdl._validation import check_float, check_int
    from kerasdl.export import export_saved_model, load_saved_model, save_keras
    from kerasdl.losses.segmentation import segmentation_loss, segmentation_metrics
    from kerasdl.models.unet import unet
    from kerasdl.plots import plot_history, plot_image_grid
    from kerasdl.training import compile_model, make_callbacks
    from kerasdl.training.callbacks import check_finite_weights
    from kerasdl.data import make_dataset

    start = time.perf_counter()
    for name in ("epochs", "batch_size", "num_images", "image_size"):
        check_int(name.replace("_", "-"), getattr(args, name), minimum=1)
    check_float("test-fraction", args.test_fraction, minimum=0.0, maximum=0.5, min_inclusive=False)
    strategy = setup_runtime(args)
    data = load_data(args)
    print(f"Data: {data.source}: {len(data.images)} images {data.images.shape[1:]}, {data.num_classes} classes")
    x_train, x_test, y_train, y_test = train_test_split(
        data.images, data.masks, test_size=args.test_fraction, random_state=args.seed
    )
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.1, random_state=args.seed)
    scale = np.float32(1 / 255)
    with strategy.scope():
        model = unet(data.images.shape[1:], data.num_classes, args.depth, args.base_filters, batch_norm=args.batch_norm)
        compile_model(
            model,
            "adam",
            args.learning_rate,
            loss=segmentation_loss(args.loss),
            metrics=segmentation_metrics(data.num_classes),
            jit_compile=args.jit,
        )
    run_dir = new_run_dir(args.runs_dir)
    history = model.fit(
        # full batches only: a last, smaller batch would trace the train step a second time
        make_dataset(
            x_train * scale, y_train, args.batch_size, seed=args.seed, drop_remainder=len(x_train) >= args.batch_size
        ),
        validation_data=make_dataset(x_val * scale, y_val, args.batch_size, shuffle=False),
        epochs=args.epochs,
        verbose=args.verbose,
        callbacks=make_callbacks(checkpoint_path=run_dir / "best.keras", csv_path=run_dir / "history.csv"),
        shuffle=False,  # make_dataset already reshuffles every epoch
    )
    # a NaN/inf loss already ended fit with TrainingDiverged; NaN weights under a finite loss end here
    check_finite_weights(model)
    scores = model.evaluate(make_dataset(x_test * scale, y_test, 64, shuffle=False), verbose=0, return_dict=True)
    curves = plot_history(history, run_dir / "training_curves.png", title=f"U-Net: test mIoU {scores['mean_iou']:.3f}")
    predicted = np.argmax(model.predict(x_test[:6] * scale, verbose=0), axis=-1)
    shown = min(6, len(x_test))
    colour = lambda m: (m.astype("float32") * (255.0 / max(data.num_classes - 1, 1))).astype("uint8")  # noqa: E731
    grey = lambda m: np.repeat(colour(m)[..., None], 3, axis=-1)  # noqa: E731
    panels = np.concatenate([x_test[:shown], grey(y_test[:shown]), grey(predicted[:shown])])
    titles = ["image"] * shown + ["true mask"] * shown + ["predicted"] * shown
    examples = plot_image_grid(panels, run_dir / "predictions.png", titles=titles, ncols=shown, value_range=(0, 255))

    summary = {
        "data": data.source,
        "num_classes": data.num_classes,
        "class_names": data.class_names,
        "train_images": len(x_train),
        "validation_images": len(x_val),
        "test_images": len(x_test),
        "model": {
            "depth": args.depth,
            "base_filters": args.base_filters,
            "batch_norm": args.batch_norm,
            "parameters": model.count_params(),
        },
        "loss": args.loss,
        "epochs": len(history.history["loss"]),
        "test_mean_iou": float(scores["mean_iou"]),
        "test_pixel_accuracy": float(scores["pixel_accuracy"]),
        "test_loss": float(scores["loss"]),
        "curves_png": str(curves),
        "predictions_png": str(examples),
        "run_dir": str(run_dir),
    }
    summary["model_keras"] = str(save_keras(model, run_dir / "model.keras"))  # the final weights
    if args.export_dir != "none":
        export_path = export_saved_model(serving_model(model), Path(args.export_dir) / run_dir.name)
        sample = x_test[:16]
        reloaded = np.asarray(load_saved_model(export_path)(sample))
        in_memory = np.argmax(model.predict(sample * scale, verbose=0), axis=-1)
        agreement = float(np.mean(reloaded == in_memory))
        if agreement < 0.9999:
            raise RuntimeError(
                f"reloaded SavedModel disagrees with the in-memory model on {1 - agreement:.2%} of pixels"
            )
        summary.update(export_path=str(export_path), export_pixel_agreement=agreement)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_summary(run_dir, summary)
    print(f"\nU-Net {model.count_params():,} parameters, {summary['epochs']} epochs on {data.source}")
    print(f"  test mean IoU     {summary['test_mean_iou']:.4f}")
    print(f"  pixel accuracy    {summary['test_pixel_accuracy']:.4f}")
    print(f"  predictions PNG   {examples}")
    if "export_path" in summary:
        print(f"  export            {summary['export_path']} (uint8 images → per-pixel classes; reload agrees)")
    print(f"  summary           {run_dir / 'summary.json'}")
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
