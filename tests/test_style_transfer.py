"""Style-transfer costs against NumPy, the optimisation loop (style loss falls with random
features), checkpoints/resume, intermediate PNGs, bad images and no partial output file."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data import DatasetNotFoundError
from kerasdl.losses.style import content_loss, gram_matrix, layer_style_loss, style_loss, total_variation_loss
from kerasdl.style_transfer import load_image, perceptual_features, save_png, transfer_style


def test_costs_match_the_formulas():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1, 4, 5, 3)).astype("float32"), rng.normal(size=(1, 4, 5, 3)).astype("float32")
    assert float(content_loss(a, b)) == pytest.approx(((a - b) ** 2).sum() / (4 * 4 * 5 * 3), rel=1e-5)
    flat = a[0].reshape(-1, 3)
    np.testing.assert_allclose(gram_matrix(a)[0].numpy(), flat.T @ flat / 20, rtol=1e-5)
    g_a, g_b = flat.T @ flat, b[0].reshape(-1, 3).T @ b[0].reshape(-1, 3)
    course = ((g_a - g_b) ** 2).sum() / (4 * 3**2 * 20**2)  # 1/(4 n_C² (n_H n_W)²) Σ (G_S − G_G)²
    assert float(layer_style_loss(a, b)) == pytest.approx(course, rel=1e-5)
    assert float(layer_style_loss(a, a)) == 0.0
    assert float(style_loss([a, a], [b, a], [0.25, 0.75])) == pytest.approx(0.25 * course, rel=1e-5)
    with pytest.raises(ValueError, match="layer_weights"):
        style_loss([a], [b], [0.5, 0.5])
    img = rng.uniform(size=(1, 6, 7, 3)).astype("float32")
    tv = np.abs(np.diff(img, axis=1)).sum() + np.abs(np.diff(img, axis=2)).sum()
    assert float(total_variation_loss(img)) == pytest.approx(tv / img[0].size, rel=1e-5)


def _tiny_features(**kwargs):
    """A random-weight CNN standing in for VGG19 (any Keras CNN works by layer name)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv3")(x)
    model = keras.Model(inputs, x, name="tiny")
    return perceptual_features(model, content_layer="conv3", style_layers=["conv1", "conv2", "conv3"], **kwargs)


def _images():
    rng = np.random.default_rng(0)
    content = rng.integers(0, 255, (32, 32, 3)).astype("uint8")
    stripes = (np.indices((32, 32)).sum(0) % 8 < 4)[..., None] * np.array([230, 40, 20])
    return content, stripes.astype("uint8")


def test_style_loss_falls_with_random_weights(tmp_path):
    content, style = _images()
    result = transfer_style(
        content,
        style,
        features=_tiny_features(),
        steps=25,
        learning_rate=0.05,
        style_weight=100.0,
        tv_weight=0.1,
        progress=False,
        intermediate_dir=tmp_path / "steps",
        intermediate_every=10,
    )
    assert result.steps_run == 25 and result.image.shape == (32, 32, 3) and result.image.dtype == np.uint8
    assert result.style_reduction > 3.0
    assert all(np.isfinite(v).all() for v in result.history.values())
    assert sorted(os.listdir(tmp_path / "steps")) == ["step_00010.png", "step_00020.png"]
    assert load_image(tmp_path / "steps" / "step_00020.png").shape == (32, 32, 3)


def test_checkpoint_resume_continues_from_the_saved_step(tmp_path):
    content, style = _images()
    features = _tiny_features()
    first = transfer_style(
        content, style, features=features, steps=4, progress=False, checkpoint_dir=tmp_path, checkpoint_every=2
    )
    resumed = transfer_style(content, style, features=features, steps=6, progress=False, checkpoint_dir=tmp_path)
    assert resumed.steps_run == 2  # steps 5 and 6 only
    assert resumed.history["style"][0] < first.history["style"][0]


def test_default_network_and_layers_with_random_weights():
    features = perceptual_features("vgg19", weights=None)
    assert features.network == "VGG19" and features.content_layer == "block4_conv2" and len(features.style_layers) == 5
    content_map, style_maps = features(tf.zeros((1, 32, 32, 3)))
    assert content_map.shape[-1] == 512 and [m.shape[-1] for m in style_maps] == [64, 128, 256, 512, 512]
    with pytest.raises(ValueError, match="no layer"):
        perceptual_features("vgg19", weights=None, content_layer="conv9")
    with pytest.raises(ValueError, match="keras.applications name"):
        perceptual_features("picasso_net", weights=None)


def test_missing_imagenet_weights_suggest_weights_none(no_data_dir, monkeypatch):
    from keras.src.utils import file_utils

    def offline_get_file(*args, **kwargs):  # what Keras raises without the file and without internet
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- offline")

    monkeypatch.setattr(file_utils, "get_file", offline_get_file)
    with pytest.raises(DatasetNotFoundError, match="weights=None"):
        perceptual_features("vgg16")


def test_undecodable_and_missing_images_are_clear_errors(tmp_path):
    bad = tmp_path / "style.jpg"
    bad.write_bytes(b"\x00 definitely not a jpeg")
    with pytest.raises(ValueError, match="cannot decode .*style.jpg"):
        load_image(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        transfer_style(*_images(), features=_tiny_features(), steps=0)


def test_no_partial_output_file_when_interrupted(tmp_path, monkeypatch):
    content, style = _images()

    def interrupt(step, losses):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transfer_style(content, style, features=_tiny_features(), steps=5, progress=False, on_step=interrupt)
    out = tmp_path / "out.png"
    save_png(content, out)
    before = out.read_bytes()

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt  # the process is stopped between writing and renaming

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        save_png(style, out)
    assert out.read_bytes() == before  # the old file is untouched ...
    assert os.listdir(tmp_path) == ["out.png"]  # ... and no temporary file is left behind
