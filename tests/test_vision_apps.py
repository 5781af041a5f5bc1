"""End-to-end runs of the segment, verify and style apps on tiny settings (one export each),
reloading each export and comparing it with the saved in-memory model."""

import json

import numpy as np
import pytest

from kerasdl import cli


def _summary(runs_dir):
    [run_dir] = list(runs_dir.iterdir())
    return json.loads((run_dir / "summary.json").read_text()), run_dir


@pytest.mark.learned
def test_segment_app_trains_exports_and_reloads(tmp_path, capsys):
    code = cli.main(
        [
            "segment",
            "--num-images",
            "48",
            "--image-size",
            "32",
            "--depth",
            "2",
            "--base-filters",
            "8",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--verbose",
            "0",
            "--export",
            str(tmp_path / "exp"),
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 0
    assert "test mean IoU" in capsys.readouterr().out
    summary, run_dir = _summary(tmp_path / "runs")
    assert 0.0 <= summary["test_mean_iou"] <= 1.0 and summary["num_classes"] == 4
    history = np.genfromtxt(run_dir / "history.csv", delimiter=",", names=True)
    assert history["loss"][-1] < history["loss"][0]
    assert (run_dir / "predictions.png").stat().st_size > 0

    from kerasdl.data.shapes import make_shapes
    from kerasdl.export import load_keras, load_saved_model

    images, _ = make_shapes(8, 32, seed=99)
    served = np.asarray(load_saved_model(summary["export_path"])(images))  # uint8 in, classes out
    assert served.shape == (8, 32, 32) and served.dtype == np.int32
    model = load_keras(summary["model_keras"], compile=False)
    np.testing.assert_array_equal(served, np.argmax(model.predict(images / np.float32(255), verbose=0), axis=-1))


def test_verify_app_on_digits_without_data(tmp_path, capsys, no_data_dir):
    code = cli.main(
        [
            "verify",
            "--epochs",
            "2",
            "--steps-per-epoch",
            "5",
            "--filters",
            "8,16",
            "--embedding-dim",
            "8",
            "--pairs",
            "200",
            "--identities-per-batch",
            "4",
            "--verbose",
            "0",
            "--export",
            str(tmp_path / "exp"),
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "using scikit-learn digits" in out and "one-shot recognition" in out
    summary, run_dir = _summary(tmp_path / "runs")
    assert summary["dataset"] == "digits" and summary["identities"] == {"train": 6, "validation": 2, "test": 2}
    assert 0.0 <= summary["test_roc_auc"] <= 1.0 and summary["threshold"] >= 0.0
    assert {"top1_accuracy", "accuracy_with_threshold", "impostor_rejection_rate"} <= set(summary["one_shot"])
    assert (run_dir / "roc.png").is_file()

    from kerasdl.export import load_keras, load_saved_model

    images = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 1)).astype("uint8")
    served = np.asarray(load_saved_model(summary["export_path"])(images))
    embedding = load_keras(summary["embedding_keras"], compile=False)
    np.testing.assert_allclose(served, embedding.predict(images / np.float32(255), verbose=0), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, rtol=1e-5)


def test_verify_app_with_pretrained_blocks(tmp_path, capsys, no_data_dir):
    code = cli.main(
        [
            "verify",
            "--backbone",
            "kerasdl:resnet_cifar",
            "--weights",
            "none",
            "--backbone-size",
            "32",
            "--feature-layers",
            "auto2",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "3",
            "--embedding-dim",
            "8",
            "--pairs",
            "100",
            "--identities-per-batch",
            "4",
            "--verbose",
            "0",
            "--export",
            "none",
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 0
    assert "Backbone kerasdl:resnet_cifar (none weights, frozen)" in capsys.readouterr().out
    summary, _ = _summary(tmp_path / "runs")
    layers = summary["model"]["feature_layers"]
    assert len(layers) == 2 and all(name.endswith("_out") for name in layers)  # ranked on the seen digits
    assert 0.0 <= summary["test_roc_auc"] <= 1.0


@pytest.fixture
def photos(tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    content.write_bytes(tf.io.encode_png(rng.integers(0, 255, (40, 48, 3)).astype("uint8")).numpy())
    stripes = ((np.indices((40, 48)).sum(0) % 6 < 3)[..., None] * np.array([200, 30, 90])).astype("uint8")
    style.write_bytes(tf.io.encode_png(stripes).numpy())
    return content, style


def test_style_app_writes_the_image_and_summary(tmp_path, photos, capsys):
    out = tmp_path / "out" / "stylised.png"
    code = cli.main(
        [
            "style",
            str(photos[0]),
            str(photos[1]),
            "--out",
            str(out),
            "--steps",
            "4",
            "--weights",
            "none",
            "--network",
            "vgg16",
            "--image-size",
            "32",
            "--intermediate-every",
            "2",
            "--quiet",
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 0
    summary, run_dir = _summary(tmp_path / "runs")
    assert summary["steps"] == 4 and summary["network"] == "VGG16" and summary["image_size"] == [27, 32]
    assert summary["final"]["style"] < summary["initial"]["style"]
    from kerasdl.style_transfer import load_image

    assert load_image(out).shape == (27, 32, 3)
    assert len(summary["intermediate_pngs"]) == 2 and (run_dir / "losses.png").is_file()
    assert "Style loss" in capsys.readouterr().out


def test_style_app_bad_input(tmp_path, photos, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"GIF89a but truncated")
    out = tmp_path / "never.png"
    assert cli.main(["style", str(photos[0]), str(broken), "--out", str(out), "--weights", "none"]) == 2
    assert "cannot decode" in capsys.readouterr().err and not out.exists()
    assert cli.main(["style", str(tmp_path / "missing.jpg"), str(photos[1]), "--out", str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["style", str(photos[0]), str(photos[1]), "--out", str(tmp_path / "x.jpg")]) == 2
