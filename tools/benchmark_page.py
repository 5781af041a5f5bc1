"""Generate docs/benchmarks.md from benchmarks/results/*.json.

Usage::

    python tools/benchmark_page.py            # rewrite docs/benchmarks.md
    python tools/benchmark_page.py --check    # exit 1 if docs/benchmarks.md is not what the JSON gives

Every figure on the page is read from the JSON a benchmark wrote, so a published figure cannot
drift from its record (``tests/test_docs.py`` and ``make docs`` check the page is current).

The page has one section per JSON file, in :data:`ORDER` first and then alphabetically. A
file whose name is in :data:`SECTIONS` gets that section's headline tables; any other file
gets the generic section (:func:`generic_section`), so a new benchmark appears without an
edit here. Every section ends with all the file's figures, flattened (``a / b / c: value``),
in a collapsed block. Section functions read with :func:`get`, which tolerates missing keys,
so a benchmark that records fewer fields shows what it has; a section that cannot read its
file at all falls back to the generic one and says so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "benchmarks.md"

# name -> (title, command used when the JSON records none, section function; None: the generic one)
SECTIONS: dict[str, tuple[str, str, Callable[[dict], list[str]] | None]] = {}
ORDER = (
    "mnist_cnn",
    "mnist_cnn_augment",
    "finetune_alpaca",
    "sentiment",
    "sentiment_encoder",
    "textgen",
    "seq2seq",
    "generative",
    "robustness",
    "robustness_eps03",
    "evidential",
    "ensembles",
    "detection",
    "vision_tasks",
    "rl",
    "cnn_throughput",
    "throughput",
    "tflite",
)


def section(name: str, title: str, command: str):
    """Register ``function(data) -> markdown lines`` as the section of ``results/NAME.json``."""

    def register(function):
        SECTIONS[name] = (title, command, function)
        return function

    return register


# --------------------------------------------------------------------------- helpers


def get(data, *path, default=None):
    """``data[path[0]][path[1]]...``, or ``default`` where a key or index is missing."""
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def fmt(value, exact: bool = False) -> str:
    """A recorded value as text: floats to 4 significant digits (6 when large), lists joined.

    With ``exact=True`` floats are written as recorded (Python's shortest round-trip form).
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if exact:
            return repr(value)
        return f"{value:.6g}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, exact) for v in value) + "]"
    return str(value).replace("|", "\\|").replace("\n", " ")


def pct(value) -> str:
    """A fraction as a percentage with two decimals (``0.9944`` → ``99.44%``)."""
    return "–" if not isinstance(value, (int, float)) else f"{100 * value:.2f}%"


def table(headers: list[str], rows: list[list]) -> list[str]:
    """A Markdown table (cells already formatted or passed through :func:`fmt`)."""
    if not rows:
        return []
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(cell if isinstance(cell, str) else fmt(cell) for cell in row) + " |")
    return lines + [""]


def key_values(pairs: list[tuple[str, object]]) -> list[str]:
    """A two-column figure/value table of the pairs whose value was recorded."""
    return table(["figure", "value"], [[name, value] for name, value in pairs if value is not None])


def flatten(data, prefix: str = "") -> list[tuple[str, object]]:
    """Every leaf of a JSON value as ``("a / b / 0 / c", value)``; lists of scalars stay whole."""
    if isinstance(data, dict):
        items = []
        for key, value in data.items():
            items += flatten(value, f"{prefix} / {key}" if prefix else str(key))
        return items
    if isinstance(data, list) and any(isinstance(v, (dict, list)) for v in data):
        items = []
        for index, value in enumerate(data):
            items += flatten(value, f"{prefix} / {index}" if prefix else str(index))
        return items
    return [(prefix, data)]


def all_figures(name: str, data) -> list[str]:
    """A collapsed block with every figure of ``results/NAME.json``, exactly as recorded."""
    rows = [[f"`{path}`", fmt(value, exact=True)] for path, value in flatten(data)]
    lines = [f'??? note "All figures in benchmarks/results/{name}.json"', ""]
    lines += ["    " + line if line else "" for line in table(["key", "value"], rows)]
    return lines


