"""Sentiment classification: raw text → TextVectorization → recurrent classifier → SavedModel.

    kerasdl sentiment --dataset sst2 --epochs 2                   # or python -m apps.sentiment
    kerasdl sentiment --dataset polarity --model bag
    kerasdl sentiment --data-dir aclImdb                          # aclImdb layout: train/ and test/
    kerasdl sentiment --csv reviews.csv --text-column review --label-column stars
    kerasdl sentiment --dataset sst2 --encoder saved_models/minilm --fine-tune

Data: a named corpus from the data folder (``--dataset``; see :mod:`kerasdl.data.text`), a
folder in the aclImdb layout (``--data-dir``), or a CSV/TSV file with named text and label
columns (``--csv``; exactly two label values). There is no embedded default: without
``--dataset``/``--data-dir``/``--csv`` the app uses SST-2 when the data folder has it and
otherwise stops with ``DatasetNotFoundError`` (exit status 1) saying where to put the files.

Model: ``TextVectorization`` (adapted on the training texts; texts longer than
``--max-length`` tokens are truncated) + :func:`kerasdl.models.rnn.rnn_classifier` (a
bidirectional LSTM by default), or ``--model bag`` (the embedding-bag baseline), or
``--encoder PATH_OR_HANDLE``: a pretrained sentence encoder through
``kerasdl.text.encoders.text_encoder_layer`` (strings → embeddings) with a sigmoid head,
frozen unless ``--fine-tune``. ``--word-vectors glove.txt`` initialises the embedding from
a GloVe-format file (``--freeze-embeddings`` keeps it fixed); ``--word-vectors
contextual:all-minilm-l6-v2`` (or ``contextual:PRESET_DIR``) computes such vectors first,
each word's MiniLM output averaged over its occurrences in the training texts
(:func:`kerasdl.text.encoders.export_contextual_word_vectors`; ``--embedding-dim`` must
equal the encoder's width, 384 for MiniLM). ``--pooling max`` max-pools the recurrent
states over time (BiLSTM-max). ``--teacher-labels FILE`` distils a teacher into the model:
the training targets become the teacher's probabilities (a ``text<TAB>probability`` TSV
covering every training text, :mod:`kerasdl.text.distillation`; Hinton et al. 2015, Tang
et al. 2019); validation and test keep the true labels.

Outputs: accuracy, precision, recall and F1 on the test split, a confusion-matrix PNG and
the training curves in ``runs/sentiment/<run-id>/`` with ``summary.json``; a SavedModel in
``saved_models/sentiment/<run-id>/`` whose ``serve`` signature takes raw strings
(``tf.string``, shape ``(None,)``) and returns the positive-class probability, shape
``(None,)``; the class names are in its ``assets.extra/class_names.txt``. The app reloads
the export and checks it against the in-memory model. ``kerasdl predict`` serves it.

The flow itself is :func:`kerasdl.text.classifier.train_text_classifier` (each flag is one
of its keyword arguments); this module parses the flags, calls it and prints the summary.
"""

from __future__ import annotations

import sys

from kerasdl.apps._common import add_runtime_arguments, jit_flag

DESCRIPTION = "train a sentiment classifier on raw text (SST-2, polarity, IMDB, CSV) and export it"
DATASET_CHOICES = ("sst2", "polarity", "uci", "imdb_subset", "imdb_keras_subset", "imdb")


