"""Character-level text generation: train a char RNN on a text file, sample, export.

    python -m apps.textgen                              # $KERASDL_DATA_DIR/text/tinyshakespeare.txt
    python -m apps.textgen --text my.txt --epochs 3 --temperature 0.8 --top-k 10

Trains :func:`kerasdl.models.rnn.char_language_model` (Embedding → LSTM/GRU → Dense logits)
on ``(input, next-character)`` windows of the file (the last ``--validation-fraction`` of
the text held out, contiguous), with Adam and gradient clipping (``--clipnorm``). Reports the
validation loss in **nats per character** (mean next-character cross-entropy, natural log;
bits = nats / ln 2), samples ``--num-chars`` characters after ``--prompt`` with
``--temperature`` and ``--top-k``, writes the curves PNG and ``summary.json`` to
``runs/textgen/<run-id>/``, and exports a SavedModel to ``saved_models/textgen/<run-id>/``.

The export is the **whole generator**, not a step function: ``serving_default`` takes a
``prompt`` string and returns ``text`` (prompt + 200 sampled characters, temperature 1), and
the ``generate`` signature takes ``prompt``, ``num_chars`` (int32), ``temperature``
(float32), ``top_k`` (int32, 0 = all) and ``seed`` (int32, < 0 = random). Why: a client has
a prompt and wants text; the sampling loop (``tf.while_loop``) runs inside the SavedModel and
carries the recurrent state from character to character, so the client needs only
TensorFlow, makes one call per request, and cannot get the state handling wrong. (A step
function would make the client re-implement sampling and state passing in its own loop.)
Generation in this process uses the same graph (:class:`kerasdl.text.generation.CharGenerator`).

``--time-budget SECONDS`` stops training after the first epoch that ends past the budget
(``benchmarks/textgen.py`` uses it for a fixed CPU budget).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

DESCRIPTION = "train a character-level RNN on a text file, sample text and export a prompt → text SavedModel"


def add_arguments(parser):
    from kerasdl.apps._common import add_runtime_arguments

    parser.add_argument("--text", default=None,
                        help="UTF-8 text file to learn (default: $KERASDL_DATA_DIR/text/tinyshakespeare.txt)")
    parser.add_argument("--cell", choices=["lstm", "gru", "simple"], default="gru", help="recurrent cell")
    parser.add_argument("--units", type=int, default=256, help="recurrent units per layer")
    parser.add_argument("--layers", type=int, default=1, help="recurrent layers")
    parser.add_argument("--embedding-dim", type=int, default=64, help="character embedding size")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout after each recurrent layer")
    parser.add_argument("--sequence-length", type=int, default=100, help="characters per training window")
    parser.add_argument("--batch-size", type=int, default=64, help="windows per batch")
    parser.add_argument("--epochs", type=int, default=10, help="passes (of --steps-per-epoch steps when given)")
    parser.add_argument("--steps-per-epoch", type=int, default=None,
                        help="train steps per epoch (default: one pass over the training text)")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="Adam learning rate")
    parser.add_argument("--clipnorm", type=float, default=5.0, help="gradient norm clip (0: off)")
    parser.add_argument("--validation-fraction", type=float, default=0.1, help="held-out tail of the text")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="stop after the epoch that ends past this many seconds of training")
    parser.add_argument("--prompt", default="ROMEO:", help="text to continue when sampling")
    parser.add_argument("--num-chars", type=int, default=400, help="characters to sample")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: greedy)")
    parser.add_argument("--top-k", type=int, default=0, help="sample among the k most likely characters (0: all)")
    parser.add_argument("--export-dir", default="saved_models/textgen", help="exports go to EXPORT_DIR/<run-id>")
    parser.add_argument("--runs-dir", default="runs/textgen", help="curves and summary go to RUNS_DIR/<run-id>")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    parser.add_argument("--quiet", action="store_true", help="no per-step progress bar")
    add_runtime_arguments(parser)


def train_textgen(args, *, log=print) -> dict:
    """Train, evaluate, sample and (unless ``args.no_export``) export; returns the summary dict."""
    import keras

    from kerasdl.apps._common import new_run_dir, setup_runtime, write_summary
    from kerasdl._validation import check_float, check_int
    from kerasdl.models.rnn import char_language_model
    from kerasdl.plots import plot_curves
    from kerasdl.text.generation import (CharGenerator, CharVocabulary, char_windows, export_generator,
                                         generate_text, load_text_file, split_ids)
    from kerasdl.training import TimeBudget, compile_model, make_callbacks
    from kerasdl.training.callbacks import TrainingDiverged

    for name in ("units", "layers", "embedding_dim", "sequence_length", "batch_size", "epochs"):
        check_int(name, getattr(args, name), minimum=1)
    if args.steps_per_epoch is not None:
        check_int("steps_per_epoch", args.steps_per_epoch, minimum=1)
    check_int("num_chars", args.num_chars, minimum=0)
    check_int("top_k", args.top_k, minimum=0)
    check_float("temperature", args.temperature, minimum=0.0)
    check_float("clipnorm", args.clipnorm, minimum=0.0)
    if args.time_budget is not None:
        check_float("time_budget", args.time_budget, minimum=0.0, min_inclusive=False)

    strategy = setup_runtime(args)
    text = load_text_file(args.text)
    vocabulary = CharVocabulary.from_text(text)
    train_ids, val_ids = split_ids(vocabulary.encode(text), args.validation_fraction)
    log(f"textgen: {len(text):,} characters, {len(vocabulary.characters)} distinct; "
        f"{len(train_ids):,} train / {len(val_ids):,} validation")
    train_ds = char_windows(train_ids, args.sequence_length, args.batch_size, seed=args.seed)
    val_ds = char_windows(val_ids, args.sequence_length, args.batch_size, shuffle=False, drop_remainder=False)
    if args.steps_per_epoch is not None:
        train_ds = train_ds.repeat()

    with strategy.scope():
        model = char_language_model(vocabulary.size, args.embedding_dim, args.units, args.cell, args.layers,
                                    args.dropout)
        compile_model(model, "adam", args.learning_rate,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=None,
                      clipnorm=args.clipnorm or None, jit_compile=args.jit)
    run_dir = new_run_dir(args.runs_dir)
    callbacks = make_callbacks(checkpoint_path=run_dir / "best.weights.h5")
    if args.time_budget is not None:
        callbacks.append(TimeBudget(args.time_budget))
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                        callbacks=callbacks, verbose=2 if args.quiet else 1)
    train_seconds = time.perf_counter() - start
    # A NaN/inf loss has already ended fit with TrainingDiverged (exit status 1, nothing exported).
    if not (run_dir / "best.weights.h5").is_file():  # finite losses over non-finite weights: nothing kept
        raise TrainingDiverged("training produced no finite model to keep: lower --learning-rate or --clipnorm; "
                               "nothing exported")
    model.load_weights(run_dir / "best.weights.h5")  # the epoch with the best validation loss
    val_loss = float(model.evaluate(val_ds, verbose=0))
    plot = plot_curves({"train": history.history["loss"], "validation": history.history["val_loss"]},
                       run_dir / "training_curves.png", xlabel="epoch", ylabel="nats per character",
                       title=f"char {args.cell} {args.units}: next-character loss")

    generator = CharGenerator(model, vocabulary)
    generate_text(model, vocabulary, args.prompt, 1, generator=generator)  # trace the graph once
    gen_start = time.perf_counter()
    sample = generate_text(model, vocabulary, args.prompt, args.num_chars, temperature=args.temperature,
                           top_k=args.top_k, seed=args.seed, generator=generator)
    gen_seconds = time.perf_counter() - gen_start
    log(f"textgen: validation loss {val_loss:.4f} nats/char ({val_loss / math.log(2):.4f} bits/char) "
        f"after {len(history.history['loss'])} epoch(s), {train_seconds:.0f} s")
    log(f"--- sample (temperature {args.temperature}, top-k {args.top_k or 'all'}) ---\n{sample}\n---")

    summary = {
        "text": str(args.text) if args.text else "tinyshakespeare.txt (data folder)",
        "characters": len(text), "vocabulary_size": vocabulary.size,
        "train_characters": int(len(train_ids)), "validation_characters": int(len(val_ids)),
        "model": {"cell": args.cell, "units": args.units, "layers": args.layers,
                  "embedding_dim": args.embedding_dim, "dropout": args.dropout,
                  "parameters": int(model.count_params())},
        "training": {"epochs_run": len(history.history["loss"]), "steps_per_epoch": args.steps_per_epoch,
                     "sequence_length": args.sequence_length, "batch_size": args.batch_size,
                     "learning_rate": args.learning_rate, "clipnorm": args.clipnorm, "seconds": train_seconds,
                     "time_budget": args.time_budget},
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "val_loss_nats_per_char": val_loss, "val_bits_per_char": val_loss / math.log(2),
        "sample": sample, "sample_settings": {"prompt": args.prompt, "num_chars": args.num_chars,
                                               "temperature": args.temperature, "top_k": args.top_k},
        "generation_chars_per_second": args.num_chars / gen_seconds if gen_seconds > 0 else None,
        "curves_png": str(plot), "run_dir": str(run_dir),
    }
    if not args.no_export:
        export_path = export_generator(generator, Path(args.export_dir) / run_dir.name)  # named after its run
        summary["export_dir"] = str(export_path)
        log(f"textgen: exported the prompt → text SavedModel to {export_path}")
    write_summary(run_dir, summary)
    log(f"textgen: curves and summary in {run_dir}")
    return summary


def run(args) -> int:
    train_textgen(args)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
