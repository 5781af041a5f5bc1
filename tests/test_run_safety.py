"""Runs that diverge, get killed or interrupted lose nothing and export nothing diverged.

Issue 21, items 1-6 and 14: NaN stops keep only finite checkpoints and fail the command in
one line; checkpoints are written atomically; the generative apps export no NaN model;
``--resume`` applies a new ``--learning-rate``; a resume after a NaN stop continues the
history at the checkpoint; Ctrl-C exits 130 naming the checkpoint and the resume command;
TensorFlow's start-up lines are quiet unless the user asks for them.

A learning rate of 1e30 makes every run here diverge within its first batches, whatever
the host's kernels (oneDNN on or off).
"""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the Keras backend before keras is imported)
import keras

from kerasdl import cli
from kerasdl._interrupts import INTERRUPT_RETRY_SECONDS, interrupts_are_never_lost
from kerasdl.export import load_keras
from kerasdl.training import compile_model, make_callbacks
from kerasdl.training.callbacks import BestCheckpoint, HistoryCSV, TrainingDiverged

ROOT = Path(__file__).resolve().parents[1]


def _toy_problem(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")


def _small_model():
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def _history_epochs(path: Path) -> list[int]:
    with path.open() as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


# ------------------------------------------------------------------ 1. NaN stops keep only finite checkpoints


def test_train_nan_in_first_epoch_keeps_no_checkpoint_and_fails_in_one_line(tmp_path, capsys, no_data_dir):
    argv = [
        "train",
        "mlp",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--optimizer",
        "sgd",
        "--learning-rate",
        "1e30",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
    ]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = _error_lines(err)
    assert line.startswith("kerasdl train: error: training diverged at epoch 1")
    assert "no finite checkpoint was saved" in line and "last good" not in line
    assert not list((tmp_path / "runs").rglob("*.keras"))  # no NaN best.keras kept
    assert not (tmp_path / "sm").exists()  # nothing exported


def test_nan_after_good_epochs_raises_naming_the_finite_checkpoint(tmp_path):
    x, y = _toy_problem()
    model = compile_model(_small_model(), "adam", 0.01, jit_compile=False)

    def poison(epoch, logs):
        if epoch == 1:  # from the third epoch on, every weight is NaN
            for w in model.trainable_weights:
                w.assign(w * np.nan)

    callbacks = make_callbacks(checkpoint_path=tmp_path / "best.keras", csv_path=tmp_path / "log.csv")
    with pytest.raises(TrainingDiverged, match="best.keras") as caught:
        model.fit(
            x,
            y,
            validation_split=0.25,
            epochs=6,
            verbose=0,
            callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=poison), *callbacks],
        )
    assert caught.value.checkpoint == str(tmp_path / "best.keras")
    best = load_keras(tmp_path / "best.keras")
    assert all(np.isfinite(w).all() for w in best.get_weights())
    assert _history_epochs(tmp_path / "log.csv") == [0, 1]  # epoch 3 (NaN) is not written as finished


def test_best_checkpoint_skips_non_finite_values_and_weights(tmp_path):
    model = compile_model(_small_model(), "adam", 0.01, jit_compile=False)
    checkpoint = BestCheckpoint(tmp_path / "best.weights.h5")
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_end(0, {"val_loss": float("nan")})
    assert not checkpoint.saved and not checkpoint.path.exists()
    model.trainable_weights[0].assign(np.full(model.trainable_weights[0].shape, np.inf, "float32"))
    checkpoint.on_epoch_end(1, {"val_loss": 0.5})  # a finite loss, but infinite weights
    assert not checkpoint.saved and not checkpoint.path.exists()
    assert checkpoint.describe() == "no finite checkpoint was saved"


# ------------------------------------------------------------------ 2. checkpoints are written atomically


def test_interrupted_checkpoint_write_keeps_the_previous_best(tmp_path, monkeypatch):
    model = compile_model(_small_model(), "adam", 0.01, jit_compile=False)
    [checkpoint] = [c for c in make_callbacks(checkpoint_path=tmp_path / "best.keras") if isinstance(c, BestCheckpoint)]
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_end(0, {"val_loss": 1.0})
    saved = (tmp_path / "best.keras").read_bytes()
    assert saved

    def killed_mid_write(path, *args, **kwargs):
        Path(path).write_bytes(b"")  # the write had only just begun
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.on_epoch_end(1, {"val_loss": 0.5})
    assert (tmp_path / "best.keras").read_bytes() == saved
    assert all(np.isfinite(w).all() for w in load_keras(tmp_path / "best.keras", compile=False).get_weights())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]  # no temporary file left


