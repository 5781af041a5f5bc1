"""Benchmark: kerasdl.attacks against the Adversarial Robustness Toolbox, and adversarial training.

    python benchmarks/robustness.py                     # all sections, MNIST from $KERASDL_DATA_DIR
    python benchmarks/robustness.py --skip-art          # without the ART comparison
    python benchmarks/robustness.py --wong-eps03 --out benchmarks/results/robustness_eps03.json
        # the full eps = 0.3 protocol (section 4): Wong et al.'s fast FGSM training on all 60,000
        # training images, PGD-50 with 10 restarts on all 10,000 test images (hours on 2 CPU cores)

ART is not a kerasdl dependency: run the comparison with a Python that has it beside the same
TensorFlow/Keras/kerasdl, e.g. a venv holding only ``adversarial-robustness-toolbox`` (``--no-deps``)
and a ``.pth`` line ``import site; site.addsitedir('<repo>/.venv/lib/python3.11/site-packages')``.

One run, one model, the same test images for every attack:

1. A standard small MNIST CNN (conv 32 → pool → conv 64 → pool → dense 128 → 10 logits),
   trained with Adam.
2. kerasdl vs ART (``adversarial-robustness-toolbox``, benchmark-only; its
   ``TensorFlowV2Classifier`` wraps the very same Keras model and loss): success rates of
   FGSM (ε = 0.1, 0.3) and PGD-40 (step 0.01, one random start; ε = 0.1, 0.3) on the
   ``--n-eval`` images, and speed timed by :func:`kerasdl.benchmarking.compare`: both libraries
   attack the same batch of ``--attack-batch`` images (one batch for either library), with the
   same ``--timing-warmup`` untimed calls on that very batch first (kerasdl's tracing and ART's
   first-call set-up both fall there), then ``--timing-rounds`` (>= 20) interleaved rounds in
   alternating order; reported: median and IQR of wall and CPU seconds per call and of the
   per-round ratio ART time / kerasdl time, and the load average before and after (target:
   kerasdl ≥ 2× ART, success rates within 1 point).
3. The standard CNN's accuracy under PGD-40, ε = 0.3 (expected near 0%).
4. Adversarial training at ``--train-eps`` (ε = 0.1: target robust accuracy ≥ 90% under PGD-40;
   ε = 0.3: Madry et al. report 89.62%, Wong et al. about 88.8%, target ≥ 89%): a CNN wrapped in
   :class:`kerasdl.training.adversarial.AdversarialModel`. The default attack inside training is
   FGSM with a random start and step 1.25·ε (``"fgsm-rs"``; Wong, Rice & Kolter 2020, "Fast is
   better than free") because PGD-k training costs k+1 forward/backward passes per batch;
   ``--train-attack pgd --train-steps 7`` gives Madry's PGD training. ``--at-early-stopping N``
   holds out the last N training images and stops on a sharp drop of their PGD accuracy,
   keeping the best epoch (Wong et al.'s guard against catastrophic overfitting;
   :class:`~kerasdl.training.adversarial.RobustAccuracyEarlyStopping`); ``--at-schedule
   one_cycle`` is their cyclic learning rate. Evaluation: PGD-``--eval-steps`` with
   ``--eval-restarts`` random restarts (an image counts only if every restart fails) on
   ``--at-n-eval`` test images (:func:`~kerasdl.training.adversarial.worst_case_accuracy`).
   ``--at-pgd-epochs K`` then trains K more epochs against PGD-``--train-steps`` (step
   2.5ε/k, random start; Adam with cosine decay from ``--at-pgd-learning-rate``), starting
   from the weights the first phase kept, again keeping the best held-out epoch.
   ``--wong-eps03`` sets the full protocol: ε = 0.3; Wong et al.'s own MNIST network and
   recipe (FGSM with random start, 10 epochs of all 60,000 training images less 1,000 held out
   for early stopping, Adam with a one-cycle rate peaking at 5e-3 at 40% of the steps, batch
   100); then 25 epochs of PGD-20 training from its best epoch; PGD-50 x 10 restarts (step
   0.01) on all 10,000 test images (88.77% here: PGD-20 x 15 epochs gave 88.19%, PGD-10 x 10
   87.11%, PGD-40 x 12 epochs 87.60%; ``benchmarks/results/robustness_eps03.json``). The FGSM phase alone collapses at ε = 0.3 here
   (catastrophic overfitting after its 4th-5th epoch, held-out PGD accuracy at most 0.73), so
   it serves as the cheap start of Madry et al.'s PGD training, which from a random
   initialisation sits at chance (loss ln 10) at this ε.

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

from kerasdl.benchmarking import MIN_ROUNDS, compare, describe, run_record, write_json

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


def madry_cnn(seed: int):
    """Madry et al. (2018)'s MNIST network: conv 5x5x32 → pool → conv 5x5x64 → pool → dense 1024 → 10."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            keras.layers.Conv2D(32, 5, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(1024, activation="relu", name="fc"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="madry_cnn",
    )