def add_arguments(parser):
    source = parser.add_argument_group("data (one of)")
    source.add_argument(
        "--dataset",
        choices=DATASET_CHOICES,
        default=None,
        help="named corpus in the data folder (default: sst2 when on disk)",
    )
    source.add_argument(
        "--data-dir", default=None, help="folder in the aclImdb layout: train/{neg,pos}, test/{neg,pos}"
    )
    source.add_argument("--csv", default=None, help="CSV/TSV file with a text and a label column")
    parser.add_argument("--test-csv", default=None, help="separate test file for --csv (else a split)")
    parser.add_argument("--text-column", default="text", help="--csv: name of the text column")
    parser.add_argument("--label-column", default="label", help="--csv: name of the label column (two classes)")
    parser.add_argument(
        "--quoting",
        choices=["minimal", "none"],
        default="minimal",
        help="--csv: 'none' reads quote characters as text (files with stray quotes)",
    )
    parser.add_argument("--encoding", default="utf-8", help="--csv: file encoding")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="--csv: fraction held out for testing")
    parser.add_argument("--max-train", type=int, default=None, help="use at most N training texts (quick runs)")

    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=["rnn", "bag"], default="rnn", help="recurrent classifier or embedding bag")
    model.add_argument("--cell", choices=["lstm", "gru", "simple"], default="lstm", help="recurrent cell")
    model.add_argument("--units", type=int, default=64, help="units per recurrent layer (per direction)")
    model.add_argument("--layers", type=int, default=1, help="recurrent layers")
    model.add_argument(
        "--pooling",
        choices=["last", "max", "mean"],
        default="last",
        help="rnn: the last state, or the max/mean of the states over time (BiLSTM-max)",
    )
    model.add_argument(
        "--no-bidirectional",
        dest="bidirectional",
        action="store_false",
        help="one direction only (default: bidirectional)",
    )
    model.add_argument("--embedding-dim", type=int, default=64, help="embedding size")
    model.add_argument("--dropout", type=float, default=0.3, help="dropout after the embedding and each layer")
    model.add_argument("--max-tokens", type=int, default=20000, help="vocabulary size (incl. padding and [UNK])")
    model.add_argument("--max-length", type=int, default=50, help="tokens per text; longer texts are truncated")
    model.add_argument(
        "--word-vectors",
        default=None,
        help="GloVe-format file to initialise the embedding, or contextual:PRESET (e.g. "
        "contextual:all-minilm-l6-v2): static vectors averaged from a BERT preset's "
        "contextual outputs on the training texts (needs the hub extra)",
    )
    model.add_argument("--freeze-embeddings", action="store_true", help="keep the (pretrained) embedding fixed")
    model.add_argument(
        "--encoder", default=None, help="pretrained text encoder (TF Hub handle, SavedModel folder or KerasHub preset)"
    )
    model.add_argument("--fine-tune", action="store_true", help="--encoder: train the encoder's weights too")

    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int, default=2, help="training epochs")
    training.add_argument("--batch-size", type=int, default=64, help="batch size")
    training.add_argument("--learning-rate", type=float, default=2e-3, help="Adam learning rate")
    training.add_argument(
        "--teacher-labels",
        default=None,
        metavar="TSV",
        help="distil: train on a teacher's probabilities (text<TAB>probability per training "
        "text, e.g. from benchmarks/sentiment_encoder.py) instead of the 0/1 labels",
    )
    training.add_argument("--clipnorm", type=float, default=1.0, help="gradient clipping by norm (0: off)")
    training.add_argument(
        "--validation-fraction", type=float, default=0.1, help="fraction of the training texts held out for validation"
    )
    parser.add_argument(
        "--export",
        dest="export_dir",
        default="saved_models/sentiment",
        help="folder that receives <run-id>/ (the SavedModel); '' skips the export",
    )
    parser.add_argument("--runs-dir", default="runs/sentiment", help="folder for curves, logs and the summary")
    add_runtime_arguments(parser)


def classifier_options(args) -> dict:
    """The parsed flags as :func:`kerasdl.text.classifier.train_text_classifier` keyword
    arguments: every flag's name is the keyword's (``--max-length`` → ``max_length``);
    ``--jit-compile on|off|auto`` becomes ``True``/``False``/``"auto"``."""
    return {**vars(args), "jit_compile": jit_flag(args.jit_compile)}


def print_summary(summary: dict, log=print) -> None:
    log("\nSummary")
    log(
        f"  data set   {summary['dataset']} ({summary['train_texts']} train, {summary['test_texts']} "
        f"{summary['test_split']})"
    )
    log(f"  model      {summary['model']}, {summary['parameters']:,} parameters, {summary['epochs']} epochs")
    log(
        f"  {summary['test_split']:<10s} accuracy {summary['accuracy']:.4f}  precision {summary['precision']:.4f}  "
        f"recall {summary['recall']:.4f}  F1 {summary['f1']:.4f}"
    )
    log(f"  plots      {summary['curves_png']}, {summary['confusion_png']}")
    if summary.get("export_path"):
        log(
            f"  export     {summary['export_path']} (SavedModel: raw strings in, positive probability out; "
            f"reload max |diff| {summary['export_max_abs_diff']:.1e})"
        )
    log(f"  time       {summary['seconds']:.0f} s")


def run(args) -> int:
    from kerasdl.text.classifier import train_text_classifier

    print_summary(train_text_classifier(**classifier_options(args)).summary)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
