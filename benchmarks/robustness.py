"""Benchmark: kerasdl.attacks against the Adversarial Robustness Toolbox, and adversarial training.

    python benchmarks/robustness.py                     # all sections, MNIST from $KERASDL_DATA_DIR
    python benchmarks/robustness.py --skip-art          # without the ART comparison

One run, one model, the same test images for every attack:

1. A standard small MNIST CNN (conv 32 → pool → conv 64 → pool → dense 128 → 10 logits),
   trained with Adam.
2. kerasdl vs ART (``adversarial-robustness-toolbox``, benchmark-only; its
   ``TensorFlowV2Classifier`` wraps the very same Keras model and loss): success rates of
   FGSM (ε = 0.1, 0.3) and PGD-40 (step 0.01, one random start; ε = 0.1, 0.3), and PGD-40
   throughput in images/s (target: kerasdl ≥ 2× ART, success rates within 1 point).
3. The standard CNN's accuracy under PGD-40, ε = 0.3 (expected near 0%).
4. Adversarial training at ε = 0.1 (target: robust accuracy ≥ 90% under PGD-40): the same
   CNN architecture wrapped in :class:`kerasdl.training.adversarial.AdversarialModel`.
   The default attack inside training is FGSM with a random start and step 1.25·ε (Wong,
   Rice & Kolter 2020, "Fast is better than free") because PGD-k training costs k+1
   forward/backward passes per batch, too many for the shared 2-core CPU;
   ``--train-attack pgd --train-steps 7`` gives Madry's PGD training.

Writes ``benchmarks/results/robustness.json`` (settings and figures exactly as measured).
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


def small_cnn(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            keras.layers.Conv2D(32, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(64, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(128, activation="relu", name="fc"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="small_cnn",
    )


def success_rate(model, x, x_adv, y) -> float:
    """Among the examples classified correctly when clean, the fraction misclassified after the attack."""
    import numpy as np

    clean = model.predict(x, batch_size=500, verbose=0).argmax(1) == y
    adv = model.predict(x_adv, batch_size=500, verbose=0).argmax(1) == y
    return float(np.mean(~adv[clean]))


def accuracy(model, x, y) -> float:
    import numpy as np

    return float(np.mean(model.predict(x, batch_size=500, verbose=0).argmax(1) == y))


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def art_attacks(model, x, y, configs, batch_size):
    """Success rates and PGD timing with ART's own attack classes on the same model."""
    import numpy as np
    import tensorflow as tf
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier

    classifier = TensorFlowV2Classifier(
        model=model,
        nb_classes=10,
        input_shape=(28, 28, 1),
        clip_values=(0.0, 1.0),
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    out = {}
    for name, kind, eps in configs:
        if kind == "fgsm":
            attack = FastGradientMethod(classifier, norm=np.inf, eps=eps, batch_size=batch_size)
        else:
            attack = ProjectedGradientDescent(
                classifier,
                norm=np.inf,
                eps=eps,
                eps_step=0.01,
                max_iter=40,
                num_random_init=1,
                batch_size=batch_size,
                verbose=False,
            )
        x_adv, seconds = timed(lambda: attack.generate(x=x, y=y))
        out[name] = {
            "success_rate": success_rate(model, x, x_adv, y),
            "seconds": round(seconds, 2),
            "images_per_second": round(len(x) / seconds, 1),
            "attack_class": type(attack).__name__,
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="standard training epochs")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-eval", type=int, default=1000, help="test images attacked")
    parser.add_argument("--attack-batch", type=int, default=250, help="attack batch size (both libraries)")
    parser.add_argument("--skip-art", action="store_true")
    parser.add_argument(
        "--skip-attacks", action="store_true", help="skip section 2-3 (kerasdl and ART attacks on the standard model)"
    )
    parser.add_argument("--skip-adversarial-training", action="store_true")
    parser.add_argument("--train-attack", choices=["fgsm-rs", "pgd"], default="fgsm-rs")
    parser.add_argument("--train-steps", type=int, default=7, help="PGD steps inside training (--train-attack pgd)")
    parser.add_argument("--train-eps", type=float, default=0.1)
    parser.add_argument("--alpha", type=float, default=0.0, help="weight of the clean loss in adversarial training")
    parser.add_argument(
        "--at-test-eps",
        type=float,
        nargs="*",
        default=None,
        help="PGD-40 budgets the robust model is tested at (default: --train-eps)",
    )
    parser.add_argument("--at-epochs", type=int, default=3, help="adversarial-training epochs")
    parser.add_argument("--at-max-train", type=int, default=None, help="training images per adversarial epoch")
    parser.add_argument(
        "--at-time-budget",
        type=float,
        default=None,
        help="stop adversarial training at the end of the epoch that passes this many seconds",
    )
    parser.add_argument(
        "--at-from-standard",
        action="store_true",
        help="start adversarial training from the standard model's weights (adversarial fine-tuning)",
    )
    parser.add_argument("--max-train", type=int, default=None, help="use only this many training images (smoke runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "robustness.json")
    args = parser.parse_args(argv)

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.attacks import FGSM, PGD
    from kerasdl.data import load_image_classification, make_dataset
    from kerasdl.training import EpochTimer, TimeBudget, gpu_available, set_seed
    from kerasdl.training.adversarial import AdversarialModel

    set_seed(args.seed)
    data = load_image_classification("mnist")
    if data.source.startswith("scikit"):
        raise SystemExit("MNIST not found: set KERASDL_DATA_DIR to a folder with mnist/mnist.npz")
    x_eval, y_eval = data.x_test[: args.n_eval], data.y_test[: args.n_eval]
    result = {
        "benchmark": "robustness",
        "device": "GPU" if gpu_available() else f"CPU ({os.cpu_count()} cores, shared)",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "eval_images": len(x_eval),
        "attack_batch": args.attack_batch,
    }

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")

    # 1. standard CNN
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = small_cnn(args.seed)
    model.compile(keras.optimizers.Adam(1e-3), loss, metrics=["accuracy"])
    timer = EpochTimer()
    x_train, y_train = data.x_train[: args.max_train], data.y_train[: args.max_train]
    result["train_images"] = len(x_train)
    train_ds = make_dataset(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed)
    model.fit(train_ds, epochs=args.epochs, shuffle=False, callbacks=[timer], verbose=2)
    result["standard_model"] = {
        "architecture": "conv3x3x32-pool-conv3x3x64-pool-dense128-dense10 (logits)",
        "parameters": model.count_params(),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": "adam lr=1e-3",
        "seconds_per_epoch": [round(s, 1) for s in timer.epoch_seconds],
        "test_accuracy_full_10k": accuracy(model, data.x_test, data.y_test),
        "clean_accuracy_eval": accuracy(model, x_eval, y_eval),
    }
    print(json.dumps(result["standard_model"], indent=2))
    save()

    # 2. kerasdl vs ART on the same model and images
    configs = [
        ("fgsm_eps0.1", "fgsm", 0.1),
        ("fgsm_eps0.3", "fgsm", 0.3),
        ("pgd40_eps0.1", "pgd", 0.1),
        ("pgd40_eps0.3", "pgd", 0.3),
    ]
    ours = {}
    for name, kind, eps in [] if args.skip_attacks else configs:
        attack = (
            FGSM(eps, from_logits=True, batch_size=args.attack_batch)
            if kind == "fgsm"
            else PGD(
                eps,
                steps=40,
                step_size=0.01,
                random_start=True,
                from_logits=True,
                batch_size=args.attack_batch,
                seed=args.seed,
            )
        )
        _, first = timed(lambda: attack(model, x_eval[:8], y_eval[:8]))  # traces the tf.function
        x_adv, warm = timed(lambda: attack(model, x_eval, y_eval))
        ours[name] = {
            "success_rate": success_rate(model, x_eval, x_adv, y_eval),
            "robust_accuracy": accuracy(model, x_adv, y_eval),
            "seconds_tracing_call_8_images": round(first, 2),
            "seconds": round(warm, 2),
            "images_per_second": round(len(x_eval) / warm, 1),
            "max_abs_perturbation": float(np.abs(x_adv - x_eval).max()),
        }
        print(name, ours[name])
    if ours:
        result["kerasdl"] = ours
        result["standard_cnn_pgd40_eps0.3_accuracy"] = ours["pgd40_eps0.3"]["robust_accuracy"]
        save()

    if not args.skip_art and not args.skip_attacks:
        import art

        theirs = art_attacks(model, x_eval, y_eval, configs, args.attack_batch)
        result["art"] = {"version": art.__version__, **theirs}
        comparison = {}
        for name, *_ in configs:
            comparison[name] = {
                "success_rate_kerasdl": ours[name]["success_rate"],
                "success_rate_art": theirs[name]["success_rate"],
                "difference_points": round(100 * (ours[name]["success_rate"] - theirs[name]["success_rate"]), 2),
                "within_1_point": abs(ours[name]["success_rate"] - theirs[name]["success_rate"]) <= 0.01,
                "speedup_vs_art": round(theirs[name]["seconds"] / ours[name]["seconds"], 2),
            }
        result["comparison"] = comparison
        print(json.dumps(comparison, indent=2))
        save()

    # 4. adversarial training at eps = train_eps
    if not args.skip_adversarial_training:
        eps = args.train_eps
        if args.train_attack == "pgd":
            options = {"steps": args.train_steps, "random_start": True}
            described = f"PGD-{args.train_steps}, step {2.5 * eps / args.train_steps:.4g}, random start"
        else:
            options = {"steps": 1, "step_size": 1.25 * eps, "random_start": True}
            described = f"FGSM with random start, step {1.25 * eps:.4g} (Wong et al. 2020)"
        base = small_cnn(args.seed + 1)
        if args.at_from_standard:
            base.set_weights(model.get_weights())
        robust = AdversarialModel(
            base, "pgd", eps=eps, alpha=args.alpha, attack_options={**options, "from_logits": True}
        )
        robust.compile(keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
        timer = EpochTimer()
        callbacks = [timer]
        if args.at_time_budget:
            callbacks.append(TimeBudget(args.at_time_budget))
        at_ds = make_dataset(
            x_train[: args.at_max_train], y_train[: args.at_max_train], args.batch_size, shuffle=True, seed=args.seed
        )
        history = robust.fit(at_ds, epochs=args.at_epochs, shuffle=False, callbacks=callbacks, verbose=2)
        evaluation = {}
        for test_eps in dict.fromkeys(args.at_test_eps or [eps]):
            attack = PGD(
                test_eps,
                steps=40,
                step_size=0.01,
                random_start=True,
                from_logits=True,
                batch_size=args.attack_batch,
                seed=args.seed + 7,
            )
            x_adv = attack(robust.model, x_eval, y_eval)
            evaluation[f"pgd40_eps{test_eps}_accuracy"] = accuracy(robust.model, x_adv, y_eval)
        result["adversarial_training"] = {
            "train_eps": eps,
            "train_attack": described,
            "alpha": args.alpha,
            "epochs_requested": args.at_epochs,
            "epochs_run": len(history.history["loss"]),
            "time_budget_seconds": args.at_time_budget,
            "train_images_per_epoch": len(x_train[: args.at_max_train]),
            "initialised_from_standard_model": args.at_from_standard,
            "batch_size": args.batch_size,
            "optimizer": "adam lr=1e-3",
            "seconds_per_epoch": [round(s, 1) for s in timer.epoch_seconds],
            "history": {k: [round(float(v), 4) for v in vs] for k, vs in history.history.items()},
            "clean_accuracy_full_10k": accuracy(robust.model, data.x_test, data.y_test),
            "clean_accuracy_eval": accuracy(robust.model, x_eval, y_eval),
            **evaluation,
            "target_robust_accuracy_min": 0.90,
        }
        print(json.dumps(result["adversarial_training"], indent=2))
        save()

    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
