"""Benchmark: ensembles of the seed CNN on real MNIST: independent members vs a snapshot ensemble.

    python benchmarks/ensembles.py --out /tmp/ensembles.json   # the full protocol (about 3 h on 2 idle CPU cores)
    python benchmarks/ensembles.py --members-dir /tmp/members --out /tmp/ensembles.json  # the same, resumable
    python benchmarks/ensembles.py --train-size 6000 --epochs 3 --cycle-epochs 1 --out /tmp/small.json  # scaled down

Full protocol (issue 19): ``kerasdl.models.mnist_cnn`` on the 60,000 MNIST training images,
``--members 10`` members with seeds 0..9, each trained ``--epochs 30`` epochs with Adam and
cosine decay (batch 128, as ``benchmarks/mnist_cnn.py``, whose single model stands at
99.44%) on images randomly shifted (``--translation``) and rotated (``--rotation``), each
member's augmentation seeded with its own seed (``--no-augment``: plain images; five such
members ensemble to only 99.45%, their errors being nearly the same); a snapshot ensemble of
``--snapshots 5`` from one run of ``snapshots x --cycle-epochs`` epochs with Huang et al.'s
cyclic cosine rate (peak ``--snapshot-lr``). Everything is scored once on the 10,000 test
images (no selection on the test set): every member, the ensembles combined by mean, geometric
mean and vote, and the "single model" (member 0), and the mean ensemble of the first k members
for every k. Target: the ensemble >= 99.65%; **met**: the published run (10 members, 30 epochs,
its protocol and headline fixed in commit 1be88fe before its new members were trained) scores
99.69% by the mean rule (geometric 99.68%, vote 99.68%), its members 99.50-99.61% (mean
99.55%); the snapshot ensemble 99.47% for about a twentieth of the training time.
``--train-size N`` trains on a seeded random subset of N training images (scaled-down runs);
the test set is always the full one.

The JSON keeps every earlier try beside the published run: 30-epoch members, 5 of them (seeds
0..4, the first half of the published run, 99.64%: one image short of the target), 15-epoch
members (5 and 10 of them, 99.64% and 99.63%), ``--zoom 0.1`` with 20 epochs (weaker
members), ``--elastic 34`` (Simard et
al.'s elastic distortion, alpha 34, sigma ``--elastic-sigma`` 4) on top of the shift and rotation
(far weaker, 97.7%) and alone (``--translation 0 --rotation 0``, 99.31% members, 99.41% ensemble);
and ``independent_seeds_5_to_9_30_epochs``, the second half of the published run on its own
(members 99.51-99.59%, their 5-member ensemble 99.69%: a replicate, not a headline).

The published run is never overwritten by accident: when ``--out`` holds one, a new run must
either be published with ``--previous-as NAME`` (the previous run is kept as the entry ``NAME``
and ``NAME_snapshot``) or kept beside it with ``--record-as NAME``; every other entry of the file
(earlier tries, recipe selections, the note) is kept as it is.

A run longer than a session: ``--members-dir DIR`` saves each finished member in ``DIR`` and
loads the members already there (``train_ensemble``'s ``member_dir``, which refuses a member
trained with other settings), so ``--seed 5 --members 5 --members-dir DIR`` one day and
``--members 10 --members-dir DIR --previous-as NAME`` the next train an ensemble of seeds 0..9
in two parts, the same members as one run; a killed run loses only the member in progress.

Choosing a recipe without the test set: ``--holdout 10000`` holds out 10,000 training images
(a fixed seeded split) and scores everything on them instead of the test set, which is then
not used; ``--snapshots 0`` skips the snapshot run. The JSON records three such choices:
``recipe_selection`` (elastic distortion alone against shift and rotation, and elastic with
rotation), ``dropout_search_held_out`` (dropout 0.5 against 0.3) and
``schedule_selection_held_out`` (30 epochs against 15, which chose the published schedule).

MNIST is read by ``kerasdl.data.load_image_classification("mnist")`` from
``$KERASDL_DATA_DIR`` (default: ``../shared/data`` beside the repository). Prints the figures
and writes ``benchmarks/results/ensembles.json`` (atomically), with the exact command, the
machine's load average before and after, and the versions; ``ensembles.png`` beside it plots the
test accuracy of the mean ensemble of the first k members against k (``--replot`` redraws it
from the JSON without training).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def plot_ensemble_sizes(result: dict, path: Path) -> Path:
    """Test accuracy of the mean ensemble of the first k members against k, beside each member's
    own accuracy and the target, for the independent members and the snapshots (PNG, atomic)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasdl.export import atomic_file

    figure, axis = plt.subplots(figsize=(6, 3.8), dpi=120)
    for kind, colour in (("independent", "#1f77b4"), ("snapshot", "#ff7f0e")):
        part = result.get(kind)
        sizes = part and part.get("mean_ensemble_test_accuracy_of_first_k_members")
        if not sizes:
            continue
        ks = [int(k) for k in sizes]
        axis.plot(ks, [100 * sizes[str(k)] for k in ks], "o-", color=colour, label=f"{kind}: mean of the first k")
        members = part["member_test_accuracies"]
        axis.scatter(
            range(1, len(members) + 1),
            [100 * a for a in members],
            marker="x",
            color=colour,
            alpha=0.6,
            label=f"{kind}: member k alone",
        )
    axis.axhline(100 * result["target"]["ensemble_test_accuracy_min"], color="0.4", ls="--", lw=1, label="target")
    axis.set(xlabel="members k", ylabel="MNIST test accuracy (%)", title="Ensembles of the seed CNN on MNIST")
    axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return path