def test_history_csv_is_rewritten_atomically_and_truncated_on_resume(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,1.0\n1,inf\n1,0.5\n2,0.4\n")  # what a NaN stop then a resume used to leave
    history = HistoryCSV(path, keep_epochs=1)
    history.on_train_begin()
    assert _history_epochs(path) == [0]
    history.on_epoch_end(1, {"loss": float("nan")})
    assert _history_epochs(path) == [0]
    history.on_epoch_end(1, {"loss": 0.25})
    assert _history_epochs(path) == [0, 1] and sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


# ------------------------------------------------------------------ 3. no app exports a diverged model


@pytest.mark.parametrize(
    "app, argv",
    [
        ("gan", ["--kind", "mlp", "--latent-dim", "8"]),
        ("vae", ["--kind", "dense"]),
        ("autoencoder", ["--kind", "dense", "--code-size", "8", "--code-activation", "linear"]),  # relu would saturate
    ],
)
def test_generative_app_that_diverges_exports_nothing_and_fails(app, argv, tmp_path, capsys, no_data_dir):
    argv = [
        app,
        *argv,
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--max-train",
        "128",
        "--batch-size",
        "32",
        "--learning-rate",
        "1e30",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
    ]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = _error_lines(err)
    assert line.startswith(f"kerasdl {app}: error: training diverged: non-finite")
    assert "no finite checkpoint was written" in line
    assert not (tmp_path / "sm").exists()


def test_export_refuses_a_generator_with_nan_weights(tmp_path):
    from kerasdl.generative.export import export_image_generator
    from kerasdl.generative.vae_networks import vae_decoder

    decoder = vae_decoder(latent_dim=2, kind="dense")
    decoder.weights[0].assign(np.full(decoder.weights[0].shape, np.nan, "float32"))
    with pytest.raises(TrainingDiverged, match="generator has non-finite weights"):
        export_image_generator(decoder, tmp_path / "sm")
    assert not (tmp_path / "sm").exists()


# ------------------------------------------------------------------ 4 and 5. resume: new learning rate, history


def _vae_argv(tmp_path, *extra):
    return [
        "vae",
        "--kind",
        "dense",
        "--dataset",
        "digits",
        "--max-train",
        "128",
        "--batch-size",
        "64",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
        *extra,
    ]


def test_resume_after_a_nan_stop_applies_the_new_learning_rate_and_repeats_no_epoch(tmp_path, capsys, no_data_dir):
    import tensorflow as tf

    assert cli.main(_vae_argv(tmp_path, "--epochs", "1")) == 0
    [run_dir] = (tmp_path / "runs").iterdir()
    capsys.readouterr()

    # Epoch 2 diverges: the command fails, names the epoch-1 checkpoint, and history.csv keeps epoch 1 only.
    assert cli.main(_vae_argv(tmp_path, "--epochs", "3", "--resume", str(run_dir), "--learning-rate", "1e30")) == 1
    captured = capsys.readouterr()
    assert "learning rate changed from 0.001 (checkpoint) to 1e+30" in captured.out
    [line] = _error_lines(captured.err)
    assert f"the last finite checkpoint is {run_dir / 'checkpoints' / 'ckpt-1'} (epoch 1)" in line
    assert f"--resume {run_dir}" in line
    assert _history_epochs(run_dir / "history.csv") == [0]

    # Resuming with a sane learning rate continues from epoch 1 and ends with exactly the epochs asked for.
    assert cli.main(_vae_argv(tmp_path, "--epochs", "2", "--resume", str(run_dir), "--learning-rate", "5e-4")) == 0
    assert "learning rate changed from 0.001 (checkpoint) to 0.0005" in capsys.readouterr().out
    assert _history_epochs(run_dir / "history.csv") == [0, 1]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs_done"] == 2
    reader = tf.train.load_checkpoint(str(run_dir / "checkpoints" / "ckpt-2"))
    [lr_key] = [k for k in reader.get_variable_to_shape_map() if k.startswith("optimizer/") and "learning_rate" in k]
    assert reader.get_tensor(lr_key) == pytest.approx(5e-4)  # the new rate was trained with and saved


def test_resume_without_learning_rate_keeps_the_checkpointed_one(tmp_path, capsys, no_data_dir):
    assert cli.main(_vae_argv(tmp_path, "--epochs", "1", "--learning-rate", "2e-3")) == 0
    [run_dir] = (tmp_path / "runs").iterdir()
    capsys.readouterr()
    assert cli.main(_vae_argv(tmp_path, "--epochs", "2", "--resume", str(run_dir))) == 0
    out = capsys.readouterr().out
    assert "learning rate changed" not in out  # not silently reset to the default either
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run_dir / "checkpoints" / "ckpt-2"))
    [lr_key] = [k for k in reader.get_variable_to_shape_map() if k.startswith("optimizer/") and "learning_rate" in k]
    assert reader.get_tensor(lr_key) == pytest.approx(2e-3)


