"""benchmarks/dcgan_jax.py ports GAN.train_step to Keras' JAX backend (GPU machines without
TensorFlow); these tests keep the port step-for-step equal to the package's loop."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_jax(*args):
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "dcgan_jax.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_jax_port_takes_the_same_steps_as_gan_train_step(tmp_path):
    pytest.importorskip("jax")
    done = _run_jax(
        "--parity",
        tmp_path,
        "--filters",
        4,
        "--parity-steps",
        3,
        "--batch-size",
        8,
        "--d-steps",
        2,
        "--label-smoothing",
        0.1,
        "--d-learning-rate",
        4e-4,
        "--g-learning-rate",
        1e-4,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = _load("dcgan_jax_parity").replay(tmp_path)
    assert report["steps"] == 3
    assert report["max_metric_difference"] < 1e-5
    assert max(report["max_weight_difference"].values()) < 1e-5
    # both networks really trained (a comparison of untouched weights would pass trivially)
    assert min(report["max_weight_change_in_training"].values()) > 1e-4
    assert report["tensorflow_per_step"][0]["d_loss"] == pytest.approx(report["jax_per_step"][0]["d_loss"], abs=1e-5)


def test_jax_training_run_writes_weights_the_tensorflow_generator_loads(tmp_path):
    pytest.importorskip("jax")
    rng = np.random.default_rng(0)
    mnist = tmp_path / "mnist.npz"
    np.savez(
        mnist,
        x_train=rng.integers(0, 256, (64, 28, 28), dtype="uint8"),
        x_test=rng.integers(0, 256, (16, 28, 28), dtype="uint8"),
    )
    done = _run_jax(
        "--mnist",
        mnist,
        "--filters",
        4,
        "--epochs",
        2,
        "--batch-size",
        32,
        "--ema-momentum",
        0.9,
        "--save-at",
        1,
        "--out",
        tmp_path / "out",
        "--tag",
        "tiny",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "tiny.json").read_text())
    assert [h["epoch"] for h in summary["history"]] == [1, 2] and summary["g_ema_momentum"] == 0.9
    assert all(np.isfinite(h["d_loss"]) and np.isfinite(h["g_loss"]) for h in summary["history"])
    from kerasdl.generative.gan_networks import dcgan

    generator, _ = dcgan(filters=4)
    generator.load_weights(tmp_path / "out" / "tiny_ema_e2.weights.h5")  # EMA weights, backend-independent file
    assert np.asarray(generator(np.zeros((2, 100), "float32"))).shape == (2, 28, 28, 1)
    assert (tmp_path / "out" / "tiny_ema_e1.weights.h5").is_file()


def test_bad_arguments_are_usage_errors(tmp_path):
    pytest.importorskip("jax")
    done = _run_jax("--mnist", tmp_path / "missing.npz")
    assert done.returncode == 2 and "no such file" in done.stderr
