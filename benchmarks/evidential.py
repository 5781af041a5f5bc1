"""Benchmark: deep evidential regression out of distribution on the cubic toy (Amini et al. 2020, Fig. 3).

    nice -n 10 python benchmarks/evidential.py                    # 3 seeds, both losses, ~paper settings
    python benchmarks/evidential.py --seeds 0 --iterations 1000   # a quick look
    python benchmarks/evidential.py --standardize-y --out /tmp/evidential_std.json   # y / std(y)

The paper's toy and its reference code's settings: ``y = x³ + ε``, ``ε ~ N(0, 3²)``, 1,000
evenly spaced training inputs on [−4, 4] (``y`` not rescaled), a 4 × 100 ReLU network with a
``NormalInverseGamma`` head, Adam 5e-3, batch 128, 5,000 iterations, regulariser weight
λ = 1e-2. Two losses on the same networks, data and seeds:

- ``paper``: the evidential loss alone (NLL + λ · |y − γ|(2ν + α));
- ``noise_contrastive``: the same plus :func:`kerasdl.losses.evidential.noise_contrastive_evidence`
  (:class:`kerasdl.uncertainty.EvidentialRegressor`: evidence scale 10, weight 1, noise box
  widened by half its width on each side).

Figures per run: the epistemic variance ``β / (ν(α − 1))`` on each side outside the training
range (median over [−6, −5] and over [5, 6]) divided by its median on [−4, 4]; the RMSE of the
mean on [−4, 4]; the median aleatoric variance ``β / (α − 1)`` there (the true noise variance is
9); the median ``ν`` inside and outside. The plot (``evidential_cubic.png``) redraws the paper's
figure for the first seed, one panel per loss: the mean ± 1, 2, 3 epistemic standard deviations
over [−6, 6], the training range shaded. JSON: ``benchmarks/results/evidential.json``, one
section per y setting (``y_raw``, ``y_standardized``: trained on ``y / std(y)``, figures in y's
units; plot ``evidential_standardized_cubic.png``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
NOISE_STD = 3.0
TRAIN_RANGE = (-4.0, 4.0)
TEST_RANGE = (-6.0, 6.0)
LOSSES = ("paper", "noise_contrastive")


def cubic_data(seed: int, n: int = 1000):
    """The paper's training set: ``n`` evenly spaced x on [−4, 4], ``y = x³ + N(0, 3²)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.linspace(*TRAIN_RANGE, n, dtype="float32")[:, None]
    return x, (x**3 + rng.normal(0.0, NOISE_STD, x.shape)).astype("float32")


def y_scale(seed: int) -> float:
    """The standard deviation of the training targets (``--standardize-y`` divides ``y`` by it)."""
    return float(cubic_data(seed)[1].std())


def train(loss_name: str, seed: int, args):
    """Train one network; returns the trained model and the seconds it took."""
    import keras

    from kerasdl.layers.evidential import NormalInverseGamma
    from kerasdl.losses.evidential import EvidentialRegressionLoss
    from kerasdl.uncertainty import EvidentialRegressor

    x, y = cubic_data(seed)
    y = y / y_scale(seed) if args.standardize_y else y
    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Dense(args.width, activation="relu") for _ in range(args.depth)]
    network = keras.Sequential([keras.Input((1,)), *layers, NormalInverseGamma(1, name="nig")], name="cubic")
    model = EvidentialRegressor(network, contrast_weight=1.0 if loss_name == "noise_contrastive" else 0.0, seed=seed)
    model.compile(
        keras.optimizers.Adam(args.learning_rate), EvidentialRegressionLoss(args.coeff), steps_per_execution=50
    )
    epochs = max(1, round(args.iterations * args.batch_size / len(x)))
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=epochs, verbose=0)
    return model, time.perf_counter() - start, float(history.history["loss"][-1]), epochs


def _number(value: float):
    """A float for the JSON file; a variance ratio that overflowed (ν underflowed to 0) becomes the string "inf"."""
    import math

    return float(value) if math.isfinite(value) else "inf"


def measure(model, scale: float = 1.0):
    """The figures of one trained model on 601 evenly spaced x in [−6, 6] (see the module docstring),
    in the units of ``y`` (a model trained on ``y / scale`` is scaled back)."""
    import numpy as np

    from kerasdl.uncertainty import nig_uncertainty

    x = np.linspace(*TEST_RANGE, 601, dtype="float32")[:, None]
    u = nig_uncertainty(model.predict(x, batch_size=1024, verbose=0))
    u = {**u, "mean": u["mean"] * scale, "aleatoric": u["aleatoric"] * scale**2, "epistemic": u["epistemic"] * scale**2}
    xs, epistemic = x[:, 0], u["epistemic"][:, 0]
    inside = (xs >= TRAIN_RANGE[0]) & (xs <= TRAIN_RANGE[1])
    left, right = xs <= -5.0, xs >= 5.0
    median_inside = float(np.median(epistemic[inside]))
    return {
        "left_ratio": _number(np.median(epistemic[left]) / median_inside),
        "right_ratio": _number(np.median(epistemic[right]) / median_inside),
        "epistemic_median_inside": median_inside,
        "aleatoric_median_inside": float(np.median(u["aleatoric"][inside, 0])),
        "rmse_inside": float(np.sqrt(np.mean((u["mean"][inside, 0] - xs[inside] ** 3) ** 2))),
        "nu_median_inside": float(np.median(u["nu"][inside, 0])),
        "nu_median_outside": float(np.median(u["nu"][~inside, 0])),
    }, (xs, u)