# ------------------------------------------------------------------ 6. Ctrl-C


def test_interrupt_names_the_checkpoint_and_the_resume_command(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="kerasdl gan")

    def interrupted(args):
        cli.record_run(
            tmp_path / "run", checkpoint=lambda: str(tmp_path / "run" / "checkpoints" / "ckpt-3"), resumable=True
        )
        raise KeyboardInterrupt

    argv = ["--kind", "mlp", "--resume", "old run", "--epochs", "9"]
    assert cli._run(parser, interrupted, None, argv) == 130
    [line] = _error_lines(capsys.readouterr().err)
    assert line == (
        f"kerasdl gan: interrupted; last checkpoint: {tmp_path / 'run' / 'checkpoints' / 'ckpt-3'}. "
        f"Resume with: kerasdl gan --kind mlp --epochs 9 --resume {tmp_path / 'run'}"
    )
    assert cli.current_run() is None  # the record does not outlive the command

    def interrupted_early(args):
        cli.record_run(tmp_path / "run", checkpoint=lambda: None, resumable=True)
        raise KeyboardInterrupt

    assert cli._run(parser, interrupted_early, None, []) == 130
    assert "interrupted before the first checkpoint was written; nothing to resume" in capsys.readouterr().err

    def interrupted_train(args):  # kerasdl train: a best model, but no --resume
        cli.record_run(tmp_path / "run", checkpoint=lambda: str(tmp_path / "run" / "best.keras"))
        raise KeyboardInterrupt

    assert cli._run(argparse.ArgumentParser(prog="kerasdl train"), interrupted_train, None, []) == 130
    [line] = _error_lines(capsys.readouterr().err)
    assert line.startswith(f"kerasdl train: interrupted; the best model so far is {tmp_path / 'run' / 'best.keras'}")
    assert "no --resume" in line


def test_sigint_stops_a_gan_run_cleanly_with_exit_130(tmp_path, interrupt_when):
    runs = tmp_path / "runs"
    env = {**os.environ, "KERASDL_OFFLINE": "1", "KERAS_HOME": str(tmp_path / "keras-home")}
    env.pop("KERASDL_DATA_DIR", None)
    command = [
        sys.executable,
        "-m",
        "apps.gan",
        "--kind",
        "mlp",
        "--latent-dim",
        "8",
        "--dataset",
        "digits",
        "--epochs",
        "500",
        "--max-train",
        "128",
        "--batch-size",
        "64",
        "--runs-dir",
        str(runs),
        "--export",
        str(tmp_path / "sm"),
    ]
    returncode, _, err = interrupt_when(
        command, lambda: any(runs.glob("*/checkpoints/checkpoint")), "checkpoint", cwd=ROOT, env=env
    )
    [run_dir] = runs.iterdir()
    assert returncode == 130, err
    assert "Traceback" not in err
    assert re.search(rf"last checkpoint: {re.escape(str(run_dir / 'checkpoints'))}/ckpt-\d+", err)
    assert "Resume with: python -m apps.gan --kind mlp" in err and err.rstrip().endswith(f"--resume {run_dir}")
    assert not (tmp_path / "sm").exists()


# ------------------------------------------------------------------ 14. TensorFlow's start-up lines

# Lines TensorFlow's C++ side logs through absl while it starts: "I0000 00:00:17.2  123 port.cc:153] oneDNN ..."
ABSL_LINE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} [\d:.]+\s+\d+ \S+:\d+\])", re.M)


