"""Benchmark: ResNet-20 v1 (kerasdl.models.resnet.resnet_cifar) on CIFAR-10.

    python benchmarks/resnet_cifar.py --augment               # 200 epochs, as the references
    python benchmarks/resnet_cifar.py                         # without augmentation
    python benchmarks/resnet_cifar.py --depth 56 --epochs 30  # any depth of He et al. §4.2

Reference figures:

* Keras example ``cifar10_resnet`` (keras-team/keras ``examples/cifar10_resnet.py``):
  ResNet20 v1, 200 epochs with data augmentation: **92.16%** test accuracy
  (91.25% reported by He et al. 2015, Table 6).
* He et al. 2015, §4.2 / Table 6: ResNet-20 8.75% test error (91.25%), ResNet-56 6.97%,
  ResNet-110 6.43%; 0.27M parameters for ResNet-20.

Training follows He et al. 2015, §4.2, with the iteration counts scaled to ``--epochs``:
SGD with momentum 0.9, learning rate 0.1 divided by 10 at 50% and 75% of training (the
paper: 32k and 48k of 64k iterations), batch 128, L2 1e-4 on the convolution kernels,
per-pixel mean subtraction; ``--augment`` adds random 4-pixel translations and horizontal
flips (the paper's augmentation). Trains on the 50,000 training images and evaluates once
on the 10,000 test images (no model selection on the test set).

CIFAR-10 is read through ``keras.datasets.cifar10.load_data()`` from the data folder
(``$KERASDL_DATA_DIR/keras/datasets/``) or the Keras cache (``~/.keras/datasets/``). When it
is in neither, the script stops with a message saying where to put it; it downloads only
with ``--allow-download``. Results are printed and written as JSON to
``benchmarks/results/resnet_cifar[_augment].json`` (seconds per epoch included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from kerasdl.benchmarking import write_json

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

REFERENCE = {
    "keras_example_cifar10_resnet20_v1_200_epochs_augmented": 0.9216,
    "he_et_al_2015_table6_resnet20": 0.9125,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--depth", type=int, default=20, help="6n+2: 20, 32, 44, 56, 110 or 1202")
    parser.add_argument("--version", type=int, default=1, choices=[1, 2])
    parser.add_argument("--augment", action="store_true", help="random 4-pixel translations and horizontal flips")
    parser.add_argument("--allow-download", action="store_true", help="let Keras download CIFAR-10 if missing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be >= 1")

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    if not args.allow_download:
        os.environ["KERASDL_OFFLINE"] = "1"

    from kerasdl.data import DatasetNotFoundError, load_cifar10

    try:
        (x_train, y_train), (x_test, y_test) = load_cifar10()
    except DatasetNotFoundError as error:
        print(f"CIFAR-10 is not available, so no figures were measured.\n{error}", file=sys.stderr)
        return 2

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.data import image_augmentation, make_dataset
    from kerasdl.models.resnet import resnet_cifar
    from kerasdl.training import EpochTimer, gpu_available, resolve_jit_compile, set_seed

    set_seed(args.seed)
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    mean = x_train.mean(axis=0)  # per-pixel mean subtraction (He et al. 2015, §4.2)
    x_train, x_test = x_train - mean, x_test - mean
    y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)
    print(f"CIFAR-10: {len(x_train)} train / {len(x_test)} test")

    model = resnet_cifar(args.depth, version=args.version, input_shape=x_train.shape[1:], num_classes=10)
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    total = args.epochs * steps_per_epoch
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(0.5 * total), int(0.75 * total)],
        [args.learning_rate, args.learning_rate / 10, args.learning_rate / 100],
    )
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=resolve_jit_compile("auto"),
    )
    augment = image_augmentation(translation=0.125, rotation=0.0, flip=True, seed=args.seed) if args.augment else None
    train_ds = make_dataset(x_train, y_train, args.batch_size, shuffle=True, augment=augment, seed=args.seed)

    timer = EpochTimer()
    history = model.fit(train_ds, epochs=args.epochs, shuffle=False, callbacks=[timer], verbose=2)
    epoch_times = timer.epoch_seconds
    test_loss, test_accuracy = model.evaluate(make_dataset(x_test, y_test, 500, shuffle=False), verbose=0)

    steady = epoch_times[1:] or epoch_times
    result = {
        "benchmark": "resnet_cifar",
        "model": model.name,
        "augment": args.augment,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"sgd momentum 0.9, lr {args.learning_rate} /10 at 50% and 75% of training",
        "parameters": model.count_params(),
        "test_accuracy": round(float(test_accuracy), 5),
        "test_loss": round(float(test_loss), 5),
        "final_train_accuracy": round(float(history.history["accuracy"][-1]), 5),
        "seconds_per_epoch": round(sum(steady) / len(steady), 2),
        "first_epoch_seconds": round(epoch_times[0], 2),
        "device": "GPU" if gpu_available() else f"CPU ({os.cpu_count()} cores)",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "reference_test_accuracy": REFERENCE,
    }
    out = args.out or REPO / "benchmarks" / "results" / f"resnet_cifar{'_augment' if args.augment else ''}.json"
    write_json(out, result)
    print(json.dumps(result, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
