"""Benchmark: YOLO-style detector vs the convolutional sliding-window detector on the
synthetic digits-on-canvas set (mAP@0.5, VOC all-point; target >= 0.90 for YOLO).

    python benchmarks/detection.py                       # defaults below; ~20 min on 2 busy cores
    python benchmarks/detection.py --yolo-epochs 60 --time-budget 3600

Both detectors train on the same canvases (glyphs from the training split of the glyph
source) and are scored on canvases made from held-out glyphs. Glyphs are MNIST when it is
on disk (``$KERASDL_DATA_DIR``, default ``../shared/data``), else scikit-learn's 8x8 digits.
Each training stops early when its wall-clock budget runs out (``TimeBudget``); the epochs
actually run are recorded. Prints the figures and writes ``benchmarks/results/detection.json``.
``run_detection_benchmark`` is also called by ``benchmarks/vision_tasks.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def run_detection_benchmark(
    *,
    train_images: int = 2000,
    test_images: int = 500,
    image_size: int = 64,
    glyphs: str = "auto",
    yolo_epochs: int = 30,
    sliding_epochs: int = 12,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    num_anchors: int = 3,
    yolo_budget_s: float = 900.0,
    sliding_budget_s: float = 300.0,
    seed: int = 0,
    verbose: int = 2,
) -> dict:
    """Train and score both detectors; returns the figures as a dict (see the module docstring)."""
    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.data.sources import mnist_available
    from kerasdl.detection.anchors import mean_best_iou
    from kerasdl.detection.data import synthetic_digit_detection
    from kerasdl.detection.decoding import detect
    from kerasdl.detection.sliding_window import train_sliding_window_detector
    from kerasdl.detection.training import evaluate_detections, train_yolo
    from kerasdl.training import TimeBudget
    from kerasdl.training import gpu_available

    if glyphs == "auto":
        glyphs = "mnist" if mnist_available() else "digits"
    digit_size = (image_size * 3 // 16, image_size * 7 // 16)
    start = time.perf_counter()
    train = synthetic_digit_detection(
        train_images, image_size=image_size, digit_size=digit_size, split="train", source=glyphs, seed=seed
    )
    test = synthetic_digit_detection(
        test_images, image_size=image_size, digit_size=digit_size, split="test", source=glyphs, seed=seed + 1
    )
    data_seconds = time.perf_counter() - start
    print(
        f"data: {train.source} {len(train)} train / {test.source} {len(test)} test canvases "
        f"({sum(map(len, train.boxes))} / {sum(map(len, test.boxes))} boxes) in {data_seconds:.0f} s"
    )

    budget = TimeBudget(yolo_budget_s)
    start = time.perf_counter()
    model, anchors, history = train_yolo(
        train,
        num_anchors=num_anchors,
        epochs=yolo_epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        callbacks=[budget],
        verbose=verbose,
    )
    yolo_seconds = time.perf_counter() - start
    start = time.perf_counter()
    yolo = evaluate_detections(detect(model, test.images / 255.0, anchors), test)
    yolo_eval_seconds = time.perf_counter() - start
    print(
        f"YOLO: mAP@0.5 {yolo['map_50']:.4f}, COCO AP@[.5:.95] {yolo['coco_map_50_95']:.4f} "
        f"({budget.epochs_done} epochs, {yolo_seconds:.0f} s)"
    )

    sw_budget = TimeBudget(sliding_budget_s)
    start = time.perf_counter()
    sliding, sw_history = train_sliding_window_detector(
        train, epochs=sliding_epochs, seed=seed, callbacks=[sw_budget], verbose=verbose
    )
    sliding_seconds = time.perf_counter() - start
    start = time.perf_counter()
    sw = evaluate_detections(sliding.detect(test.images / 255.0), test)
    sw_eval_seconds = time.perf_counter() - start
    print(
        f"sliding window: mAP@0.5 {sw['map_50']:.4f}, COCO AP@[.5:.95] {sw['coco_map_50_95']:.4f} "
        f"({sw_budget.epochs_done} epochs, {sliding_seconds:.0f} s)"
    )

    return {
        "benchmark": "detection",
        "data": {
            "train": train.source,
            "test": test.source,
            "train_images": len(train),
            "test_images": len(test),
            "image_size": image_size,
            "digit_size": list(digit_size),
            "objects_per_image": [1, 4],
            "train_boxes": int(sum(map(len, train.boxes))),
            "test_boxes": int(sum(map(len, test.boxes))),
        },
        "yolo": {
            "map_50": round(yolo["map_50"], 4),
            "coco_map_50_95": round(yolo["coco_map_50_95"], 4),
            "coco_map_75": round(yolo["coco_map_75"], 4),
            "ap_50_per_class": {k: (None if v is None else round(v, 4)) for k, v in yolo["ap_50_per_class"].items()},
            "epochs_run": budget.epochs_done,
            "epochs_planned": yolo_epochs,
            "budget_s": yolo_budget_s,
            "batch_size": batch_size,
            "optimizer": f"adam lr={learning_rate} cosine decay over the planned epochs",
            "grid": list(model.output_shape[1:3]),
            "anchors": np.round(anchors.astype(float), 4).tolist(),
            "anchor_mean_best_iou": round(mean_best_iou(train.normalized_sizes(), anchors), 4),
            "parameters": model.count_params(),
            "final_train_loss": round(float(history.history["loss"][-1]), 4),
            "train_seconds": round(yolo_seconds, 1),
            "eval_seconds": round(yolo_eval_seconds, 1),
        },
        "sliding_window": {
            "map_50": round(sw["map_50"], 4),
            "coco_map_50_95": round(sw["coco_map_50_95"], 4),
            "epochs_run": sw_budget.epochs_done,
            "epochs_planned": sliding_epochs,
            "budget_s": sliding_budget_s,
            "window": list(sliding.window),
            "stride": list(sliding.stride),
            "scales": list(sliding.scales),
            "parameters": sliding.crop_model.count_params(),
            "final_train_loss": round(float(sw_history.history["loss"][-1]), 4),
            "train_seconds": round(sliding_seconds, 1),
            "eval_seconds": round(sw_eval_seconds, 1),
        },
        "targets": {"yolo_map_50_min": 0.90},
        "device": "GPU" if gpu_available() else f"CPU ({os.cpu_count()} cores, shared)",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--test-images", type=int, default=500)
    parser.add_argument("--glyphs", choices=["auto", "digits", "mnist"], default="auto")
    parser.add_argument("--yolo-epochs", type=int, default=30)
    parser.add_argument("--sliding-epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--time-budget", type=float, default=900.0, help="YOLO training wall-clock budget (s)")
    parser.add_argument("--sliding-budget", type=float, default=300.0, help="sliding-window training budget (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "detection.json")
    args = parser.parse_args(argv)
    result = run_detection_benchmark(
        train_images=args.train_images,
        test_images=args.test_images,
        glyphs=args.glyphs,
        yolo_epochs=args.yolo_epochs,
        sliding_epochs=args.sliding_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        yolo_budget_s=args.time_budget,
        sliding_budget_s=args.sliding_budget,
        seed=args.seed,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
