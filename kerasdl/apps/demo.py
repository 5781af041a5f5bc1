"""The main job: the seed CNN on MNIST (or scikit-learn's digits), evaluated and exported.

    make demo            # or: kerasdl demo / python -m apps.demo

Trains ``mnist_cnn`` (conv 5x5x32 → pool → conv 5x5x64 → pool → fc 1024 + dropout 0.5 →
10; ReLU, He init, Adam) on MNIST when it is on disk (``KERASDL_DATA_DIR`` or the Keras
cache), otherwise on scikit-learn's bundled digits resized to 28x28, and says which. Then
it evaluates on the test split, writes the training curves, exports a SavedModel to
``saved_models/demo/<run-id>/``, reloads it and checks its predictions equal the model's.
"""

from __future__ import annotations

import sys

from kerasdl.apps import train
from kerasdl.apps._common import jit_flag

DESCRIPTION = "train the seed MNIST CNN (MNIST if on disk, else sklearn digits) and export it"

# Epochs when --epochs is not given: MNIST's 54k training images need few passes; the
# 1.3k digits need more (about a minute on 2 CPU cores).
DEFAULT_EPOCHS = {"mnist": 2, "digits": 15}


def add_arguments(parser):
    train.add_arguments(parser, default_epochs=None, default_export="saved_models/demo", builder_positional=False)
    parser.set_defaults(runs_dir="runs/demo")


def run(args) -> int:
    from kerasdl.data import default_dataset

    dataset = args.dataset or default_dataset()
    epochs = args.epochs or DEFAULT_EPOCHS.get(dataset, 5)
    if args.dataset is None:
        reason = "found on disk" if dataset == "mnist" else "MNIST not found (set KERASDL_DATA_DIR); embedded default"
        print(f"kerasdl demo: training on {dataset} ({reason})")
    result = train.train_and_export(
        "mnist_cnn",
        dataset,
        epochs=epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        validation_fraction=args.validation_fraction,
        export_dir=args.export_dir,
        runs_dir=args.runs_dir,
        seed=args.seed,
        jit_compile=jit_flag(args.jit_compile),
        image_size=args.image_size,
        strategy_name=args.strategy,
        mixed_precision=args.mixed_precision,
        augment=args.augment,
    )
    train.print_summary(result)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
