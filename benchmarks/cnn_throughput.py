"""Benchmark: images/s of kerasdl's CNN builders against their keras.applications twins.

    python benchmarks/cnn_throughput.py                                  # all families
    python benchmarks/cnn_throughput.py --families efficientnet_b0 --size 128 --batch 8
    python benchmarks/cnn_throughput.py --size 224 --batch 32 --steps 20  # on a GPU

For every family (vgg16, resnet50, mobilenet, mobilenet_v2, efficientnet_b0) the kerasdl
builder and the ``keras.applications`` model of the same name are built in the same
process with random weights (``weights=None``), the same input size and classes, and
compiled the same way (:func:`kerasdl.training.compile_model`, SGD, no metrics). Measured:

* inference: ``model.predict_on_batch`` (training=False) images/s;
* training: ``model.train_on_batch`` images/s;
* the ratio kerasdl / keras for both (target >= 1.00: a builder must not be slower than
  the reference it mirrors; the two graphs are the same, so ~1.00 ± noise is expected);
* the kerasdl model's train-step time with ``jit_compile=True`` over ``jit_compile=False``
  (< 1: XLA is faster). XLA compilation of a big training graph takes minutes on CPU
  (``--no-jit`` skips it).

Each figure is the median over ``--rounds`` x ``--steps`` timed calls after ``--warmup``
untimed ones (which include tracing/compilation); kerasdl and keras calls alternate round
by round so drift in machine load affects both alike. The defaults (128x128, batch 8) suit
a 2-core CPU. A family whose kerasdl module is missing is skipped with a note.

Prints a table and writes ``benchmarks/results/cnn_throughput.json`` (entries of families
measured earlier with other settings are kept, each entry carries its settings).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "cnn_throughput.json"

# family -> (kerasdl module, builder name, keras.applications class name)
FAMILIES = {
    "vgg16": ("kerasdl.models.vgg", "vgg16", "VGG16"),
    "resnet50": ("kerasdl.models.resnet", "resnet50", "ResNet50"),
    "mobilenet": ("kerasdl.models.mobilenet", "mobilenet", "MobileNet"),
    "mobilenet_v2": ("kerasdl.models.mobilenet", "mobilenet_v2", "MobileNetV2"),
    "efficientnet_b0": ("kerasdl.models.efficientnet", "efficientnet_b0", "EfficientNetB0"),
}


def _median(values):
    import numpy as np

    return float(np.median(values))


def _load_builder(family):
    """The kerasdl builder of ``family``, or ``None`` (with a printed note) when it is missing."""
    module_name, builder_name, _ = FAMILIES[family]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, builder_name)
    except (ImportError, AttributeError) as error:
        print(f"[skip] {family}: {module_name}.{builder_name} is not available ({error})")
        return None


def _time_calls(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _compile(model, jit_compile):
    from kerasdl.training import compile_model

    return compile_model(
        model, "sgd", 0.01, loss="sparse_categorical_crossentropy", metrics=(), jit_compile=jit_compile
    )


def measure_family(family, builder, args, x, y):
    """Inference and training images/s of kerasdl's and keras' model, and kerasdl's XLA ratio."""
    import keras

    shape = (args.size, args.size, 3)
    start = time.perf_counter()
    ours = builder(input_shape=shape, num_classes=args.num_classes)
    build_ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = getattr(keras.applications, FAMILIES[family][2])(weights=None, input_shape=shape, classes=args.num_classes)
    build_keras = time.perf_counter() - start
    models = {"kerasdl": ours, "keras": theirs}
    params = {name: int(m.count_params()) for name, m in models.items()}
    if params["kerasdl"] != params["keras"]:
        print(f"[note] {family}: parameter counts differ: {params}")
    for model in models.values():
        _compile(model, jit_compile=False)

    infer = {name: [] for name in models}
    train = {name: [] for name in models}
    for round_index in range(args.rounds):
        warmup = args.warmup if round_index == 0 else 1
        for name, model in models.items():  # alternate kerasdl / keras each round
            infer[name] += _time_calls(lambda m=model: m.predict_on_batch(x), warmup, args.steps)
        for name, model in models.items():
            train[name] += _time_calls(lambda m=model: m.train_on_batch(x, y), warmup, args.steps)

    result = {
        "settings": {
            "size": args.size,
            "batch": args.batch,
            "num_classes": args.num_classes,
            "warmup": args.warmup,
            "steps": args.steps,
            "rounds": args.rounds,
        },
        "params": params,
        "build_s": {"kerasdl": round(build_ours, 3), "keras": round(build_keras, 3)},
        "inference_images_per_s": {n: args.batch / _median(t) for n, t in infer.items()},
        "train_images_per_s": {n: args.batch / _median(t) for n, t in train.items()},
    }
    result["inference_ratio"] = result["inference_images_per_s"]["kerasdl"] / result["inference_images_per_s"]["keras"]
    result["train_ratio"] = result["train_images_per_s"]["kerasdl"] / result["train_images_per_s"]["keras"]

    if args.jit:
        del theirs, models
        _compile(ours, jit_compile=True)
        start = time.perf_counter()
        ours.train_on_batch(x, y)  # XLA compilation
        compile_s = time.perf_counter() - start
        jit_times = _time_calls(lambda: ours.train_on_batch(x, y), max(args.warmup - 1, 0), args.steps * args.rounds)
        step_off = _median(train["kerasdl"])
        step_on = _median(jit_times)
        result["jit"] = {
            "train_step_s_off": step_off,
            "train_step_s_on": step_on,
            "ratio_on_over_off": step_on / step_off,
            "first_step_s_on": compile_s,
        }
    return result


