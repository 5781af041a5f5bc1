"""Benchmark: generative models on real MNIST (autoencoders, VAE, GANs, IS/FD, anomaly detection).

    python benchmarks/generative.py                          # every section
    python benchmarks/generative.py --sections vae2 vae16    # some; results merge into the JSON

Sections (each writes its figures into ``benchmarks/results/generative.json`` as soon as it
finishes, so a partial run keeps what it measured):

- ``classifier``: the judge for the MNIST-analogue IS/FD (``mnist_cnn``), its test accuracy,
  the IS of the real test set and the FD between its two halves;
- ``vae2``: VAE with a 2-D latent, the keras.io example's conv architecture (its anchor:
  total loss 146.95 = reconstruction 140.15 + KL 6.80 after 30 epochs, training loss, batch
  128; keras.io trains on train + test, which ``--vae2-keras-io-data`` repeats), or
  ``--vae2-kind dense`` (hidden widths ``--vae2-hidden-units``, key ``vae2_dense_512x256``);
- ``vae16``: VAE with a 16-D latent (``--vae16-kind dense`` or ``conv``); test negative
  ELBO (single-sample estimate, target ≤ 100 nats); with ``--vae16-binarize`` on
  statically binarized MNIST (key suffix ``_binarized``), where the Bernoulli likelihood is
  a proper likelihood;
- ``dcgan`` / ``mlp_gan``: IS and FD (vs the test set) of 10,000 samples after a fixed
  number of epochs (targets IS ≥ 9.0 DCGAN, ≥ 8 MLP GAN); ``--dcgan-conditional`` trains
  the class-conditional DCGAN (key ``dcgan_conditional``; its samples cycle through the
  ten digits);
- ``dcgan_jax`` (not in the default set): scores here, with the same judge and samples,
  the generator weights that ``benchmarks/dcgan_jax.py`` wrote on a GPU machine (Keras'
  JAX backend), beside that run's own figures (``--jax-runs DIR ...``), and plots the
  IS curves to ``dcgan_jax_inception_score.png`` beside the JSON;
- ``anomaly``: dense autoencoder trained on one digit, ROC AUC on the whole test set
  (that digit normal, the other nine anomalous), averaged over ``--anomaly-digits``;
- ``overhead``: ``DenoisingAutoencoder`` (custom ``train_step``, no noise) vs
  ``model.fit(loss="binary_crossentropy")`` on the same dense autoencoder: interleaved,
  paired timings of the same cached batches, median per-pair time ratio.

MNIST is read from ``$KERASDL_DATA_DIR`` (default: ``../shared/data`` beside the repo).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from kerasdl.benchmarking import write_json

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SECTIONS = ("classifier", "vae2", "vae16", "mlp_gan", "dcgan", "anomaly", "overhead", "dcgan_jax")


def _save(out: Path, key: str, figures: dict) -> None:
    results = json.loads(out.read_text()) if out.is_file() else {}
    results[key] = figures
    write_json(out, results)
    print(f"[{key}] " + json.dumps(figures), flush=True)


def _classifier(data, args, cache: Path):
    import keras

    from kerasdl.data import make_dataset
    from kerasdl.export import save_keras
    from kerasdl.models import mnist_cnn
    from kerasdl.training import compile_model, set_seed

    if cache.is_file():
        return keras.saving.load_model(cache), None
    set_seed(args.seed)
    model = compile_model(mnist_cnn(), "adam", 1e-3)
    n = args.classifier_max_train
    model.fit(
        make_dataset(data.x_train[:n], data.y_train[:n], 128, seed=args.seed),
        epochs=args.classifier_epochs,
        verbose=2,
        shuffle=False,
    )
    save_keras(model, cache)
    return model, model.evaluate(data.x_test, data.y_test, batch_size=500, verbose=0)[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=[s for s in SECTIONS if s != "dcgan_jax"],
        help="default: all but dcgan_jax, which needs --jax-runs",
    )
    parser.add_argument("--classifier-epochs", type=int, default=1)
    parser.add_argument("--vae2-epochs", type=int, default=3)
    parser.add_argument(
        "--vae2-keras-io-data",
        action="store_true",
        help="train the 2-D VAE on train + test (70,000 digits), as keras.io's anchor run does",
    )
    parser.add_argument(
        "--vae2-kind",
        choices=["dense", "conv"],
        default="conv",
        help="vae2's encoder/decoder (conv: the keras.io architecture of the anchor)",
    )
    parser.add_argument(
        "--vae2-hidden-units",
        type=int,
        nargs="+",
        default=[512, 256],
        help="vae2 dense: hidden widths (the decoder mirrors them)",
    )
    parser.add_argument("--vae16-epochs", type=int, default=5)
    parser.add_argument("--dcgan-epochs", type=int, default=1)
    parser.add_argument("--mlp-gan-epochs", type=int, default=5)
    parser.add_argument(
        "--dcgan-d-steps",
        type=int,
        default=1,
        help="discriminator updates per generator update (other than 1: key dcgan_d_steps_N)",
    )
    parser.add_argument("--dcgan-filters", type=int, default=64, help="dcgan(filters=...): 64 as in the TF tutorial")
    parser.add_argument(
        "--dcgan-loss",
        choices=["nonsaturating", "hinge"],
        default="nonsaturating",
        help="hinge: Miyato et al. 2018's objective (key suffix _hinge)",
    )
    parser.add_argument(
        "--dcgan-spectral-norm",
        action="store_true",
        help="spectral normalisation in the discriminator (key suffix _sn)",
    )
    parser.add_argument(
        "--dcgan-conditional",
        action="store_true",
        help="class-conditional DCGAN (ConditionalGAN; samples cycle through the ten digits; key dcgan_conditional)",
    )
    parser.add_argument(
        "--jax-runs",
        type=Path,
        nargs="+",
        default=[],
        help="dcgan_jax: folders of benchmarks/dcgan_jax.py output (a JSON per run, generator "
        "weights) to score here with the package's evaluator",
    )
    parser.add_argument(
        "--vae16-kind",
        choices=["dense", "conv"],
        default="dense",
        help="vae16's encoder/decoder (conv: the keras.io architecture with a 16-D latent)",
    )
    parser.add_argument(
        "--vae16-hidden-units",
        type=int,
        nargs="+",
        default=[512],
        help="vae16 dense: hidden widths (the decoder mirrors them)",
    )
    parser.add_argument(
        "--vae16-binarize",
        action="store_true",
        help="vae16 on statically binarized MNIST (the usual setting for ELBOs in nats; "
        "the Bernoulli likelihood is a proper one only on binary pixels)",
    )
    parser.add_argument("--anomaly-epochs", type=int, default=10)
    parser.add_argument("--anomaly-digits", type=int, nargs="+", default=[0, 1, 7])
    parser.add_argument("--overhead-rounds", type=int, default=20, help="paired timings of the two trainers")
    parser.add_argument("--overhead-steps", type=int, default=200, help="batches per timed fit")
    parser.add_argument("--overhead-max-train", type=int, default=None, help="images for the overhead timing")
    parser.add_argument("--classifier-max-train", type=int, default=None, help="images to train the judge on")
    parser.add_argument("--gan-max-train", type=int, default=None, help="images for the MLP GAN")
    parser.add_argument("--dcgan-max-train", type=int, default=None, help="images for the DCGAN")
    parser.add_argument(
        "--gan-budget-s",
        type=float,
        default=None,
        help="stop each GAN's training after the epoch in which this many seconds ran out",
    )
    parser.add_argument(
        "--gan-score-every",
        type=int,
        default=0,
        help="record the IS of 5,000 samples every this many epochs (0: only at the end)",
    )
    parser.add_argument(
        "--gan-jit-compile",
        action="store_true",
        help="XLA for the GAN steps (benchmarks/throughput.py: 1.6x faster DCGAN steps on CPU)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "generative.json")
    parser.add_argument(
        "--classifier-cache",
        type=Path,
        default=Path("/tmp/kerasdl-bench/mnist_cnn_judge.keras"),
        help="the trained judge classifier is kept here between invocations",
    )
    args = parser.parse_args(argv)

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.data import load_image_classification, make_dataset
    from kerasdl.generative.evaluation import GenerativeEvaluator, round_parts, sample_scores
    from kerasdl.generative.flows import train_and_score_gan, train_and_score_vae
    from kerasdl.training import gpu_available, set_seed

    data = load_image_classification("mnist")
    if data.source.startswith("scikit"):
        raise SystemExit("MNIST not found: set KERASDL_DATA_DIR to a folder with mnist/")
    print(f"MNIST from {data.source}: {len(data.x_train)} train / {len(data.x_test)} test", flush=True)
    _save(
        args.out,
        "environment",
        {
            "device": "GPU" if gpu_available() else f"CPU ({os.cpu_count()} cores, shared with other jobs)",
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    )

    state = {"evaluator": None}

    def judge():
        if state["evaluator"] is None:
            started = time.perf_counter()
            classifier, accuracy = _classifier(data, args, args.classifier_cache)
            state.update(
                evaluator=GenerativeEvaluator(classifier),
                accuracy=accuracy,
                seconds=round(time.perf_counter() - started, 1),
            )
        return state["evaluator"]

    def classifier_section():
        evaluator = judge()
        real_is, real_is_std = evaluator.inception_score(data.x_test, splits=10)
        half = len(data.x_test) // 2
        accuracy = state["accuracy"]
        _save(
            args.out,
            "classifier",
            {
                "model": "mnist_cnn (features: 1024-unit fc1, the penultimate layer)",
                "epochs": args.classifier_epochs,
                "train_images": args.classifier_max_train or len(data.x_train),
                "optimizer": "adam lr=1e-3, batch 128",
                "test_accuracy": None if accuracy is None else round(float(accuracy), 4),
                "real_test_inception_score": round(real_is, 3),
                "real_test_inception_score_std": round(real_is_std, 3),
                "real_test_inception_score_parts": round_parts(evaluator.inception_score_parts(data.x_test)),
                "frechet_distance_test_half_vs_half": round(
                    evaluator.frechet_distance(data.x_test[:half], data.x_test[half:]), 3
                ),
                "frechet_distance_test_vs_itself": round(evaluator.frechet_distance(data.x_test, data.x_test), 6),
                "frechet_distance_test_vs_train": round(
                    evaluator.frechet_distance(data.x_test, data.x_train[:10000]), 3
                ),
                "training_seconds": state["seconds"],
            },
        )

    def vae2_section():
        _, figures = train_and_score_vae(
            data,
            args.vae2_kind,
            latent_dim=2,
            epochs=args.vae2_epochs,
            seed=args.seed,
            hidden_units=tuple(args.vae2_hidden_units),
            train_on_all=args.vae2_keras_io_data,
        )
        figures["anchor_keras_io_30_epochs"] = {"loss": 146.95, "reconstruction_loss": 140.15, "kl_loss": 6.80}
        if args.vae2_keras_io_data:
            figures["note"] = "trained on train + test (70,000 digits) like the anchor: 'test' is not held out"
        key = "vae2" + ("_dense_" + "x".join(map(str, args.vae2_hidden_units)) if args.vae2_kind == "dense" else "")
        _save(args.out, key + ("_keras_io_data" if args.vae2_keras_io_data else ""), figures)

    def vae16_section():
        _, figures = train_and_score_vae(
            data,
            args.vae16_kind,
            latent_dim=16,
            epochs=args.vae16_epochs,
            seed=args.seed,
            binarize=args.vae16_binarize,
            hidden_units=tuple(args.vae16_hidden_units),
        )
        figures["test_negative_elbo_nats"] = figures["test"]["loss"]
        figures["target_test_negative_elbo_max"] = 100.0
        key = "vae16" + ("_conv" if args.vae16_kind == "conv" else "") + ("_binarized" if args.vae16_binarize else "")
        if args.vae16_kind == "dense" and len(args.vae16_hidden_units) > 1:
            key += "_" + "x".join(map(str, args.vae16_hidden_units))
        _save(args.out, key, figures)

    def mlp_gan_section():
        figures = train_and_score_gan(
            data,
            judge(),
            "mlp",
            args.mlp_gan_epochs,
            128,
            args.seed,
            args.gan_max_train,
            args.gan_budget_s,
            args.gan_jit_compile,
            score_every=args.gan_score_every,
        )
        figures["target_inception_score_min"] = 8.0
        _save(args.out, "mlp_gan", figures)

    def dcgan_section():
        figures = train_and_score_gan(
            data,
            judge(),
            "dcgan",
            args.dcgan_epochs,
            128,
            args.seed,
            args.dcgan_max_train,
            args.gan_budget_s,
            args.gan_jit_compile,
            args.dcgan_filters,
            args.gan_score_every,
            d_steps=args.dcgan_d_steps,
            conditional=args.dcgan_conditional,
            loss=args.dcgan_loss,
            spectral_norm=args.dcgan_spectral_norm,
        )
        figures["target_inception_score_min"] = 9.0
        key = "dcgan" + ("_conditional" if args.dcgan_conditional else "")
        key += ("_hinge" if args.dcgan_loss == "hinge" else "") + ("_sn" if args.dcgan_spectral_norm else "")
        _save(args.out, key + ("" if args.dcgan_d_steps == 1 else f"_d_steps_{args.dcgan_d_steps}"), figures)

    def dcgan_jax_section():
        """Runs of benchmarks/dcgan_jax.py (trained elsewhere, on Keras' JAX backend): each run's device
        figures, and its generator weights scored again here (TensorFlow, the same judge and samples)."""
        from kerasdl.generative.gan import GAN
        from kerasdl.generative.gan_networks import dcgan

        runs = {}
        for summary_path in sorted(p for folder in args.jax_runs for p in folder.glob("*.json")):
            summary = json.loads(summary_path.read_text())
            host = {}
            for weights in sorted(summary_path.parent.glob(f"{summary_path.stem}_*e[0-9]*.weights.h5")):
                generator, discriminator = dcgan(filters=summary["filters"])
                generator.load_weights(weights)
                host[weights.name] = sample_scores(judge(), GAN(generator, discriminator), data.x_test, args.seed)
                print(f"{weights.name}: {host[weights.name]}", flush=True)
            history = summary.pop("history")
            summary["inception_score_curve_5000_samples"] = [
                [h["epoch"], h["inception_score_5000"]]
                + ([h["ema_inception_score_5000"]] if "ema_inception_score_5000" in h else [])
                for h in history
                if "inception_score_5000" in h
            ]
            summary["final_epoch"] = history[-1]
            runs[summary_path.stem] = {**summary, "scored_here": host}
        if not runs:
            raise SystemExit(f"--jax-runs {args.jax_runs}: no dcgan_jax.py JSON found")
        runs["real_test_set_for_comparison"] = {
            "inception_score_parts": round_parts(judge().inception_score_parts(data.x_test))
        }
        _save(args.out, "dcgan_jax", runs)
        from kerasdl.plots import plot_curves

        curves = {}
        for name, run in runs.items():
            if "inception_score_curve_5000_samples" not in run:
                continue
            curve = run["inception_score_curve_5000_samples"]
            curves[name] = ([c[0] for c in curve], [c[1] for c in curve])
            if run.get("g_ema_momentum"):
                curves[name + " (EMA)"] = ([c[0] for c in curve], [c[2] for c in curve])
        plot = plot_curves(
            curves,
            args.out.parent / "dcgan_jax_inception_score.png",
            xlabel="epoch",
            ylabel="IS (5,000 samples)",
            title="DCGAN on MNIST, JAX port on a GPU",
            hline=9.0,
        )
        print(f"plot: {plot}", flush=True)

    def anomaly_section():
        from kerasdl.anomaly import one_class_roc_aucs

        start = time.perf_counter()
        aucs = one_class_roc_aucs(data, args.anomaly_digits, epochs=args.anomaly_epochs, seed=args.seed)
        print(f"anomaly ROC AUC per normal digit: {aucs}", flush=True)
        _save(
            args.out,
            "anomaly",
            {
                "model": "dense_autoencoder 784-256-32-256-784, MSE, adam lr=1e-3, batch 128",
                "epochs": args.anomaly_epochs,
                "normal_digits": args.anomaly_digits,
                "roc_auc_per_digit": aucs,
                "mean_roc_auc": round(float(np.mean(list(aucs.values()))), 4),
                "target_mean_roc_auc_min": 0.95,
                "seconds": round(time.perf_counter() - start, 1),
            },
        )

    def overhead_section():
        from kerasdl.benchmarking import compare
        from kerasdl.generative.autoencoder import DenoisingAutoencoder
        from kerasdl.generative.autoencoder_networks import dense_autoencoder

        # Each side fits the same cached batches for one epoch per call; kerasdl.benchmarking.compare
        # warms both up alike and interleaves the rounds in alternating order, and the figure is
        # the median of the per-round time ratios (a burst of load then hits both sides of a round).
        steps, x = args.overhead_steps, data.x_train[: args.overhead_max_train]
        set_seed(args.seed)
        plain = dense_autoencoder().autoencoder
        plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        set_seed(args.seed)
        custom = DenoisingAutoencoder(dense_autoencoder().autoencoder)
        custom.compile(keras.optimizers.Adam(1e-3))
        trainers = {
            "plain_fit": (plain, make_dataset(x, x, 128, seed=args.seed).take(steps).cache()),
            "custom_train_step": (custom, make_dataset(x, batch_size=128, seed=args.seed).take(steps).cache()),
        }
        timing = compare(
            {
                name: (lambda model=model, dataset=dataset: model.fit(dataset, epochs=1, verbose=0, shuffle=False))
                for name, (model, dataset) in trainers.items()
            },
            warmup=2,
            rounds=args.overhead_rounds,
            units_per_call=steps,
            unit="steps",
        )
        ratio = timing["ratios"]["custom_train_step"]["wall"]
        _save(
            args.out,
            "overhead",
            {
                "model": "dense_autoencoder 784-256-32-256-784 (419,120 params), batch 128, adam lr=1e-3",
                "method": f"kerasdl.benchmarking.compare: {args.overhead_rounds} interleaved rounds, each fits both "
                f"trainers for the same {steps} cached batches; overhead = median per-round time ratio - 1",
                "median_step_ms": {
                    name: round(1000.0 * side["wall_seconds"]["median"] / steps, 2)
                    for name, side in timing["sides"].items()
                },
                "overhead_percent": round(100.0 * (ratio["median"] - 1.0), 1),
                "overhead_percent_interquartile": [round(100.0 * (ratio[q] - 1.0), 1) for q in ("q1", "q3")],
                "load_average_before": timing["load_average_before"],
                "load_average_after": timing["load_average_after"],
                "timing": timing,
                "target_overhead_percent_max": 5.0,
            },
        )

    sections = {
        "classifier": classifier_section,
        "vae2": vae2_section,
        "vae16": vae16_section,
        "mlp_gan": mlp_gan_section,
        "dcgan": dcgan_section,
        "anomaly": anomaly_section,
        "overhead": overhead_section,
        "dcgan_jax": dcgan_jax_section,
    }
    for name in args.sections:  # in the order given, each saved as soon as it is done
        started = time.perf_counter()
        sections[name]()
        print(f"[{name}] done in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