def command_of(data, default: str) -> str:
    """The command the JSON records (``command``; ``argv`` after the script), else ``default``."""
    recorded = get(data, "command")
    if isinstance(recorded, str) and recorded:
        return recorded
    argv = get(data, "argv")
    if isinstance(argv, list) and argv:
        return f"{default} " + " ".join(str(a) for a in argv)
    return default


# --------------------------------------------------------------------------- sections


@section("mnist_cnn", "Seed CNN on MNIST", "python benchmarks/mnist_cnn.py")
def _mnist(data):
    return key_values(
        [
            ("test accuracy", pct(get(data, "test_accuracy"))),
            ("target (test accuracy at least)", pct(get(data, "targets", "test_accuracy_min"))),
            ("final train accuracy", pct(get(data, "final_train_accuracy"))),
            ("epochs", get(data, "epochs")),
            ("batch size", get(data, "batch_size")),
            ("optimizer", get(data, "optimizer")),
            ("parameters", get(data, "parameters")),
            ("seconds per epoch", get(data, "seconds_per_epoch")),
            ("train step ms, XLA off", get(data, "train_step_ms_jit_off")),
            ("train step ms, XLA on", get(data, "train_step_ms_jit_on")),
            ("XLA on / off step time", get(data, "jit_on_over_off_step_time_ratio")),
            ("device", get(data, "device")),
        ]
    )


SECTIONS["mnist_cnn_augment"] = (
    "Seed CNN on MNIST with augmentation",
    "python benchmarks/mnist_cnn.py --augment --epochs 10",
    _mnist,
)


@section(
    "finetune_alpaca", "Transfer learning: MobileNetV2 on the alpaca images", "python benchmarks/finetune_alpaca.py"
)
def _finetune(data):
    rows = [
        [phase, pct(get(data, key, "validation_accuracy")), get(data, key, "epochs_run"), get(data, key, "seconds")]
        for phase, key in (("head on the frozen backbone", "frozen"), ("top layers fine-tuned", "fine_tuned"))
        if isinstance(get(data, key), dict)
    ]
    lines = table(["phase", "validation accuracy", "epochs run (cumulative)", "seconds"], rows)
    lines += key_values(
        [
            ("backbone / weights", f"{get(data, 'backbone')} / {get(data, 'weights')}"),
            ("split / seed", f"{get(data, 'split')} / {get(data, 'seed')}"),
            ("layers unfrozen", get(data, "unfreeze_top")),
            ("target met (95%)", get(data, "target_met")),
        ]
    )
    return lines


@section("sentiment", "Sentiment classification (BiLSTM, embedding bag)", "kerasdl sentiment")
def _sentiment(data):
    rows = []
    for name, run in (get(data, "runs", default={}) or {}).items():
        flags = " ".join(str(a) for a in get(run, "argv", default=[]) or [])
        rows.append(
            [
                f"`{name}`",
                get(run, "what"),
                get(run, "dataset"),
                pct(get(run, "accuracy")),
                get(run, "f1"),
                get(run, "epochs"),
                get(run, "seconds"),
                f"`kerasdl sentiment {flags}`" if flags else "–",
            ]
        )
    lines = table(["run", "model", "data", "test accuracy", "F1", "epochs", "seconds", "command"], rows)
    splits = get(data, "splits", default={}) or {}
    lines += key_values([(f"split: {k}", v) for k, v in splits.items()])
    anchors = get(data, "anchors", default={}) or {}
    lines += key_values([(f"anchor: {k}", pct(v)) for k, v in anchors.items()])
    return lines