def _print_table(results):
    header = (
        f"{'family':16s} {'params':>12s} {'infer img/s':>12s} {'keras':>9s} {'ratio':>6s} "
        f"{'train img/s':>12s} {'keras':>9s} {'ratio':>6s} {'XLA on/off':>10s}"
    )
    print(header)
    print("-" * len(header))
    for family, r in results.items():
        jit = f"{r['jit']['ratio_on_over_off']:.2f}" if "jit" in r else "-"
        print(
            f"{family:16s} {r['params']['kerasdl']:>12,d} "
            f"{r['inference_images_per_s']['kerasdl']:>12.1f} {r['inference_images_per_s']['keras']:>9.1f} "
            f"{r['inference_ratio']:>6.2f} "
            f"{r['train_images_per_s']['kerasdl']:>12.1f} {r['train_images_per_s']['keras']:>9.1f} "
            f"{r['train_ratio']:>6.2f} {jit:>10s}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--families",
        nargs="+",
        default=list(FAMILIES),
        choices=list(FAMILIES),
        help="families to measure (default: all)",
    )
    parser.add_argument("--size", type=int, default=128, help="input height = width")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls before the first round")
    parser.add_argument("--steps", type=int, default=5, help="timed calls per round and model")
    parser.add_argument("--rounds", type=int, default=2, help="rounds alternating kerasdl and keras")
    parser.add_argument("--no-jit", dest="jit", action="store_false", help="skip the jit_compile on/off ratio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    args = parser.parse_args(argv)
    for name in ("size", "batch", "num_classes", "steps", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 1:
        parser.error("--warmup must be >= 1 (the first call traces the function)")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import kerasdl  # noqa: F401  (TensorFlow backend)
    import numpy as np
    import tensorflow as tf

    from kerasdl.training import gpu_available, set_seed

    set_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(0, 255, (args.batch, args.size, args.size, 3)).astype("float32")
    y = rng.integers(0, args.num_classes, args.batch)

    results = {}
    for family in args.families:
        builder = _load_builder(family)
        if builder is None:
            continue
        print(f"measuring {family} ...", flush=True)
        results[family] = measure_family(family, builder, args, x, y)

    if not results:
        print("nothing measured")
        return 1
    print()
    _print_table(results)

    machine = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu_available(),
        "tensorflow": tf.__version__,
        "keras": __import__("keras").__version__,
    }
    for result in results.values():
        result["machine"] = machine
    previous = {}
    if args.out.is_file():
        try:
            previous = json.loads(args.out.read_text()).get("families", {})
        except (ValueError, AttributeError):
            previous = {}
    report = {"families": {**previous, **results}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
