"""The autoencoder, vae and gan apps: train on digits, export, reload, bad input, resume."""

import json
from pathlib import Path

import numpy as np
import pytest

import kerasdl  # noqa: F401


def last_run(runs: Path) -> Path:
    return sorted(runs.iterdir())[-1]


def test_vae_app_trains_exports_and_the_export_matches_its_checkpoint(tmp_path, no_data_dir, capsys):
    import tensorflow as tf

    from kerasdl.apps import vae as app
    from kerasdl.generative.vae_networks import vae_decoder, vae_encoder
    from kerasdl.generative.callbacks import to_uint8
    from kerasdl.training.resumable import TrainingCheckpoint
    from kerasdl.generative.vae import VAE

    argv = [
        "--kind",
        "dense",
        "--latent-dim",
        "2",
        "--epochs",
        "1",
        "--max-train",
        "128",
        "--batch-size",
        "64",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
    ]
    assert app.main(argv) == 0
    run_dir = last_run(tmp_path / "runs")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["dataset"] == "digits" and summary["epochs_done"] == 1 and summary["export_max_abs_diff"] == 0
    for png in ("training_curves.png", "samples_epoch_001.png", "interpolation.png", "manifold.png"):
        assert (run_dir / png).stat().st_size > 0

    # An independent copy of the decoder, restored from the run's checkpoint, serves the same images.
    vae = VAE(vae_encoder(latent_dim=2, kind="dense"), vae_decoder(latent_dim=2, kind="dense"))
    vae.compile()
    assert TrainingCheckpoint(run_dir / "checkpoints", vae, verbose=False).restore() == 1
    served = tf.saved_model.load(summary["export"])
    z = np.random.default_rng(0).standard_normal((5, 2)).astype("float32")
    images = served.serve(tf.constant(z))["images"].numpy()
    assert images.dtype == np.uint8 and images.shape == (5, 28, 28, 1)
    assert np.abs(images.astype(int) - to_uint8(vae.decoder(z)).astype(int)).max() <= 1
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"latent must have shape \(batch, 2\)"):
        served.serve(tf.constant(np.zeros((1, 3), "float32")))


def test_conditional_gan_app_exports_a_labelled_generator(tmp_path, no_data_dir):
    import tensorflow as tf

    from kerasdl.apps import gan as app

    argv = [
        "--kind",
        "conditional",
        "--loss",
        "hinge",
        "--spectral-norm",
        "--latent-dim",
        "8",
        "--filters",
        "4",
        "--epochs",
        "1",
        "--max-train",
        "64",
        "--batch-size",
        "32",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
    ]
    assert app.main(argv) == 0
    run_dir = last_run(tmp_path / "runs")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs_done"] == 1 and summary["export_max_abs_diff"] <= 1 and summary["stopped_on_nan"] is None
    assert (run_dir / "samples_epoch_001.png").is_file() and (run_dir / "checkpoints" / "checkpoint").is_file()
    assert (summary["loss"], summary["spectral_norm"], summary["label_smoothing"]) == ("hinge", True, 0.0)

    served = tf.saved_model.load(summary["export"])
    z = tf.constant(np.random.default_rng(0).standard_normal((4, 8)).astype("float32"))
    images = served.serve(z, tf.constant([0, 3, 7, 9]))["images"].numpy()
    assert images.dtype == np.uint8 and images.shape == (4, 28, 28, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label must lie in \[0, 9\]"):
        served.serve(z, tf.constant([0, 3, 7, 10]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="label must hold one class per latent"):
        served.serve(z, tf.constant([0, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"latent must have shape \(batch, 8\)"):
        served.serve(tf.constant(np.zeros((4, 100), "float32")), tf.constant([0, 1, 2, 3]))


@pytest.mark.parametrize(
    "app_name, argv, message",
    [
        ("vae", ["--beta", "0"], "beta must be > 0"),
        ("vae", ["--learning-rate", "0"], "learning_rate must be > 0"),
        ("gan", ["--g-learning-rate=-1e-4"], "g_learning_rate must be > 0"),
        ("gan", ["--label-smoothing", "0.7"], "label_smoothing"),
        ("autoencoder", ["--sparsity", "kl", "--code-activation", "relu"], "code_activation='sigmoid'"),
        ("autoencoder", ["--mask-fraction", "1.5"], "mask_fraction"),
    ],
)
def test_bad_app_arguments_exit_2_naming_the_argument(app_name, argv, message, tmp_path, capsys, no_data_dir):
    import importlib

    app = importlib.import_module(f"kerasdl.apps.{app_name}")
    assert app.main([*argv, "--runs-dir", str(tmp_path / "runs"), "--export", str(tmp_path / "sm")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "sm").exists()


def test_resume_needs_a_run_with_checkpoints(tmp_path, capsys, no_data_dir):
    from kerasdl.apps import gan as app

    assert app.main(["--resume", str(tmp_path / "nothing-here")]) == 1
    assert "no checkpoints/ folder" in capsys.readouterr().err


@pytest.mark.slow
def test_autoencoder_app_resumes_an_interrupted_run(tmp_path, no_data_dir):
    from kerasdl.apps import autoencoder as app

    common = [
        "--kind",
        "conv",
        "--code-size",
        "8",
        "--noise-std",
        "0.3",
        "--max-train",
        "128",
        "--batch-size",
        "64",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
    ]
    assert app.main([*common, "--epochs", "1"]) == 0
    run_dir = last_run(tmp_path / "runs")
    assert app.main([*common, "--epochs", "2", "--resume", str(run_dir)]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs_done"] == 2 and summary["export_max_abs_diff"] <= 1
    assert len((run_dir / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs
    assert (run_dir / "reconstructions.png").is_file()
