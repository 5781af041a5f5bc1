"""Benchmark: fine-tune MobileNetV2 (ImageNet weights) on the alpaca / not-alpaca images.

    python benchmarks/finetune_alpaca.py            # target: validation accuracy >= 95%

Runs the finetune app's flow (``kerasdl.transfer.fine_tune_image_classifier``) on
``$KERASDL_DATA_DIR/alpaca`` (327 images, the course lab's data, downscaled) with the
MobileNetV2 1.0/224 no-top ImageNet weights from ``$KERASDL_DATA_DIR/keras/models/``: phase 1
head on the frozen base, phase 2 the top layers fine-tuned at a 10x lower learning rate; stratified 80/20 split, seed 0. Also records the
accuracy after phase 1 alone (frozen features). Writes ``benchmarks/results/finetune_alpaca.json``.
Anchor: the TensorFlow transfer-learning tutorial, ~96% frozen and ~98% fine-tuned on cats vs dogs.
"""

from __future__ import annotations

import argparse
import os
import platform
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "finetune_alpaca.json")
    args = parser.parse_args(argv)
    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    from kerasdl.transfer import fine_tune_image_classifier

    data = Path(os.environ["KERASDL_DATA_DIR"]) / "alpaca"
    results = {
        "data": str(data),
        "backbone": "mobilenet_v2",
        "weights": "imagenet",
        "seed": args.seed,
        "split": "stratified 80/20",
        "unfreeze_top": args.unfreeze_top,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    with tempfile.TemporaryDirectory() as tmp:
        for label, fine_epochs in (("frozen", 0), ("fine_tuned", args.fine_tune_epochs)):
            runs = Path(tmp) / label
            start = time.perf_counter()
            summary = fine_tune_image_classifier(
                data,
                backbone="mobilenet_v2",
                weights="imagenet",
                head_epochs=args.head_epochs,
                fine_tune_epochs=fine_epochs,
                unfreeze_top=args.unfreeze_top,
                seed=args.seed,
                patience=100,
                export_dir=Path(tmp) / "sm" / label,
                runs_dir=runs,
            ).summary
            results[label] = {
                "validation_accuracy": summary["validation"]["accuracy"],
                "per_class": summary["validation"]["per_class"],
                "epochs_run": summary["epochs_run"],
                "seconds": round(time.perf_counter() - start, 1),
            }
            print(
                f"{label}: validation accuracy {summary['validation']['accuracy']:.4f} "
                f"({summary['epochs_run']} epochs, {results[label]['seconds']} s)"
            )
    results["target_met"] = results["fine_tuned"]["validation_accuracy"] >= 0.95
    write_json(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