def plot(curves: dict, seed: int, path: Path) -> None:
    """The paper's figure, one panel per loss: mean ± k·sqrt(epistemic), k = 1, 2, 3."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from kerasdl.export import atomic_file

    x_train, y_train = cubic_data(seed)
    figure, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4), dpi=120, sharey=True)
    for axis, (loss_name, (xs, u)) in zip(np.atleast_1d(axes), curves.items()):
        mean, std = u["mean"][:, 0], np.minimum(np.sqrt(u["epistemic"][:, 0]), 1e3)
        axis.axvspan(*TRAIN_RANGE, color="0.92", zorder=0, label="training range")
        axis.scatter(x_train[::4, 0], y_train[::4, 0], s=1.5, c="#463c3c", zorder=1, label="training data")
        for k in (3, 2, 1):
            axis.fill_between(xs, mean - k * std, mean + k * std, color="#00aeef", alpha=0.25, lw=0, zorder=2)
        axis.plot(xs, xs**3, "r--", lw=1, zorder=3, label="y = x³")
        axis.plot(xs, mean, color="#007cab", lw=1.5, zorder=4, label="E[μ] ± 1, 2, 3 epistemic std")
        axis.set(xlim=TEST_RANGE, ylim=(-150, 150), xlabel="x", title=f"{loss_name} loss (seed {seed})")
    np.atleast_1d(axes)[0].set_ylabel("y")
    np.atleast_1d(axes)[0].legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def _write(args, runs: list, epochs: int, png: Path, load_before) -> None:
    """Summarise ``runs`` per loss and write the JSON file atomically."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.benchmarking import write_json

    summary = {}
    for loss_name in args.losses:
        mine = [r for r in runs if r["loss"] == loss_name]
        sides = [float(r[side]) for r in mine for side in ("left_ratio", "right_ratio")]
        summary[loss_name] = {
            "smallest_side_ratio": _number(min(sides)),
            "sides_above_1": int(sum(s > 1 for s in sides)),
            "sides": len(sides),
            "median_aleatoric_inside": float(np.median([r["aleatoric_median_inside"] for r in mine])),
            "median_rmse_inside": float(np.median([r["rmse_inside"] for r in mine])),
        }
        print(f"{loss_name}: {summary[loss_name]}", flush=True)
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {
            "data": "y = x^3 + N(0, 3^2), 1000 evenly spaced x on [-4, 4]; test x on [-6, 6]",
            "network": f"{args.depth} x Dense({args.width}, relu) + NormalInverseGamma(1)",
            "optimizer": f"Adam({args.learning_rate}), batch {args.batch_size}, {args.iterations} iterations "
            f"({epochs} epochs)",
            "coeff": args.coeff,
            "y": "divided by its standard deviation for training" if args.standardize_y else "not rescaled",
            "noise_contrastive": "EvidentialRegressor(evidence_scale=10, contrast_weight=1, noise_margin=0.5)",
            "ratio": "median epistemic variance on [-6,-5] (left) / [5,6] (right) over its median on [-4,4]",
        },
        "runs": runs,
        "summary": summary,
        "plot": png.name,
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    # one section per y setting, so that runs with and without --standardize-y share the file
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if "runs" in results:  # a file written before the sections existed: its runs did not rescale y
        results = {"y_raw": results}
    results["y_standardized" if args.standardize_y else "y_raw"] = result
    write_json(args.out, results)


def main(argv=None) -> int:
    """Train both losses for each seed, print and save the figures and the plot."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=5000, help="optimizer steps (paper: 5000)")
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--coeff", type=float, default=1e-2, help="λ of the evidence regulariser (paper: 1e-2)")
    parser.add_argument("--losses", nargs="+", choices=LOSSES, default=list(LOSSES))
    parser.add_argument(
        "--standardize-y", action="store_true", help="train on y / std(y) (the paper's cubic run does not)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "evidential.json")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    runs, curves = [], {}
    png = args.out.with_name(args.out.stem + ("_standardized" if args.standardize_y else "") + "_cubic.png")
    for seed in args.seeds:
        for loss_name in args.losses:
            model, seconds, final_loss, epochs = train(loss_name, seed, args)
            figures, curve = measure(model, y_scale(seed) if args.standardize_y else 1.0)
            run = {"loss": loss_name, "seed": seed, "seconds": round(seconds, 1), "final_loss": final_loss, **figures}
            runs.append(run)
            print(json.dumps(run), flush=True)
            if seed == args.seeds[0]:
                curves[loss_name] = curve
        if seed == args.seeds[0]:
            plot(curves, seed, png)
        # written after every seed, so that an interrupted run keeps what it measured
        _write(args, runs, epochs, png, load_before)
    print(f"wrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
