"""Benchmark: the YOLO-style one-stage detector, the two-stage (Faster R-CNN style) detector
and the convolutional sliding-window detector on the synthetic digits-on-canvas set.

    python benchmarks/detection.py --train-images 8000 --epochs 12 --time-budget 690

YOLO and the two-stage detector train on the same canvases for the same planned epochs
under the same wall-clock budget each (``--time-budget``; ``TimeBudget`` stops a fit after
the epoch in which the budget ran out, and the epochs actually run are recorded). Both are
scored on canvases made from held-out glyphs: mAP@0.5 (VOC all-point; targets: YOLO >= 0.90,
two-stage >= 0.95), COCO AP@[.5:.95], AP on small boxes (area < ``(image_size · 5/32)²``,
COCO's "AP small" rule: other ground truth ignored), AP on a crowded split (6-10 digits
per canvas whose boxes overlap up to IoU 0.4, :func:`kerasdl.detection.hard_splits.crowded_digit_detection`)
and inference speed (images/s of each detector's reloaded uint8 SavedModel export, at batch 64
and at batch 1, after a warm-up call; the export is also checked against the in-memory model). The
sliding-window detector runs under its own budget (``--sliding-budget``). Glyphs are MNIST
when it is on disk (``$KERASDL_DATA_DIR``, default ``../shared/data``), else scikit-learn's
8x8 digits. Prints the figures and writes ``benchmarks/results/detection.json`` atomically
with the command, the load average before/after and the versions.
``run_detection_benchmark`` is also called by ``benchmarks/vision_tasks.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _served_speed(path, images) -> dict:
    """images/s of the reloaded SavedModel's ``serve`` on uint8 ``images`` at batch 64 and batch 1 (32 images)."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    loaded.serve(tf.constant(images[:64]))  # warm-up: tracing
    start = time.perf_counter()
    for i in range(0, len(images), 64):
        loaded.serve(tf.constant(images[i : i + 64]))
    batched = len(images) / (time.perf_counter() - start)
    loaded.serve(tf.constant(images[:1]))
    start = time.perf_counter()
    for i in range(32):
        loaded.serve(tf.constant(images[i : i + 1]))
    single = 32 / (time.perf_counter() - start)
    return {"images_per_second_batch64": round(batched, 1), "images_per_second_batch1": round(single, 1)}


def _hard_figures(detect_fn, test, crowded, small_area) -> dict:
    """AP on small boxes of ``test`` and mAP on the ``crowded`` split."""
    from kerasdl.detection.hard_splits import area_range_detections, area_range_ground_truths
    from kerasdl.detection.metrics import coco_map, mean_average_precision
    from kerasdl.detection.training import evaluate_detections

    detections = detect_fn(test.images / 255.0)
    area = (0.0, float(small_area))
    small_dets = area_range_detections(detections, test, area)
    small_gts = area_range_ground_truths(test, area)
    crowd = evaluate_detections(detect_fn(crowded.images / 255.0), crowded)
    return {
        "small_map_50": round(mean_average_precision(small_dets, small_gts, test.num_classes)["map"], 4),
        "small_coco_map_50_95": round(coco_map(small_dets, small_gts, test.num_classes)["map"], 4),
        "crowded_map_50": round(crowd["map_50"], 4),
        "crowded_coco_map_50_95": round(crowd["coco_map_50_95"], 4),
    }


