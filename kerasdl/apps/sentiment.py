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
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments, new_run_dir, setup_runtime, write_summary

DESCRIPTION = "train a sentiment classifier on raw text (SST-2, polarity, IMDB, CSV) and export it"
CONTEXTUAL_PREFIX = "contextual:"
DATASET_CHOICES = ("sst2", "polarity", "uci", "imdb_subset", "imdb_keras_subset", "imdb")


def add_arguments(parser):
    source = parser.add_argument_group("data (one of)")
    source.add_argument("--dataset", choices=DATASET_CHOICES, default=None,
                        help="named corpus in the data folder (default: sst2 when on disk)")
    source.add_argument("--data-dir", default=None, help="folder in the aclImdb layout: train/{neg,pos}, test/{neg,pos}")
    source.add_argument("--csv", default=None, help="CSV/TSV file with a text and a label column")
    parser.add_argument("--test-csv", default=None, help="separate test file for --csv (else a split)")
    parser.add_argument("--text-column", default="text", help="--csv: name of the text column")
    parser.add_argument("--label-column", default="label", help="--csv: name of the label column (two classes)")
    parser.add_argument("--quoting", choices=["minimal", "none"], default="minimal",
                        help="--csv: 'none' reads quote characters as text (files with stray quotes)")
    parser.add_argument("--encoding", default="utf-8", help="--csv: file encoding")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="--csv: fraction held out for testing")
    parser.add_argument("--max-train", type=int, default=None, help="use at most N training texts (quick runs)")

    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=["rnn", "bag"], default="rnn", help="recurrent classifier or embedding bag")
    model.add_argument("--cell", choices=["lstm", "gru", "simple"], default="lstm", help="recurrent cell")
    model.add_argument("--units", type=int, default=64, help="units per recurrent layer (per direction)")
    model.add_argument("--layers", type=int, default=1, help="recurrent layers")
    model.add_argument("--pooling", choices=["last", "max", "mean"], default="last",
                       help="rnn: the last state, or the max/mean of the states over time (BiLSTM-max)")
    model.add_argument("--no-bidirectional", dest="bidirectional", action="store_false",
                       help="one direction only (default: bidirectional)")
    model.add_argument("--embedding-dim", type=int, default=64, help="embedding size")
    model.add_argument("--dropout", type=float, default=0.3, help="dropout after the embedding and each layer")
    model.add_argument("--max-tokens", type=int, default=20000, help="vocabulary size (incl. padding and [UNK])")
    model.add_argument("--max-length", type=int, default=50, help="tokens per text; longer texts are truncated")
    model.add_argument("--word-vectors", default=None,
                       help="GloVe-format file to initialise the embedding, or contextual:PRESET (e.g. "
                            "contextual:all-minilm-l6-v2): static vectors averaged from a BERT preset's "
                            "contextual outputs on the training texts (needs the hub extra)")
    model.add_argument("--freeze-embeddings", action="store_true", help="keep the (pretrained) embedding fixed")
    model.add_argument("--encoder", default=None,
                       help="pretrained text encoder (TF Hub handle, SavedModel folder or KerasHub preset)")
    model.add_argument("--fine-tune", action="store_true", help="--encoder: train the encoder's weights too")

    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int, default=2, help="training epochs")
    training.add_argument("--batch-size", type=int, default=64, help="batch size")
    training.add_argument("--learning-rate", type=float, default=2e-3, help="Adam learning rate")
    training.add_argument("--teacher-labels", default=None, metavar="TSV",
                          help="distil: train on a teacher's probabilities (text<TAB>probability per training "
                               "text, e.g. from benchmarks/sentiment_encoder.py) instead of the 0/1 labels")
    training.add_argument("--clipnorm", type=float, default=1.0, help="gradient clipping by norm (0: off)")
    training.add_argument("--validation-fraction", type=float, default=0.1,
                          help="fraction of the training texts held out for validation")
    parser.add_argument("--export", dest="export_dir", default="saved_models/sentiment",
                        help="folder that receives <run-id>/ (the SavedModel); '' skips the export")
    parser.add_argument("--runs-dir", default="runs/sentiment", help="folder for curves, logs and the summary")
    add_runtime_arguments(parser)


