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

The flow itself is :func:`kerasdl.text.char_lm.train_char_language_model` (each flag is one
of its keyword arguments, ``--no-export`` is ``export_dir=None``); this module parses the
flags and calls it, and the flow prints its progress, the loss and the sample.
"""

from __future__ import annotations

import sys

DESCRIPTION = "train a character-level RNN on a text file, sample text and export a prompt → text SavedModel"


def add_arguments(parser):
    from kerasdl.apps._common import add_runtime_arguments

    parser.add_argument(
        "--text", default=None, help="UTF-8 text file to learn (default: $KERASDL_DATA_DIR/text/tinyshakespeare.txt)"
    )
    parser.add_argument("--cell", choices=["lstm", "gru", "simple"], default="gru", help="recurrent cell")
    parser.add_argument("--units", type=int, default=256, help="recurrent units per layer")
    parser.add_argument("--layers", type=int, default=1, help="recurrent layers")
    parser.add_argument("--embedding-dim", type=int, default=64, help="character embedding size")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout after each recurrent layer")
    parser.add_argument("--sequence-length", type=int, default=100, help="characters per training window")
    parser.add_argument("--batch-size", type=int, default=64, help="windows per batch")
    parser.add_argument("--epochs", type=int, default=10, help="passes (of --steps-per-epoch steps when given)")
    parser.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="train steps per epoch (default: one pass over the training text)",
    )
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="Adam learning rate")
    parser.add_argument("--clipnorm", type=float, default=5.0, help="gradient norm clip (0: off)")
    parser.add_argument("--validation-fraction", type=float, default=0.1, help="held-out tail of the text")
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="stop after the epoch that ends past this many seconds of training",
    )
    parser.add_argument("--prompt", default="ROMEO:", help="text to continue when sampling")
    parser.add_argument("--num-chars", type=int, default=400, help="characters to sample")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: greedy)")
    parser.add_argument("--top-k", type=int, default=0, help="sample among the k most likely characters (0: all)")
    parser.add_argument("--export-dir", default="saved_models/textgen", help="exports go to EXPORT_DIR/<run-id>")
    parser.add_argument("--runs-dir", default="runs/textgen", help="curves and summary go to RUNS_DIR/<run-id>")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    parser.add_argument("--quiet", action="store_true", help="no per-step progress bar")
    add_runtime_arguments(parser)


def run(args) -> int:
    from kerasdl.apps._common import jit_flag
    from kerasdl.text.char_lm import train_char_language_model

    # Every flag is the keyword of the same name, but for --no-export and --jit-compile's spelling.
    options = {name: value for name, value in vars(args).items() if name != "no_export"}
    options.update(export_dir=None if args.no_export else args.export_dir, jit_compile=jit_flag(args.jit_compile))
    train_char_language_model(**options)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
