"""Text classification end to end: raw texts → ``TextVectorization`` → recurrent classifier
(or a pretrained sentence encoder) → evaluation → a SavedModel that takes raw strings.

:func:`train_text_classifier` is the whole flow behind ``kerasdl sentiment`` and
``benchmarks/sentiment.py``; its keyword arguments are the app's flags (``--max-length`` →
``max_length``). The pieces it is made of are public too: :func:`load_text_data` (which
corpus), :func:`build_text_classifier` (which model), :func:`text_dataset` (the input
pipeline, batches bucketed by length).

Data: a named corpus from the data folder (``dataset``; see :mod:`kerasdl.data.text`), a
folder in the aclImdb layout (``data_dir``) or a CSV/TSV file with named text and label
columns (``csv``; exactly two label values). Without any of the three SST-2 is used when
the data folder has it, otherwise ``DatasetNotFoundError`` says where to put the files.

Model: ``TextVectorization`` adapted on the training texts + :func:`kerasdl.models.rnn.rnn_classifier`
(``model="rnn"``) or :func:`kerasdl.models.rnn.embedding_bag_classifier` (``model="bag"``),
optionally initialised from word vectors (a GloVe-format file, or ``"contextual:PRESET"``:
each word's BERT-preset output averaged over its occurrences in the training texts); or,
with ``encoder``, a pretrained sentence encoder (strings → embeddings) with a sigmoid head.
``teacher_labels`` distils a teacher: the training targets become its probabilities
(:mod:`kerasdl.text.distillation`); validation and test keep the true labels.

Writes into ``runs_dir/<run-id>/`` the training curves, a confusion-matrix PNG,
``history.csv`` and ``summary.json``; with ``export_dir``, a SavedModel in
``export_dir/<run-id>/`` (raw strings in, positive-class probability out,
:func:`kerasdl.text.export.export_text_classifier`), reloaded and checked against the
in-memory model.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

CONTEXTUAL_PREFIX = "contextual:"
# The length buckets of the training batches (tokens); those under max_length are used.
_BUCKET_BOUNDARIES = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384)


@dataclass
class TextClassifierResult:
    """What :func:`train_text_classifier` returns.

    ``summary`` is the dict also written to ``summary.json`` (data set, sizes, settings,
    accuracy/precision/recall/F1, confusion matrix, history, paths); ``serving`` the
    in-memory strings → positive-probability model (the one exported).
    """

    summary: dict
    serving: Any = field(repr=False)

    @property
    def accuracy(self) -> float:
        return self.summary["accuracy"]

    @property
    def f1(self) -> float:
        return self.summary["f1"]

    @property
    def run_dir(self) -> Path:
        return Path(self.summary["run_dir"])

    @property
    def export_path(self) -> Path | None:
        return Path(self.summary["export_path"]) if self.summary.get("export_path") else None


def load_text_data(
    *,
    dataset: str | None = None,
    data_dir=None,
    csv=None,
    test_csv=None,
    text_column: str = "text",
    label_column: str = "label",
    quoting: str = "minimal",
    encoding: str = "utf-8",
    test_fraction: float = 0.2,
    seed: int = 0,
):
    """The :class:`~kerasdl.data.text.TextClassificationData` named by at most one of
    ``dataset``, ``data_dir`` and ``csv`` (SST-2 when none is given); ``ValueError`` for two."""
    from kerasdl.data import text

    chosen = [flag for flag, value in (("--dataset", dataset), ("--data-dir", data_dir), ("--csv", csv)) if value]
    if len(chosen) > 1:
        raise ValueError(f"give one data source, got {' and '.join(chosen)}")
    if csv:
        return text.load_text_csv(
            csv,
            text_column,
            label_column,
            test_fraction=test_fraction,
            seed=seed,
            test_path=test_csv,
            quoting=quoting,
            encoding=encoding,
        )
    if data_dir:
        return text.load_aclimdb_folder(data_dir)
    return text.load_text_classification(dataset or "sst2")


def make_vectorizer(texts, max_tokens: int, max_length: int):
    """``TextVectorization`` adapted on ``texts``: lower-cased, punctuation stripped,
    ``max_length`` ids per text (longer texts truncated, shorter ones padded with 0)."""
    import keras
    import tensorflow as tf

    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens, output_sequence_length=max_length, name="text_vectorization"
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return vectorizer


def build_text_classifier(
    train_texts,
    *,
    model: str = "rnn",
    cell: str = "lstm",
    units: int = 64,
    layers: int = 1,
    pooling: str = "last",
    bidirectional: bool = True,
    embedding_dim: int = 64,
    dropout: float = 0.3,
    max_tokens: int = 20000,
    max_length: int = 50,
    word_vectors: str | None = None,
    freeze_embeddings: bool = False,
    encoder: str | None = None,
    fine_tune: bool = False,
):
    """``(model, serving, vectorizer)``: the model that is trained, the strings → probability
    model that is exported, and the adapted ``TextVectorization``.

    For the built-in models the first takes token ids (vectorised once in the tf.data
    pipeline, as keras.io recommends for speed) and both share their layers. With
    ``encoder`` the serving model is the one trained, and ``model``/``vectorizer`` are ``None``.
    """
    import keras

    from kerasdl.models.rnn import embedding_bag_classifier, rnn_classifier

    strings = keras.Input(shape=(), dtype="string", name="text")
    if encoder:
        x = _encoder_layer(encoder, trainable=fine_tune)(strings)
        if dropout:
            x = keras.layers.Dropout(dropout, name="dropout")(x)
        probability = keras.layers.Dense(1, activation="sigmoid", name="predictions")(x)
        serving = keras.Model(
            strings, keras.layers.Reshape((), name="positive_probability")(probability), name="encoder_sentiment"
        )
        return None, serving, None
    vectorizer = make_vectorizer(train_texts, max_tokens, max_length)
    vocabulary = vectorizer.get_vocabulary()
    matrix = None
    if word_vectors:
        from kerasdl.data.text import load_word_vectors

        if word_vectors.startswith(CONTEXTUAL_PREFIX):
            with tempfile.TemporaryDirectory(prefix="kerasdl-word-vectors-") as tmp:
                path = _contextual_word_vectors(
                    word_vectors[len(CONTEXTUAL_PREFIX) :], train_texts, Path(tmp) / "vectors.txt"
                )
                matrix = load_word_vectors(path, vocabulary, embedding_dim)
        else:
            matrix = load_word_vectors(word_vectors, vocabulary, embedding_dim)
    common = dict(
        vocab_size=len(vocabulary),
        embedding_dim=embedding_dim,
        num_classes=1,
        dropout=dropout,
        embedding_matrix=matrix,
        trainable_embedding=not freeze_embeddings,
        sequence_length=None,
    )  # any length: training batches are bucketed by length
    if model == "bag":
        trained = embedding_bag_classifier(**common)
    else:
        trained = rnn_classifier(
            cell=cell, units=units, layers=layers, bidirectional=bidirectional, pooling=pooling, **common
        )
    probability = keras.layers.Reshape((), name="positive_probability")(trained(vectorizer(strings)))
    serving = keras.Model(strings, probability, name=f"{trained.name}_serving")
    return trained, serving, vectorizer


def _contextual_word_vectors(preset, train_texts, path):
    """``word_vectors="contextual:PRESET"``: static vectors from the preset's contextual
    outputs on the training texts (:func:`kerasdl.text.encoders.export_contextual_word_vectors`)."""
    try:
        from kerasdl.text.encoders import MINILM_NAMES, export_contextual_word_vectors, minilm_preset_dir

        preset_dir = minilm_preset_dir() if preset in MINILM_NAMES else Path(preset)
        print(f"Computing contextual word vectors from {preset_dir} on {len(train_texts)} training texts", flush=True)
        return export_contextual_word_vectors(preset_dir, train_texts, path, verbose=1 if sys.stdout.isatty() else 2)
    except (ImportError, FileNotFoundError, ValueError) as error:  # ModuleNotFoundError is an ImportError
        raise ValueError(f"--word-vectors {CONTEXTUAL_PREFIX}{preset}: {error}") from error


def _teacher_targets(path, texts):
    """``teacher_labels``: the teacher's probability for each training text (soft targets,
    :mod:`kerasdl.text.distillation`); ``ValueError`` when the file is missing or incomplete."""
    from kerasdl.text.distillation import load_teacher_probabilities, soft_targets

    try:
        return soft_targets([str(t) for t in texts], load_teacher_probabilities(path), source=str(path))
    except (FileNotFoundError, ValueError) as error:
        raise ValueError(f"--teacher-labels: {error}") from error


def _encoder_layer(handle, trainable):
    try:
        from kerasdl.text.encoders import text_encoder_layer
    except ImportError as error:
        raise ValueError(
            f"--encoder needs kerasdl.text.encoders (the TF Hub text-encoder support), "
            f"which could not be imported: {error}"
        ) from error
    return text_encoder_layer(handle, trainable=trainable)


def as_strings(texts):
    """Texts as a ``tf.string`` tensor (NumPy's fixed-width unicode arrays are not accepted)."""
    import tensorflow as tf

    return tf.constant([str(t) for t in texts], dtype=tf.string)


def text_dataset(texts, labels, batch_size, vectorizer=None, shuffle=False, seed=0):
    """Batches of ``(texts, labels)``, or with ``vectorizer`` of ``(token ids, labels)``
    grouped by length: each text is vectorised once, trimmed to its real length and batched
    with texts of similar length (``bucket_by_sequence_length``), padded to the batch's
    longest. The mask makes padding irrelevant, so only the recurrent steps are saved
    (SST-2 phrases average about 10 tokens against a 50-token maximum)."""
    import numpy as np
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((as_strings(texts), np.asarray(labels, "float32")))
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
    boundaries = sorted({b for b in _BUCKET_BOUNDARIES if b < max_length})
    ds = ds.bucket_by_sequence_length(
        lambda ids, label: tf.shape(ids)[0], boundaries, [batch_size] * (len(boundaries) + 1)
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def train_text_classifier(
    *,
    dataset: str | None = None,
    data_dir=None,
    csv=None,
    test_csv=None,
    text_column: str = "text",
    label_column: str = "label",
    quoting: str = "minimal",
    encoding: str = "utf-8",
    test_fraction: float = 0.2,
    max_train: int | None = None,
    model: str = "rnn",
    cell: str = "lstm",
    units: int = 64,
    layers: int = 1,
    pooling: str = "last",
    bidirectional: bool = True,
    embedding_dim: int = 64,
    dropout: float = 0.3,
    max_tokens: int = 20000,
    max_length: int = 50,
    word_vectors: str | None = None,
    freeze_embeddings: bool = False,
    encoder: str | None = None,
    fine_tune: bool = False,
    epochs: int = 2,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    teacher_labels=None,
    clipnorm: float = 1.0,
    validation_fraction: float = 0.1,
    export_dir="saved_models/sentiment",
    runs_dir="runs/sentiment",
    seed: int = 0,
    jit_compile="auto",
    mixed_precision: bool = False,
    strategy: str = "auto",
    log: Callable[[str], None] = print,
) -> TextClassifierResult:
    """Train a binary text classifier, evaluate it on the test split and (unless
    ``export_dir`` is empty) export it; see the module docstring for the flow.

    A bad setting raises ``ValueError`` before any data is read or folder created; missing
    data raises ``DatasetNotFoundError``; a NaN/inf loss raises ``RuntimeError``.
    ``mixed_precision`` sets Keras' global dtype policy (the caller restores it);
    ``jit_compile`` is ``"auto"``, ``True`` or ``False``.
    """
    # The settings as given, for summary.json (taken first, before any other local exists).
    settings = {
        k: str(v) if isinstance(v, Path) else v
        for k, v in locals().items()
        if isinstance(v, (int, float, str, bool, type(None), Path))
    }
    import numpy as np

    from kerasdl._runs import setup_runtime, write_summary
    from kerasdl._validation import check_float, check_int
    from kerasdl.data import train_val_split
    from kerasdl.evaluation.classification import classification_summary
    from kerasdl.export import check_export_agrees, create_run_dir
    from kerasdl.plots import plot_history
    from kerasdl.text.export import export_text_classifier, reload_and_predict
    from kerasdl.training import compile_model, make_callbacks

    sizes = dict(
        epochs=epochs,
        batch_size=batch_size,
        units=units,
        layers=layers,
        embedding_dim=embedding_dim,
        max_length=max_length,
    )
    for name, value in sizes.items():
        check_int(name, value, minimum=1)
    check_int("max_tokens", max_tokens, minimum=3)
    check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
    check_float("clipnorm", clipnorm, minimum=0.0)
    if max_train is not None:
        check_int("max_train", max_train, minimum=2)
    if pooling != "last" and (encoder or model != "rnn"):
        raise ValueError("--pooling applies to the recurrent model (--model rnn) only")
    start = time.perf_counter()
    distribution = setup_runtime(seed=seed, mixed_precision=mixed_precision, strategy=strategy)
    data = load_text_data(
        dataset=dataset,
        data_dir=data_dir,
        csv=csv,
        test_csv=test_csv,
        text_column=text_column,
        label_column=label_column,
        quoting=quoting,
        encoding=encoding,
        test_fraction=test_fraction,
        seed=seed,
    )
    x_train, y_train = data.x_train, data.y_train
    if max_train is not None and max_train < len(x_train):
        picked = np.random.default_rng(seed).permutation(len(x_train))[:max_train]
        x_train, y_train = x_train[picked], y_train[picked]
    (x_train, y_train), (x_val, y_val) = train_val_split(x_train, y_train, validation_fraction, seed=seed)
    log(
        f"Data set: {data.name}: {len(x_train)} train / {len(x_val)} validation / {len(data.x_test)} "
        f"{data.test_name} texts, classes {data.class_names}"
    )
    metrics = ("accuracy",)
    if teacher_labels:
        import keras

        from kerasdl.text.distillation import decision_accuracy

        y_train = _teacher_targets(teacher_labels, x_train)
        metrics = (keras.metrics.MeanMetricWrapper(decision_accuracy, name="accuracy"),)
        log(
            f"Distilling: training targets are the teacher's probabilities from {teacher_labels} "
            f"(validation and test keep the true labels)"
        )

    with distribution.scope():
        token_model, serving, vectorizer = build_text_classifier(
            x_train,
            model=model,
            cell=cell,
            units=units,
            layers=layers,
            pooling=pooling,
            bidirectional=bidirectional,
            embedding_dim=embedding_dim,
            dropout=dropout,
            max_tokens=max_tokens,
            max_length=max_length,
            word_vectors=word_vectors,
            freeze_embeddings=freeze_embeddings,
            encoder=encoder,
            fine_tune=fine_tune,
        )
        trained = serving if token_model is None else token_model
        compile_model(
            trained,
            "adam",
            learning_rate,
            loss="binary_crossentropy",
            metrics=metrics,
            clipnorm=clipnorm or None,
            jit_compile=jit_compile,
        )
    log(
        f"Model: {trained.name}, {trained.count_params():,} parameters"
        + (
            f", vocabulary {vectorizer.vocabulary_size():,} tokens, {max_length} tokens per text"
            if vectorizer is not None
            else ""
        )
    )
    run_dir = create_run_dir(runs_dir)
    with warnings.catch_warnings():  # bucketed batches have no known count: Keras warns at the first epoch's end
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        history = trained.fit(
            text_dataset(x_train, y_train, batch_size, vectorizer, shuffle=True, seed=seed),
            validation_data=text_dataset(x_val, y_val, 256, vectorizer),
            epochs=epochs,
            shuffle=False,
            callbacks=make_callbacks(csv_path=run_dir / "history.csv"),
            verbose=2,
        )
    losses = history.history["loss"]
    if len(losses) < epochs or not np.all(np.isfinite(losses)):
        raise RuntimeError(
            f"training stopped on a NaN/inf loss after {len(losses)} epoch(s); lower --learning-rate or --clipnorm"
        )

    probabilities = serving.predict(as_strings(data.x_test), batch_size=256, verbose=0)
    figures = classification_summary(
        data.y_test,
        (probabilities >= 0.5).astype(int),
        class_names=data.class_names,
        confusion_png=run_dir / "confusion_matrix.png",
    )
    curves = plot_history(
        history,
        run_dir / "training_curves.png",
        title=f"{trained.name} on {data.name}: {data.test_name} accuracy {figures['accuracy']:.4f}",
    )
    summary = {
        "dataset": data.name,
        "test_split": data.test_name,
        "class_names": data.class_names,
        "train_texts": len(x_train),
        "validation_texts": len(x_val),
        "test_texts": len(data.x_test),
        "model": trained.name,
        "parameters": trained.count_params(),
        "epochs": len(losses),
        "settings": settings,
        "accuracy": figures["accuracy"],
        "precision": figures["precision"],
        "recall": figures["recall"],
        "f1": figures["f1"],
        "confusion_matrix": figures["confusion_matrix"],
        "confusion_png": figures["confusion_png"],
        "curves_png": str(curves),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "run_dir": str(run_dir),
        "export_path": None,
    }
    if export_dir:
        export_path = Path(export_dir) / run_dir.name
        export_text_classifier(serving, export_path, data.class_names)
        sample = [str(t) for t in data.x_test[:64]]
        diff = check_export_agrees(reload_and_predict(export_path, sample), probabilities[:64])
        summary.update(export_path=str(export_path), export_max_abs_diff=diff)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_summary(run_dir, summary)
    return TextClassifierResult(summary=summary, serving=serving)