def load_data(args):
    """The :class:`TextClassificationData` the flags name (see the module docstring)."""
    from kerasdl.cli import UsageError
    from kerasdl.data import text

    chosen = [flag for flag, value in (("--dataset", args.dataset), ("--data-dir", args.data_dir), ("--csv", args.csv))
              if value]
    if len(chosen) > 1:
        raise UsageError(f"give one data source, got {' and '.join(chosen)}")
    if args.csv:
        return text.load_text_csv(args.csv, args.text_column, args.label_column, test_fraction=args.test_fraction,
                                  seed=args.seed, test_path=args.test_csv, quoting=args.quoting,
                                  encoding=args.encoding)
    if args.data_dir:
        return text.load_aclimdb_folder(args.data_dir)
    return text.load_text_classification(args.dataset or "sst2")


def make_vectorizer(texts, max_tokens: int, max_length: int):
    """``TextVectorization`` adapted on ``texts``: lower-cased, punctuation stripped,
    ``max_length`` ids per text (longer texts truncated, shorter ones padded with 0)."""
    import keras
    import tensorflow as tf

    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_sequence_length=max_length,
                                                name="text_vectorization")
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return vectorizer


def build_model(args, train_texts):
    """``(model, serving)``: the model that is trained and the strings → probability model
    that is exported. For the built-in models the first takes token ids (vectorised once
    in the tf.data pipeline, as keras.io recommends for speed); both share their layers."""
    import keras

    from kerasdl.models.rnn import embedding_bag_classifier, rnn_classifier

    strings = keras.Input(shape=(), dtype="string", name="text")
    if args.encoder:
        encoder = _encoder_layer(args.encoder, trainable=args.fine_tune)
        x = encoder(strings)
        if args.dropout:
            x = keras.layers.Dropout(args.dropout, name="dropout")(x)
        probability = keras.layers.Dense(1, activation="sigmoid", name="predictions")(x)
        serving = keras.Model(strings, keras.layers.Reshape((), name="positive_probability")(probability),
                              name="encoder_sentiment")
        return None, serving, None
    vectorizer = make_vectorizer(train_texts, args.max_tokens, args.max_length)
    vocabulary = vectorizer.get_vocabulary()
    matrix = None
    if args.word_vectors:
        from kerasdl.data.text import load_word_vectors

        if args.word_vectors.startswith(CONTEXTUAL_PREFIX):
            with tempfile.TemporaryDirectory(prefix="kerasdl-word-vectors-") as tmp:
                path = _contextual_word_vectors(args.word_vectors[len(CONTEXTUAL_PREFIX):], train_texts,
                                                Path(tmp) / "vectors.txt")
                matrix = load_word_vectors(path, vocabulary, args.embedding_dim)
        else:
            matrix = load_word_vectors(args.word_vectors, vocabulary, args.embedding_dim)
    common = dict(vocab_size=len(vocabulary), embedding_dim=args.embedding_dim, num_classes=1, dropout=args.dropout,
                  embedding_matrix=matrix, trainable_embedding=not args.freeze_embeddings,
                  sequence_length=None)  # any length: training batches are bucketed by length
    if args.model == "bag":
        model = embedding_bag_classifier(**common)
    else:
        model = rnn_classifier(cell=args.cell, units=args.units, layers=args.layers,
                               bidirectional=args.bidirectional, pooling=args.pooling, **common)
    probability = keras.layers.Reshape((), name="positive_probability")(model(vectorizer(strings)))
    serving = keras.Model(strings, probability, name=f"{model.name}_serving")
    return model, serving, vectorizer


def _contextual_word_vectors(preset, train_texts, path):
    """``--word-vectors contextual:PRESET``: static vectors from the preset's contextual
    outputs on the training texts (:func:`kerasdl.text.encoders.export_contextual_word_vectors`)."""
    from kerasdl.cli import UsageError

    try:
        from kerasdl.text.encoders import MINILM_NAMES, export_contextual_word_vectors, minilm_preset_dir

        preset_dir = minilm_preset_dir() if preset in MINILM_NAMES else Path(preset)
        print(f"Computing contextual word vectors from {preset_dir} on {len(train_texts)} training texts", flush=True)
        return export_contextual_word_vectors(preset_dir, train_texts, path, verbose=1 if sys.stdout.isatty() else 2)
    except (ImportError, FileNotFoundError, ValueError) as error:  # ModuleNotFoundError is an ImportError
        raise UsageError(f"--word-vectors {CONTEXTUAL_PREFIX}{preset}: {error}") from error


