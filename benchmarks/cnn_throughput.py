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

Every side-by-side figure comes from :func:`kerasdl.benchmarking.compare`: both models get the
same ``--warmup`` untimed calls on the timed batch (tracing excluded), then ``--rounds`` (>= 20)
interleaved rounds whose order alternates (kerasdl, keras / keras, kerasdl / ...), each timing
``--calls-per-round`` calls per side. Reported: median and interquartile range of the seconds
per call (wall and process CPU), images/s from the median, and the median and IQR of the
per-round ratio keras time / kerasdl time (= kerasdl images/s over keras images/s; > 1: kerasdl
faster), with the load average before and after each comparison. The XLA ratio compares two
instances of the kerasdl model (same weights), compiled with ``jit_compile`` off and on, the
same way. The defaults (128x128, batch 8) suit a 2-core CPU. A family whose kerasdl module is missing is skipped with a note.

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

from kerasdl.benchmarking import MIN_ROUNDS, compare, describe, run_record, write_json

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


def _load_builder(family):
    """The kerasdl builder of ``family``, or ``None`` (with a printed note) when it is missing."""
    module_name, builder_name, _ = FAMILIES[family]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, builder_name)
    except (ImportError, AttributeError) as error:
        print(f"[skip] {family}: {module_name}.{builder_name} is not available ({error})")
        return None


def _cpu_ratio(timing):
    cpu = timing["ratios"]["keras"]["cpu"]
    return None if cpu is None else {"median": cpu["median"], "iqr": [cpu["q1"], cpu["q3"]]}


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

    timing = {"warmup": args.warmup, "rounds": args.rounds, "calls_per_round": args.calls_per_round}
    infer = compare(
        {name: (lambda m=model: m.predict_on_batch(x)) for name, model in models.items()},
        units_per_call=args.batch,
        unit="images",
        **timing,
    )
    print(describe(infer, f"{family} inference"), flush=True)
    train = compare(
        {name: (lambda m=model: m.train_on_batch(x, y)) for name, model in models.items()},
        units_per_call=args.batch,
        unit="images",
        **timing,
    )
    print(describe(train, f"{family} train step"), flush=True)

    result = {
        "settings": {
            "size": args.size,
            "batch": args.batch,
            "num_classes": args.num_classes,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "calls_per_round": args.calls_per_round,
            "timing": "kerasdl.benchmarking.compare (identical warm-up, alternating interleaved rounds)",
        },
        "params": params,
        "build_s": {"kerasdl": round(build_ours, 3), "keras": round(build_keras, 3)},
        "inference_images_per_s": {n: e["per_second"] for n, e in infer["sides"].items()},
        "train_images_per_s": {n: e["per_second"] for n, e in train["sides"].items()},
        # keras seconds / kerasdl seconds per round = kerasdl images/s over keras images/s
        "inference_ratio": infer["ratios"]["keras"]["wall"]["median"],
        "inference_ratio_iqr": [infer["ratios"]["keras"]["wall"]["q1"], infer["ratios"]["keras"]["wall"]["q3"]],
        "train_ratio": train["ratios"]["keras"]["wall"]["median"],
        "train_ratio_iqr": [train["ratios"]["keras"]["wall"]["q1"], train["ratios"]["keras"]["wall"]["q3"]],
        # the same ratios in process CPU seconds (steadier than wall time on shared, loaded cores)
        "inference_ratio_cpu": _cpu_ratio(infer),
        "train_ratio_cpu": _cpu_ratio(train),
        "inference_timing": infer,
        "train_timing": train,
    }

    if args.jit:
        del theirs, models
        twin = builder(input_shape=shape, num_classes=args.num_classes)
        twin.set_weights(ours.get_weights())
        _compile(twin, jit_compile=True)
        start = time.perf_counter()
        twin.train_on_batch(x, y)  # XLA compilation, outside the comparison's warm-up
        compile_s = time.perf_counter() - start
        jit = compare(
            {"xla_off": lambda: ours.train_on_batch(x, y), "xla_on": lambda: twin.train_on_batch(x, y)}, **timing
        )
        print(describe(jit, f"{family} train step, XLA on vs off"), flush=True)
        result["jit"] = {
            "train_step_s_off": jit["sides"]["xla_off"]["wall_seconds"]["median"],
            "train_step_s_on": jit["sides"]["xla_on"]["wall_seconds"]["median"],
            "ratio_on_over_off": jit["ratios"]["xla_on"]["wall"]["median"],
            "ratio_on_over_off_iqr": [jit["ratios"]["xla_on"]["wall"]["q1"], jit["ratios"]["xla_on"]["wall"]["q3"]],
            "first_step_s_on": compile_s,
            "timing": jit,
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
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per model before timing")
    parser.add_argument("--calls-per-round", type=int, default=1, help="timed calls per round and model")
    parser.add_argument(
        "--rounds", type=int, default=MIN_ROUNDS, help=f"interleaved rounds, order alternating (>= {MIN_ROUNDS})"
    )
    parser.add_argument("--no-jit", dest="jit", action="store_false", help="skip the jit_compile on/off ratio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    args = parser.parse_args(argv)
    for name in ("size", "batch", "num_classes", "calls_per_round"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.rounds < MIN_ROUNDS:
        parser.error(f"--rounds must be >= {MIN_ROUNDS} (a stable median and IQR)")
    if args.warmup < 1:
        parser.error("--warmup must be >= 1 (the first call traces the function)")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import kerasdl  # noqa: F401  (TensorFlow backend)
    import numpy as np
    import tensorflow as tf

    from kerasdl.training import gpu_available, set_seed

    record = run_record()
    set_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(0, 255, (args.batch, args.size, args.size, 3)).astype("float32")
    y = rng.integers(0, args.num_classes, args.batch)

    previous = {}
    if args.out.is_file():
        try:
            previous = json.loads(args.out.read_text()).get("families", {})
        except (ValueError, AttributeError):
            previous = {}
    machine = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu_available(),
        "tensorflow": tf.__version__,
        "keras": __import__("keras").__version__,
    }
    results = {}
    for family in args.families:
        builder = _load_builder(family)
        if builder is None:
            continue
        print(f"measuring {family} ...", flush=True)
        result = measure_family(family, builder, args, x, y)
        result["machine"] = machine
        result["run"] = {**record, "load_average_after_family": run_record()["load_average"]}
        if "jit" not in result and "jit" in previous.get(family, {}):
            result["jit_earlier_run"] = {
                "note": "not remeasured (--no-jit): the XLA figure of an earlier run, timed by the old method "
                "(not interleaved)",
                **{k: v for k, v in previous[family]["jit"].items() if k != "timing"},
            }
        results[family] = result
        write_json(args.out, {"families": {**previous, **results}})  # a timeout keeps the families done

    if not results:
        print("nothing measured")
        return 1
    print()
    _print_table(results)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
