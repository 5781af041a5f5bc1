"""Benchmark: the vision tasks of issue 7 — detection, segmentation, verification, style transfer.

    python benchmarks/vision_tasks.py                       # all four, bounded budgets
    python benchmarks/vision_tasks.py --only segmentation style

* detection: ``benchmarks.detection.run_detection_benchmark`` (YOLO-style detector and the
  sliding-window detector, mAP@0.5 on the synthetic digits-on-canvas test set; target
  ≥ 0.90). When that module is missing or fails, the error is recorded and the rest runs.
* segmentation: U-Net (:func:`kerasdl.models.unet.unet`) on synthetic shapes, test mean IoU
  (Keras' ``MeanIoU``; target ≥ 0.90) and pixel accuracy.
* verification: triplet-trained embedding on the Olivetti faces, the flow of
  ``kerasdl.apps.verify`` (:mod:`kerasdl.verification.experiment`); threshold chosen by ROC on
  validation people's pairs; ROC AUC on pairs of people never seen in training (target
  ≥ 0.95) and one-shot recognition accuracy (one enrolled image per person).
* style: MobileNetV2 ImageNet features (the weights in ``$KERASDL_DATA_DIR/keras/models``),
  scikit-learn's ``china.jpg`` (content) and ``flower.jpg`` (style); style loss reduction
  (target ≥ 10×), content loss against the content loss of the style image itself (the
  bound: the result must stay closer to the content than the style image is), seconds/step.

Each training section stops at its epoch count or its time budget, whichever comes first,
and records what it ran. Prints the figures and writes ``benchmarks/results/vision_tasks.json``
(rewritten after every section, so a stopped run keeps what it finished).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from kerasdl.benchmarking import write_json

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SECTIONS = ("segmentation", "verification", "style", "detection")  # run order: own sections first


def run_segmentation(args) -> dict:
    import numpy as np
    from sklearn.model_selection import train_test_split

    from kerasdl.data import make_dataset
    from kerasdl.data.shapes import SHAPE_CLASSES, make_shapes
    from kerasdl.losses.segmentation import segmentation_loss, segmentation_metrics
    from kerasdl.models.unet import unet
    from kerasdl.training import TimeBudget, compile_model, set_seed

    set_seed(args.seed)
    size = args.seg_image_size
    images, masks = make_shapes(
        args.seg_images, size, min_radius=args.seg_min_radius, max_radius=args.seg_max_radius, seed=args.seed
    )
    x_train, x_test, y_train, y_test = train_test_split(images, masks, test_size=0.2, random_state=args.seed)
    scale = np.float32(1 / 255)
    steps_per_epoch = -(-len(x_train) // args.seg_batch_size)
    model = unet((size, size, 3), len(SHAPE_CLASSES), args.seg_depth, args.seg_base_filters, batch_norm=True)
    compile_model(
        model,
        "adam",
        args.seg_learning_rate,
        loss=segmentation_loss("ce_dice"),
        metrics=segmentation_metrics(len(SHAPE_CLASSES)),
        schedule="cosine",
        decay_steps=args.seg_epochs * steps_per_epoch,
        jit_compile="auto",
    )
    budget = TimeBudget(args.seg_budget_s)
    start = time.perf_counter()
    history = model.fit(
        make_dataset(x_train * scale, y_train, args.seg_batch_size, seed=args.seed),
        epochs=args.seg_epochs,
        callbacks=[budget],
        verbose=2,
    )
    train_s = time.perf_counter() - start
    scores = model.evaluate(make_dataset(x_test * scale, y_test, 64, shuffle=False), verbose=0, return_dict=True)
    return {
        "settings": {
            "image_size": size,
            "images": args.seg_images,
            "shape_radius": [args.seg_min_radius, args.seg_max_radius],
            "train": len(x_train),
            "test": len(x_test),
            "depth": args.seg_depth,
            "base_filters": args.seg_base_filters,
            "batch_norm": True,
            "loss": "ce_dice",
            "batch_size": args.seg_batch_size,
            "learning_rate": args.seg_learning_rate,
            "schedule": "cosine",
            "epochs_planned": args.seg_epochs,
            "budget_s": args.seg_budget_s,
        },
        "parameters": model.count_params(),
        "epochs_run": len(history.history["loss"]),
        "stopped_by_budget": budget.stopped_early,
        "train_seconds": round(train_s, 1),
        "test_mean_iou": float(scores["mean_iou"]),
        "test_pixel_accuracy": float(scores["pixel_accuracy"]),
        "target_mean_iou": 0.90,
        "target_met": bool(scores["mean_iou"] >= 0.90),
    }


def run_verification(args) -> dict:
    """The flow of ``kerasdl.apps.verify`` (:mod:`kerasdl.verification.experiment`) on the Olivetti
    faces, with a time budget and no validation during training.

    ``mobilenet_v2_imagenet``: transfer for one-shot verification (26 training people are too
    few to learn features from scratch): frozen MobileNetV2 ImageNet features of the faces at
    96 px from ``--ver-feature-layers`` ("autoN": the N blocks whose untrained features
    separate the seen people best).
    """
    from kerasdl.training import TimeBudget, make_optimizer, set_seed
    from kerasdl.verification import SiameseModel, build_embedding, evaluate_verifier, load_identities, train_verifier

    set_seed(args.seed)
    data = load_identities("olivetti", seed=args.seed)
    filters = tuple(int(f) for f in args.ver_filters.split(","))
    loaded = None
    if args.ver_backbone == "mobilenet_v2_imagenet":
        from kerasdl.transfer import load_backbone

        # The data folder holds only the 224 px file; load_backbone falls back to it at 96 px.
        loaded = load_backbone("mobilenet_v2", input_shape=(96, 96, 3), weights="imagenet")
    embedding, feature_layers, layer_scores = build_embedding(
        data,
        args.ver_embedding_dim,
        filters=filters,
        loaded=loaded,
        feature_layers=args.ver_feature_layers,
        unfreeze_top=args.ver_unfreeze_top,
        num_pairs=args.ver_pairs,
        seed=args.seed,
    )
    if loaded is not None:
        print(f"feature layers: {feature_layers}", flush=True)
    model = SiameseModel(embedding, margin=args.ver_margin, mining=args.ver_mining)
    model.compile(optimizer=make_optimizer("adam", args.ver_learning_rate))
    budget = TimeBudget(args.ver_budget_s)
    start = time.perf_counter()
    history = train_verifier(
        model,
        data,
        epochs=args.ver_epochs,
        steps_per_epoch=args.ver_steps_per_epoch,
        identities_per_batch=8,
        images_per_identity=4,
        augment=args.ver_augment,
        seed=args.seed,
        callbacks=[budget],
        verbose=2,
    )
    train_s = time.perf_counter() - start
    result = evaluate_verifier(embedding, data, num_pairs=args.ver_pairs, seed=args.seed)
    choice, auc = result.choice, result.test_roc_auc
    return {
        "settings": {
            "data": data.source,
            "people": {
                "train": len(set(data.y_train)),
                "validation": len(set(data.y_val)),
                "test": len(set(data.y_test)),
            },
            "backbone": args.ver_backbone,
            "unfreeze_top": args.ver_unfreeze_top if args.ver_backbone != "cnn" else None,
            "feature_layers": feature_layers,
            "feature_layer_pair_auc_on_seen_people": layer_scores,
            "filters": list(filters) if args.ver_backbone == "cnn" else None,
            "embedding_dim": args.ver_embedding_dim,
            "mining": args.ver_mining,
            "margin": args.ver_margin,
            "batch": "8 people x 4 images",
            "augmentation": "flip, translation 0.05, rotation 0.03, zoom 0.05" if args.ver_augment else None,
            "learning_rate": args.ver_learning_rate,
            "epochs_planned": args.ver_epochs,
            "steps_per_epoch": args.ver_steps_per_epoch,
            "pairs": args.ver_pairs,
            "budget_s": args.ver_budget_s,
        },
        "parameters": embedding.count_params(),
        "epochs_run": len(history.history["loss"]),
        "stopped_by_budget": budget.stopped_early,
        "train_seconds": round(train_s, 1),
        "final_train_loss": float(history.history["loss"][-1]),
        "threshold": choice.threshold,
        "validation_roc_auc": choice.roc_auc,
        "test_roc_auc_unseen_people": auc,
        "test_verification_accuracy": result.test_accuracy,
        "one_shot": result.one_shot,
        "target_roc_auc": 0.95,
        "target_met": bool(auc >= 0.95),
    }


def run_style(args) -> dict:
    from sklearn.datasets import load_sample_images

    from kerasdl.losses.style import content_loss
    from kerasdl.style_transfer import perceptual_features, resize_image, save_png, transfer_style

    china, flower = load_sample_images().images
    content = resize_image(china, args.style_image_size)
    style = resize_image(flower, size=content.shape[:2])
    features = perceptual_features("mobilenet_v2", weights="imagenet")
    content_map, _ = features(content[None].astype("float32") / 255)
    style_as_content, _ = features(style[None].astype("float32") / 255)
    bound = float(content_loss(content_map, style_as_content))
    result = transfer_style(
        content,
        style,
        features=features,
        steps=args.style_steps,
        learning_rate=args.style_learning_rate,
        content_weight=1.0,
        style_weight=args.style_weight,
        seed=args.seed,
        progress=False,
    )
    out = REPO / "benchmarks" / "results" / "vision_tasks_style.png"
    save_png(result.image, out)
    h = result.history
    return {
        "settings": {
            "network": features.network,
            "weights": "imagenet (data folder)",
            "content": "china.jpg",
            "style": "flower.jpg",
            "image": list(content.shape[:2]),
            "content_layer": features.content_layer,
            "style_layers": list(features.style_layers),
            "steps": args.style_steps,
            "learning_rate": args.style_learning_rate,
            "content_weight": 1.0,
            "style_weight": args.style_weight,
            "tv_weight": 0.0,
            "noise": 0.1,
        },
        "style_loss_initial": h["style"][0],
        "style_loss_final": h["style"][-1],
        "style_reduction": result.style_reduction,
        "content_loss_initial": h["content"][0],
        "content_loss_final": h["content"][-1],
        "content_loss_of_style_image": bound,
        "content_bounded": bool(h["content"][-1] < bound),
        "seconds_per_step": result.seconds_per_step,
        "output_png": str(out.relative_to(REPO)),
        "target_style_reduction": 10.0,
        "target_met": bool(result.style_reduction >= 10.0 and h["content"][-1] < bound),
    }


def run_detection(args) -> dict:
    from benchmarks.detection import run_detection_benchmark

    return run_detection_benchmark(
        train_images=args.det_train_images,
        test_images=args.det_test_images,
        yolo_budget_s=args.det_yolo_budget_s,
        sliding_budget_s=args.det_sliding_budget_s,
        seed=args.seed,
        verbose=2,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "vision_tasks.json")
    g = parser.add_argument_group("detection (part A's benchmarks.detection)")
    g.add_argument("--det-train-images", type=int, default=1000)
    g.add_argument("--det-test-images", type=int, default=300)
    g.add_argument("--det-yolo-budget-s", type=float, default=300.0)
    g.add_argument("--det-sliding-budget-s", type=float, default=120.0)
    g = parser.add_argument_group("segmentation")
    g.add_argument("--seg-images", type=int, default=1000)
    g.add_argument("--seg-image-size", type=int, default=32)
    g.add_argument("--seg-min-radius", type=float, default=0.16, help="fraction of the image size")
    g.add_argument("--seg-max-radius", type=float, default=0.28)
    g.add_argument("--seg-depth", type=int, default=3)
    g.add_argument("--seg-base-filters", type=int, default=8)
    g.add_argument("--seg-batch-size", type=int, default=16)
    g.add_argument("--seg-learning-rate", type=float, default=3e-3)
    g.add_argument("--seg-epochs", type=int, default=30)
    g.add_argument("--seg-budget-s", type=float, default=480.0)
    g = parser.add_argument_group("verification")
    g.add_argument("--ver-filters", default="16,32,64,128")
    g.add_argument("--ver-embedding-dim", type=int, default=64)
    g.add_argument("--ver-mining", default="batch_all", choices=["batch_all", "batch_hard", "semi_hard"])
    g.add_argument("--ver-margin", type=float, default=0.2)
    g.add_argument("--ver-learning-rate", type=float, default=1e-3)
    g.add_argument("--ver-epochs", type=int, default=30)
    g.add_argument("--ver-steps-per-epoch", type=int, default=20)
    g.add_argument("--ver-pairs", type=int, default=4000)
    g.add_argument("--ver-budget-s", type=float, default=360.0)
    g.add_argument(
        "--ver-backbone",
        choices=["cnn", "mobilenet_v2_imagenet"],
        default="cnn",
        help="cnn: the small CNN from scratch; mobilenet_v2_imagenet: frozen ImageNet features "
        "(weights in the data folder), 96x96, only the projection trained",
    )
    g.add_argument(
        "--ver-unfreeze-top",
        type=int,
        default=0,
        help="mobilenet_v2_imagenet: fine-tune the network's last N layers (batch norm stays frozen)",
    )
    g.add_argument(
        "--ver-feature-layers",
        default="out_relu",
        help="mobilenet_v2_imagenet: comma-separated layers whose pooled outputs feed the projection; "
        "'autoN' takes the N blocks whose untrained features give the best pair AUC on the seen "
        "(training + validation) people",
    )
    g.add_argument("--ver-augment", action="store_true", help="flip/shift/rotate/zoom the training faces")
    g = parser.add_argument_group("style transfer")
    g.add_argument("--style-steps", type=int, default=100)
    g.add_argument("--style-image-size", type=int, default=192)
    g.add_argument("--style-learning-rate", type=float, default=0.02)
    g.add_argument("--style-weight", type=float, default=100.0)
    args = parser.parse_args(argv)

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    import tensorflow as tf

    import kerasdl  # noqa: F401  (pins the TensorFlow backend)

    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results["environment"] = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "gpu": bool(tf.config.list_physical_devices("GPU")),
    }
    runners = {
        "detection": run_detection,
        "segmentation": run_segmentation,
        "verification": run_verification,
        "style": run_style,
    }
    for section in SECTIONS:
        if section not in args.only:
            continue
        key = section  # the transfer-learning verification variant is kept beside the CNN one
        if section == "verification" and args.ver_backbone != "cnn":
            key = (
                f"verification_{args.ver_backbone}"
                + (f"_top{args.ver_unfreeze_top}" if args.ver_unfreeze_top else "")
                + (f"_{args.ver_feature_layers}" if args.ver_feature_layers != "out_relu" else "")
                + ("_augment" if args.ver_augment else "")
            )
        print(f"\n=== {key} ===", flush=True)
        start = time.perf_counter()
        try:
            results[key] = runners[section](args)
        except Exception as error:  # record and go on: one broken section must not hide the others
            traceback.print_exc()
            results[key] = {"error": f"{type(error).__name__}: {error}"}
        results[key]["wall_seconds"] = round(time.perf_counter() - start, 1)
        results[key]["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        print(json.dumps(results[key], indent=2, default=str), flush=True)
        write_json(args.out, results, default=str)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
