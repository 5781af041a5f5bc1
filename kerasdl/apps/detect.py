"""Object detection: a YOLO-style or a two-stage detector on digits-on-canvas (or your VOC/COCO data).

    python -m apps.detect                                   # synthetic digits on 64x64 canvases
    python -m apps.detect --model two-stage                 # the Faster R-CNN-style detector
    python -m apps.detect --epochs 40 --sliding-window      # also the sliding-window detector
    python -m apps.detect --data voc --voc-dir VOCdevkit/VOC2007 --image-size 128
    python -m apps.detect --data coco --coco-json ann.json --coco-images images/ --image-size 128

Chooses anchors by k-means (1 − IoU) on the training boxes, trains
``kerasdl.detection.yolo.yolo_detector`` with ``YoloLoss``, reports mAP@0.5 (VOC all-point) and
COCO AP@[0.5:0.95] on the held-out images, draws detections with boxes and class labels to
``runs/detect/<run-id>/detections.png``, and exports a SavedModel to
``saved_models/detect/<run-id>/`` whose ``serve`` signature takes a uint8 image batch
``(N, H, W, 3)`` of any size and returns ``boxes`` (pixels of that image, ``x_min, y_min,
x_max, y_max``), ``scores``, ``classes`` and ``num_detections`` after per-class NMS — decoding
and NMS run inside the exported graph, so a client needs only TensorFlow. The export is
reloaded and compared with the in-memory pipeline. Bad VOC/COCO entries are skipped with a
warning naming file and entry (``--strict`` rejects them instead).

``--model two-stage`` trains :class:`kerasdl.detection.two_stage.TwoStageDetector` instead
(region proposal network on anchors of several sizes and ratios chosen from the training
boxes, ROI Align, a second stage that classifies and refines each proposal; approximate
joint training with a custom ``train_step``); its export has the same ``serve`` signature.
``--anchors``, ``--grid-size`` and ``--backbone`` apply to YOLO only.
"""

from __future__ import annotations

import sys
import time

from kerasdl.apps._common import add_runtime_arguments

DESCRIPTION = (
    "train a YOLO-style or two-stage (region proposal) detector on digits-on-canvas or VOC/COCO, report mAP, export"
)


def add_arguments(parser):
    parser.add_argument(
        "--model",
        choices=["yolo", "two-stage"],
        default="yolo",
        help="one-stage YOLO grid (default) or the two-stage Faster R-CNN-style detector",
    )
    parser.add_argument(
        "--data",
        choices=["synthetic", "voc", "coco"],
        default="synthetic",
        help="synthetic digits-on-canvas (default), a VOC folder or a COCO JSON file",
    )
    parser.add_argument(
        "--glyphs",
        choices=["digits", "mnist"],
        default="digits",
        help="glyph source of the synthetic set (mnist needs it on disk)",
    )
    parser.add_argument("--voc-dir", help="VOC folder with Annotations/ and JPEGImages/")
    parser.add_argument("--coco-json", help="COCO annotation JSON")
    parser.add_argument("--coco-images", help="folder of the COCO images")
    parser.add_argument("--strict", action="store_true", help="reject bad annotation entries instead of skipping them")
    parser.add_argument("--image-size", type=int, default=64, help="square image side the model sees")
    parser.add_argument("--train-images", type=int, default=1200, help="synthetic training canvases")
    parser.add_argument("--test-images", type=int, default=300, help="synthetic test canvases (held-out glyphs)")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="VOC/COCO images held out for mAP")
    parser.add_argument("--anchors", type=int, default=3, help="anchors per cell (k of the k-means)")
    parser.add_argument("--grid-size", type=int, default=None, help="output grid S (default image-size / 8)")
    parser.add_argument(
        "--backbone", default=None, help="kerasdl builder name with include_top (default: small Darknet)"
    )
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--score-threshold", type=float, default=0.05, help="NMS score threshold (low for mAP)")
    parser.add_argument("--iou-threshold", type=float, default=0.5, help="NMS IoU threshold")
    parser.add_argument(
        "--sliding-window",
        action="store_true",
        help="also train the convolutional sliding-window detector and report its mAP",
    )
    parser.add_argument("--sliding-epochs", type=int, default=10)
    parser.add_argument("--runs-dir", default="runs/detect")
    parser.add_argument("--export-dir", default="saved_models/detect", help="parent folder of the SavedModel")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2], help="Keras fit verbosity")
    add_runtime_arguments(parser)