def _run_quietly_or_not(args, level=None):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_cli_and_every_app_parse_without_importing_tensorflow():
    code = (
        "import sys, kerasdl.cli as cli; cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    result = _run_quietly_or_not(["-c", code])
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_an_app_prints_no_tensorflow_start_up_lines_and_keeps_the_users_level():
    quiet = _run_quietly_or_not(["-m", "apps.train", "no_such_builder", "--dataset", "digits"])
    assert quiet.returncode == 2 and "unknown builder 'no_such_builder'" in quiet.stderr  # after TensorFlow loaded
    assert not ABSL_LINE.search(quiet.stderr), quiet.stderr

    code = (
        "import os; from kerasdl.apps.train import main; main(['no_such_builder', '--dataset', 'digits']); "
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    )
    assert _run_quietly_or_not(["-c", code], level="0").stdout.strip() == "0"


@pytest.mark.slow
def test_kerasdl_prints_tensorflows_start_up_lines_only_when_the_user_asks(tmp_path):
    missing = str(tmp_path / "missing.keras")
    quiet = _run_quietly_or_not(["-m", "kerasdl.cli", "export", missing, str(tmp_path / "out")])
    assert quiet.returncode == 1 and "no .keras file at" in quiet.stderr
    assert not ABSL_LINE.search(quiet.stderr), quiet.stderr

    # With the user's own level the command prints whatever plain TensorFlow prints at that level.
    plain = _run_quietly_or_not(["-c", "import tensorflow"], level="0")
    verbose = _run_quietly_or_not(["-m", "kerasdl.cli", "export", missing, str(tmp_path / "out")], level="0")
    sources = re.compile(r"^[IWE]\d{4} [\d:.]+\s+\d+ (\S+:\d+)\]", re.M)  # e.g. port.cc:153
    assert set(sources.findall(plain.stderr)) <= set(sources.findall(verbose.stderr))


def _interrupt_here():
    os.kill(os.getpid(), signal.SIGINT)
    sum(range(10_000))  # Python code runs here, so the handler runs in this frame


class _InterruptedWhileFreed:
    def __del__(self):
        _interrupt_here()


class _Referent:
    pass


def _free_an_object_with_a_destructor():
    _InterruptedWhileFreed()  # freed at once


def _free_an_object_watched_by_a_weakref_callback():
    referent = _Referent()
    watcher = weakref.ref(referent, lambda _: _interrupt_here())
    del referent  # the callback runs now, while watcher is still alive
    return watcher


def _close_a_generator_by_freeing_it():
    def generator():
        try:
            yield 1
        finally:
            _interrupt_here()

    running = generator()
    next(running)
    del running  # CPython closes it here: its finally clause runs


def _swallow_it_in_a_bare_except():
    # TensorFlow's FuncGraph deleter (ConcreteFunction's, freed every epoch): try: ... except: pass
    try:
        _interrupt_here()
    except:  # noqa: E722
        pass


@pytest.mark.parametrize(
    "lose_an_interrupt",
    [
        _free_an_object_with_a_destructor,
        _free_an_object_watched_by_a_weakref_callback,
        _close_a_generator_by_freeing_it,
        _swallow_it_in_a_bare_except,
    ],
    ids=["__del__", "weakref-callback", "generator-finalizer", "bare-except"],
)
def test_an_interrupt_python_cannot_raise_is_raised_again_afterwards(capsys, lose_an_interrupt):
    """CPython swallows a KeyboardInterrupt raised where it runs code on its own behalf
    ("Exception ignored in ..."): an object's ``__del__``, a weakref callback, a generator it
    closes; a bare ``except`` swallows it anywhere. TensorFlow frees iterators and functions
    that way every epoch: a Ctrl-C landing there let a GAN run train on (CI saw three such runs
    outlive their 60 s, the last one after the hook for unraisable exceptions was in place, as
    TensorFlow's FuncGraph deleter swallows it with a bare ``except``). Under the CLI's handler
    the interrupt comes back once that code has returned."""
    handler, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    reached = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_are_never_lost():
            lose_an_interrupt()
            reached = True  # the swallowed interrupt did not stop the block by itself
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.01)
    assert reached
    assert "Exception ignored" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is handler and sys.unraisablehook is hook  # both are back


def test_an_interrupt_on_its_way_out_is_raised_once_and_lets_the_clean_up_finish():
    """The watchdog that raises a lost interrupt again leaves one alone while an ``except`` or
    ``finally`` clause handles it (a slow clean-up, several watchdog periods long, finishes),
    and nothing is raised after the block is left."""
    handler = signal.getsignal(signal.SIGINT)
    cleaned = False
    with pytest.raises(KeyboardInterrupt) as raised:
        with interrupts_are_never_lost():
            try:
                _interrupt_here()
            finally:
                deadline = time.monotonic() + 10 * INTERRUPT_RETRY_SECONDS
                while time.monotonic() < deadline:
                    sum(range(1000))  # Python code, where a re-raised interrupt would land
                cleaned = True
    assert cleaned and raised.value.__context__ is None  # the first interrupt, not a second one
    time.sleep(5 * INTERRUPT_RETRY_SECONDS)  # no late interrupt from a watchdog
    assert signal.getsignal(signal.SIGINT) is handler


def test_other_lost_exceptions_still_reach_the_previous_hook():
    class FailsWhileFreed:
        def __del__(self):
            raise RuntimeError("lost in __del__")

    seen = []
    previous, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        with interrupts_are_never_lost():
            FailsWhileFreed()
            time.sleep(3 * INTERRUPT_RETRY_SECONDS)
    finally:
        sys.unraisablehook = previous
    assert [type(u.exc_value) for u in seen] == [RuntimeError]  # passed on once, and no SIGINT was sent
