"""Edge cases of writes and inputs: killed and concurrent writes, file modes, what ``--overwrite``
may replace, one-line errors for bad input, and empty batches sent to every export."""

import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before Keras is imported)
import keras
import tensorflow as tf
from kerasdl import export

REPO = Path(__file__).resolve().parents[1]
# Above Linux's PID_MAX_LIMIT (2**22): no process can have this PID.
NEVER_A_PID = 4_194_305


def _conv_model(channels=1):
    """Two stacked convolutions: the pattern whose empty batch oneDNN's CPU kernels mishandle."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, channels))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.Conv2D(2, 3)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x)))


def _age(path: Path, seconds: float = 3600) -> Path:
    """Set the modification time of ``path`` and everything inside it to ``seconds`` ago."""
    past = time.time() - seconds
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (past, past))
    os.utime(path, (past, past))
    return path


def _leftover(parent: Path, name: str, *, folder: bool = True) -> Path:
    path = parent / name
    if folder:
        path.mkdir()
        (path / "variables.data").write_bytes(b"half an export")
    else:
        path.write_bytes(b"half a file")
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------ 7: leftovers of killed writes


def test_next_write_sweeps_what_killed_writes_left_and_keeps_what_may_be_live(tmp_path):
    dead = [
        _age(_leftover(tmp_path, f".model.tmp-{NEVER_A_PID}-0123456789ab")),
        _age(_leftover(tmp_path, ".model.tmp-k3j_x9qa")),  # named by an older kerasdl (mkdtemp), no PID
    ]
    kept = [
        _age(_leftover(tmp_path, f".model.tmp-{os.getpid()}-0123456789ab")),  # its writer is alive
        _leftover(tmp_path, f".model.tmp-{NEVER_A_PID}-fedcba987654"),  # touched since this process started
        _age(_leftover(tmp_path, f".model.old-{NEVER_A_PID}-0123456789ab")),  # the only copy: model is missing
        _age(_leftover(tmp_path, f".other.tmp-{NEVER_A_PID}-0123456789ab")),  # another target's
        _age(_leftover(tmp_path, f".model.tmp-{NEVER_A_PID}-nothex", folder=False)),  # not our pattern
    ]
    with export.atomic_directory(tmp_path / "model") as tmp:
        (tmp / "saved_model.pb").write_bytes(b"complete")
    assert not any(path.exists() for path in dead)
    assert all(path.exists() for path in kept)

    # Once the target is back, a displaced old copy is a leftover too.
    with export.atomic_directory(tmp_path / "model", overwrite=True) as tmp:
        (tmp / "saved_model.pb").write_bytes(b"second")
    assert not kept[2].exists() and kept[0].exists() and kept[1].exists()

    # Files: the temporary of a killed atomic_file (with its writer's suffix) goes on the next write.
    stale_file = _age(_leftover(tmp_path, f".table.npz.tmp-{NEVER_A_PID}-0123456789ab.npz", folder=False))
    with export.atomic_file(tmp_path / "table.npz") as tmp:
        tmp.write_bytes(b"table")
    assert not stale_file.exists() and (tmp_path / "table.npz").read_bytes() == b"table"


_KILLED_WRITER = """
import os, signal, sys
from kerasdl.export import atomic_directory, atomic_file
folder = sys.argv[1]
with atomic_directory(folder + "/export") as tmp:
    (tmp / "variables.data").write_bytes(b"half an export")
    with atomic_file(folder + "/model.keras", suffix=".keras") as part:
        part.write_bytes(b"half a model")
        os.kill(os.getpid(), signal.SIGKILL)
"""

_NEXT_WRITER = """
import sys
from kerasdl.export import atomic_directory, atomic_file
folder = sys.argv[1]
with atomic_directory(folder + "/export") as tmp:
    (tmp / "saved_model.pb").write_bytes(b"complete")
with atomic_file(folder + "/model.keras", suffix=".keras") as part:
    part.write_bytes(b"a whole model")