@section(
    "sentiment_encoder",
    "Sentiment with a pretrained encoder (all-MiniLM-L6-v2)",
    "python benchmarks/sentiment_encoder.py --train-size 2000 --finetune-steps 2000 --learning-rate 1e-4",
)
def _sentiment_encoder(data):
    return key_values(
        [
            ("encoder", get(data, "encoder")),
            ("SST-2 dev, frozen encoder + logistic regression", pct(get(data, "sst2", "frozen", "accuracy"))),
            ("  training sentences", get(data, "sst2", "frozen", "train_sentences")),
            ("SST-2 dev, fine-tuned", pct(get(data, "sst2", "fine_tuned", "accuracy"))),
            (
                "  steps x batch",
                f"{get(data, 'sst2', 'fine_tuned', 'steps')} x {get(data, 'sst2', 'fine_tuned', 'batch_size')}",
            ),
            ("  passes over the training set", get(data, "sst2", "fine_tuned", "passes_over_train_set")),
            ("  seconds", get(data, "sst2", "fine_tuned", "seconds")),
            ("teacher labels: texts", get(data, "sst2", "teacher_labels", "texts")),
            ("teacher labels: agreement with the labels", pct(get(data, "sst2", "teacher_labels", "train_accuracy"))),
            ("teacher labels: seconds", get(data, "sst2", "teacher_labels", "seconds")),
            ("target (fine-tuned at least)", pct(get(data, "targets", "fine_tuned_sst2_dev_min"))),
        ]
    )


@section("textgen", "Character language model (tiny Shakespeare)", "python benchmarks/textgen.py")
def _textgen(data):
    settings = get(data, "settings", default={}) or {}
    lines = key_values(
        [
            ("validation loss, nats/char", get(data, "val_loss_nats_per_char")),
            ("validation bits/char", get(data, "val_bits_per_char")),
            ("target (nats/char at most)", get(data, "targets", "val_loss_nats_per_char_max")),
            ("train steps", get(data, "train_steps")),
            ("model", f"{get(settings, 'cell')} {get(settings, 'units')}, {get(settings, 'parameters')} parameters"),
            ("training seconds", get(settings, "seconds")),
            ("generated characters/s", get(data, "generation_chars_per_second")),
            ("generation", get(data, "generation")),
        ]
    )
    sample = get(data, "sample")
    if isinstance(sample, str):
        lines += ["A sample:", "", "```text", sample, "```", ""]
    return lines


def _gan_rows(data):
    rows = []
    for name, run in data.items():
        if isinstance(run, dict) and "inception_score" in run:
            parameters = get(run, "parameters", default={}) or {}
            rows.append(
                [
                    f"`{name}`",
                    get(run, "kind"),
                    get(run, "filters"),
                    get(run, "epochs"),
                    f"{fmt(get(run, 'inception_score'))} ± {fmt(get(run, 'inception_score_std'))}",
                    get(run, "frechet_distance_to_test"),
                    get(run, "inception_score_curve_5000_samples"),
                    get(run, "seconds_per_epoch"),
                    get(parameters, "generator"),
                ]
            )
    return rows


def _vae_rows(data):
    rows = []
    for name, run in data.items():
        if isinstance(run, dict) and "latent_dim" in run and isinstance(get(run, "test"), dict):
            rows.append(
                [
                    f"`{name}`",
                    get(run, "kind"),
                    get(run, "hidden_units"),
                    get(run, "latent_dim"),
                    get(run, "pixels"),
                    get(run, "epochs"),
                    get(run, "train_final_epoch", "loss"),
                    get(run, "test", "loss"),
                    get(run, "test", "reconstruction_loss"),
                    get(run, "test", "kl_loss"),
                    get(run, "anchor_keras_io_30_epochs", "loss"),
                ]
            )
    return rows


