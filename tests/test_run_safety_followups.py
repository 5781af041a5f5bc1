"""Issue 21 follow-ups: run folders claimed exclusively and summaries written atomically by
``kerasdl train``; exports named after their run folder (train, textgen); every image
generator export and the small text encoder answer an empty batch; a file given as an image
folder is named as a file; a NaN in NAS's final retraining or in style transfer fails the
run in one line and keeps nothing diverged; the run-safety pieces are importable from
``kerasdl.training``.

Divergence here is forced (a learning rate of 1e30, or a gradient set to NaN at a chosen
step), so no test depends on a host's kernels (oneDNN on or off) or a lucky trajectory.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the Keras backend before keras is imported)
import keras
import tensorflow as tf

from kerasdl import cli


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


# ------------------------------------------------------------------ 1. kerasdl train: run folder and summary


def test_train_claims_a_fresh_run_folder_names_the_export_after_it_and_never_truncates_the_summary(
    tmp_path, monkeypatch, no_data_dir
):
    """An id another run already holds is not reused (the folder is claimed by an exclusive
    mkdir, so the next id is drawn); the export is named after the run folder; a kill while
    summary.json is written leaves no truncated summary.json."""
    import kerasdl.export
    from kerasdl.apps.train import train_and_export

    runs, exports = tmp_path / "runs", tmp_path / "exports"
    taken = runs / "20000101-000000-taken000"
    taken.mkdir(parents=True)
    (taken / "notes.txt").write_text("another run's folder\n")
    ids = iter(["20000101-000000-taken000", "20000101-000000-fresh000"])
    monkeypatch.setattr(kerasdl.export, "new_run_id", lambda: next(ids))

    write_text = Path.write_text

    def killed_while_writing_the_summary(self, data, *args, **kwargs):
        if isinstance(data, str) and data.startswith('{\n  "builder"'):  # the summary, under any file name
            write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise KeyboardInterrupt("killed while writing the summary")
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", killed_while_writing_the_summary)
    with pytest.raises(KeyboardInterrupt):
        train_and_export("mlp", "digits", epochs=1, runs_dir=runs, export_dir=exports, verbose=0, log=lambda *a: None)

    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]  # the other run's folder is untouched
    fresh = runs / "20000101-000000-fresh000"
    assert fresh.is_dir() and (fresh / "history.csv").is_file()
    assert [p.name for p in exports.iterdir()] == [fresh.name]  # the export is named after its run folder
    assert not list(runs.rglob("summary.json"))  # no truncated summary
    assert not [p for p in fresh.iterdir() if p.name.startswith(".")]  # and no temporary file left behind


# ------------------------------------------------------------------ 2. image generator exports: empty batch


def _generator(kind):
    """A tiny generator of each kind the apps export, and its class count (conditional only)."""
    from kerasdl.generative.autoencoder_networks import autoencoder
    from kerasdl.generative.gan_networks import dcgan, gan_mlp
    from kerasdl.generative.vae_networks import vae_decoder

    keras.utils.set_random_seed(0)
    if kind == "mlp_gan":
        return gan_mlp(latent_dim=4, generator_units=(8,), discriminator_units=(8,))[0], None
    if kind == "dcgan":
        return dcgan(latent_dim=4, filters=2)[0], None
    if kind == "conditional_dcgan":
        return dcgan(latent_dim=4, filters=2, num_classes=3)[0], 3
    if kind == "vae_conv":
        return vae_decoder(latent_dim=2, kind="conv"), None
    if kind == "vae_dense":
        return vae_decoder(latent_dim=2, kind="dense", hidden_units=8), None
    if kind == "autoencoder_conv":  # 2 feature maps before the last layer: oneDNN returned (0, 28, 28, 2)
        return autoencoder("conv", code_size=4, filters=(2, 4)).decoder, None
    return autoencoder("dense", code_size=4).decoder, None


@pytest.mark.parametrize(
    "kind", ["mlp_gan", "dcgan", "conditional_dcgan", "vae_conv", "vae_dense", "autoencoder_conv", "autoencoder_dense"]
)
def test_every_image_generator_export_answers_an_empty_batch(kind, tmp_path):
    from kerasdl.generative.export import export_image_generator

    generator, num_classes = _generator(kind)
    latent_dim = int(generator.inputs[0].shape[-1])
    loaded = tf.saved_model.load(str(export_image_generator(generator, tmp_path / kind, num_classes=num_classes)))

    def serve(rows, width=latent_dim, labels=None):
        inputs = [tf.zeros((rows, width))]
        if num_classes:
            inputs.append(tf.zeros((rows if labels is None else labels,), tf.int32))
        return loaded.serve(*inputs)["images"]

    empty = serve(0)
    assert empty.dtype == tf.uint8 and tuple(empty.shape) == (0, 28, 28, 1)
    assert tuple(serve(2).shape) == (2, 28, 28, 1)
    # the checks still see the request as sent, not the row that stands in for an empty batch
    with pytest.raises(tf.errors.InvalidArgumentError, match="latent must have shape"):
        serve(0, width=latent_dim + 1)
    if num_classes:
        with pytest.raises(tf.errors.InvalidArgumentError, match="one class per latent vector"):
            serve(0, labels=2)


# ------------------------------------------------------------------ 3. textgen export name, text exports


def test_textgen_export_is_named_after_its_run_folder(tmp_path):
    from kerasdl.apps import textgen

    text_file = tmp_path / "tiny.txt"
    text_file.write_text("the cat sat on the mat and the dog sat on the log\n" * 20, encoding="utf-8")
    argv = [
        "--text",
        str(text_file),
        "--units",
        "4",
        "--embedding-dim",
        "4",
        "--sequence-length",
        "10",
        "--batch-size",
        "8",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--num-chars",
        "5",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export-dir",
        str(tmp_path / "exports"),
        "--quiet",
    ]
    assert textgen.main(argv) == 0
    [run_dir] = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert Path(summary["export_dir"]).name == run_dir.name
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [run_dir.name]


def test_small_text_encoder_export_answers_an_empty_batch(tmp_path):
    from kerasdl.text.encoders import export_small_text_encoder

    path = export_small_text_encoder(tmp_path / "encoder", ["a cat sat", "the dog ran"], embedding_dim=4, max_length=5)
    loaded = tf.saved_model.load(str(path))
    empty = tf.constant([], tf.string)
    assert tuple(loaded.signatures["serving_default"](inputs=empty)["embeddings"].shape) == (0, 4)
    for training in (False, True):
        assert tuple(loaded(empty, training=training).shape) == (0, 4)


# ------------------------------------------------------------------ 4. a file given as an image folder


def test_a_file_given_as_the_image_folder_is_named_as_a_file(tmp_path, capsys):
    from kerasdl.transfer.data import scan_image_folder

    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="is a file, not an image folder") as error:
        scan_image_folder(image)
    assert "does not exist" not in str(error.value)

    runs = tmp_path / "runs"
    assert cli.main(["finetune", str(image), "--runs-dir", str(runs), "--export", str(tmp_path / "sm")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert _error_lines(err)[-1] == (
        f"kerasdl finetune: error: {image} is a file, not an image folder (expected one sub-folder per class)"
    )
    assert not runs.exists() and not (tmp_path / "sm").exists()


# ------------------------------------------------------------------ 5. NAS and style transfer diverge cleanly


def test_nas_final_retraining_that_diverges_fails_in_one_line_and_exports_nothing(tmp_path, capsys):
    argv = [
        "nas",
        "--trials",
        "1",
        "--child-epochs",
        "1",
        "--layers",
        "1",
        "--no-random",
        "--final-epochs",
        "2",
        "--final-learning-rate",
        "1e30",
        "--quiet",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
    ]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = _error_lines(err)
    assert line.startswith("kerasdl nas: error: training diverged at epoch 1")
    assert not (tmp_path / "sm").exists()
    assert not list((tmp_path / "runs").rglob("summary.json"))


def test_nas_rejects_a_non_positive_final_learning_rate(tmp_path, capsys):
    argv = ["nas", "--final-learning-rate", "0", "--runs-dir", str(tmp_path / "runs")]
    assert cli.main(argv) == 2
    assert "final_learning_rate" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def _tiny_features(preprocess):
    from kerasdl.style_transfer import perceptual_features

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv2")(x)
    return perceptual_features(
        keras.Model(inputs, x), content_layer="conv2", style_layers=["conv1", "conv2"], preprocess=preprocess
    )


def test_style_transfer_that_diverges_raises_training_diverged_and_keeps_only_a_finite_checkpoint(tmp_path):
    """From step 3 on the gradient is NaN while the loss is still finite (as when a gradient
    overflows): the run must stop at step 3, before that step's PNG or checkpoint, name the
    step-2 checkpoint, and that checkpoint must hold a finite image."""
    from kerasdl.style_transfer import transfer_style
    from kerasdl.training.callbacks import TrainingDiverged

    gradient_scale = tf.Variable(1.0)

    @tf.custom_gradient
    def poisoned(x):
        return tf.identity(x), lambda dy: dy * gradient_scale

    def on_step(step, losses):
        if step == 2:
            gradient_scale.assign(float("nan"))

    rng = np.random.default_rng(0)
    content, style = rng.integers(0, 255, (2, 16, 16, 3)).astype("uint8")
    with pytest.raises(TrainingDiverged, match="diverged at step 3") as error:
        transfer_style(
            content,
            style,
            features=_tiny_features(lambda x: poisoned(x / 255.0)),
            steps=6,
            learning_rate=0.05,
            progress=False,
            on_step=on_step,
            checkpoint_dir=tmp_path / "checkpoints",
            checkpoint_every=1,
            intermediate_dir=tmp_path / "steps",
            intermediate_every=1,
            jit_compile=False,
        )
    assert isinstance(error.value, FloatingPointError)  # what the CLI reports in one line, exit status 1
    assert error.value.checkpoint is not None and error.value.checkpoint.endswith("-2")
    assert sorted(p.name for p in (tmp_path / "steps").iterdir()) == ["step_00001.png", "step_00002.png"]
    image = tf.Variable(tf.zeros((1, 16, 16, 3)))
    tf.train.Checkpoint(image=image).read(error.value.checkpoint).expect_partial()
    assert np.isfinite(image.numpy()).all() and image.numpy().any()


# ------------------------------------------------------------------ 6. kerasdl.training exports


def test_run_safety_pieces_are_exported_from_kerasdl_training():
    import kerasdl.training
    from kerasdl.training import callbacks

    for name in ("BestCheckpoint", "StopOnNonFinite", "HistoryCSV", "TrainingDiverged"):
        assert name in kerasdl.training.__all__
        assert getattr(kerasdl.training, name) is getattr(callbacks, name)
    for name in ("EpochTimer", "TimeBudget", "make_callbacks", "compile_model", "GAN", "VAE"):
        assert name in kerasdl.training.__all__  # the existing exports stay
