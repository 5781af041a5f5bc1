"""Neural architecture search on the digits data: an LSTM controller trained with REINFORCE.

    python -m apps.nas                                  # 20 child trainings, plus random search
    python -m apps.nas --trials 40 --child-epochs 3 --no-random

The controller samples child CNNs (filters, kernel size and pooling per layer), each child
is trained briefly and its validation accuracy rewards the controller. Random search with
the same number of child trainings runs beside it unless ``--no-random``. The best
architecture found is retrained for ``--final-epochs`` on the training split, evaluated on
the held-out test split and exported as a SavedModel that takes uint8 8x8 images. A NaN/inf
loss in that retraining ends the run with
:class:`~kerasdl.training.callbacks.TrainingDiverged` (``kerasdl`` exit status 1): nothing
diverged is evaluated or exported.
Writes ``runs/nas/<run-id>/`` (search_curve.png, summary.json).
"""

from __future__ import annotations

import sys

DESCRIPTION = "architecture search with an RNN controller (REINFORCE) vs random search on digits; export the best"


def add_arguments(parser):
    parser.add_argument("--trials", type=int, default=20, help="child trainings per search method")
    parser.add_argument("--child-epochs", type=int, default=3, help="epochs each child is trained")
    parser.add_argument("--layers", type=int, default=3, help="conv layers of a child")
    parser.add_argument("--controller-lr", type=float, default=0.05, help="controller learning rate (Adam)")
    parser.add_argument("--baseline-decay", type=float, default=0.8, help="moving-average baseline decay")
    parser.add_argument("--no-random", action="store_true", help="skip the random-search comparison")
    parser.add_argument("--final-epochs", type=int, default=20, help="epochs to retrain the best architecture")
    parser.add_argument(
        "--final-learning-rate", type=float, default=3e-3, help="Adam learning rate of the final retraining"
    )
    parser.add_argument("--runs-dir", default="runs/nas", help="folder for <run-id>/")
    parser.add_argument(
        "--export", dest="export_dir", default="saved_models/nas", help="folder that receives <run-id>/"
    )
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from pathlib import Path

    import keras
    import numpy as np

    from kerasdl.apps._common import new_run_dir, write_summary
    from kerasdl._validation import check_float, check_int
    from kerasdl.automl.nas import SearchSpace, child_cnn, digits_search_data, nas_search, plot_search, random_search
    from kerasdl.data import load_digits, scale_images
    from kerasdl.export import check_export_agrees, export_saved_model, load_saved_model, with_preprocessing
    from kerasdl.training import compile_model, make_callbacks, set_seed
    from kerasdl.training.callbacks import check_finite_weights

    # every value is checked before the data is read or a run folder is made
    check_int("trials", args.trials, minimum=1)
    check_int("child_epochs", args.child_epochs, minimum=1)
    check_int("final_epochs", args.final_epochs, minimum=1)
    check_float("final_learning_rate", args.final_learning_rate, minimum=0.0, min_inclusive=False)
    check_float("controller_lr", args.controller_lr, minimum=0.0, min_inclusive=False)
    check_float("baseline_decay", args.baseline_decay, minimum=0.0, maximum=1.0, max_inclusive=False)
    space = SearchSpace(num_layers=args.layers)
    data = digits_search_data(seed=args.seed)
    run_dir = new_run_dir(args.runs_dir)
    print(
        f"NAS on digits 8x8: {space.size():,} architectures, {args.trials} child trainings per method; "
        f"run folder {run_dir}"
    )
    results = [
        nas_search(
            args.trials,
            space=space,
            data=data,
            epochs=args.child_epochs,
            controller_lr=args.controller_lr,
            baseline_decay=args.baseline_decay,
            seed=args.seed,
            progress=not args.quiet,
        )
    ]
    if not args.no_random:
        results.append(
            random_search(
                args.trials, space=space, data=data, epochs=args.child_epochs, seed=args.seed, progress=not args.quiet
            )
        )
    curve = plot_search(results, run_dir / "search_curve.png")
    best = max(results, key=lambda r: r.best_reward)

    # Retrain the best architecture on the whole training split; test once on the held-out split.
    set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_digits(image_size=8, seed=args.seed)
    model = compile_model(
        child_cnn(best.best_architecture, (8, 8, 1), 10), "adam", args.final_learning_rate, jit_compile=False
    )
    # make_callbacks(): a NaN/inf loss stops fit with TrainingDiverged (exit status 1), nothing exported
    model.fit(
        scale_images(x_train), y_train, epochs=args.final_epochs, batch_size=32, verbose=0, callbacks=make_callbacks()
    )
    check_finite_weights(model, "retrained model")
    test_accuracy = float(model.evaluate(scale_images(x_test), y_test, verbose=0)[1])

    export = {"export_path": None}
    if not args.no_export:
        serving = with_preprocessing(model, keras.layers.Rescaling(1 / 255, name="scale_uint8"), input_shape=(8, 8, 1))
        path = export_saved_model(serving, Path(args.export_dir) / run_dir.name)
        raw = x_test[:128, ..., None]
        diff = check_export_agrees(load_saved_model(path)(raw), model.predict(scale_images(raw), verbose=0))
        export = {"export_path": str(path), "export_max_abs_diff": diff}

    summary = {
        "app": "nas",
        "search_space_size": space.size(),
        "trials": args.trials,
        "child_epochs": args.child_epochs,
        "searches": {r.method: r.summary() for r in results},
        "best_method": best.method,
        "best_architecture": best.best_architecture,
        "best_validation_accuracy": best.best_reward,
        "final_epochs": args.final_epochs,
        "final_learning_rate": args.final_learning_rate,
        "test_accuracy": test_accuracy,
        "search_curve": str(curve),
        "run_dir": str(run_dir),
        **export,
    }
    write_summary(run_dir, summary)
    print("\nSummary")
    for r in results:
        print(
            f"  {r.method:7s} best validation accuracy {r.best_reward:.4f} at child {r.best_index + 1}; "
            f"mean {np.mean(r.rewards):.4f}; {r.seconds:.0f} s"
        )
    print(
        f"  best architecture  {best.best_architecture}\n  test accuracy      {test_accuracy:.4f} "
        f"(retrained {args.final_epochs} epochs)\n  search curve       {curve}\n"
        f"  export             {export['export_path']}\n  summary            {run_dir / 'summary.json'}"
    )
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