@section("generative", "Autoencoders, VAEs and GANs on MNIST", "python benchmarks/generative.py")
def _generative(data):
    lines = []
    judge = get(data, "classifier")
    if isinstance(judge, dict):
        lines += ["**Judge classifier** (the MNIST analogue of the Inception network):", ""]
        lines += key_values(
            [
                ("test accuracy", pct(get(judge, "test_accuracy"))),
                ("IS of the real test set", get(judge, "real_test_inception_score")),
                ("FD test vs itself", get(judge, "frechet_distance_test_vs_itself")),
                ("FD first vs second half of the test set", get(judge, "frechet_distance_test_half_vs_half")),
                ("FD test vs train", get(judge, "frechet_distance_test_vs_train")),
            ]
        )
    vae = _vae_rows(data)
    if vae:
        lines += ["**VAEs** (negative ELBO in nats; lower is better):", ""]
        lines += table(
            [
                "run",
                "kind",
                "hidden",
                "latent",
                "pixels",
                "epochs",
                "train loss",
                "test loss",
                "test reconstruction",
                "test KL",
                "keras.io anchor",
            ],
            vae,
        )
    gans = _gan_rows(data)
    if gans:
        lines += ["**GANs** (Inception Score of 10,000 samples with the judge; FD to the test set):", ""]
        lines += table(
            ["run", "kind", "filters", "epochs", "IS", "FD", "IS curve (5,000 samples)", "s/epoch", "G params"], gans
        )
    anomaly = get(data, "anomaly")
    if isinstance(anomaly, dict):
        per_digit = get(anomaly, "roc_auc_per_digit", default={}) or {}
        lines += ["**Anomaly detection** (dense autoencoder trained on one digit; ROC AUC of the others):", ""]
        lines += table(
            ["normal digit", *per_digit.keys(), "mean"], [[" ", *per_digit.values(), get(anomaly, "mean_roc_auc")]]
        )
    overhead = get(data, "overhead")
    if isinstance(overhead, dict):
        lines += ["**Custom `train_step` vs `fit`** (dense autoencoder):", ""]
        lines += key_values(
            [
                ("method", get(overhead, "method")),
                (
                    "fastest ms/step, fit / custom",
                    f"{fmt(get(overhead, 'fastest_step_ms', 'plain_fit'))} / {fmt(get(overhead, 'fastest_step_ms', 'custom_train_step'))}",
                ),
                ("overhead, fastest rounds (%)", get(overhead, "overhead_percent_fastest_rounds")),
                ("overhead, median of per-round ratios (%)", get(overhead, "overhead_percent")),
                ("interquartile (%)", get(overhead, "overhead_percent_interquartile")),
            ]
        )
    jax_runs = get(data, "dcgan_jax")
    if isinstance(jax_runs, dict):
        rows = []
        for name, run in jax_runs.items():
            if isinstance(run, dict):
                rows.append(
                    [
                        f"`{name}`",
                        get(run, "filters"),
                        get(run, "epochs"),
                        get(run, "final", "inception_score"),
                        get(run, "final", "frechet_distance_to_test"),
                        get(run, "final_ema", "inception_score"),
                        get(run, "device"),
                    ]
                )
        lines += [
            "**DCGAN on a GPU with JAX** (`KERAS_BACKEND=jax python benchmarks/dcgan_jax.py ...`, scored here by "
            "`python benchmarks/generative.py --sections dcgan_jax --jax-runs runs/*`):",
            "",
        ]
        lines += table(["run", "filters", "epochs", "IS", "FD", "IS, EMA of G's weights", "device"], rows)
    return lines


@section("robustness", "Adversarial robustness (FGSM, PGD; ART comparison)", "python benchmarks/robustness.py")
def _robustness(data):
    lines = []
    note = get(data, "note")
    if isinstance(note, str):
        lines += [note, ""]
    for run_name, run in data.items():
        if not isinstance(run, dict):
            continue
        command = get(run, "command") or get(run, "run", "command") or "python benchmarks/robustness.py"
        lines += [f"**Run `{run_name}`**: `{command}`", ""]
        ours, art = get(run, "kerasdl", default={}) or {}, get(run, "art", default={}) or {}
        rows = [
            [
                attack,
                pct(get(result, "success_rate")),
                pct(get(art, attack, "success_rate")),
                pct(get(result, "robust_accuracy")),
                get(result, "images_per_second"),
                get(art, attack, "images_per_second"),
            ]
            for attack, result in ours.items()
            if isinstance(result, dict)
        ]
        lines += table(
            [
                "attack",
                "success rate",
                f"ART {get(art, 'version', default='')}",
                "robust accuracy",
                "images/s",
                "ART images/s",
            ],
            rows,
        )
        lines += key_values(
            [
                ("clean accuracy (full test set)", pct(get(run, "standard_model", "test_accuracy_full_10k"))),
                ("adversarial training", get(run, "adversarial_training", "train_attack")),
                ("  eps", get(run, "adversarial_training", "train_eps")),
                (
                    "  robust accuracy under PGD-40 eps 0.1",
                    pct(get(run, "adversarial_training", "pgd40_eps0.1_accuracy")),
                ),
                ("  clean accuracy (full test set)", pct(get(run, "adversarial_training", "clean_accuracy_full_10k"))),
            ]
        )
    return lines


