"""Attack an MNIST classifier with FGSM and PGD, optionally train it adversarially, export it.

    python -m apps.adversarial                                   # train LeNet-5, attack, export
    python -m apps.adversarial --adversarial-training pgd --train-eps 0.1 --eps 0,0.05,0.1,0.2
    python -m apps.adversarial --model runs/train/<id>/best.keras --eps 0.1,0.3

Steps: load MNIST when it is on disk (``KERASDL_DATA_DIR``), else scikit-learn's digits
resized to 28x28 (and say which) → train ``lenet5(classic=False)`` (or load ``--model``;
with ``--adversarial-training fgsm|pgd`` the model is trained, or fine-tuned, inside
:class:`kerasdl.training.adversarial.AdversarialModel`) → for every ε of ``--eps``,
FGSM and PGD (L∞, random start) on ``--max-test`` test images → a table of clean / robust
accuracy and attack success rate (printed, ``results.json``, ``results.md``) and a PNG of
clean vs adversarial images with their predictions → export the model as a SavedModel
that takes uint8 images to ``saved_models/adversarial/<run-id>/``, reload it and check
that it predicts what the in-memory model predicts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments

DESCRIPTION = "attack an MNIST classifier with FGSM/PGD, optionally train it adversarially, export it"
DEFAULT_EPOCHS = {"mnist": 2, "digits": 15}


def _eps_list(text: str):
    import argparse

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--eps must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("--eps needs at least one value")
    return values


def add_arguments(parser):
    parser.add_argument("--model", type=Path, default=None, help=".keras classifier to attack instead of training one")
    parser.add_argument(
        "--dataset",
        choices=["mnist", "digits"],
        default=None,
        help="data set (default: mnist when on disk, else sklearn digits)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: 2 on MNIST, 15 on digits)")
    parser.add_argument("--batch-size", type=int, default=128, help="batch size")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--max-train", type=int, default=None, help="use at most this many training images")
    parser.add_argument("--max-test", type=int, default=1000, help="test images attacked per ε")
    parser.add_argument(
        "--eps",
        type=_eps_list,
        default=[0.0, 0.05, 0.1, 0.2, 0.3],
        help="comma-separated L∞ budgets on [0, 1] pixels (default 0,0.05,0.1,0.2,0.3)",
    )
    parser.add_argument("--pgd-steps", type=int, default=40, help="PGD iterations when attacking")
    parser.add_argument("--pgd-step-size", type=float, default=None, help="PGD step (default 2.5·ε/steps)")
    parser.add_argument(
        "--adversarial-training",
        choices=["none", "fgsm", "pgd"],
        default="none",
        help="train (or fine-tune --model) on FGSM/PGD examples crafted per batch",
    )
    parser.add_argument("--train-eps", type=float, default=0.1, help="ε of adversarial training")
    parser.add_argument("--train-steps", type=int, default=7, help="PGD steps inside adversarial training")
    parser.add_argument(
        "--alpha", type=float, default=0.5, help="weight of the clean loss: alpha·L_clean + (1-alpha)·L_adv (0 = Madry)"
    )
    parser.add_argument("--examples", type=int, default=8, help="images shown in the clean-vs-adversarial PNG")
    parser.add_argument(
        "--export",
        dest="export_dir",
        default="saved_models/adversarial",
        help="folder that receives <run-id>/ (the SavedModel)",
    )
    parser.add_argument("--runs-dir", default="runs/adversarial", help="folder for the table, plots and summary")
    add_runtime_arguments(parser)


def _check_args(args):
    from kerasdl._validation import check_float, check_int

    for eps in args.eps:
        check_float("eps", eps, minimum=0.0, maximum=1.0)
    check_float("train_eps", args.train_eps, minimum=0.0, maximum=1.0)
    check_float("alpha", args.alpha, minimum=0.0, maximum=1.0)
    check_int("pgd_steps", args.pgd_steps, minimum=1)
    check_int("train_steps", args.train_steps, minimum=1)
    check_int("batch_size", args.batch_size, minimum=1)
    check_int("max_test", args.max_test, minimum=1)
    check_int("examples", args.examples, minimum=1)
    if args.epochs is not None:
        check_int("epochs", args.epochs, minimum=1)
    if args.max_train is not None:
        check_int("max_train", args.max_train, minimum=1)
    if args.pgd_step_size is not None:
        check_float("pgd_step_size", args.pgd_step_size, minimum=0.0, min_inclusive=False)
    if args.model is not None and not args.model.is_file():
        raise FileNotFoundError(f"--model: no .keras file at {args.model}")


def _markdown(rows) -> str:
    lines = ["| attack | ε | clean accuracy | robust accuracy | success rate |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['attack']} | {row['eps']:g} | {row['clean_accuracy']:.4f} | "
            f"{row['robust_accuracy']:.4f} | {row['success_rate']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def run(args) -> int:
    import json
    import time

    import keras
    import numpy as np

    from kerasdl.apps._common import new_run_dir, setup_runtime, write_summary
    from kerasdl.attacks import FGSM, PGD, evaluate_attack, predicted_labels
    from kerasdl.data import default_dataset, load_image_classification, make_dataset, train_val_split
    from kerasdl.export import (
        atomic_file,
        check_export_agrees,
        export_saved_model,
        load_keras,
        load_saved_model,
        save_keras,
        with_preprocessing,
    )
    from kerasdl.models.lenet import lenet5
    from kerasdl.plots import plot_history, plot_image_grid
    from kerasdl.training import compile_model, make_callbacks
    from kerasdl.training.callbacks import check_finite_weights
    from kerasdl.training.adversarial import AdversarialModel

    _check_args(args)
    start = time.perf_counter()
    strategy = setup_runtime(args)
    dataset = args.dataset or default_dataset()
    if args.dataset is None and dataset != "mnist":
        print("apps.adversarial: MNIST not found (set KERASDL_DATA_DIR); using scikit-learn digits resized to 28x28")
    data = load_image_classification(dataset)
    print(f"Data set: {data.name} ({data.source}): {len(data.x_train)} train / {len(data.x_test)} test")
    x_all, y_all = data.x_train[: args.max_train], data.y_train[: args.max_train]
    (x_train, y_train), (x_val, y_val) = train_val_split(x_all, y_all, validation_fraction=0.1, seed=args.seed)
    x_test, y_test = data.x_test[: args.max_test], data.y_test[: args.max_test]
    run_dir = new_run_dir(args.runs_dir)

    with strategy.scope():
        if args.model is not None:
            model = load_keras(args.model)
            if tuple(model.input_shape[1:]) != tuple(data.input_shape) or model.output_shape[-1] != data.num_classes:
                raise ValueError(
                    f"--model takes {model.input_shape[1:]} → {model.output_shape[-1]} classes, but "
                    f"{data.name} has {data.input_shape} images and {data.num_classes} classes"
                )
            print(f"Loaded {args.model} ({model.count_params():,} parameters)")
        else:
            model = lenet5(input_shape=data.input_shape, num_classes=data.num_classes, classic=False)
        trainer = model
        if args.adversarial_training != "none":
            options = {"random_start": True} if args.adversarial_training == "pgd" else {}
            if args.adversarial_training == "pgd":
                options["steps"] = args.train_steps
            trainer = AdversarialModel(
                model, args.adversarial_training, eps=args.train_eps, alpha=args.alpha, attack_options=options
            )
        train = args.model is None or args.adversarial_training != "none"
        if train:
            compile_model(trainer, "adam", args.learning_rate, jit_compile=args.jit)

    history = None
    if train:
        epochs = args.epochs or DEFAULT_EPOCHS.get(dataset, 5)
        what = (
            "standard"
            if args.adversarial_training == "none"
            else (f"adversarial ({args.adversarial_training}, ε={args.train_eps}, alpha={args.alpha})")
        )
        print(f"Training {model.name} ({model.count_params():,} parameters), {what}, {epochs} epochs")
        history = trainer.fit(
            make_dataset(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed),
            validation_data=make_dataset(x_val, y_val, args.batch_size, shuffle=False),
            epochs=epochs,
            shuffle=False,
            verbose=2,
            callbacks=make_callbacks(checkpoint_path=run_dir / "best.weights.h5", csv_path=run_dir / "history.csv"),
        )
        # a NaN/inf loss already ended fit with TrainingDiverged; NaN weights under a finite loss end here
        check_finite_weights(model)
        plot_history(history, run_dir / "training_curves.png", title=f"{model.name} on {data.name}: {what}")

    rows, examples = [], {}
    shown_x, shown_y = x_test[: args.examples], y_test[: args.examples]
    for eps in args.eps:
        attacks = {
            "fgsm": FGSM(eps, batch_size=256, jit_compile=args.jit),
            f"pgd-{args.pgd_steps}": PGD(
                eps,
                steps=args.pgd_steps,
                step_size=args.pgd_step_size,
                random_start=True,
                batch_size=256,
                seed=args.seed,
                jit_compile=args.jit,
            ),
        }
        for name, attack in attacks.items():
            result = evaluate_attack(model, (x_test, y_test), attack)
            rows.append({"attack": name, "eps": eps, **result})
            print(
                f"  {name:8s} ε={eps:<5g} clean {result['clean_accuracy']:.4f}  robust {result['robust_accuracy']:.4f}"
                f"  success {result['success_rate']:.4f}"
            )
            if eps == max(args.eps):
                examples[name] = attack(model, shown_x, shown_y)

    # clean vs adversarial images at the largest ε, with predictions
    images, titles = (
        [shown_x],
        [f"y={y} p={p}" for y, p in zip(shown_y, predicted_labels(model.predict(shown_x, verbose=0)))],
    )
    for name, x_adv in examples.items():
        images.append(x_adv)
        titles += [f"{name} p={p}" for p in predicted_labels(model.predict(x_adv, verbose=0))]
    examples_png = plot_image_grid(
        np.concatenate(images),
        run_dir / "adversarial_examples.png",
        titles=titles,
        ncols=len(shown_x),
        value_range=(0, 1),
        title=f"clean (top) vs FGSM / PGD at ε={max(args.eps):g}",
    )

    for name, text in (("results.json", json.dumps(rows, indent=2) + "\n"), ("results.md", _markdown(rows))):
        with atomic_file(run_dir / name) as tmp:
            tmp.write_text(text)
    print("\n" + _markdown(rows))

    serving = with_preprocessing(model, keras.layers.Rescaling(1 / 255, name="scale_uint8"))
    export_path = export_saved_model(serving, Path(args.export_dir) / run_dir.name)
    raw = np.round(x_test[:256] * 255).astype("uint8")
    max_diff = check_export_agrees(
        load_saved_model(export_path)(raw), model.predict(raw.astype("float32") / 255, verbose=0)
    )
    model_path = save_keras(model, run_dir / "model.keras")

    summary = {
        "dataset": data.name,
        "data_source": data.source,
        "model": model.name,
        "parameters": model.count_params(),
        "loaded_model": str(args.model) if args.model else None,
        "adversarial_training": args.adversarial_training,
        "train_eps": args.train_eps if args.adversarial_training != "none" else None,
        "alpha": args.alpha if args.adversarial_training != "none" else None,
        "epochs_run": len(history.history["loss"]) if history else 0,
        "test_images_attacked": len(x_test),
        "pgd_steps": args.pgd_steps,
        "results": rows,
        "export_path": str(export_path),
        "export_max_abs_diff": max_diff,
        "model_path": str(model_path),
        "examples_png": str(examples_png),
        "results_md": str(run_dir / "results.md"),
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_summary(run_dir, summary)
    print(f"export      {export_path} (SavedModel, takes uint8 images; reload max |diff| {max_diff:.1e})")
    print(f"examples    {examples_png}")
    print(f"summary     {run_dir / 'summary.json'}")
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