def wong_mnist_net(seed: int):
    """Wong, Rice & Kolter (2020)'s MNIST network (their ``mnist_net``): conv 4x4x16 stride 2 →
    conv 4x4x32 stride 2 → dense 100 → 10 logits, 166,406 parameters. ``padding="same"`` pads
    28 → 14 → 7 with one pixel a side, as their ``padding=1``. Initialised as PyTorch's layers
    are (weights and biases U(±1/sqrt(fan_in))), so their recipe meets the network it was tuned on."""
    import math

    import keras

    def torch_default(fan_in):
        limit = 1 / math.sqrt(fan_in)
        return {
            "kernel_initializer": keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
            "bias_initializer": keras.initializers.RandomUniform(-limit, limit),
        }

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            keras.layers.Conv2D(16, 4, 2, "same", activation="relu", name="conv1", **torch_default(1 * 4 * 4)),
            keras.layers.Conv2D(32, 4, 2, "same", activation="relu", name="conv2", **torch_default(16 * 4 * 4)),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(100, activation="relu", name="fc", **torch_default(32 * 7 * 7)),
            keras.layers.Dense(10, name="logits", **torch_default(100)),
        ],
        name="wong_mnist_net",
    )


ARCHITECTURES = {
    "small": (small_cnn, "conv3x3x32-pool-conv3x3x64-pool-dense128-dense10 (logits)"),
    "wong": (
        wong_mnist_net,
        "conv4x4x16/2-conv4x4x32/2-dense100-dense10 (logits), Wong et al. 2020's MNIST net, PyTorch's default init",
    ),
    "madry": (madry_cnn, "conv5x5x32-pool-conv5x5x64-pool-dense1024-dense10 (logits), Madry et al. 2018"),
}


# --wong-eps03: the settings of the full eps = 0.3 protocol; a flag given explicitly overrides its entry.
WONG_EPS03 = {
    "at_architecture": "wong",
    "at_epochs": 10,
    "at_learning_rate": 5e-3,
    "at_schedule": "one_cycle",
    "at_pct_start": 0.4,
    "at_batch_size": 100,
    "at_early_stopping": 1000,
    "at_pgd_epochs": 25,
    "train_steps": 20,
    "at_n_eval": 10000,
    "eval_steps": 50,
    "eval_step_size": 0.01,
    "eval_restarts": 10,
}