@section(
    "detection",
    "Object detection (YOLO-style, sliding windows)",
    "python benchmarks/detection.py --train-images 8000 --yolo-epochs 12",
)
def _detection(data):
    rows = []
    for name, run in data.items():
        if isinstance(run, dict) and "map_50" in run:
            rows.append(
                [
                    f"`{name}`",
                    get(run, "map_50"),
                    get(run, "coco_map_50_95"),
                    get(run, "epochs_run"),
                    get(run, "parameters"),
                    get(run, "train_seconds"),
                ]
            )
    lines = table(["detector", "mAP@0.5", "COCO AP@[.5:.95]", "epochs", "parameters", "train seconds"], rows)
    lines += key_values(
        [
            ("train / test images", f"{get(data, 'data', 'train_images')} / {get(data, 'data', 'test_images')}"),
            ("data", get(data, "data", "train")),
            ("target mAP@0.5", get(data, "targets", "yolo_map_50_min")),
        ]
    )
    return lines


@section("vision_tasks", "Segmentation, face verification and style transfer", "python benchmarks/vision_tasks.py")
def _vision(data):
    lines = []
    seg = get(data, "segmentation")
    if isinstance(seg, dict):
        lines += ["**U-Net segmentation** (synthetic shapes):", ""]
        lines += key_values(
            [
                ("test mean IoU", get(seg, "test_mean_iou")),
                ("test pixel accuracy", get(seg, "test_pixel_accuracy")),
                ("target mean IoU", get(seg, "target_mean_iou")),
                ("epochs / parameters", f"{get(seg, 'epochs_run')} / {get(seg, 'parameters')}"),
            ]
        )
    rows = []
    for name, run in data.items():
        if isinstance(run, dict) and name.startswith("verification"):
            rows.append(
                [
                    f"`{name}`",
                    get(run, "test_roc_auc_unseen_people"),
                    get(run, "test_verification_accuracy"),
                    get(run, "one_shot", "top1_accuracy"),
                    get(run, "validation_roc_auc"),
                    get(run, "target_roc_auc"),
                ]
            )
    if rows:
        lines += ["**Face verification** (Olivetti, people unseen in training):", ""]
        lines += table(
            ["run", "test ROC AUC", "verification accuracy", "one-shot top-1", "validation ROC AUC", "target"], rows
        )
    style = get(data, "style")
    if isinstance(style, dict):
        lines += ["**Neural style transfer**:", ""]
        lines += key_values(
            [
                ("network", get(style, "settings", "network")),
                ("style loss reduction (initial / final)", get(style, "style_reduction")),
                ("seconds per step", get(style, "seconds_per_step")),
            ]
        )
    return lines


def _rl_runs(runs):
    rows = [
        [get(r, "seed"), get(r, "solved_at_step"), get(r, "steps"), get(r, "wall_seconds"), get(r, "cpu_seconds")]
        for r in runs or []
        if isinstance(r, dict)
    ]
    return table(["seed", "solved at step", "steps run", "wall seconds", "CPU seconds"], rows)


def _median_wall(runs):
    walls = [get(r, "wall_seconds") for r in runs or [] if isinstance(get(r, "wall_seconds"), (int, float))]
    return round(statistics.median(walls), 2) if walls else None


def _median_iqr(summary, digits: int = 1) -> str:
    """``median (q1–q3)`` of a :func:`kerasdl.benchmarking.summarize` dict."""
    if not isinstance(summary, dict) or not isinstance(summary.get("median"), (int, float)):
        return "–"
    return f"{summary['median']:.{digits}f} ({summary['q1']:.{digits}f}–{summary['q3']:.{digits}f})"