def _teacher_targets(path, texts):
    """``--teacher-labels``: the teacher's probability for each training text (soft targets,
    :mod:`kerasdl.text.distillation`)."""
    from kerasdl.cli import UsageError
    from kerasdl.text.distillation import load_teacher_probabilities, soft_targets

    try:
        return soft_targets([str(t) for t in texts], load_teacher_probabilities(path), source=str(path))
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(f"--teacher-labels: {error}") from error


def _encoder_layer(handle, trainable):
    from kerasdl.cli import UsageError

    try:
        from kerasdl.text.encoders import text_encoder_layer
    except ImportError as error:
        raise UsageError(f"--encoder needs kerasdl.text.encoders (the TF Hub text-encoder support), "
                         f"which could not be imported: {error}") from error
    return text_encoder_layer(handle, trainable=trainable)


def _strings(texts):
    """Texts as a ``tf.string`` tensor (NumPy's fixed-width unicode arrays are not accepted)."""
    import tensorflow as tf

    return tf.constant([str(t) for t in texts], dtype=tf.string)


def _dataset(texts, labels, batch_size, vectorizer=None, shuffle=False, seed=0):
    """Batches of ``(texts, labels)``, or with ``vectorizer`` of ``(token ids, labels)``
    grouped by length: each text is vectorised once, trimmed to its real length and batched
    with texts of similar length (``bucket_by_sequence_length``), padded to the batch's
    longest. The mask makes padding irrelevant, so only the recurrent steps are saved
    (SST-2 phrases average about 10 tokens against a 50-token maximum)."""
    import numpy as np
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((_strings(texts), np.asarray(labels, "float32")))
    if vectorizer is None:
        if shuffle:
            ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def trimmed(text, label):
        ids = vectorizer(text)
        length = tf.maximum(tf.reduce_sum(tf.cast(ids != 0, tf.int32)), 1)
        return ids[:length], label

    ds = ds.map(trimmed, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    max_length = int(vectorizer.get_config()["output_sequence_length"])
    boundaries = sorted({b for b in (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384) if b < max_length})
    ds = ds.bucket_by_sequence_length(lambda ids, label: tf.shape(ids)[0], boundaries,
                                      [batch_size] * (len(boundaries) + 1))
    return ds.prefetch(tf.data.AUTOTUNE)


def train_and_export(args, log=print, *, return_model: bool = False):
    """The whole app; returns the summary dict also written to ``summary.json`` (and the
    in-memory strings → probability model with ``return_model``)."""
    import numpy as np

    from kerasdl._validation import check_float, check_int
    from kerasdl.data import train_val_split
    from kerasdl.evaluation.classification import classification_summary
    from kerasdl.export import check_export_agrees
    from kerasdl.text.export import export_text_classifier, reload_and_predict
    from kerasdl.plots import plot_history
    from kerasdl.training import compile_model, make_callbacks

    for name in ("epochs", "batch_size", "units", "layers", "embedding_dim", "max_length"):
        check_int(name, getattr(args, name), minimum=1)
    check_int("max_tokens", args.max_tokens, minimum=3)
    check_float("learning_rate", args.learning_rate, minimum=0.0, min_inclusive=False)
    check_float("clipnorm", args.clipnorm, minimum=0.0)
    if args.max_train is not None:
        check_int("max_train", args.max_train, minimum=2)
    if args.pooling != "last" and (args.encoder or args.model != "rnn"):
        from kerasdl.cli import UsageError

        raise UsageError("--pooling applies to the recurrent model (--model rnn) only")
    start = time.perf_counter()
    strategy = setup_runtime(args)
    data = load_data(args)
    x_train, y_train = data.x_train, data.y_train
    if args.max_train is not None and args.max_train < len(x_train):
        picked = np.random.default_rng(args.seed).permutation(len(x_train))[:args.max_train]
        x_train, y_train = x_train[picked], y_train[picked]
    (x_train, y_train), (x_val, y_val) = train_val_split(x_train, y_train, args.validation_fraction, seed=args.seed)
    log(f"Data set: {data.name}: {len(x_train)} train / {len(x_val)} validation / {len(data.x_test)} "
        f"{data.test_name} texts, classes {data.class_names}")
    metrics = ("accuracy",)
    if args.teacher_labels:
        import keras

        from kerasdl.text.distillation import decision_accuracy

        y_train = _teacher_targets(args.teacher_labels, x_train)
        metrics = (keras.metrics.MeanMetricWrapper(decision_accuracy, name="accuracy"),)
        log(f"Distilling: training targets are the teacher's probabilities from {args.teacher_labels} "
            f"(validation and test keep the true labels)")

    with strategy.scope():
        model, serving, vectorizer = build_model(args, x_train)
        trained = serving if model is None else model
        compile_model(trained, "adam", args.learning_rate, loss="binary_crossentropy", metrics=metrics,
                      clipnorm=args.clipnorm or None, jit_compile=args.jit)
    log(f"Model: {trained.name}, {trained.count_params():,} parameters"
        + (f", vocabulary {vectorizer.vocabulary_size():,} tokens, {args.max_length} tokens per text"
           if vectorizer is not None else ""))
    run_dir = new_run_dir(args.runs_dir)
    with warnings.catch_warnings():  # bucketed batches have no known count: Keras warns at the first epoch's end
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        history = trained.fit(
            _dataset(x_train, y_train, args.batch_size, vectorizer, shuffle=True, seed=args.seed),
            validation_data=_dataset(x_val, y_val, 256, vectorizer), epochs=args.epochs, shuffle=False,
            callbacks=make_callbacks(csv_path=run_dir / "history.csv"), verbose=2)
    losses = history.history["loss"]
    if len(losses) < args.epochs or not np.all(np.isfinite(losses)):
        raise RuntimeError(f"training stopped on a NaN/inf loss after {len(losses)} epoch(s); lower "
                           f"--learning-rate or --clipnorm")

    probabilities = serving.predict(_strings(data.x_test), batch_size=256, verbose=0)
    figures = classification_summary(data.y_test, (probabilities >= 0.5).astype(int), class_names=data.class_names,
                                     confusion_png=run_dir / "confusion_matrix.png")
    curves = plot_history(history, run_dir / "training_curves.png",
                          title=f"{trained.name} on {data.name}: {data.test_name} accuracy {figures['accuracy']:.4f}")
    summary = {
        "dataset": data.name, "test_split": data.test_name, "class_names": data.class_names,
        "train_texts": len(x_train), "validation_texts": len(x_val), "test_texts": len(data.x_test),
        "model": trained.name, "parameters": trained.count_params(), "epochs": len(losses),
        "settings": {k: v for k, v in vars(args).items() if isinstance(v, (int, float, str, bool, type(None)))},
        "accuracy": figures["accuracy"], "precision": figures["precision"], "recall": figures["recall"],
        "f1": figures["f1"], "confusion_matrix": figures["confusion_matrix"],
        "confusion_png": figures["confusion_png"], "curves_png": str(curves),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "run_dir": str(run_dir), "export_path": None,
    }
    if args.export_dir:
        export_path = Path(args.export_dir) / run_dir.name
        export_text_classifier(serving, export_path, data.class_names)
        sample = [str(t) for t in data.x_test[:64]]
        diff = check_export_agrees(reload_and_predict(export_path, sample), probabilities[:64])
        summary.update(export_path=str(export_path), export_max_abs_diff=diff)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_summary(run_dir, summary)
    return (summary, serving) if return_model else summary


def print_summary(summary: dict, log=print) -> None:
    log("\nSummary")
    log(f"  data set   {summary['dataset']} ({summary['train_texts']} train, {summary['test_texts']} "
        f"{summary['test_split']})")
    log(f"  model      {summary['model']}, {summary['parameters']:,} parameters, {summary['epochs']} epochs")
    log(f"  {summary['test_split']:<10s} accuracy {summary['accuracy']:.4f}  precision {summary['precision']:.4f}  "
        f"recall {summary['recall']:.4f}  F1 {summary['f1']:.4f}")
    log(f"  plots      {summary['curves_png']}, {summary['confusion_png']}")
    if summary.get("export_path"):
        log(f"  export     {summary['export_path']} (SavedModel: raw strings in, positive probability out; "
            f"reload max |diff| {summary['export_max_abs_diff']:.1e})")
    log(f"  time       {summary['seconds']:.0f} s")


def run(args) -> int:
    print_summary(train_and_export(args))
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
