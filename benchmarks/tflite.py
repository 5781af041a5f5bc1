"""Benchmark: TFLite float32 and int8 export of MobileNetV2 fine-tuned on the alpaca images.

    nice -n 10 python benchmarks/tflite.py       # target: int8 file <= 30% of float, accuracy within 1 point

Fine-tunes MobileNetV2 (ImageNet weights) on ``$KERASDL_DATA_DIR/alpaca`` exactly as
``benchmarks/finetune_alpaca.py`` does (``kerasdl.transfer.fine_tune_image_classifier``: 5
epochs frozen, 5 with the top 30 layers unfrozen, stratified 80/20 split, seed 0), then
writes ``model.tflite`` and ``model_int8.tflite`` beside its SavedModel with
``kerasdl.tflite.export_tflite``: int8 calibrated on training images, compared on the held-out
validation images (the same split). The int8 model is converted a second time with one weight
scale per tensor instead of per channel (``per_channel=False``), which drops the per-channel
float32 scales and int64 zero points from the file, to show what that saves and what it costs.
Prints the figures and writes ``benchmarks/results/tflite.json`` atomically.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

from kerasdl.benchmarking import write_json

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--head-epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--unfreeze-top", type=int, default=30)
    parser.add_argument("--calibration-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "tflite.json")
    args = parser.parse_args(argv)
    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    load_before = os.getloadavg()
    started = time.perf_counter()

    import keras
    import tensorflow as tf

    from kerasdl.tflite import export_tflite, image_folder_arrays
    from kerasdl.transfer import fine_tune_image_classifier

    data = Path(os.environ["KERASDL_DATA_DIR"]) / "alpaca"
    with tempfile.TemporaryDirectory() as tmp:
        result = fine_tune_image_classifier(
            data,
            backbone="mobilenet_v2",
            weights="imagenet",
            head_epochs=args.head_epochs,
            fine_tune_epochs=args.fine_tune_epochs,
            unfreeze_top=args.unfreeze_top,
            seed=args.seed,
            patience=100,
            export_dir=Path(tmp) / "saved_models",
            runs_dir=Path(tmp) / "runs",
        )
        fine_tune_seconds = time.perf_counter() - started
        x_train, x_val, y_val = image_folder_arrays(
            data, image_size=result.summary["image_size"], validation_fraction=0.2, seed=args.seed
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
        per_tensor = export_tflite(
            result.model,
            Path(tmp) / "per_tensor",
            representative_data=x_train,
            x_held_out=x_val,
            y_held_out=y_val,
            calibration_examples=args.calibration_examples,
            seed=args.seed,
            per_channel=False,
        )
    for line in report.lines():
        print(line)
    print(per_tensor.lines()[1])
    print(per_tensor.lines()[2])
    target_met = report.int8_size_ratio <= 0.30 and report.accuracy_drop_points <= 1.0
    print(f"target (int8 <= 30% of float, accuracy within 1 point): {'met' if target_met else 'NOT met'}")

    results = {
        "command": " ".join(["python", *map(shlex.quote, sys.argv)]),
        "data": str(data),
        "backbone": "mobilenet_v2 (ImageNet weights)",
        "settings": vars(args) | {"out": str(args.out)},
        "fine_tune_validation_accuracy": result.validation_accuracy,
        "fine_tune_seconds": round(fine_tune_seconds, 1),
        "tflite": report.to_dict()
        | {"float_path": Path(report.float_path).name, "int8_path": Path(report.int8_path).name},
        "int8_per_tensor": {
            key: per_tensor.to_dict()[key]
            for key in (
                "int8_bytes",
                "int8_size_ratio",
                "int8_accuracy",
                "accuracy_drop_points",
                "int8_agreement",
                "max_abs_diff_int8",
                "int8_quantization_parameter_bytes",
            )
        },
        "target": "int8 file <= 30% of the float file, int8 accuracy within 1 point of float",
        "target_met": target_met,
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
    }
    write_json(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