def _rl_environment(env_id, entry):
    """One environment of the DQN comparison: speed and learning per library, ratios per seed."""
    lines = [
        f"**DQN on {env_id}** ({fmt(get(entry, 'timesteps'))} steps, seeds {get(entry, 'seeds')}; "
        "speed without evaluation; median (IQR) over seeds):",
        "",
    ]
    rows = []
    for lib, figures in (get(entry, "summary", "by_library", default={}) or {}).items():
        rows.append(
            [
                lib,
                _median_iqr(get(figures, "steps_per_wall_second")),
                _median_iqr(get(figures, "steps_per_cpu_second")),
                _median_iqr(get(figures, "ms_per_step"), 3),
                get(figures, "solved"),
                get(figures, "steps_to_solve"),
                _median_iqr(get(figures, "final_eval")),
            ]
        )
    lines += table(
        ["library", "steps / wall s", "steps / CPU s", "ms / step", "solved", "steps to solve", "final return"],
        rows,
    )
    ratios = get(entry, "summary", "speed_ratios_per_seed", default={}) or {}
    if ratios:
        lines += table(
            ["ratio (per seed)", "steps / wall s", "steps / CPU s"],
            [
                [
                    name.replace("_over_", " ÷ "),
                    _median_iqr(get(r, "steps_per_wall_second"), 2),
                    _median_iqr(get(r, "steps_per_cpu_second"), 2),
                ]
                for name, r in ratios.items()
            ],
        )
    commands = get(entry, "commands")
    if isinstance(commands, list) and commands:
        lines += ["Commands: " + "; ".join(f"`{c}`" for c in commands), ""]
    return lines


@section(
    "rl", "Reinforcement learning and AutoML", "python benchmarks/rl.py --parts dqn --envs CartPole-v1 --seeds 0 1 2"
)
def _rl(data):
    lines = []
    dqn = get(data, "dqn", default={}) or {}
    if isinstance(get(dqn, "runs"), list):  # the earlier one-environment layout
        lines += [
            f"**kerasdl DQN** on CartPole-v1 (median wall seconds to solve: {fmt(_median_wall(dqn['runs']))}):",
            "",
        ]
        lines += _rl_runs(dqn["runs"])
    else:
        for env_id, entry in dqn.items():
            if isinstance(entry, dict):
                lines += _rl_environment(env_id, entry)
    reinforce = get(data, "reinforce")
    if isinstance(reinforce, dict):
        lines += ["**REINFORCE with a baseline** (CartPole-v1):", ""]
        lines += key_values(
            [
                ("solved at episode", get(reinforce, "solved_at_episode")),
                ("environment steps", get(reinforce, "env_steps")),
                ("wall seconds", get(reinforce, "wall_seconds")),
                ("greedy evaluations (episode, return)", get(reinforce, "evals")),
            ]
        )
    nas = get(data, "nas")
    if isinstance(nas, dict):
        rows = [
            [
                method,
                get(nas, method, "best_reward"),
                get(nas, method, "mean_reward"),
                get(nas, method, "child_trainings"),
            ]
            for method in ("nas", "random")
            if isinstance(get(nas, method), dict)
        ]
        lines += [
            f"**Neural architecture search** ({get(nas, 'data')}; search space {fmt(get(nas, 'search_space_size'))}):",
            "",
        ]
        lines += table(["method", "best validation accuracy", "mean", "child trainings"], rows)
    return lines


@section("cnn_throughput", "kerasdl builders vs keras.applications", "python benchmarks/cnn_throughput.py")
def _cnn_throughput(data):
    rows = []
    for name, family in (get(data, "families", default={}) or {}).items():
        rows.append(
            [
                name,
                get(family, "params", "kerasdl"),
                get(family, "params", "keras"),
                get(family, "inference_ratio"),
                get(family, "train_ratio"),
                get(family, "jit", "ratio_on_over_off"),
            ]
        )
    lines = table(
        [
            "family",
            "params kerasdl",
            "params keras",
            "inference images/s ratio",
            "train images/s ratio",
            "XLA on / off train step",
        ],
        rows,
    )
    return lines + ["Ratios are kerasdl / keras.applications on the same graphs; their spread is machine load.", ""]