def load_data(args):
    """(train, test) DetectionData for the chosen source."""
    import numpy as np

    from kerasdl._validation import check_float, check_int
    from kerasdl.detection.data import load_coco, load_voc, synthetic_digit_detection

    size = check_int("--image-size", args.image_size, minimum=16)
    on_error = "raise" if args.strict else "warn"
    if args.data == "synthetic":
        train = synthetic_digit_detection(
            check_int("--train-images", args.train_images, minimum=1),
            image_size=size,
            digit_size=(size * 3 // 16, size * 7 // 16),
            split="train",
            source=args.glyphs,
            seed=args.seed,
        )
        test = synthetic_digit_detection(
            check_int("--test-images", args.test_images, minimum=1),
            image_size=size,
            digit_size=(size * 3 // 16, size * 7 // 16),
            split="test",
            source=args.glyphs,
            seed=args.seed + 1,
        )
        return train, test
    if args.data == "voc":
        if not args.voc_dir:
            raise ValueError("--data voc needs --voc-dir")
        data = load_voc(args.voc_dir, image_size=(size, size), on_error=on_error)
    else:
        if not (args.coco_json and args.coco_images):
            raise ValueError("--data coco needs --coco-json and --coco-images")
        data = load_coco(args.coco_json, args.coco_images, image_size=(size, size), on_error=on_error)
    fraction = check_float(
        "--test-fraction", args.test_fraction, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
    )
    order = np.random.default_rng(args.seed).permutation(len(data))
    n_test = max(1, int(round(len(data) * fraction)))
    if n_test >= len(data):
        raise ValueError(f"{data.source}: {len(data)} image(s) are too few to hold out {n_test} for testing")
    return data.subset(order[n_test:]), data.subset(order[:n_test])


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from kerasdl.apps._common import new_run_dir, setup_runtime, write_summary
    from kerasdl._validation import check_float, check_int
    from kerasdl.detection.decoding import detect
    from kerasdl.detection.export import check_detector_export, export_detector
    from kerasdl.detection.anchors import mean_best_iou
    from kerasdl.detection.training import evaluate_detections, train_yolo
    from kerasdl.detection.two_stage import check_two_stage_export, detect_two_stage, export_two_stage, train_two_stage
    from kerasdl.detection.visualize import plot_detections
    from kerasdl.plots import plot_history

    check_int("--epochs", args.epochs, minimum=1)
    check_int("--batch-size", args.batch_size, minimum=1)
    check_float("--learning-rate", args.learning_rate, minimum=0.0, min_inclusive=False)
    nms = {
        "score_threshold": check_float("--score-threshold", args.score_threshold, minimum=0.0, maximum=1.0),
        "iou_threshold": check_float("--iou-threshold", args.iou_threshold, minimum=0.0, maximum=1.0),
    }
    two_stage = args.model == "two-stage"
    if two_stage and (args.grid_size is not None or args.backbone is not None):
        raise ValueError("--grid-size and --backbone apply to --model yolo only")
    strategy = setup_runtime(args)
    train, test = load_data(args)
    run_dir = new_run_dir(args.runs_dir)
    print(
        f"kerasdl detect: {train.source}: {len(train)} train / {len(test)} test images, "
        f"{sum(map(len, train.boxes))} / {sum(map(len, test.boxes))} boxes, {train.num_classes} classes"
    )

    start = time.perf_counter()
    with strategy.scope():  # the detector is built and compiled inside train_yolo / train_two_stage
        if two_stage:  # --jit is ignored: the proposals' NMS inside train_step has no XLA kernel on CPU
            model, history = train_two_stage(
                train,
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                seed=args.seed,
                verbose=args.verbose,
            )
        else:
            model, anchors, history = train_yolo(
                train,
                num_anchors=args.anchors,
                grid_size=args.grid_size,
                backbone=args.backbone,
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                seed=args.seed,
                jit_compile=args.jit,
                verbose=args.verbose,
            )
    train_seconds = time.perf_counter() - start
    name = "two-stage" if two_stage else "YOLO"
    if two_stage:
        print(
            f"anchors: sizes {list(model.anchor_sizes)} px, ratios (h/w) {list(model.anchor_ratios)} "
            f"on a {model.backbone.output_shape[1]}x{model.backbone.output_shape[2]} feature map"
        )
        detections = detect_two_stage(model, test.images / 255.0, **nms)
    else:
        print(
            f"anchors (w, h as image fractions): {np.round(anchors.astype(float), 3).tolist()}, "
            f"mean best IoU with the training boxes {mean_best_iou(train.normalized_sizes(), anchors):.3f}"
        )
        detections = detect(model, test.images / 255.0, anchors, **nms)
    figures = evaluate_detections(detections, test)
    print(f"{name}: mAP@0.5 = {figures['map_50']:.4f}, COCO AP@[0.5:0.95] = {figures['coco_map_50_95']:.4f}")
    summary = {
        "app": "detect",
        "model": args.model,
        "data": train.source,
        "train_images": len(train),
        "test_images": len(test),
        "image_size": list(train.image_size),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "parameters": model.count_params(),
        "train_seconds": round(train_seconds, 1),
        "final_loss": float(history.history["loss"][-1]),
        "nms": nms,
    }
    if two_stage:
        summary.update(
            two_stage=figures,
            feature_map=list(model.backbone.output_shape[1:3]),
            anchor_sizes=list(model.anchor_sizes),
            anchor_ratios=list(model.anchor_ratios),
        )
    else:
        summary.update(yolo=figures, grid=list(model.output_shape[1:3]), anchors=anchors.tolist())

    plot_history(history, run_dir / "training_curves.png", title=f"{name} loss")
    shown = slice(0, min(8, len(test)))
    png = plot_detections(
        test.images[shown],
        detections[shown],
        run_dir / "detections.png",
        class_names=test.class_names,
        ground_truths=test.ground_truths()[shown],
        title=f"{name} detections (mAP@0.5 {figures['map_50']:.3f}; dashed: ground truth)",
    )
    summary["detections_png"] = str(png)
    print(f"detections drawn to {png}")

    if args.sliding_window:
        from kerasdl.detection.sliding_window import train_sliding_window_detector

        start = time.perf_counter()
        sliding, _ = train_sliding_window_detector(
            train,
            epochs=check_int("--sliding-epochs", args.sliding_epochs, minimum=1),
            seed=args.seed,
            verbose=args.verbose,
        )
        sw_figures = evaluate_detections(sliding.detect(test.images / 255.0, **nms), test)
        summary["sliding_window"] = {
            **sw_figures,
            "train_seconds": round(time.perf_counter() - start, 1),
            "window": list(sliding.window),
            "stride": list(sliding.stride),
            "scales": list(sliding.scales),
        }
        print(
            f"sliding window: mAP@0.5 = {sw_figures['map_50']:.4f}, "
            f"COCO AP@[0.5:0.95] = {sw_figures['coco_map_50_95']:.4f}"
        )

    if not args.no_export:
        export_path = Path(args.export_dir) / run_dir.name  # the run and its export share the id
        if two_stage:
            export_two_stage(model, export_path, **nms)
            diff = check_two_stage_export(export_path, model, test.images[:8], **nms)
        else:
            export_detector(model, anchors, export_path, **nms)
            diff = check_detector_export(export_path, model, anchors, test.images[:8], **nms)
        summary.update(export=str(export_path), export_max_abs_diff=diff)
        print(f"SavedModel (uint8 images → boxes, scores, classes) at {export_path}; reloaded, max |diff| = {diff:.2e}")
    write_summary(run_dir, summary)
    print(f"summary: {run_dir / 'summary.json'}")
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
