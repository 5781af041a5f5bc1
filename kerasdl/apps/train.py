"""Train any kerasdl builder on a named image data set, evaluate, plot and export.

    python -m apps.train mnist_cnn --dataset digits --epochs 5 --export saved_models/train

The workflow (:func:`train_and_export`) is the one the demo runs: load and scale the data
→ build the model under the distribution strategy → fit with a held-out validation split,
progress bar, NaN guard and best-finite-model checkpoint → evaluate on the test split →
plot the training curves → export a SavedModel that takes uint8 images → reload it and
check that its predictions equal the in-memory model's. A NaN/inf loss ends the run with
:class:`~kerasdl.training.callbacks.TrainingDiverged` (``kerasdl`` exit status 1): nothing
diverged is evaluated or exported, and ``best.keras`` exists only if a finite epoch was saved.

``--ensemble N`` trains N members from seeds SEED..SEED+N-1 and ``--snapshot-ensemble N`` takes
N snapshots of one cyclic-cosine run (:mod:`kerasdl.ensembles`, which does the work); either
reports every member's test accuracy and the ensemble's, and exports the combination
(``--ensemble-method mean|geometric|vote``) as one SavedModel that takes uint8 images.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments, jit_flag, write_summary

DESCRIPTION = "train a kerasdl builder on an image data set and export a SavedModel"
# Unknown --flags are passed to the builder, e.g. `kerasdl train resnet_cifar --depth 20`.
BUILDER_OPTIONS = True

# Under mixed precision both run bfloat16/float16 arithmetic (8/11 mantissa bits), and the
# SavedModel graph may order or fuse it differently from eager Keras.
MIXED_PRECISION_EXPORT_TOLERANCE = 2e-2

# ``--augment``: shifts of up to 10% of the side and rotations of up to 0.025 turn (±9°), mild
# enough for digits (a 6 must not turn into a 9) and, with ensembles, different in every member.
TRAIN_AUGMENTATION = {"translation": 0.1, "rotation": 0.025}


@dataclass
class TrainResult:
    builder: str
    dataset: str
    data_source: str
    epochs_run: int
    test_accuracy: float
    test_loss: float
    parameters: int
    export_path: str
    run_dir: str
    curves_png: str
    export_max_abs_diff: float
    seconds: float
    augment: bool = False


def add_arguments(parser, *, default_epochs=5, default_export="saved_models/train", builder_positional=True):
    from kerasdl.data.catalog import DATASETS

    if builder_positional:
        parser.add_argument("builder", help="builder name (see `kerasdl list`)")
        parser.add_argument("--dataset", required=True, choices=DATASETS, help="data set to train on")
    else:
        parser.add_argument(
            "--dataset", choices=DATASETS, default=None, help="data set (default: mnist when available, else digits)"
        )
    parser.add_argument("--epochs", type=int, default=default_epochs, help="training epochs")
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="resize images to SIZE x SIZE inside the model (for builders that need larger inputs)",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="batch size")
    parser.add_argument("--optimizer", default="adam", help="sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="learning rate")
    parser.add_argument(
        "--validation-fraction", type=float, default=0.1, help="fraction of the training split held out for validation"
    )
    parser.add_argument(
        "--export", dest="export_dir", default=default_export, help="folder that receives <run-id>/ (the SavedModel)"
    )
    parser.add_argument("--runs-dir", default="runs/train", help="folder for curves, logs and checkpoints")
    parser.add_argument(
        "--augment",
        action="store_true",
        help="train on randomly shifted (±10%%) and rotated (±9°) images; each ensemble member draws its own",
    )
    if builder_positional:  # `kerasdl train` only (the demo trains one model)
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--ensemble",
            type=int,
            default=None,
            metavar="N",
            help="train N independent members (seeds SEED..SEED+N-1, --epochs each) and export their combination",
        )
        group.add_argument(
            "--snapshot-ensemble",
            type=int,
            default=None,
            metavar="N",
            help="one run of --epochs epochs, cyclic cosine rate restarted N times, a member per cycle "
            "(Huang et al. 2017; --epochs a multiple of N; --learning-rate is the peak)",
        )
        parser.add_argument(
            "--ensemble-method",
            choices=["mean", "geometric", "vote"],
            default="mean",
            help="how the members' probabilities are combined (vote: majority, ties to the higher mean probability)",
        )
    add_runtime_arguments(parser)


def model_factory(builder: str, data, builder_options: dict, *, image_size=None, mixed_precision=False):
    """A callable with no arguments that builds a new ``builder`` model for ``data``
    (``ImageClassificationData``): resized inside the model with ``image_size``, float32
    output under mixed precision; a builder that does not fit the data raises ``UsageError``."""
    import keras

    from kerasdl.cli import UsageError
    from kerasdl.models import BUILDERS

    dataset = data.name
    model_input_shape = data.input_shape if image_size is None else (image_size, image_size, data.input_shape[-1])

    def build():
        try:
            model = BUILDERS[builder](input_shape=model_input_shape, num_classes=data.num_classes, **builder_options)
        except (TypeError, ValueError) as error:
            hint = "" if image_size else " (--image-size resizes the images inside the model)"
            raise UsageError(f"builder {builder!r} does not fit data set {dataset!r}: {error}{hint}") from error
        if image_size is not None:  # resizing is part of the model, so the export resizes too
            inputs = keras.Input(data.input_shape, name="image")
            resized = keras.layers.Resizing(image_size, image_size, name="resize")(inputs)
            model = keras.Model(inputs, model(resized), name=f"{model.name}_{image_size}px")
        if mixed_precision:  # softmax/loss in float32 for numerical stability
            model = keras.Model(
                model.inputs,
                keras.layers.Activation("linear", dtype="float32", name="float32_output")(model.outputs[0]),
                name=model.name,
            )
        if model.output_shape[-1] != data.num_classes:
            raise UsageError(
                f"builder {builder!r} gives {model.output_shape[-1]} outputs, "
                f"data set {dataset!r} has {data.num_classes} classes"
            )
        return model

    return build


def train_and_export(
    builder: str,
    dataset: str,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    validation_fraction: float = 0.1,
    export_dir="saved_models/train",
    runs_dir="runs/train",
    seed: int = 0,
    jit_compile="auto",
    builder_options: dict | None = None,
    image_size: int | None = None,
    strategy_name: str = "auto",
    mixed_precision: bool = False,
    augment: bool = False,
    verbose: int = 1,
    log=print,
) -> TrainResult:
    """Train ``builder`` on ``dataset`` and export it; see the module docstring for the steps."""
    import time

    import keras
    import numpy as np

    from kerasdl._validation import check_int
    from kerasdl._runs import record_run
    from kerasdl.cli import check_builder_options
    from kerasdl.data import image_augmentation, load_image_classification, make_dataset, train_val_split
    from kerasdl.export import (
        EXPORT_TOLERANCE,
        check_export_agrees,
        create_run_dir,
        export_saved_model,
        load_saved_model,
        with_preprocessing,
    )
    from kerasdl.plots import plot_history
    from kerasdl.training import compile_model, make_callbacks, set_mixed_precision, set_seed, strategy
    from kerasdl.training.callbacks import BestCheckpoint, check_finite_weights

    builder_options = dict(builder_options or {})
    check_builder_options(builder, builder_options)  # shared with `kerasdl summary`
    epochs = check_int("epochs", epochs, minimum=1)
    if image_size is not None:
        image_size = check_int("image_size", image_size, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    start = time.perf_counter()
    set_seed(seed)
    distribution = strategy(strategy_name)  # validates the name before any data is read
    if mixed_precision:
        log(f"Mixed precision: {set_mixed_precision(True)} (outputs kept float32)")

    data = load_image_classification(dataset)
    log(
        f"Data set: {data.name} ({data.source}): {len(data.x_train)} train / {len(data.x_test)} test "
        f"images of shape {data.input_shape}, {data.num_classes} classes"
    )
    build = model_factory(builder, data, builder_options, image_size=image_size, mixed_precision=mixed_precision)
    with distribution.scope():
        model = build()
        compile_model(model, optimizer, learning_rate, jit_compile=jit_compile)

    (x_train, y_train), (x_val, y_val) = train_val_split(
        data.x_train, data.y_train, validation_fraction=validation_fraction, seed=seed
    )
    run_dir = create_run_dir(runs_dir)  # claimed exclusively: no other run can be handed this folder
    callbacks = make_callbacks(checkpoint_path=run_dir / "best.keras", csv_path=run_dir / "history.csv")
    best = next(c for c in callbacks if isinstance(c, BestCheckpoint))
    record_run(run_dir, checkpoint=lambda: str(best.path) if best.saved else None)
    history = model.fit(
        make_dataset(
            x_train,
            y_train,
            batch_size,
            shuffle=True,
            augment=image_augmentation(**TRAIN_AUGMENTATION, seed=seed) if augment else None,
            seed=seed,
        ),
        validation_data=make_dataset(x_val, y_val, batch_size, shuffle=False),
        epochs=epochs,
        shuffle=False,  # make_dataset already reshuffles every epoch
        callbacks=callbacks,  # a NaN/inf loss ends fit with TrainingDiverged (exit status 1)
        verbose=verbose,
    )
    check_finite_weights(model)
    test_loss, test_accuracy = model.evaluate(make_dataset(data.x_test, data.y_test, 256, shuffle=False), verbose=0)
    curves = plot_history(
        history, run_dir / "training_curves.png", title=f"{builder} on {data.name}: test accuracy {test_accuracy:.4f}"
    )

    serving = with_preprocessing(model, keras.layers.Rescaling(1 / 255, name="scale_uint8"))
    export_path = export_saved_model(serving, Path(export_dir) / run_dir.name)  # named after its run
    raw_test = np.round(data.x_test[:512] * 255).astype("uint8")
    max_diff = check_export_agrees(
        load_saved_model(export_path)(raw_test),
        model.predict(raw_test.astype("float32") / 255, verbose=0),
        tolerance=MIXED_PRECISION_EXPORT_TOLERANCE if mixed_precision else EXPORT_TOLERANCE,
    )

    result = TrainResult(
        builder=builder,
        dataset=data.name,
        data_source=data.source,
        epochs_run=len(history.history["loss"]),
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
        parameters=model.count_params(),
        export_path=str(export_path),
        run_dir=str(run_dir),
        curves_png=str(curves),
        export_max_abs_diff=max_diff,
        seconds=round(time.perf_counter() - start, 1),
        augment=augment,
    )
    write_summary(run_dir, asdict(result))  # atomic: a kill leaves no truncated summary
    return result


def print_summary(result: TrainResult, log=print) -> None:
    log("\nSummary")
    log(f"  data set        {result.dataset} ({result.data_source})")
    log(f"  model           {result.builder}, {result.parameters:,} parameters, {result.epochs_run} epochs")
    log(f"  test accuracy   {result.test_accuracy:.4f} (loss {result.test_loss:.4f})")
    log(
        f"  export          {result.export_path} (SavedModel, takes uint8 images; reload max |diff| "
        f"{result.export_max_abs_diff:.1e})"
    )
    log(f"  curves          {result.curves_png}")
    log(f"  time            {result.seconds:.0f} s")


def train_ensemble_and_export(
    builder: str,
    dataset: str,
    *,
    kind: str = "independent",
    members: int = 5,
    method: str = "mean",
    epochs: int = 5,
    batch_size: int = 64,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    validation_fraction: float = 0.1,
    export_dir="saved_models/train",
    runs_dir="runs/train",
    seed: int = 0,
    jit_compile="auto",
    builder_options: dict | None = None,
    image_size: int | None = None,
    strategy_name: str = "auto",
    mixed_precision: bool = False,
    augment: bool = False,
    verbose: int = 0,
    log=print,
) -> dict:
    """``--ensemble N`` / ``--snapshot-ensemble N``: train the members with
    :func:`kerasdl.ensembles.fit_and_evaluate_ensemble`, export their combination as one
    SavedModel that takes uint8 images, reload it and compare. Returns the summary dict
    (also written to ``summary.json``)."""
    import time

    import keras
    import numpy as np

    from kerasdl._validation import check_int
    from kerasdl._runs import record_run
    from kerasdl.cli import check_builder_options
    from kerasdl.data import load_image_classification
    from kerasdl.ensembles import fit_and_evaluate_ensemble
    from kerasdl.export import (
        EXPORT_TOLERANCE,
        check_export_agrees,
        create_run_dir,
        export_saved_model,
        load_saved_model,
        with_preprocessing,
    )
    from kerasdl.training import set_mixed_precision, set_seed, strategy

    builder_options = dict(builder_options or {})
    check_builder_options(builder, builder_options)
    members = check_int("members", members, minimum=2)
    epochs = check_int("epochs", epochs, minimum=1)
    if kind == "snapshot" and epochs % members:
        raise ValueError(f"--epochs ({epochs}) must be a multiple of --snapshot-ensemble ({members})")
    start = time.perf_counter()
    set_seed(seed)
    distribution = strategy(strategy_name)
    if mixed_precision:
        log(f"Mixed precision: {set_mixed_precision(True)} (outputs kept float32)")
    data = load_image_classification(dataset)
    log(f"Data set: {data.name} ({data.source}): {len(data.x_train)} train / {len(data.x_test)} test images")
    build = model_factory(builder, data, builder_options, image_size=image_size, mixed_precision=mixed_precision)
    run_dir = create_run_dir(runs_dir)
    record_run(run_dir)
    ensemble_run = fit_and_evaluate_ensemble(
        build,
        data,
        kind=kind,
        members=members,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        validation_fraction=validation_fraction,
        seed=seed,
        method=method,
        augment=TRAIN_AUGMENTATION if augment else None,
        jit_compile=jit_compile,
        strategy=distribution,
        verbose=verbose,
        log=log,
    )
    ensemble, evaluation, trained = ensemble_run.ensemble, ensemble_run.evaluation, ensemble_run.members

    serving = with_preprocessing(ensemble, keras.layers.Rescaling(1 / 255, name="scale_uint8"))
    export_path = export_saved_model(serving, Path(export_dir) / run_dir.name)
    raw_test = np.round(data.x_test[:512] * 255).astype("uint8")
    max_diff = check_export_agrees(
        load_saved_model(export_path)(raw_test),
        ensemble.predict(raw_test.astype("float32") / 255, verbose=0),
        tolerance=MIXED_PRECISION_EXPORT_TOLERANCE if mixed_precision else EXPORT_TOLERANCE,
    )
    summary = {
        "builder": builder,
        "dataset": data.name,
        "data_source": data.source,
        "test_accuracy": evaluation.ensemble_accuracy,
        "parameters": ensemble.count_params(),
        "export_path": str(export_path),
        "run_dir": str(run_dir),
        "export_max_abs_diff": max_diff,
        "seconds": round(time.perf_counter() - start, 1),
        "ensemble": {
            "kind": kind,
            "members": members,
            "method": method,
            "seeds": trained.seeds,
            "epochs": epochs,
            "augment": augment,
            "member_test_accuracies": evaluation.member_accuracies,
            "mean_member_test_accuracy": evaluation.mean_member_accuracy,
            "std_member_test_accuracy": evaluation.std_member_accuracy,
            "best_member_test_accuracy": evaluation.best_member_accuracy,
            "gain_over_mean_member": evaluation.gain_over_mean_member,
            "member_training_seconds": [round(x, 1) for x in trained.seconds],
            "training_seconds": round(trained.total_seconds, 1),
        },
    }
    write_summary(run_dir, summary)
    return summary


def print_ensemble_summary(summary: dict, log=print) -> None:
    ensemble = summary["ensemble"]
    log("\nSummary")
    log(f"  data set        {summary['dataset']} ({summary['data_source']})")
    what = "independent seeds" if ensemble["kind"] == "independent" else "snapshots of one cyclic-cosine run"
    log(
        f"  ensemble        {ensemble['members']} x {summary['builder']} ({what}), {ensemble['method']} of probabilities"
    )
    for i, (accuracy, seconds) in enumerate(
        zip(ensemble["member_test_accuracies"], ensemble["member_training_seconds"])
    ):
        log(f"  member {i + 1:<8} test accuracy {accuracy:.4f} ({seconds:.0f} s)")
    log(
        f"  members         mean {ensemble['mean_member_test_accuracy']:.4f} "
        f"± {ensemble['std_member_test_accuracy']:.4f}, best {ensemble['best_member_test_accuracy']:.4f}"
    )
    log(
        f"  ensemble        test accuracy {summary['test_accuracy']:.4f} "
        f"({ensemble['gain_over_mean_member']:+.4f} over the mean member)"
    )
    log(
        f"  export          {summary['export_path']} (one SavedModel, takes uint8 images; reload max |diff| "
        f"{summary['export_max_abs_diff']:.1e})"
    )
    log(f"  time            {summary['seconds']:.0f} s (training {ensemble['training_seconds']:.0f} s)")


def run(args) -> int:
    independent, snapshot = getattr(args, "ensemble", None), getattr(args, "snapshot_ensemble", None)
    if independent is not None or snapshot is not None:
        summary = train_ensemble_and_export(
            args.builder,
            args.dataset,
            kind="independent" if independent is not None else "snapshot",
            members=independent if independent is not None else snapshot,
            method=args.ensemble_method,
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            validation_fraction=args.validation_fraction,
            export_dir=args.export_dir,
            runs_dir=args.runs_dir,
            seed=args.seed,
            jit_compile=jit_flag(args.jit_compile),
            builder_options=args.builder_options,
            image_size=args.image_size,
            strategy_name=args.strategy,
            mixed_precision=args.mixed_precision,
            augment=args.augment,
        )
        print_ensemble_summary(summary)
        return 0
    result = train_and_export(
        args.builder,
        args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        validation_fraction=args.validation_fraction,
        export_dir=args.export_dir,
        runs_dir=args.runs_dir,
        seed=args.seed,
        jit_compile=jit_flag(args.jit_compile),
        builder_options=args.builder_options,
        image_size=args.image_size,
        strategy_name=args.strategy,
        mixed_precision=args.mixed_precision,
        augment=args.augment,
    )
    print_summary(result)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