# The keys one run writes at the top level of the JSON; every other key is an earlier run, a
# recipe selection or a note, kept as it is.
RUN_KEYS = (
    "benchmark command full_protocol model train_images test_images evaluated_on batch_size augmentation "
    "single_model independent snapshot target plot wall_seconds load_average_before load_average_after device "
    "tensorflow keras numpy python measured_at target_met"
).split()


def check_entry_names(parser, args, previous: dict) -> None:
    """Refuse, before any training, to overwrite a published run or an earlier entry of --out."""
    for flag, name in (("--record-as", args.record_as), ("--previous-as", args.previous_as)):
        if name is None:
            continue
        if not name.replace("_", "").isalnum() or name in RUN_KEYS:
            parser.error(f"{flag} takes a new entry name of letters, digits and _ (not {name!r})")
        taken = [key for key in (name, f"{name}_snapshot") if key in previous]
        if taken:
            parser.error(f"{args.out} already has an entry {taken[0]!r}: choose another {flag} name")
    if "independent" in previous and not (args.record_as or args.previous_as):
        parser.error(
            f"{args.out} holds a published run: keep it with --previous-as NAME (this run is published) "
            "or --record-as NAME (this run is kept beside it), or give another --out"
        )
    if args.previous_as and "independent" not in previous:
        parser.error(f"--previous-as: {args.out} holds no published run to keep")


def describe_run(run: dict) -> str:
    """One line for an entry that leaves the top level: how the run was made and measured."""
    return (
        f"{run.get('command')}: {run.get('evaluated_on')}, augmentation {run.get('augmentation')}; "
        f"wall {run.get('wall_seconds')} s, load average {run.get('load_average_before')} before, "
        f"{run.get('load_average_after')} after; measured at {run.get('measured_at', 'an unrecorded time')}"
    )