def art_attack(model, kind, eps, batch_size):
    """ART's own attack class for one configuration, on the same Keras model and loss."""
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
    if kind == "fgsm":
        return FastGradientMethod(classifier, norm=np.inf, eps=eps, batch_size=batch_size)
    return ProjectedGradientDescent(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=0.01,
        max_iter=40,
        num_random_init=1,
        batch_size=batch_size,
        verbose=False,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="standard training epochs")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-eval", type=int, default=1000, help="test images attacked")
    parser.add_argument(
        "--attack-batch", type=int, default=150, help="attack batch size (both libraries) and the timed batch"
    )
    parser.add_argument("--timing-warmup", type=int, default=2, help="untimed calls per library on the timed batch")
    parser.add_argument("--timing-rounds", type=int, default=MIN_ROUNDS, help=f"timed rounds (>= {MIN_ROUNDS})")
    parser.add_argument("--skip-art", action="store_true")
    parser.add_argument(
        "--skip-attacks", action="store_true", help="skip section 2-3 (kerasdl and ART attacks on the standard model)"
    )
    parser.add_argument("--skip-adversarial-training", action="store_true")
    parser.add_argument(
        "--wong-eps03",
        action="store_true",
        help="the full eps = 0.3 protocol of section 4 (sets the --train-*, --at-* and --eval-* flags below)",
    )
    parser.add_argument(
        "--train-attack",
        choices=["fgsm-rs", "n-fgsm", "pgd"],
        default="fgsm-rs",
        help="training attack (with --wong-eps03: fgsm-rs, or n-fgsm to replace it)",
    )
    parser.add_argument("--train-steps", type=int, default=7, help="PGD steps inside training (--train-attack pgd)")
    parser.add_argument("--train-eps", type=float, default=0.1)
    parser.add_argument("--alpha", type=float, default=0.0, help="weight of the clean loss in adversarial training")
    parser.add_argument(
        "--at-test-eps",
        type=float,
        nargs="*",
        default=None,
        help="PGD budgets the robust model is tested at (default: --train-eps)",
    )
    parser.add_argument("--at-architecture", choices=sorted(ARCHITECTURES), default="small")
    parser.add_argument("--at-learning-rate", type=float, default=1e-3, help="Adam (peak, with one_cycle)")
    parser.add_argument("--at-schedule", choices=["constant", "one_cycle"], default="constant")
    parser.add_argument("--at-pct-start", type=float, default=0.3, help="one_cycle's share of steps rising to the peak")
    parser.add_argument(
        "--at-pgd-epochs",
        type=int,
        default=0,
        help="then train this many epochs against PGD---train-steps from the best weights so far (0: none)",
    )
    parser.add_argument(
        "--at-pgd-learning-rate", type=float, default=1e-3, help="Adam rate of the PGD epochs (cosine decay to 0)"
    )
    parser.add_argument("--at-batch-size", type=int, default=None, help="default: --batch-size")
    parser.add_argument(
        "--at-early-stopping",
        type=int,
        default=0,
        metavar="N",
        help="hold out the last N training images; stop on a sharp drop of their PGD accuracy (0: off)",
    )
    parser.add_argument("--at-early-stopping-steps", type=int, default=10, help="PGD steps of the early-stopping check")
    parser.add_argument("--at-n-eval", type=int, default=None, help="test images for section 4 (default: --n-eval)")
    parser.add_argument("--eval-steps", type=int, default=40, help="PGD steps of the section-4 evaluation")
    parser.add_argument("--eval-step-size", type=float, default=0.01)
    parser.add_argument("--eval-restarts", type=int, default=1, help="PGD random restarts per test image")
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
    if args.timing_rounds < MIN_ROUNDS:
        parser.error(f"--timing-rounds must be >= {MIN_ROUNDS}")
    if args.wong_eps03:  # Wong, Rice & Kolter 2020 (MNIST), evaluated as Madry et al. 2018
        args.skip_attacks, args.train_eps, args.alpha = True, 0.3, 0.0
        args.train_attack = "n-fgsm" if args.train_attack == "n-fgsm" else "fgsm-rs"
        for name, value in WONG_EPS03.items():  # the protocol's settings, unless a flag says otherwise
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.attacks import FGSM, PGD
    from kerasdl.data import load_image_classification, make_dataset
    from kerasdl.training import EpochTimer, TimeBudget, gpu_available, set_seed
    from kerasdl.training import OneCycle
    from kerasdl.training.adversarial import AdversarialModel, RobustAccuracyEarlyStopping, worst_case_accuracy

    set_seed(args.seed)
    data = load_image_classification("mnist")
    if data.source.startswith("scikit"):
        raise SystemExit("MNIST not found: set KERASDL_DATA_DIR to a folder with mnist/mnist.npz")
    x_eval, y_eval = data.x_test[: args.n_eval], data.y_test[: args.n_eval]
    result = {
        "benchmark": "robustness",
        "run": run_record(),
        "device": "GPU" if gpu_available() else f"CPU ({os.cpu_count()} cores, shared)",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "eval_images": len(x_eval),
        "attack_batch": args.attack_batch,
    }

    def save():
        result["load_average_at_save"] = run_record()["load_average"]
        write_json(args.out, result)

    # 1. standard CNN (not needed when only section 4 runs from scratch)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x_train, y_train = data.x_train[: args.max_train], data.y_train[: args.max_train]
    result["train_images"] = len(x_train)
    model = None
    if not args.skip_attacks or args.at_from_standard:
        model = small_cnn(args.seed)
        model.compile(keras.optimizers.Adam(1e-3), loss, metrics=["accuracy"])
        timer = EpochTimer()
        train_ds = make_dataset(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed)
        model.fit(train_ds, epochs=args.epochs, shuffle=False, callbacks=[timer], verbose=2)
        result["standard_model"] = {
            "architecture": ARCHITECTURES["small"][1],
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
    use_art = not args.skip_art and not args.skip_attacks
    if use_art:
        import art

        result["art"] = {"version": art.__version__}
    x_time, y_time = x_eval[: args.attack_batch], y_eval[: args.attack_batch]
    ours, comparison = {}, {}
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
        sides = {"kerasdl": lambda a=attack: a(model, x_time, y_time)}
        if use_art:
            theirs = art_attack(model, kind, eps, args.attack_batch)
            sides["art"] = lambda a=theirs: a.generate(x=x_time, y=y_time)
        x_adv = attack(model, x_eval, y_eval)
        ours[name] = {
            "success_rate": success_rate(model, x_eval, x_adv, y_eval),
            "robust_accuracy": accuracy(model, x_adv, y_eval),
            "max_abs_perturbation": float(np.abs(x_adv - x_eval).max()),
        }
        if use_art:
            x_art = theirs.generate(x=x_eval, y=y_eval)
            result["art"][name] = {
                "success_rate": success_rate(model, x_eval, x_art, y_eval),
                "attack_class": type(theirs).__name__,
            }
            timing = compare(
                sides,
                warmup=args.timing_warmup,
                rounds=args.timing_rounds,
                units_per_call=len(x_time),
                unit="images",
            )
            print(describe(timing, f"{name}: {len(x_time)} images per call"), flush=True)
            ours[name]["images_per_second"] = timing["sides"]["kerasdl"]["per_second"]  # median wall, timed batch
            result["art"][name]["images_per_second"] = timing["sides"]["art"]["per_second"]
            ratio = timing["ratios"]["art"]
            ours_rate, art_rate = ours[name]["success_rate"], result["art"][name]["success_rate"]
            comparison[name] = {
                "success_rate_kerasdl": ours_rate,
                "success_rate_art": art_rate,
                "difference_points": round(100 * (ours_rate - art_rate), 2),
                "within_1_point": abs(ours_rate - art_rate) <= 0.01,
                "images_per_second_kerasdl": timing["sides"]["kerasdl"]["per_second"],
                "images_per_second_art": timing["sides"]["art"]["per_second"],
                "speedup_vs_art_wall_median": ratio["wall"]["median"],
                "speedup_vs_art_wall_iqr": [ratio["wall"]["q1"], ratio["wall"]["q3"]],
                "speedup_vs_art_cpu_median": ratio["cpu"]["median"] if ratio["cpu"] else None,
                "speedup_vs_art_cpu_iqr": [ratio["cpu"]["q1"], ratio["cpu"]["q3"]] if ratio["cpu"] else None,
                "load_average_before": timing["load_average_before"],
                "load_average_after": timing["load_average_after"],
                "timing": timing,
            }
        print(name, ours[name], flush=True)
        save()
    if ours:
        result["kerasdl"] = ours
        result["standard_cnn_pgd40_eps0.3_accuracy"] = ours["pgd40_eps0.3"]["robust_accuracy"]
    if comparison:
        result["comparison"] = comparison
        print(json.dumps({k: {f: v for f, v in c.items() if f != "timing"} for k, c in comparison.items()}, indent=2))
    save()

    # 4. adversarial training at eps = train_eps
    if not args.skip_adversarial_training:
        eps = args.train_eps
        batch_size = args.at_batch_size or args.batch_size
        if args.train_attack == "pgd":
            attack_name, options = "pgd", {"steps": args.train_steps, "random_start": True}
            described = f"PGD-{args.train_steps}, step {2.5 * eps / args.train_steps:.4g}, random start"
        elif args.train_attack == "n-fgsm":
            attack_name, options = "n-fgsm", {}
            described = (
                f"N-FGSM: noise U(-{2 * eps:.4g}, {2 * eps:.4g}), step {eps:.4g}, no projection (de Jorge et al. 2022)"
            )
        else:
            attack_name, options = "fgsm-rs", {}
            described = f"FGSM with random start, step {1.25 * eps:.4g} (Wong et al. 2020)"
        build, architecture = ARCHITECTURES[args.at_architecture]
        base = build(args.seed + 1)
        if args.at_from_standard:
            if args.at_architecture != "small":
                raise SystemExit("--at-from-standard needs --at-architecture small (the standard model's)")
            base.set_weights(model.get_weights())
        x_at, y_at = x_train[: args.at_max_train], y_train[: args.at_max_train]
        callbacks = []
        if args.at_early_stopping:
            held = args.at_early_stopping
            x_at, y_at, x_hold, y_hold = x_at[:-held], y_at[:-held], x_at[-held:], y_at[-held:]
            check = PGD(
                eps,
                steps=args.at_early_stopping_steps,
                step_size=2.5 * eps / args.at_early_stopping_steps,
                from_logits=True,
                batch_size=args.attack_batch,
                seed=args.seed + 11,
            )
            stopper = RobustAccuracyEarlyStopping(x_hold, y_hold, check, max_drop=0.2)
            callbacks.append(stopper)
        steps_per_epoch = -(-len(x_at) // batch_size)
        learning_rate = (
            OneCycle(
                args.at_learning_rate,
                total_steps=max(2, steps_per_epoch * args.at_epochs),
                pct_start=args.at_pct_start,
            )
            if args.at_schedule == "one_cycle"
            else args.at_learning_rate
        )
        robust = AdversarialModel(
            base, attack_name, eps=eps, alpha=args.alpha, attack_options={**options, "from_logits": True}
        )
        robust.compile(keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"])
        timer = EpochTimer()
        callbacks.append(timer)
        if args.at_time_budget:
            callbacks.append(TimeBudget(args.at_time_budget))
        at_ds = make_dataset(x_at, y_at, batch_size, shuffle=True, seed=args.seed)
        train_cpu, train_wall = time.process_time(), time.perf_counter()
        history = robust.fit(at_ds, epochs=args.at_epochs, shuffle=False, callbacks=callbacks, verbose=2)
        pgd_phase = None
        if args.at_pgd_epochs:  # PGD-k training, started from the weights the first phase kept
            pgd_robust = AdversarialModel(
                base,
                "pgd",
                eps=eps,
                alpha=args.alpha,
                attack_options={
                    "steps": args.train_steps,
                    "step_size": 2.5 * eps / args.train_steps,
                    "random_start": True,
                    "from_logits": True,
                },
            )
            pgd_rate = keras.optimizers.schedules.CosineDecay(
                args.at_pgd_learning_rate, steps_per_epoch * args.at_pgd_epochs
            )
            pgd_robust.compile(keras.optimizers.Adam(pgd_rate), loss=loss, metrics=["accuracy"])
            pgd_timer = EpochTimer()
            pgd_callbacks = [pgd_timer]
            if args.at_early_stopping:
                pgd_stopper = RobustAccuracyEarlyStopping(x_hold, y_hold, check, max_drop=0.2)
                pgd_callbacks.insert(0, pgd_stopper)
            pgd_history = pgd_robust.fit(
                at_ds, epochs=args.at_pgd_epochs, shuffle=False, callbacks=pgd_callbacks, verbose=2
            )
            pgd_phase = {
                "train_attack": f"PGD-{args.train_steps}, step {2.5 * eps / args.train_steps:.4g}, random start",
                "started_from": "the first phase's kept (best held-out) weights",
                "epochs_requested": args.at_pgd_epochs,
                "epochs_run": len(pgd_history.history["loss"]),
                "optimizer": f"adam lr={args.at_pgd_learning_rate:g} cosine decay to 0",
                "held_out_robust_accuracy_per_epoch": pgd_stopper.history if args.at_early_stopping else None,
                "kept_epoch": (
                    None if not args.at_early_stopping or pgd_stopper.best_epoch is None else pgd_stopper.best_epoch + 1
                ),
                "seconds_per_epoch": [round(s, 1) for s in pgd_timer.epoch_seconds],
                "history": {k: [round(float(v), 4) for v in vs] for k, vs in pgd_history.history.items()},
            }
        train_cpu, train_wall = time.process_time() - train_cpu, time.perf_counter() - train_wall
        x_at_eval, y_at_eval = (
            data.x_test[: args.at_n_eval or args.n_eval],
            data.y_test[: args.at_n_eval or args.n_eval],
        )
        evaluation = {}
        eval_cpu, eval_wall = time.process_time(), time.perf_counter()
        for test_eps in dict.fromkeys(args.at_test_eps or [eps]):
            attack = PGD(
                test_eps,
                steps=args.eval_steps,
                step_size=args.eval_step_size,
                random_start=True,
                from_logits=True,
                batch_size=args.attack_batch,
                seed=args.seed + 7,
            )
            key = f"pgd{args.eval_steps}_x{args.eval_restarts}restarts_eps{test_eps}_accuracy"
            evaluation[key] = worst_case_accuracy(
                robust.model, x_at_eval, y_at_eval, attack, restarts=args.eval_restarts
            )
            print(key, evaluation[key], flush=True)
        eval_cpu, eval_wall = time.process_time() - eval_cpu, time.perf_counter() - eval_wall
        result["adversarial_training"] = {
            "train_eps": eps,
            "train_attack": described,
            "alpha": args.alpha,
            "architecture": architecture,
            "parameters": base.count_params(),
            "epochs_requested": args.at_epochs,
            "epochs_run": len(history.history["loss"]),
            "time_budget_seconds": args.at_time_budget,
            "train_images_per_epoch": len(x_at),
            "early_stopping": (
                {
                    "held_out_images": args.at_early_stopping,
                    "attack": f"PGD-{args.at_early_stopping_steps}, step {2.5 * eps / args.at_early_stopping_steps:.4g}",
                    "robust_accuracy_per_epoch": stopper.history,
                    "best_epoch": None if stopper.best_epoch is None else stopper.best_epoch + 1,
                    "stopped_epoch": None if stopper.stopped_epoch is None else stopper.stopped_epoch + 1,
                    "reason": stopper.reason,
                }
                if args.at_early_stopping
                else None
            ),
            "initialised_from_standard_model": args.at_from_standard,
            "batch_size": batch_size,
            "optimizer": f"adam lr={args.at_learning_rate:g}"
            + (f" one-cycle (peak at {args.at_pct_start:g} of the steps)" if args.at_schedule == "one_cycle" else ""),
            "seconds_per_epoch": [round(s, 1) for s in timer.epoch_seconds],
            "train_wall_seconds": round(train_wall, 1),
            "train_cpu_seconds": round(train_cpu, 1),
            "history": {k: [round(float(v), 4) for v in vs] for k, vs in history.history.items()},
            "then_pgd_training": pgd_phase,
            "clean_accuracy_full_10k": accuracy(robust.model, data.x_test, data.y_test),
            "eval_images": len(x_at_eval),
            "eval_attack": f"PGD-{args.eval_steps}, step {args.eval_step_size:g}, random start, "
            f"{args.eval_restarts} restart(s) (an image counts only if every restart fails)",
            "clean_accuracy_eval": accuracy(robust.model, x_at_eval, y_at_eval),
            **evaluation,
            "eval_wall_seconds": round(eval_wall, 1),
            "eval_cpu_seconds": round(eval_cpu, 1),
            "target_robust_accuracy_min": 0.90 if eps <= 0.1 else 0.89,
        }
        print(json.dumps(result["adversarial_training"], indent=2))
        save()

    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
