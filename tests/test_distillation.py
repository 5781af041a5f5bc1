"""Teacher probabilities for knowledge distillation: file round trip, matching and errors."""

import numpy as np
import pytest

import kerasdl  # noqa: F401
from kerasdl.text.distillation import (
    decision_accuracy,
    load_teacher_probabilities,
    soft_targets,
    write_teacher_probabilities,
)


def test_round_trip_keeps_awkward_texts(tmp_path):
    texts = ["a good film", 'he said "great"', "tab\tinside", "naïve, ünïcode", "x" * 300]
    path = write_teacher_probabilities(tmp_path / "t.tsv", texts, np.array([[0.9], [0.1], [0.5], [1.0], [0.0]]))
    table = load_teacher_probabilities(path)
    np.testing.assert_allclose(soft_targets(texts[::-1], table), [0.0, 1.0, 0.5, 0.1, 0.9])
    assert soft_targets(texts, table).dtype == np.float32


def test_bad_files_and_missing_texts_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match=r"outside \[0, 1\]|must lie in \[0, 1\]"):
        write_teacher_probabilities(tmp_path / "a.tsv", ["a"], [1.5])
    with pytest.raises(ValueError, match="2 texts but 1 probabilities"):
        write_teacher_probabilities(tmp_path / "a.tsv", ["a", "b"], [0.5])
    assert not (tmp_path / "a.tsv").exists()  # nothing half-written
    (tmp_path / "b.tsv").write_text("sentence\tlabel\nok\t1\n")
    with pytest.raises(ValueError, match="expected a header line"):
        load_teacher_probabilities(tmp_path / "b.tsv")
    (tmp_path / "c.tsv").write_text("text\tprobability\nok\t0.5\nbad\tnot-a-number\n")
    with pytest.raises(ValueError, match="line 3"):
        load_teacher_probabilities(tmp_path / "c.tsv")
    with pytest.raises(FileNotFoundError, match="teacher labels file not found"):
        load_teacher_probabilities(tmp_path / "missing.tsv")
    with pytest.raises(ValueError, match="1 of 2 training texts are not in"):
        soft_targets(["ok", "other"], {"ok": 0.5})


def test_decision_accuracy_is_binary_accuracy_for_hard_labels_and_agreement_for_soft():
    y_pred = np.array([0.9, 0.2, 0.6, 0.4], "float32")
    hard = np.array([1.0, 0.0, 0.0, 0.0], "float32")
    soft = np.array([0.8, 0.3, 0.45, 0.1], "float32")
    np.testing.assert_array_equal(np.asarray(decision_accuracy(hard, y_pred)), [1, 1, 0, 1])
    np.testing.assert_array_equal(np.asarray(decision_accuracy(soft, y_pred)), [1, 1, 0, 1])
    column = np.asarray(decision_accuracy(soft, y_pred[:, None]))  # a model's (batch, 1) output
    np.testing.assert_array_equal(column.reshape(-1), [1, 1, 0, 1])
