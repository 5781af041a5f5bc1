"""Face verification and one-shot recognition with a triplet-trained embedding.

    python -m apps.verify                          # Olivetti faces when on disk, else digits
    python -m apps.verify --dataset olivetti --mining semi_hard --epochs 30
    python -m apps.verify --backbone mobilenet_v2 --feature-layers auto3   # pretrained ImageNet blocks

The flow is :mod:`kerasdl.verification.experiment`. The people are split three ways
(:func:`kerasdl.verification.faces.split_by_identity`): the embedding network
(:func:`kerasdl.verification.embedding_network`: a small CNN from scratch, or ``--backbone``'s
frozen pretrained blocks, :mod:`kerasdl.verification.features`, with a trained projection)
trains on the first group with online triplet mining (:class:`kerasdl.verification.SiameseModel`,
P×K batches); the distance threshold is chosen by ROC on pairs of the validation people; the
verification ROC AUC and the one-shot recognition accuracy (one enrolled image per person,
impostors must be "not recognised") are measured on people never seen in training.
Writes ``runs/verify/<run-id>/`` (curves, ROC plot, summary.json) and exports the embedding
model, taking uint8 images, to ``saved_models/verify/<run-id>/``; the export is reloaded
and compared with the in-memory model.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments, new_run_dir, setup_runtime, weights_value, write_summary

DESCRIPTION = "train a triplet-loss face embedding, pick a verification threshold, test on unseen people"


def add_arguments(parser):
    parser.add_argument(
        "--dataset",
        choices=["olivetti", "digits"],
        default=None,
        help="identities to learn (default: olivetti when on disk, else digits)",
    )
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument(
        "--backbone",
        default="cnn",
        help="cnn (a small CNN trained from scratch, --filters) or a pretrained network for "
        "kerasdl.transfer.load_backbone (mobilenet_v2, efficientnet_b0, resnet50, vgg16), frozen",
    )
    parser.add_argument("--filters", default="32,64,128,256", help="cnn backbone conv widths, comma-separated")
    parser.add_argument(
        "--feature-layers",
        default="auto3",
        help="pretrained backbone: comma-separated layer names, or autoN: the N blocks whose "
        "untrained features best separate the training and validation people",
    )
    parser.add_argument("--backbone-size", type=int, default=96, help="pretrained backbone: input size (px)")
    parser.add_argument("--weights", default="imagenet", help="pretrained backbone: imagenet, none or a file")
    parser.add_argument("--mining", choices=["batch_all", "batch_hard", "semi_hard"], default="batch_all")
    parser.add_argument("--margin", type=float, default=0.2, help="triplet margin α (squared distances)")
    parser.add_argument("--identities-per-batch", type=int, default=8, help="P identities per batch")
    parser.add_argument("--images-per-identity", type=int, default=4, help="K images per identity")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps-per-epoch", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--augment", action="store_true", help="random flip, shift, rotation and zoom of the training images"
    )
    parser.add_argument("--pairs", type=int, default=2000, help="validation and test pairs each")
    parser.add_argument(
        "--export",
        dest="export_dir",
        default="saved_models/verify",
        help="folder that receives <run-id>/ (the SavedModel); 'none' skips the export",
    )
    parser.add_argument("--runs-dir", default="runs/verify")
    parser.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1, 2)")
    add_runtime_arguments(parser)


def run(args) -> int:
    import keras
    import numpy as np

    from kerasdl._validation import check_int
    from kerasdl.export import check_export_agrees, export_saved_model, load_saved_model, save_keras, with_preprocessing
    from kerasdl.plots import plot_curves, plot_history
    from kerasdl.training import make_callbacks
    from kerasdl.training.callbacks import check_finite_weights
    from kerasdl.verification import (
        SiameseModel,
        build_embedding,
        evaluate_verifier,
        load_identities,
        olivetti_available,
        train_verifier,
    )

    start = time.perf_counter()
    for name in ("epochs", "steps_per_epoch", "embedding_dim", "pairs"):
        check_int(name.replace("_", "-"), getattr(args, name), minimum=1)
    try:
        filters = tuple(int(f) for f in args.filters.split(","))
    except ValueError:
        raise ValueError(f"--filters must be comma-separated integers, got {args.filters!r}") from None
    strategy = setup_runtime(args)
    dataset = args.dataset or ("olivetti" if olivetti_available() else "digits")
    if args.dataset is None and dataset == "digits":
        print("Olivetti faces not found in $KERASDL_DATA_DIR/olivetti/: using scikit-learn digits as identities")
    data = load_identities(dataset, seed=args.seed)
    print(
        f"Data: {data.source}: {len(np.unique(data.y_train))} train / {len(np.unique(data.y_val))} validation / "
        f"{len(np.unique(data.y_test))} test identities, images {data.input_shape}"
    )

    with strategy.scope():
        loaded = None
        if args.backbone != "cnn":
            from kerasdl.transfer import load_backbone

            size = check_int("backbone-size", args.backbone_size, minimum=32)
            loaded = load_backbone(args.backbone, input_shape=(size, size, 3), weights=weights_value(args.weights))
        embedding, feature_layers, _ = build_embedding(
            data,
            args.embedding_dim,
            filters=filters,
            loaded=loaded,
            feature_layers=args.feature_layers,
            num_pairs=args.pairs,
            seed=args.seed,
        )
        if loaded is not None:
            print(f"Backbone {args.backbone} ({args.weights} weights, frozen), features of {feature_layers}")
        model = SiameseModel(embedding, margin=args.margin, mining=args.mining)
        model.compile("adam", args.learning_rate, jit_compile=args.jit)
    run_dir = new_run_dir(args.runs_dir)
    history = train_verifier(
        model,
        data,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        identities_per_batch=args.identities_per_batch,
        images_per_identity=args.images_per_identity,
        augment=args.augment,
        validation_steps=5,
        seed=args.seed,
        verbose=args.verbose,
        callbacks=make_callbacks(checkpoint_path=run_dir / "best.weights.h5", csv_path=run_dir / "history.csv"),
    )
    # a NaN/inf loss already ended fit with TrainingDiverged; NaN weights under a finite loss end here
    check_finite_weights(model)
    curves = plot_history(history, run_dir / "training_curves.png", title=f"triplet loss ({args.mining} mining)")

    result = evaluate_verifier(embedding, data, num_pairs=args.pairs, seed=args.seed)
    verifier, choice, one_shot = result.verifier, result.choice, result.one_shot
    test_auc, test_accuracy = result.test_roc_auc, result.test_accuracy
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(result.test_same, -result.test_distances)
    roc_png = plot_curves(
        {f"unseen people (AUC {test_auc:.3f})": (fpr, tpr), "chance": ([0, 1], [0, 1])},
        run_dir / "roc.png",
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="verification ROC",
    )

    summary = {
        "dataset": data.name,
        "data_source": data.source,
        "identities": {
            "train": int(len(np.unique(data.y_train))),
            "validation": int(len(np.unique(data.y_val))),
            "test": int(len(np.unique(data.y_test))),
        },
        "model": {
            "embedding_dim": args.embedding_dim,
            "backbone": args.backbone,
            "filters": list(filters) if args.backbone == "cnn" else None,
            "feature_layers": feature_layers,
            "parameters": embedding.count_params(),
        },
        "mining": args.mining,
        "margin": args.margin,
        "epochs": len(history.history["loss"]),
        "steps_per_epoch": args.steps_per_epoch,
        "threshold": choice.threshold,
        "validation_roc_auc": choice.roc_auc,
        "validation_accuracy": choice.accuracy,
        "test_roc_auc": test_auc,
        "test_verification_accuracy": test_accuracy,
        "one_shot": one_shot,
        "curves_png": str(curves),
        "roc_png": str(roc_png),
        "run_dir": str(run_dir),
    }
    summary["embedding_keras"] = str(save_keras(embedding, run_dir / "embedding.keras"))  # the final weights
    if args.export_dir != "none":
        serving = with_preprocessing(
            embedding, keras.layers.Rescaling(1 / 255, name="scale_uint8"), input_name="images"
        )
        export_path = export_saved_model(serving, Path(args.export_dir) / run_dir.name)
        sample = data.x_test[:32]
        max_diff = check_export_agrees(load_saved_model(export_path)(sample), verifier.embed(sample))
        summary.update(export_path=str(export_path), export_max_abs_diff=max_diff)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_summary(run_dir, summary)
    print(f"\nEmbedding {embedding.count_params():,} parameters, {summary['epochs']} epochs, {args.mining} mining")
    print(f"  threshold (validation ROC)   {choice.threshold:.4f} (validation AUC {choice.roc_auc:.4f})")
    print(f"  verification, unseen people  ROC AUC {test_auc:.4f}, accuracy {test_accuracy:.4f}")
    print(
        f"  one-shot recognition         top-1 {one_shot['top1_accuracy']:.4f}, with threshold "
        f"{one_shot['accuracy_with_threshold']:.4f}, impostors rejected {one_shot.get('impostor_rejection_rate', float('nan')):.4f}"
    )
    if "export_path" in summary:
        print(
            f"  export                       {summary['export_path']} (uint8 images → embeddings; reload max |diff| "
            f"{summary['export_max_abs_diff']:.1e})"
        )
    print(f"  summary                      {run_dir / 'summary.json'}")
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
