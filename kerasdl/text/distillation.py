"""Knowledge distillation for text classifiers: a teacher's probabilities as soft targets.

Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a Neural Network": a small
student trained on a large teacher's predicted probabilities instead of the 0/1 labels
learns from how sure the teacher is, not only from which side it picks. Tang et al. (2019),
"Distilling Task-Specific Knowledge from BERT into Simple Neural Networks", do this for a
BiLSTM student and a fine-tuned BERT teacher on SST-2. For a binary sigmoid classifier
the soft target is the teacher's positive-class probability and the student's loss stays
binary cross-entropy (Hinton's loss at temperature 1).

The teacher's probabilities travel in a plain UTF-8 TSV file, ``text<TAB>probability`` with
a header line, so any model (here the fine-tuned MiniLM of
``benchmarks/sentiment_encoder.py``) can teach ``apps.sentiment --teacher-labels FILE``.
Texts are matched by their exact string, so the file does not depend on how a loader
orders or splits the training set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import numpy as np

HEADER = ("text", "probability")


def write_teacher_probabilities(path, texts, probabilities) -> Path:
    """Write one ``text<TAB>probability`` line per text (atomically); returns ``path``."""
    from kerasdl.export import atomic_file

    texts = [str(t) for t in texts]
    probabilities = np.asarray(probabilities, dtype="float64").reshape(-1)
    if len(texts) != len(probabilities):
        raise ValueError(f"{len(texts)} texts but {len(probabilities)} probabilities")
    if not np.all((probabilities >= 0) & (probabilities <= 1)):
        raise ValueError("teacher probabilities must lie in [0, 1]")
    path = Path(path)
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows((text, f"{p:.6f}") for text, p in zip(texts, probabilities))
    return path


def load_teacher_probabilities(path) -> dict[str, float]:
    """``{text: probability}`` from a file written by :func:`write_teacher_probabilities`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"teacher labels file not found: {path}")
    table = {}
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        if tuple(next(rows, ())) != HEADER:
            raise ValueError(f"{path}: expected a header line 'text<TAB>probability'")
        for line, row in enumerate(rows, start=2):
            try:
                text, value = row
                probability = float(value)
            except ValueError:
                raise ValueError(f"{path}, line {line}: expected 'text<TAB>probability', got {row!r}") from None
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"{path}, line {line}: probability {probability} is outside [0, 1]")
            table[text] = probability
    return table


def soft_targets(texts, table: dict[str, float], *, source: str = "the teacher labels file") -> np.ndarray:
    """The teacher's probability for each of ``texts`` (float32); every text must be in ``table``."""
    missing = [t for t in texts if t not in table]
    if missing:
        raise ValueError(
            f"{len(missing)} of {len(texts)} training texts are not in {source}, "
            f"e.g. {missing[0][:80]!r}; write it for the same training set"
        )
    return np.array([table[t] for t in texts], dtype="float32")


def decision_accuracy(y_true, y_pred):
    """Per-example agreement of the two sides of 0.5: binary accuracy for 0/1 labels, and for
    soft targets the agreement with the teacher's decision (Keras' ``binary_accuracy``
    compares a soft target with 0/1 and would read 0)."""
    y_true = keras.ops.reshape(y_true, keras.ops.shape(y_pred))  # (batch,) labels vs (batch, 1) outputs
    return keras.ops.cast(keras.ops.equal(y_true > 0.5, y_pred > 0.5), "float32")
