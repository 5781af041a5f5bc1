"""Sequence-to-sequence translation: train an encoder–decoder RNN, score greedy and beam search, export.

    kerasdl translate                                   # dates in many formats/locales → ISO
    kerasdl translate --task addition --attention luong --beam-width 3
    kerasdl translate --task tsv --tsv fra.txt --epochs 30     # your own source<TAB>target pairs

Trains :func:`kerasdl.seq2seq.models.seq2seq` (character level, teacher forcing) on the task:
``dates`` (Faker + Babel: "Thursday, May 3, 1979", "03.05.79", "3 mai 1979" → "1979-05-03",
held-out dates never seen in training), ``addition`` (keras.io's "535+61" → "596") or ``tsv`` (a
tab-separated parallel corpus such as the Anki/Tatoeba files; bad lines are skipped with a
warning). Reports exact match, character error rate and BLEU (sacrebleu) on the held-out pairs
for greedy decoding and beam search (``--beam-width``, Wu et al. 2016 length normalisation
``--alpha``), writes an attention heat map (``attention.png``) and ``summary.json`` to
``runs/translate/<run-id>/``, and exports a SavedModel to ``saved_models/translate/<run-id>/``
that takes a batch of strings and returns the decoded strings (tokenisation and beam search
inside the graph; signature ``greedy`` for greedy decoding), reloaded and checked before the run
ends. ``kerasdl predict saved_models/translate/<run-id> "3 May 1979"`` calls it, and so does a
client with only TensorFlow (``tf.saved_model.load``).

The flow is :func:`kerasdl.seq2seq.flow.train_and_evaluate_translator`; this module parses the
flags and calls it.
"""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = (
    "train a seq2seq model (dates, addition or a TSV corpus), score greedy/beam decoding, export strings → strings"
)


def add_arguments(parser):
    from kerasdl.apps._common import add_runtime_arguments

    parser.add_argument("--task", choices=["dates", "addition", "tsv"], default="dates", help="what to learn")
    parser.add_argument("--tsv", default=None, help="source<TAB>target file (with --task tsv)")
    parser.add_argument(
        "--attention", choices=["bahdanau", "luong", "none"], default="bahdanau", help="attention over the encoder"
    )
    parser.add_argument("--beam-width", type=int, default=5, help="beam search width k (1 = greedy)")
    parser.add_argument("--alpha", type=float, default=0.6, help="beam length-normalisation exponent (Wu et al. 2016)")
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm", help="recurrent cell")
    parser.add_argument("--units", type=int, default=128, help="recurrent units")
    parser.add_argument("--embedding-dim", type=int, default=32, help="character embedding size")
    parser.add_argument("--encoder-layers", type=int, default=1, help="stacked encoder layers")
    parser.add_argument(
        "--bidirectional-encoder",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="read the source both ways (units/2 per direction, as Bahdanau et al. 2015)",
    )
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout after embeddings and before the output")
    parser.add_argument("--train-size", type=int, default=None, help="training pairs (default: per task)")
    parser.add_argument("--test-size", type=int, default=None, help="held-out pairs (default: per task)")
    parser.add_argument("--test-fraction", type=float, default=0.1, help="held-out share of a TSV corpus")
    parser.add_argument("--epochs", type=int, default=None, help="passes over the training pairs (default: per task)")
    parser.add_argument("--batch-size", type=int, default=128, help="pairs per batch")
    parser.add_argument("--learning-rate", type=float, default=4e-3, help="Adam learning rate")
    parser.add_argument(
        "--schedule",
        default="linear_cooldown",
        help="learning-rate schedule over the run: linear_cooldown (hold, then linear to 5%%), constant, cosine, "
        "exponential, one_cycle (kerasdl.training.make_schedule)",
    )
    parser.add_argument("--max-length", type=int, default=None, help="most decoded characters (default: from data)")
    parser.add_argument("--plot-examples", type=int, default=4, help="held-out inputs in the attention heat map")
    parser.add_argument("--export-dir", default="saved_models/translate", help="exports go to EXPORT_DIR/<run-id>")
    parser.add_argument("--runs-dir", default="runs/translate", help="heat map and summary go to RUNS_DIR/<run-id>")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    add_runtime_arguments(parser)


def run(args) -> int:
    from kerasdl.apps._common import jit_flag
    from kerasdl.seq2seq.flow import train_and_evaluate_translator

    options = {name: value for name, value in vars(args).items() if name != "no_export"}
    options.update(
        attention=None if args.attention == "none" else args.attention,
        export_dir=None if args.no_export else args.export_dir,
        jit_compile=jit_flag(args.jit_compile),
    )
    result = train_and_evaluate_translator(**options)
    summary = result.summary
    for method, label in (("greedy", "greedy"), ("beam", f"beam {summary['beam_width']}")):
        s = summary["scores"][method]
        print(f"{label:>8s}: exact match {s['exact_match']:.4f}  CER {s['cer']:.4f}  BLEU {s['bleu']:.2f}")
    for source, output, reference in summary["examples"]:
        print(f"  {source!r} -> {output!r} (reference {reference!r})")
    print(f"summary: {result.run_dir / 'summary.json'}")
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
