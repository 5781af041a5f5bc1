"""Command-line pieces the generative apps (``autoencoder``, ``vae``, ``gan``) share.

- command-line flags for data, training length, run folder and resume, and their checks;
- :func:`load_images`: MNIST when it is on disk, else scikit-learn's digits at 28x28;
- :func:`finish`: the run's ``summary.json`` and its printout.

The training and export flows they run are library functions:
:func:`kerasdl.training.resumable.fit_resumable` (checkpoints, resume, NaN stop, a history
that spans resumes) and :func:`kerasdl.generative.export.export_image_generator` /
:func:`~kerasdl.generative.export.verify_export`.
"""

from __future__ import annotations

import time
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments, new_run_dir


def add_generative_arguments(
    parser, *, app: str, epochs_mnist: int, epochs_digits: int, batch_size: int = 128, learning_rate: float = 1e-3
) -> None:
    parser.add_argument(
        "--dataset",
        choices=["mnist", "digits"],
        default=None,
        help="training images (default: mnist when on disk, else digits)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"training epochs in all, including resumed ones (default: {epochs_mnist} on mnist, "
        f"{epochs_digits} on digits)",
    )
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help=f"learning rate (new run: {learning_rate:g} when not given; with --resume: the checkpoint's unless given)",
    )
    parser.add_argument("--max-train", type=int, default=None, help="use at most this many training images")
    parser.add_argument("--runs-dir", default=f"runs/{app}", help="run folders (curves, samples, checkpoints) go here")
    parser.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run from the last checkpoint in RUN_DIR/checkpoints",
    )
    parser.add_argument(
        "--export", dest="export_dir", default=f"saved_models/{app}", help="SavedModel goes to EXPORT/<run-id>/"
    )
    add_runtime_arguments(parser)
    parser.set_defaults(
        _epochs_by_dataset={"mnist": epochs_mnist, "digits": epochs_digits}, _default_learning_rate=learning_rate
    )


def check_common_arguments(args) -> None:
    """ValueErrors naming the flag for values the apps cannot use."""
    from kerasdl._validation import check_float, check_int

    if args.epochs is not None:
        check_int("epochs", args.epochs, minimum=1)
    check_int("batch_size", args.batch_size, minimum=1)
    if args.learning_rate is not None:
        check_float("learning_rate", args.learning_rate, minimum=0.0, min_inclusive=False)
    if args.max_train is not None:
        check_int("max_train", args.max_train, minimum=1)
    if args.resume is not None and not (Path(args.resume) / "checkpoints").is_dir():
        raise FileNotFoundError(f"--resume {args.resume}: no checkpoints/ folder there to resume from")


def load_images(args):
    """``(data, epochs)``: float32 [0, 1] images (N, 28, 28, 1) with labels, and the epoch count."""
    from kerasdl.data import default_dataset, load_image_classification

    name = args.dataset or default_dataset()
    data = load_image_classification(name)
    if args.max_train is not None:
        data.x_train, data.y_train = data.x_train[: args.max_train], data.y_train[: args.max_train]
    reason = (
        ""
        if args.dataset
        else (" (found on disk)" if name == "mnist" else " (MNIST not found, set KERASDL_DATA_DIR; embedded default)")
    )
    print(f"training on {name}{reason}: {len(data.x_train)} train / {len(data.x_test)} test images", flush=True)
    return data, args.epochs or args._epochs_by_dataset[name]


def learning_rate(args) -> float:
    """``--learning-rate``, or the app's default when the flag was not given."""
    return args._default_learning_rate if args.learning_rate is None else args.learning_rate


def run_folder(args, app: str) -> Path:
    return Path(args.resume) if args.resume else new_run_dir(args.runs_dir, app)


def finish(run_dir: Path, summary: dict, start: float) -> dict:
    from kerasdl.apps._common import write_summary

    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_summary(run_dir, summary)
    for key, value in summary.items():
        print(f"  {key:22s} {value}")
    return summary
