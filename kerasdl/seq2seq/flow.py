"""The translate app's whole run: data → train → greedy and beam scores → heat map → export.

:func:`train_and_evaluate_translator` is what ``kerasdl translate`` calls (each flag one keyword
argument); benchmarks and notebooks call it too.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerasdl._validation import check_choice, check_float, check_int

TASKS = ("dates", "addition", "tsv")
# Defaults per task that train a good model on 2 CPU cores (figures in benchmarks/seq2seq.py's JSON).
TASK_DEFAULTS = {
    "dates": {"train_size": 20000, "test_size": 2000, "epochs": 8},
    "addition": {"train_size": 50000, "test_size": 10000, "epochs": 10},
    "tsv": {"train_size": None, "test_size": None, "epochs": 20},
}


@dataclass
class TranslationResult:
    """What :func:`train_and_evaluate_translator` returns.

    ``summary`` is also written to ``summary.json`` (sizes, settings, scores for greedy and beam,
    paths); ``translator`` the trained :class:`~kerasdl.seq2seq.translator.Translator`.
    """

    summary: dict
    translator: Any = field(repr=False)

    @property
    def run_dir(self) -> Path:
        return Path(self.summary["run_dir"])

    @property
    def export_path(self) -> Path | None:
        return Path(self.summary["export_dir"]) if self.summary.get("export_dir") else None


def load_task_pairs(task: str, *, tsv=None, train_size=None, test_size=None, test_fraction=0.1, seed=0):
    """``(train, test, bleu_tokenizer)`` for a task; ``tsv`` is the file for ``task="tsv"``.

    Dates and sums are scored with sacrebleu's character tokenizer (a date is one "word"), TSV
    sentences with its default word tokenizer ``13a``.
    """
    from kerasdl.seq2seq.data import addition_pairs, date_pairs, read_parallel_tsv, split_pairs

    check_choice("task", task, TASKS)
    defaults = TASK_DEFAULTS[task]
    train_size = defaults["train_size"] if train_size is None else check_int("train_size", train_size, minimum=1)
    test_size = defaults["test_size"] if test_size is None else check_int("test_size", test_size, minimum=1)
    if task == "tsv":
        if tsv is None:
            raise ValueError("task 'tsv' needs tsv=PATH (--tsv FILE): a source<TAB>target file")
        max_pairs = None if train_size is None else train_size + (test_size or 0)
        pairs = read_parallel_tsv(tsv, max_pairs=max_pairs)
        train, test = split_pairs(pairs, test_fraction, seed=seed)
        if test_size is not None:
            test = test[:test_size]
        return train, test, "13a"
    if tsv is not None:
        raise ValueError(f"tsv is only for task 'tsv', got task {task!r}")
    if task == "dates":
        train, test = date_pairs(train_size, test_size, seed=seed)
    else:
        train, test = addition_pairs(train_size, test_size, seed=seed)
    return train, test, "char"


def _restoring_dtype_policy(fn):
    """Run ``fn`` and put back the global Keras dtype policy that ``mixed_precision=True`` changes."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import keras

        previous = keras.config.dtype_policy()
        try:
            return fn(*args, **kwargs)
        finally:
            keras.config.set_dtype_policy(previous)

    return wrapper