@section("throughput", "Throughput: XLA x mixed precision", "python benchmarks/throughput.py --quick")
def _throughput(data):
    settings = ("xla_off_mp_off", "xla_on_mp_off", "xla_off_mp_on", "xla_on_mp_on")
    rows = []
    for name, model in (get(data, "models", default={}) or {}).items():
        rows.append(
            [name, get(model, "batch")]
            + [get(model, s, "train_per_s") for s in settings]
            + [get(model, s, "infer_per_s") for s in settings]
        )
    labels = ["XLA off", "XLA on", "XLA off + MP", "XLA on + MP"]
    headers = ["model", "batch"] + [f"train/s {x}" for x in labels] + [f"infer/s {x}" for x in labels]
    lines = [
        f"Examples/s, median of timed steps after warm-up; MP = mixed precision (`{get(data, 'mixed_precision_policy')}`); "
        f"{get(data, 'machine')}.",
        "",
    ]
    lines += table(headers, rows)
    lines += key_values(
        [
            (
                "custom train_step vs fit, examples/s",
                f"{fmt(get(data, 'custom_train_step_vs_fit', 'custom_train_step'))} vs {fmt(get(data, 'custom_train_step_vs_fit', 'plain_fit'))}",
            ),
            ("tf.data from PNG files vs in-memory arrays, epoch-time ratio", get(data, "files_vs_memory", "ratio")),
        ]
    )
    return lines


def _scalar(value) -> bool:
    return not isinstance(value, (dict, list)) or (
        isinstance(value, list) and len(value) <= 4 and not any(isinstance(v, (dict, list)) for v in value)
    )


def records_table(records: list[tuple[str, dict]]) -> list[str]:
    """One row per record (a dict), one column per scalar key any record has, in first-seen order."""
    columns: list[str] = []
    for _, record in records:
        columns += [key for key, value in record.items() if _scalar(value) and key not in columns]
    if not columns:
        return []
    return table(["", *columns], [[label, *(record.get(column) for column in columns)] for label, record in records])


@section("ensembles", "Ensembles: independent members and snapshots", "python benchmarks/ensembles.py")
def _ensembles(data):
    rows = []
    for name, run in data.items():
        if not isinstance(run, dict) or not ("test_accuracy" in run or "ensemble_test_accuracy" in run):
            continue
        combined = get(run, "ensemble_test_accuracy", default={})
        combined = combined if isinstance(combined, dict) else {"mean": combined}
        rows.append(
            [
                f"`{name}`",
                get(run, "members", default=get(run, "snapshots")),
                pct(get(run, "test_accuracy", default=get(run, "mean_member"))),
                pct(get(run, "best_member")),
                *(pct(get(combined, rule)) for rule in ("mean", "geometric", "vote")),
                get(run, "training_seconds_total", default=get(run, "training_seconds")),
            ]
        )
    lines = table(
        [
            "run",
            "members",
            "single / mean member",
            "best member",
            "ensemble (mean)",
            "(geometric)",
            "(vote)",
            "training s",
        ],
        rows,
    )
    # Recipes compared on held-out training images (``--holdout``), never on the test set.
    for key, search in data.items():
        recipes = get(search, "recipes", default={}) if isinstance(search, dict) else {}
        if not recipes:
            continue
        outcome = f"winner: `{search['winner']}`" if search.get("winner") else "no test-set run followed"
        lines += [
            "",
            f"`{key}`, on held-out training images, not the test set: `{get(search, 'command')}` ({outcome}).",
            "",
            *table(
                ["recipe", "flags", "members (held out)", "ensemble (mean, held out)", "training s"],
                [
                    [
                        f"`{name}`",
                        f"`{get(recipe, 'flags')}`",
                        ", ".join(pct(a) for a in get(recipe, "member_accuracies", default=[])),
                        pct(get(recipe, "ensemble_accuracy", "mean")),
                        get(recipe, "training_seconds_total"),
                    ]
                    for name, recipe in recipes.items()
                ],
            ),
        ]
    by_size = get(data, "independent", "mean_ensemble_test_accuracy_of_first_k_members", default={})
    return lines + key_values(
        [
            ("model", get(data, "model")),
            ("augmentation", get(data, "augmentation")),
            (
                "mean ensemble of the first k independent members",
                ", ".join(f"{k}: {pct(v)}" for k, v in by_size.items()) if by_size else None,
            ),
            ("train / test images", f"{get(data, 'train_images')} / {get(data, 'test_images')}"),
            ("target (ensemble accuracy at least)", pct(get(data, "target", "ensemble_test_accuracy_min"))),
        ]
    )