def keep_earlier_runs(result: dict, previous: dict, *, record_as=None, previous_as=None) -> dict:
    """The JSON to write: ``result`` at the top level (or, with ``record_as``, kept as that entry
    beside the published run), every earlier entry of ``previous`` unchanged and, with
    ``previous_as``, the previous top-level run as that entry (and ``<name>_snapshot``)."""
    earlier = {key: value for key, value in previous.items() if key not in RUN_KEYS}
    if record_as is not None:
        moved, published = result, {key: value for key, value in previous.items() if key in RUN_KEYS}
        name = record_as
    else:
        moved, published, name = (previous if previous_as else {}), result, previous_as
    if name is not None:
        for part, suffix in (("independent", ""), ("snapshot", "_snapshot")):
            if moved.get(part):
                earlier[name + suffix] = {**moved[part], "what": describe_run(moved)}
    return {**published, **earlier}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10, help="independent members (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per independent member")
    parser.add_argument(
        "--snapshots", type=int, default=5, help="snapshot-ensemble members (cycles); 0: no snapshot run"
    )
    parser.add_argument("--cycle-epochs", type=int, default=3, help="epochs per snapshot cycle")
    parser.add_argument("--train-size", type=int, default=None, help="train on a random subset of N images")
    parser.add_argument(
        "--holdout",
        type=int,
        default=0,
        help="score on N held-out training images instead of the test set (choosing a recipe); 0: test set",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="members' Adam rate (cosine decay)")
    parser.add_argument("--snapshot-lr", type=float, default=2e-3, help="snapshot run's rate at each restart")
    parser.add_argument("--dropout", type=float, default=0.5, help="mnist_cnn's dropout")
    parser.add_argument("--translation", type=float, default=0.1, help="random shift, a fraction of the side (±2.8 px)")
    parser.add_argument("--rotation", type=float, default=0.025, help="random rotation, a fraction of a turn (±9°)")
    parser.add_argument("--zoom", type=float, default=0.0, help="random zoom in or out, a fraction of the side")
    parser.add_argument(
        "--elastic",
        type=float,
        default=0.0,
        help="elastic distortion's alpha in pixels (Simard et al. 2003: 34); 0: off",
    )
    parser.add_argument("--elastic-sigma", type=float, default=4.0, help="elastic distortion's Gaussian sigma (pixels)")
    parser.add_argument("--no-augment", action="store_true", help="train every member on the plain images")
    parser.add_argument("--seed", type=int, default=0, help="first member's seed; the snapshot run's seed")
    parser.add_argument(
        "--members-dir",
        type=Path,
        default=None,
        help="save each finished member here and load the ones already there (train_ensemble's member_dir)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "ensembles.json")
    keeping = parser.add_mutually_exclusive_group()
    keeping.add_argument(
        "--record-as",
        metavar="NAME",
        help="keep the published run at the top level of --out and store this one as the entry NAME",
    )
    keeping.add_argument(
        "--previous-as",
        metavar="NAME",
        help="publish this run at the top level of --out, keeping the previous one as the entry NAME",
    )
    parser.add_argument("--replot", action="store_true", help="only redraw the PNG from the JSON at --out")
    args = parser.parse_args(argv)
    if args.holdout < 0 or args.snapshots < 0 or args.snapshots == 1:
        parser.error("--holdout must be >= 0 and --snapshots 0 or at least 2")
    if args.replot:
        print(f"written to {plot_ensemble_sizes(json.loads(args.out.read_text()), args.out.with_suffix('.png'))}")
        return 0
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    check_entry_names(parser, args, previous)

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()

    import functools

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdl.data import load_image_classification
    from kerasdl.ensembles import METHODS, combine_probabilities, train_ensemble, train_snapshot_ensemble
    from kerasdl.benchmarking import write_json
    from kerasdl.models import mnist_cnn
    from kerasdl.training import gpu_available

    data = load_image_classification("mnist")
    if data.source.startswith("scikit"):
        raise SystemExit("MNIST not found: set KERASDL_DATA_DIR to a folder with mnist/mnist.npz")
    x_train, y_train = data.x_train, data.y_train
    x_eval, y_eval, evaluated_on = data.x_test, data.y_test, "the MNIST test set"
    if args.holdout:
        if args.holdout >= len(x_train):
            raise SystemExit(f"--holdout must be below the {len(x_train)} training images, got {args.holdout}")
        # A fixed split, whatever --seed is: every recipe is scored on the same held-out images.
        order = np.random.default_rng(20031).permutation(len(x_train))
        x_eval, y_eval = x_train[order[: args.holdout]], y_train[order[: args.holdout]]
        x_train, y_train = x_train[order[args.holdout :]], y_train[order[args.holdout :]]
        evaluated_on = f"{args.holdout} held-out training images (seeded split 20031; the test set is not used)"
    if args.train_size is not None:
        keep = np.random.default_rng(args.seed).permutation(len(x_train))[: args.train_size]
        x_train, y_train = x_train[keep], y_train[keep]
    print(f"MNIST from {data.source}: {len(x_train)} train; scored on {evaluated_on}", flush=True)
    builder = functools.partial(mnist_cnn, input_shape=data.input_shape, num_classes=10, dropout=args.dropout)

    def score(members, label):
        """Each member predicts the evaluation images (the test set, or the ``--holdout`` ones)
        once; the three combinations come from those probabilities (``combine_probabilities``,
        the formulas ``EnsembleCombine`` computes); the Keras ensemble model itself is checked
        against them on the first 1,000 of them."""
        probs = np.stack([m.predict(x_eval, batch_size=512, verbose=0) for m in members.models])
        accuracies = [float(np.mean(p.argmax(-1) == y_eval)) for p in probs]
        figures, check = {}, {}
        for method in METHODS:
            combined = combine_probabilities(probs, method=method)
            figures[method] = round(float(np.mean(combined.argmax(-1) == y_eval)), 5)
            keras_model = members.ensemble(method, name=f"{label}_{method}")
            served = keras_model.predict(x_eval[:1000], batch_size=500, verbose=0)
            check[method] = float(np.max(np.abs(served - combined[:1000])))
        # The first k members, k = 1..N, in seed order (no selection on the test set): how the
        # ensemble's accuracy grows with its size.
        by_size = {
            str(k): round(float(np.mean(combine_probabilities(probs[:k], method="mean").argmax(-1) == y_eval)), 5)
            for k in range(1, len(probs) + 1)
        }
        return {
            "member_test_accuracies": [round(a, 5) for a in accuracies],
            "mean_ensemble_test_accuracy_of_first_k_members": by_size,
            "mean_member": round(float(np.mean(accuracies)), 5),
            "std_member": round(float(np.std(accuracies)), 5),
            "best_member": round(float(np.max(accuracies)), 5),
            "ensemble_test_accuracy": figures,
            "ensemble_gain_over_mean_member": {k: round(v - float(np.mean(accuracies)), 5) for k, v in figures.items()},
            "keras_model_vs_formula_max_abs_diff": check,
            "training_seconds_per_member": [round(s, 1) for s in members.seconds],
            "training_seconds_total": round(members.total_seconds, 1),
        }

    augment = (
        None
        if args.no_augment
        else {
            "translation": args.translation,
            "rotation": args.rotation,
            "zoom": args.zoom,
            "elastic": args.elastic,
            "elastic_sigma": args.elastic_sigma,
        }
    )
    independent = train_ensemble(
        builder,
        (x_train, y_train),
        members=args.members,
        seeds=[args.seed + i for i in range(args.members)],
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        schedule="cosine",
        augment=augment,
        member_dir=args.members_dir,
        log=lambda line: print(line, flush=True),
    )
    independent_figures = score(independent, "independent")
    print("independent:", json.dumps(independent_figures), flush=True)

    snapshot_figures = None
    if args.snapshots:
        snapshot = train_snapshot_ensemble(
            builder,
            (x_train, y_train),
            snapshots=args.snapshots,
            epochs_per_cycle=args.cycle_epochs,
            batch_size=args.batch_size,
            learning_rate=args.snapshot_lr,
            seed=args.seed,
            augment=augment,
            log=lambda line: print(line, flush=True),
        )
        snapshot_figures = score(snapshot, "snapshot")
        print("snapshot:", json.dumps(snapshot_figures), flush=True)

    result = {
        "benchmark": "ensembles",
        "command": shlex.join(["python", "benchmarks/ensembles.py", *(sys.argv[1:] if argv is None else argv)]),
        "full_protocol": args.train_size is None and not args.holdout and args.epochs >= 12 and args.members >= 5,
        "model": f"mnist_cnn (dropout {args.dropout}), {builder().count_params()} parameters",
        "train_images": int(len(x_train)),
        "test_images": int(len(x_eval)),
        "evaluated_on": evaluated_on,
        "batch_size": args.batch_size,
        "augmentation": (
            "none"
            if augment is None
            else "per member, seeded with its seed: kerasdl.data.image_augmentation("
            + ", ".join(f"{name}={value}" for name, value in augment.items())
            + "), constant fill"
        ),
        "single_model": {
            "what": f"member 0 (seed {args.seed}), {args.epochs} epochs, Adam lr={args.learning_rate} cosine decay",
            "test_accuracy": independent_figures["member_test_accuracies"][0],
            "training_seconds": independent_figures["training_seconds_per_member"][0],
        },
        "independent": {
            "members": args.members,
            "seeds": independent.seeds,
            "epochs_per_member": args.epochs,
            **independent_figures,
            **(
                {"members_dir": str(args.members_dir), "seeds_loaded_not_trained": independent.loaded_seeds}
                if args.members_dir
                else {}
            ),
        },
        "snapshot": None
        if snapshot_figures is None
        else {
            "snapshots": args.snapshots,
            "epochs_per_cycle": args.cycle_epochs,
            "total_epochs": args.snapshots * args.cycle_epochs,
            "schedule": f"CosineDecayRestarts(peak {args.snapshot_lr}, t_mul=1, m_mul=1, alpha=0), Adam",
            **snapshot_figures,
        },
        "target": {"ensemble_test_accuracy_min": 0.9965, "single_model_reference": 0.9944},
        "plot": args.out.with_suffix(".png").name,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "device": "GPU" if gpu_available() else f"CPU ({os.cpu_count()} cores)",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["target_met"] = bool(
        result["full_protocol"]
        and independent_figures["ensemble_test_accuracy"]["mean"] >= result["target"]["ensemble_test_accuracy_min"]
    )
    print(json.dumps(result, indent=2))
    published = keep_earlier_runs(result, previous, record_as=args.record_as, previous_as=args.previous_as)
    write_json(args.out, published)
    plotted = "" if args.record_as else f" and {plot_ensemble_sizes(published, args.out.with_suffix('.png'))}"
    print(f"written to {args.out}{plotted}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