def run_detection_benchmark(
    *,
    train_images: int = 2000,
    test_images: int = 500,
    crowded_images: int = 300,
    image_size: int = 64,
    glyphs: str = "auto",
    epochs: int = 12,
    sliding_epochs: int = 12,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    num_anchors: int = 3,
    budget_s: float = 900.0,
    sliding_budget_s: float = 300.0,
    seed: int = 0,
    verbose: int = 2,
    yolo_budget_s: float | None = None,
) -> dict:
    """Train and score the detectors; returns the figures as a dict (see the module docstring).

    ``epochs`` and ``budget_s`` apply to YOLO and to the two-stage detector alike
    (``yolo_budget_s``: the earlier name of ``budget_s``, still taken by ``benchmarks/vision_tasks.py``).
    """
    if yolo_budget_s is not None:
        budget_s = yolo_budget_s
    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.data.sources import mnist_available
    from kerasdl.detection.anchors import mean_best_iou
    from kerasdl.detection.data import synthetic_digit_detection
    from kerasdl.detection.decoding import detect
    from kerasdl.detection.hard_splits import crowded_digit_detection
    from kerasdl.detection.sliding_window import train_sliding_window_detector
    from kerasdl.detection.export import check_detector_export, export_detector
    from kerasdl.detection.two_stage import check_two_stage_export, detect_two_stage, export_two_stage, train_two_stage
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
    crowded = crowded_digit_detection(
        crowded_images, image_size=image_size, digit_size=digit_size, split="test", source=glyphs, seed=seed + 2
    )
    small_area = (image_size * 5 / 32) ** 2
    data_seconds = time.perf_counter() - start
    print(
        f"data: {train.source} {len(train)} train / {test.source} {len(test)} test canvases "
        f"({sum(map(len, train.boxes))} / {sum(map(len, test.boxes))} boxes), crowded split {len(crowded)} "
        f"canvases ({sum(map(len, crowded.boxes))} boxes) in {data_seconds:.0f} s"
    )

    budget = TimeBudget(budget_s)
    start = time.perf_counter()
    model, anchors, history = train_yolo(
        train,
        num_anchors=num_anchors,
        epochs=epochs,
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

    def yolo_detect(images):
        return detect(model, images, anchors)

    export_dir = Path(tempfile.mkdtemp(prefix="kerasdl_detection_bench_"))
    yolo_path = export_detector(model, anchors, export_dir / "yolo")
    yolo_hard = {
        **_hard_figures(yolo_detect, test, crowded, small_area),
        **_served_speed(yolo_path, test.images),
        "export_max_abs_diff": check_detector_export(yolo_path, model, anchors, test.images[:8]),
    }
    print(
        f"YOLO: mAP@0.5 {yolo['map_50']:.4f}, COCO AP@[.5:.95] {yolo['coco_map_50_95']:.4f} "
        f"({budget.epochs_done} epochs, {yolo_seconds:.0f} s); {yolo_hard}"
    )

    ts_budget = TimeBudget(budget_s)
    start = time.perf_counter()
    two_stage, ts_history = train_two_stage(
        train,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        callbacks=[ts_budget],
        verbose=verbose,
    )
    ts_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ts = evaluate_detections(detect_two_stage(two_stage, test.images / 255.0), test)
    ts_eval_seconds = time.perf_counter() - start

    def ts_detect(images):
        return detect_two_stage(two_stage, images)

    ts_path = export_two_stage(two_stage, export_dir / "two_stage")
    ts_hard = {
        **_hard_figures(ts_detect, test, crowded, small_area),
        **_served_speed(ts_path, test.images),
        "export_max_abs_diff": check_two_stage_export(ts_path, two_stage, test.images[:8]),
    }
    shutil.rmtree(export_dir, ignore_errors=True)
    print(
        f"two-stage: mAP@0.5 {ts['map_50']:.4f}, COCO AP@[.5:.95] {ts['coco_map_50_95']:.4f} "
        f"({ts_budget.epochs_done} epochs, {ts_seconds:.0f} s); {ts_hard}"
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
            "test_small_boxes": int(
                sum(int(((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) < small_area).sum()) for b in test.boxes)
            ),
            "small_area_max_px2": small_area,
            "crowded": crowded.source,
            "crowded_images": len(crowded),
            "crowded_objects_per_image": [6, 10],
            "crowded_boxes": int(sum(map(len, crowded.boxes))),
        },
        "yolo": {
            "map_50": round(yolo["map_50"], 4),
            "coco_map_50_95": round(yolo["coco_map_50_95"], 4),
            "coco_map_75": round(yolo["coco_map_75"], 4),
            "ap_50_per_class": {k: (None if v is None else round(v, 4)) for k, v in yolo["ap_50_per_class"].items()},
            **yolo_hard,
            "epochs_run": budget.epochs_done,
            "epochs_planned": epochs,
            "budget_s": budget_s,
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
        "two_stage": {
            "map_50": round(ts["map_50"], 4),
            "coco_map_50_95": round(ts["coco_map_50_95"], 4),
            "coco_map_75": round(ts["coco_map_75"], 4),
            "ap_50_per_class": {k: (None if v is None else round(v, 4)) for k, v in ts["ap_50_per_class"].items()},
            **ts_hard,
            "epochs_run": ts_budget.epochs_done,
            "epochs_planned": epochs,
            "budget_s": budget_s,
            "batch_size": batch_size,
            "optimizer": f"adam lr={learning_rate} cosine decay over the planned epochs, clipnorm 10",
            "training": "approximate joint training (proposals treated as constants)",
            "feature_map": list(two_stage.backbone.output_shape[1:3]),
            "anchor_sizes_px": list(two_stage.anchor_sizes),
            "anchor_ratios_h_over_w": list(two_stage.anchor_ratios),
            "proposals_per_image": {"train": two_stage.post_nms[0], "test": two_stage.post_nms[1]},
            "parameters": two_stage.count_params(),
            "final_train_loss": round(float(ts_history.history["loss"][-1]), 4),
            "train_seconds": round(ts_seconds, 1),
            "eval_seconds": round(ts_eval_seconds, 1),
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
        "targets": {"yolo_map_50_min": 0.90, "two_stage_map_50_min": 0.95},
        "claim": {
            "two_stage_slower": ts_hard["images_per_second_batch64"] < yolo_hard["images_per_second_batch64"],
            "two_stage_better_on_small": ts_hard["small_map_50"] > yolo_hard["small_map_50"],
            "two_stage_better_on_crowded": ts_hard["crowded_map_50"] > yolo_hard["crowded_map_50"],
        },
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
    parser.add_argument("--crowded-images", type=int, default=300)
    parser.add_argument(
        "--epochs", "--yolo-epochs", dest="epochs", type=int, default=12, help="planned epochs of YOLO and two-stage"
    )
    parser.add_argument("--sliding-epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument(
        "--time-budget", type=float, default=900.0, help="training wall-clock budget (s) of YOLO and of the two-stage"
    )
    parser.add_argument("--sliding-budget", type=float, default=300.0, help="sliding-window training budget (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "detection.json")
    args = parser.parse_args(argv)
    from kerasdl.benchmarking import write_json

    load_before = [round(x, 2) for x in os.getloadavg()]
    result = run_detection_benchmark(
        train_images=args.train_images,
        test_images=args.test_images,
        crowded_images=args.crowded_images,
        glyphs=args.glyphs,
        epochs=args.epochs,
        sliding_epochs=args.sliding_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        budget_s=args.time_budget,
        sliding_budget_s=args.sliding_budget,
        seed=args.seed,
    )
    result["command"] = "python benchmarks/detection.py " + " ".join(sys.argv[1:] if argv is None else argv)
    result["load_average_before"] = load_before
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    write_json(args.out, result)
    print(json.dumps(result, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