def generic_section(data) -> list[str]:
    """The headline of a file without a registered section.

    Its top-level scalar figures, then a table per group of records: a list of dicts (one row
    per item) or a dict whose values are all dicts (one row per key).
    """
    if not isinstance(data, dict):
        return []
    lines = key_values([(key, value) for key, value in data.items() if _scalar(value)])
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            records = [(str(i), v) for i, v in enumerate(value)]
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            records = [(f"`{k}`", v) for k, v in value.items()]
        else:
            continue
        rows = records_table(records)
        if rows:
            lines += [f"**{key}**:", "", *rows]
    return lines


# --------------------------------------------------------------------------- page


# Titles of benchmarks that the generic section renders well enough (no headline function).
for _name, _title in (
    ("seq2seq", "Sequence to sequence: addition and dates, with and without attention"),
    ("evidential", "Evidential regression: epistemic uncertainty outside the data"),
    ("robustness_eps03", "Adversarial training at eps = 0.3"),
    ("tflite", "TFLite export: float32 and int8"),
    ("test_margins", "Learned-test margins over seeds and kernel settings"),
):
    SECTIONS.setdefault(_name, (_title, f"python benchmarks/{_name}.py", None))


def render_section(name: str, data) -> list[str]:
    """One file's section: title, command, headline tables, then every figure collapsed."""
    title, default_command, function = SECTIONS.get(
        name, (name.replace("_", " ").capitalize(), f"python benchmarks/{name}.py", generic_section)
    )
    function = function or generic_section
    lines = [
        f"## {title}",
        "",
        f"Command: `{command_of(data, default_command)}`  ",
        f"Record: `benchmarks/results/{name}.json`",
        "",
    ]
    try:
        lines += function(data)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
        lines += [f"*(This file's layout is not the one its section reads ({type(error).__name__}); its figures:)*", ""]
        lines += generic_section(data)
    return lines + all_figures(name, data) + [""]


def render_page(results: Path = RESULTS) -> str:
    """The whole Markdown page for the JSON files in ``results``."""
    files = {path.stem: path for path in results.glob("*.json")}
    names = [n for n in ORDER if n in files] + sorted(n for n in files if n not in ORDER)
    lines = [
        "<!-- Generated by tools/benchmark_page.py from benchmarks/results/*.json: edit those, not this page. -->",
        "",
        "# Benchmarks",
        "",
        "Every figure below is read from the JSON file that the benchmark wrote when it ran; the command that",
        "produced it is beside it. Unless a record says otherwise the machine was 2 shared CPU cores without a",
        "GPU (TensorFlow 2.21, Keras 3.15), so timings carry the load of other jobs (most records keep the load",
        "average). Rerun a benchmark, then `python tools/benchmark_page.py` (or `make docs`) to refresh this page.",
        "Ctrl-C stops a benchmark with exit status 130 and no traceback; its files are written atomically, so an",
        "interrupted run leaves the previous results (or the parts it had finished) whole.",
        "",
    ]
    for name in names:
        try:
            data = json.loads(files[name].read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            lines += [f"## {name}", "", f"*`benchmarks/results/{name}.json` could not be read: {error}*", ""]
            continue
        lines += render_section(name, data)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    """Write (or ``--check``) docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the page is current")
    parser.add_argument("--out", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    page = render_page()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != page:
            print(f"{args.out} is out of date: run python tools/benchmark_page.py", file=sys.stderr)
            return 1
        return 0
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(args.out)  # atomic: a reader never sees half a page
    return 0


if __name__ == "__main__":
    sys.exit(main())