@_restoring_dtype_policy
def train_and_evaluate_translator(
    *,
    task: str = "dates",
    tsv=None,
    attention: str | None = "bahdanau",
    cell: str = "lstm",
    units: int = 128,
    embedding_dim: int = 32,
    encoder_layers: int = 1,
    bidirectional_encoder: bool = True,
    dropout: float = 0.0,
    train_size: int | None = None,
    test_size: int | None = None,
    test_fraction: float = 0.1,
    epochs: int | None = None,
    batch_size: int = 128,
    learning_rate: float = 4e-3,
    schedule: str = "linear_cooldown",
    beam_width: int = 5,
    alpha: float = 0.6,
    max_length: int | None = None,
    plot_examples: int = 4,
    seed: int = 0,
    runs_dir="runs/translate",
    export_dir="saved_models/translate",
    quiet: bool = False,
    jit_compile="auto",
    mixed_precision: bool = False,
    strategy: str = "auto",
) -> TranslationResult:
    """Train a seq2seq translator on a task, score greedy and beam decoding, plot, export.

    Writes ``runs_dir/<run-id>/attention.png`` (with attention) and ``summary.json``, and, unless
    ``export_dir`` is ``None``, a SavedModel at ``export_dir/<run-id>`` that takes strings and
    returns decoded strings (:mod:`kerasdl.seq2seq.export`), reloaded and checked against the
    in-memory translator before the run ends.

    Args:
        task: ``"dates"``, ``"addition"`` or ``"tsv"`` (then ``tsv`` names the file).
        attention: ``None``, ``"bahdanau"`` or ``"luong"``.
        tsv: the tab-separated parallel corpus for ``task="tsv"`` (source TAB target per line).
        cell: ``"lstm"`` or ``"gru"`` (:func:`kerasdl.seq2seq.models.seq2seq`).
        units: recurrent units per layer.
        embedding_dim: token embedding size.
        encoder_layers: stacked encoder RNN layers.
        bidirectional_encoder: a bidirectional encoder (``units // 2`` per direction), as
            Bahdanau et al. 2015 use. On addition it makes training reliable across seeds
            (``benchmarks/seq2seq.py`` trains the Bahdanau model from three seeds).
        dropout: dropout after both embeddings and before the output projection.
        train_size: training pairs (``None``: the task's default in ``TASK_DEFAULTS``).
        test_size: held-out pairs (``None``: the task's default).
        test_fraction: the share of the pairs held out for ``task="tsv"``.
        epochs: training epochs (``None``: the task's default).
        batch_size: training batch size.
        learning_rate: Adam's learning rate (:func:`kerasdl.seq2seq.training.train_translator`).
        schedule: the learning-rate schedule over the run (:data:`kerasdl.training.SCHEDULES`;
            the default holds ``learning_rate`` for half the epochs, then decays it linearly).
        beam_width: the beam search's width, scored beside greedy and exported.
        alpha: the beam search's length-normalisation exponent (Wu et al. 2016).
        max_length: the most decoded tokens, end included (``None``: twice the longest training
            target + 2).
        plot_examples: held-out inputs drawn in the attention heat map.
        seed: seeds the data, the weights and the batch order.
        runs_dir: the folder of run folders.
        export_dir: the folder of exports (``None``: no export).
        quiet: print nothing.
        jit_compile: ``"auto"``, ``True`` or ``False``.
        mixed_precision: train in mixed precision (:func:`kerasdl._runs.setup_runtime`).
        strategy: the distribution strategy name (:func:`kerasdl._runs.setup_runtime`); the
            model is built in the strategy's scope.

    Returns:
        :class:`TranslationResult`.
    """
    from kerasdl._runs import setup_runtime, write_summary
    from kerasdl.export import create_run_dir
    from kerasdl.seq2seq.export import check_export_agrees, export_translator
    from kerasdl.seq2seq.metrics import score_translations
    from kerasdl.seq2seq.plots import plot_attention
    from kerasdl.seq2seq.training import build_translator, train_translator

    from kerasdl.training.schedules import SCHEDULES

    check_choice("task", task, TASKS)
    check_choice("schedule", schedule, SCHEDULES)
    epochs = TASK_DEFAULTS[task]["epochs"] if epochs is None else epochs
    epochs = check_int("epochs", epochs, minimum=1)
    beam_width = check_int("beam_width", beam_width, minimum=1)
    alpha = check_float("alpha", alpha, minimum=0.0)
    plot_examples = check_int("plot_examples", plot_examples, minimum=1)
    distribution = setup_runtime(seed=seed, mixed_precision=mixed_precision, strategy=strategy)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))

    train, test, bleu_tokenize = load_task_pairs(
        task, tsv=tsv, train_size=train_size, test_size=test_size, test_fraction=test_fraction, seed=seed
    )
    if not test:
        raise ValueError(f"task {task!r}: no held-out pairs; use more data or a larger test_fraction")
    say(f"{task}: {len(train)} training pairs, {len(test)} held-out; e.g. {train[0][0]!r} -> {train[0][1]!r}")
    with distribution.scope():
        translator = build_translator(
            train,
            attention=attention,
            cell=cell,
            embedding_dim=embedding_dim,
            units=units,
            encoder_layers=encoder_layers,
            bidirectional_encoder=bidirectional_encoder,
            dropout=dropout,
            max_length=max_length,
            beam_width=beam_width,
            alpha=alpha,
        )
    run_dir = create_run_dir(runs_dir)
    say(f"model: {cell} {units} units, attention {attention}, {translator.training_model.count_params():,} parameters")
    start = time.perf_counter()
    with distribution.scope():
        history = train_translator(
            translator,
            train,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            schedule=schedule,
            seed=seed,
            verbose=0 if quiet else 2,
            jit_compile=jit_compile,
        )
    train_seconds = time.perf_counter() - start

    sources, references = [s for s, _ in test], [t for _, t in test]
    scores, decoded = {}, {}
    for method in ("greedy", "beam"):
        t0 = time.perf_counter()
        hypotheses, weights = translator.decode(sources, method=method)
        scores[method] = score_translations(hypotheses, references, tokenize=bleu_tokenize)
        scores[method]["decode_seconds"] = round(time.perf_counter() - t0, 3)
        decoded[method] = (hypotheses, weights)
        say(
            f"held-out {method:6s}{'' if method == 'greedy' else f' (k={beam_width}, alpha={alpha})'}: "
            f"exact match {scores[method]['exact_match']:.4f}, CER {scores[method]['cer']:.4f}, "
            f"BLEU {scores[method]['bleu']:.2f}"
        )

    hypotheses, weights = decoded["beam"]
    examples = [[sources[i], hypotheses[i], references[i]] for i in range(min(plot_examples, len(sources)))]
    attention_png = None
    if attention is not None:
        attention_png = plot_attention(
            [(sources[i], hypotheses[i], weights[i]) for i in range(len(examples))],
            run_dir / "attention.png",
            title=f"{task}: {attention} attention, beam {beam_width}",
        )
        say(f"attention heat map: {attention_png}")

    export_path, agreement = None, None
    if export_dir is not None:
        export_path = Path(export_dir) / run_dir.name
        export_translator(translator, export_path, metadata={"task": task})
        agreement = check_export_agrees(export_path, translator, sources[:64] + [""])
        say(
            f"exported to {export_path}; reloaded with plain TensorFlow, same translations on {agreement['texts']} inputs"
        )

    summary = {
        "task": task,
        "train_pairs": len(train),
        "test_pairs": len(test),
        "model": {
            "cell": cell,
            "units": units,
            "embedding_dim": embedding_dim,
            "attention": attention,
            "encoder_layers": encoder_layers,
            "bidirectional_encoder": bidirectional_encoder,
            "dropout": dropout,
            "parameters": translator.training_model.count_params(),
            "source_vocab": translator.source_tokenizer.size,
            "target_vocab": translator.target_tokenizer.size,
            "max_length": translator.max_length,
        },
        "training": {
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "schedule": schedule,
            "seed": seed,
            "seconds": round(train_seconds, 1),
            "loss": [round(float(v), 5) for v in history.history["loss"]],
        },
        "beam_width": beam_width,
        "alpha": alpha,
        "bleu_tokenize": bleu_tokenize,
        "scores": scores,
        "examples": examples,
        "attention_png": str(attention_png) if attention_png else None,
        "run_dir": str(run_dir),
        "export_dir": str(export_path) if export_path else None,
        "export_check": agreement,
    }
    write_summary(run_dir, summary)
    return TranslationResult(summary, translator)