"""


@pytest.mark.slow  # two Python processes that import Keras (about 10 s)
def test_sigkill_during_an_export_leaves_temporaries_that_the_next_run_removes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    killed = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(tmp_path)], env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and left[0].startswith(".export.tmp-") and left[1].startswith(".model.keras.tmp-")
    time.sleep(1.5)  # the next run starts later (boot time, hence process start, is known to the second)
    done = subprocess.run([sys.executable, "-c", _NEXT_WRITER, str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "model.keras"]


# ------------------------------------------------------------------ 8: run ids and run folders


def test_run_ids_differ_even_with_the_same_second_and_pid(monkeypatch):
    monkeypatch.setattr(os, "getpid", lambda: 1)  # two containers: separate PID namespaces, same PID
    ids = [export.new_run_id() for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{8}", run_id) for run_id in ids)  # still sorts by time


def test_run_folders_are_claimed_exclusively_and_a_taken_id_is_drawn_again(tmp_path, monkeypatch):
    from kerasdl.apps._common import new_run_dir

    draws = iter(["20250101-000000-aaaaaaaa", "20250101-000000-aaaaaaaa", "20250101-000000-bbbbbbbb"])
    monkeypatch.setattr(export, "new_run_id", lambda: next(draws))
    first = export.create_run_dir(tmp_path / "runs")
    (first / "best.keras").write_bytes(b"the first run's model")
    second = new_run_dir(tmp_path / "runs")  # the apps' helper goes through create_run_dir
    assert (first.name, second.name) == ("20250101-000000-aaaaaaaa", "20250101-000000-bbbbbbbb")
    assert (first / "best.keras").read_bytes() == b"the first run's model"
    assert list(second.iterdir()) == []


# ------------------------------------------------------------------ 9: modes of finished writes


@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_exports_and_files_get_the_modes_a_plain_write_would_have(tmp_path, umask, folder_mode, file_mode):
    from kerasdl.apps._common import write_summary
    from kerasdl.transfer.serving import export_image_classifier

    model = _conv_model(channels=3)
    (tmp_path / "run").mkdir()
    previous = os.umask(umask)
    try:
        saved = export.export_saved_model(model, tmp_path / "saved")
        classifier = export_image_classifier(
            model, tmp_path / "classifier", class_names=["a", "b", "c"], image_size=(8, 8)
        )
        keras_file = export.save_keras(model, tmp_path / "model.keras")
        summary = write_summary(tmp_path / "run", {"accuracy": 0.5})
    finally:
        os.umask(previous)
    for folder in (saved, classifier):
        for path in [folder, *folder.rglob("*")]:
            assert _mode(path) == (folder_mode if path.is_dir() else file_mode), path
    assert _mode(keras_file) == file_mode and _mode(summary) == file_mode


def test_write_summary_is_atomic(tmp_path, monkeypatch):
    from kerasdl.apps._common import write_summary

    write_summary(tmp_path, {"accuracy": 0.5})
    real_write_text = Path.write_text

    def killed_halfway(self, text, *args, **kwargs):
        real_write_text(self, text[:7], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        write_summary(tmp_path, {"accuracy": 0.9})
    monkeypatch.undo()
    assert json.loads((tmp_path / "summary.json").read_text()) == {"accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


# ------------------------------------------------------------------ 10: what --overwrite may replace


def test_export_overwrite_replaces_only_a_saved_model_or_an_empty_folder(tmp_path, capsys):
    from kerasdl.cli import main

    source = export.save_keras(_conv_model(), tmp_path / "model.keras")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("keep me")
    a_file = tmp_path / "a_file"
    a_file.write_text("not a model")
    for target in (notes, a_file):
        assert main(["export", str(source), str(target), "--overwrite"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"refusing to replace {target}" in err[0], err
    assert (notes / "notes.txt").read_text() == "keep me" and a_file.read_text() == "not a model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "model.keras", "notes"]  # no temporaries

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(source), str(empty), "--overwrite"]) == 0
    assert main(["export", str(source), str(empty), "--overwrite"]) == 0  # now a SavedModel: replaceable
    assert (empty / "saved_model.pb").is_file()

    folder_named_keras = tmp_path / "other.keras"
    folder_named_keras.mkdir()
    (folder_named_keras / "notes.txt").write_text("keep me too")
    with pytest.raises(FileExistsError, match="it is a folder"):
        export.save_keras(_conv_model(), folder_named_keras, overwrite=True)
    assert (folder_named_keras / "notes.txt").read_text() == "keep me too"


def test_refusal_names_the_folder_and_why(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"notes: it is a folder that holds no SavedModel \(no saved_model.pb\)"):
        export.export_saved_model(_conv_model(), tmp_path / "notes", overwrite=True)


# ------------------------------------------------------------------ 12: one-line errors in the apps


def test_predict_reports_a_corrupt_export_and_a_file_for_a_folder_in_one_line(tmp_path, capsys):
    from kerasdl.apps import predict

    path = export.export_saved_model(_conv_model(), tmp_path / "sm")
    graph = path / "saved_model.pb"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])  # truncated, as by a full disk
    assert predict.main([str(path), "image.png"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("usage:") and "Traceback" not in "\n".join(err), err  # argparse's usage, then one line
    assert err[-1].startswith("python -m kerasdl.apps.predict: error: ") and "Error parsing message" in err[-1]
    assert f"{path} holds a SavedModel that TensorFlow cannot load" in err[-1]

    assert predict.main([str(graph), "image.png"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert f"{graph} is a file, not a SavedModel folder; pass its folder, {path}" in err[-1]
    assert "does not exist" not in err[-1]


def _png(array) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "flag, value, rule",
    [
        ("--head-epochs", "-1", ">= 1"),
        ("--fine-tune-epochs", "-1", ">= 0"),
        ("--unfreeze-top", "0", ">= 1"),
        ("--learning-rate", "0", "> 0.0"),
        ("--fine-tune-lr-factor", "2", "<= 1.0"),
        ("--patience", "-1", ">= 0"),
    ],
)
def test_finetune_refuses_a_bad_flag_before_creating_any_folder(tmp_path, capsys, flag, value, rule):
    from kerasdl.apps import finetune

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "data" / name / f"{i}.png").write_bytes(_png(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)))
    code = finetune.main(
        [
            str(tmp_path / "data"),
            "--weights",
            "none",
            "--image-size",
            "32",
            "--batch-size",
            "2",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--export",
            str(tmp_path / "sm"),
            flag,
            value,
        ]
    )
    assert code == 2
    assert f"{flag} must be {rule}, got" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


# ------------------------------------------------------------------ 13: clear errors, empty batches


@pytest.mark.parametrize(
    "x, y, message",
    [
        (None, None, "x must be an array with one row per example, got None"),
        (np.zeros((0, 3)), None, r"x holds no examples \(length 0\)"),
        (np.zeros((4, 3)), np.zeros(0), r"y holds no examples \(length 0\)"),
        ([], None, "x holds no examples"),
        (np.float32(1.0), None, "x must be an array with one row per example, got float32"),
        ({"a": np.zeros((4, 3)), "b": np.zeros(3)}, None, "the parts of x must have the same length"),
        (np.zeros((4, 3)), np.zeros(3), "x and y must have the same length, got 4 and 3"),
    ],
)
def test_make_dataset_names_the_bad_argument(x, y, message):
    from kerasdl.data import make_dataset

    with pytest.raises(ValueError, match=message):
        make_dataset(x, y, batch_size=2)


def test_make_dataset_still_takes_a_dict_of_inputs():
    from kerasdl.data import make_dataset

    x = {"a": np.zeros((5, 3), "float32"), "b": np.ones((5,), "float32")}
    batches = list(make_dataset(x, np.arange(5), batch_size=2, shuffle=True, seed=0))
    assert [len(labels) for _, labels in batches] == [2, 2, 1]


def test_fgsm_names_x_and_the_shape_the_model_takes():
    from kerasdl.attacks import fgsm

    model = _conv_model()
    labels = np.zeros(2, dtype="int64")
    for wrong in (np.zeros((2, 8, 8, 3)), np.zeros((2, 6, 6, 1))):
        with pytest.raises(
            ValueError,
            match=rf"x must be a batch of shape \(N, 8, 8, 1\) for model '{model.name}', "
            rf"got shape \(2, {wrong.shape[1]}, {wrong.shape[2]}, {wrong.shape[3]}\)",
        ):
            fgsm(model, wrong, labels, 0.1)
    with pytest.raises(ValueError, match=r"x must be a batch of shape \(N, 8, 8, 1\), got None"):
        fgsm(model, None, labels, 0.1)
    assert fgsm(model, np.full((2, 8, 8, 1), 0.5), labels, 0.1).shape == (2, 8, 8, 1)


def test_every_export_in_the_package_answers_an_empty_batch_with_an_empty_result(tmp_path):
    from kerasdl.detection.export import export_detector
    from kerasdl.text.export import export_text_classifier
    from kerasdl.detection.yolo import yolo_detector
    from kerasdl.transfer.serving import export_image_classifier

    model = _conv_model()
    served = tf.saved_model.load(str(export.export_saved_model(model, tmp_path / "plain")))
    assert served.serve(tf.zeros((0, 8, 8, 1))).shape == (0, 3)
    assert served.signatures["serving_default"](tf.zeros((0, 8, 8, 1)))["output_0"].shape == (0, 3)
    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(served.serve(x), model(x, training=False), atol=1e-6)  # rows still as before

    classifier = tf.saved_model.load(
        str(
            export_image_classifier(
                _conv_model(channels=3), tmp_path / "classifier", class_names=["a", "b", "c"], image_size=(8, 8)
            )
        )
    )
    for out in (
        classifier.serve(tf.zeros((0, 20, 20, 3), tf.uint8)),
        classifier.serve_bytes(tf.constant([], tf.string)),
    ):
        assert {key: tuple(value.shape) for key, value in out.items()} == {
            "probabilities": (0, 3),
            "class_id": (0,),
            "class_name": (0,),
        }

    anchors = np.array([[0.2, 0.2], [0.4, 0.4]], "float32")
    detector = yolo_detector((32, 32, 3), 10, anchors, filters=(8, 8, 16))
    loaded = tf.saved_model.load(str(export_detector(detector, anchors, tmp_path / "detector")))  # keep it alive
    detections = loaded.serve(tf.zeros((0, 32, 32, 3), tf.uint8))
    assert {key: tuple(value.shape)[0] for key, value in detections.items()} == {
        "boxes": 0,
        "scores": 0,
        "classes": 0,
        "num_detections": 0,
    }

    words = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    words.adapt(["a gripping film", "dull and far too long"])
    text = keras.Input((), dtype="string")
    scores = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 4)(words(text)))
    )
    sentiment = tf.saved_model.load(
        str(export_text_classifier(keras.Model(text, scores), tmp_path / "text", ["neg", "pos"]))
    )  # kept: variables live with it
    assert sentiment.serve(tf.constant([], tf.string)).shape == (0, 1)


def test_call_on_batch_keeps_rows_and_works_eagerly():
    doubled = export.call_on_batch(
        lambda x: {"twice": 2 * x, "sum": tf.reduce_sum(x, axis=1)}, tf.constant([[1.0, 2.0]])
    )
    assert doubled["twice"].numpy().tolist() == [[2.0, 4.0]] and doubled["sum"].numpy().tolist() == [3.0]
    empty = export.call_on_batch(lambda x: 2 * x, tf.zeros((0, 5)))
    assert empty.shape == (0, 5)


def test_a_two_input_model_exports_with_keras_signature_and_takes_an_empty_batch(tmp_path):
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    loaded = tf.saved_model.load(str(export.export_saved_model(model, tmp_path / "two_inputs")))
    signature = loaded.signatures["serving_default"]
    assert sorted(signature.structured_input_signature[1]) == ["a", "b"]  # as model.export names them
    x = {"a": np.ones((2, 3), "float32"), "b": np.ones((2, 2), "float32")}
    np.testing.assert_allclose(loaded.serve(x), model(x), atol=1e-6)
    assert signature(a=tf.zeros((0, 3)), b=tf.zeros((0, 2)))["output_0"].shape == (0, 1)
