"""Transfer learning: checked image folders, backbones, two-phase fine-tuning, serving export."""

import io
import warnings

import numpy as np
import pytest

from kerasdl.transfer import (
    LoadedBackbone,
    build_transfer_model,
    export_image_classifier,
    fine_tune,
    image_folder_datasets,
    load_backbone,
    scan_image_folder,
)


def _png_bytes(array):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _colour_folder(root, per_class=10, size=(20, 24)):
    """Two classes told apart by colour: red-dominant vs blue-dominant noise images."""
    rng = np.random.default_rng(0)
    for name, channel in (("blue", 2), ("red", 0)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 60, (*size, 3), dtype=np.uint8)
            image[..., channel] = rng.integers(180, 256, size)
            (folder / f"{i}.png").write_bytes(_png_bytes(image))
    return root


def _tiny_backbone(input_shape=(16, 16, 3)):
    """A small conv base with batch norm, standing in for an ImageNet network."""
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    outputs = keras.layers.ReLU(name="relu2")(x)
    base = keras.Model(inputs, outputs, name="tiny_base")
    return LoadedBackbone("tiny", base, keras.layers.Rescaling(1 / 255), input_shape, None)


# ------------------------------------------------------------------ image folders


def test_scan_skips_unreadable_and_non_image_files_with_a_warning(tmp_path):
    root = _colour_folder(tmp_path / "data", per_class=3)
    (root / "red" / "broken.jpg").write_bytes(b"definitely not a jpeg")
    (root / "blue" / "notes.txt").write_text("not an image")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = scan_image_folder(root)
    assert folder.class_names == ["blue", "red"]
    assert folder.counts() == {"blue": 3, "red": 3}
    assert sorted(p.rsplit("/", 1)[-1] for p in folder.skipped) == ["broken.jpg", "notes.txt"]
    messages = " ".join(str(w.message) for w in caught)
    assert "broken.jpg" in messages and "Unknown image file format" in messages and "notes.txt" in messages


def test_scan_rejects_missing_empty_and_classless_folders(tmp_path):
    from kerasdl.data import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        scan_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        scan_image_folder(tmp_path / "empty")
    root = _colour_folder(tmp_path / "data", per_class=2)
    (root / "green").mkdir()
    (root / "green" / "readme.txt").write_text("no images here")
    with pytest.warns(UserWarning, match="readme.txt"), pytest.raises(ValueError, match="class 'green'.*no usable"):
        scan_image_folder(root)


def test_datasets_split_stratified_and_resize(tmp_path):
    folder = scan_image_folder(_colour_folder(tmp_path / "data", per_class=10))
    train, val, val_labels = image_folder_datasets(folder, image_size=(16, 16), batch_size=4, validation_fraction=0.2)
    assert sorted(np.bincount(val_labels).tolist()) == [2, 2]
    images, labels = next(iter(train))
    assert images.shape == (4, 16, 16, 3) and images.dtype.name == "float32"
    assert 0.0 <= float(np.min(images)) and float(np.max(images)) <= 255.0
    assert sum(int(y.shape[0]) for _, y in train) == 16
    with pytest.raises(ValueError, match="validation_fraction"):
        image_folder_datasets(folder, validation_fraction=0.0)


# ------------------------------------------------------------------ backbones


def test_load_backbone_validates_names_and_weights(tmp_path):
    with pytest.raises(ValueError, match="unknown backbone 'inception_v9'"):
        load_backbone("inception_v9")
    with pytest.raises(ValueError, match="weights must be"):
        load_backbone("mobilenet_v2", weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="no include_top switch"):
        load_backbone("kerasdl:lenet5", input_shape=(32, 32, 1), weights=None)


def test_missing_imagenet_weights_say_how_to_go_on(no_data_dir, monkeypatch, tmp_path):
    from kerasdl.data import sources
    from kerasdl.models.weights import WeightsNotFoundError

    monkeypatch.setattr(sources, "user_keras_home", lambda: tmp_path / "empty-keras-home")
    with pytest.raises(WeightsNotFoundError, match="--weights none"):
        load_backbone("resnet50", weights="imagenet")
    # Like Keras, a size with no file of its own looks for the 224 px one.
    with pytest.raises(WeightsNotFoundError, match="1.0_224_no_top"):
        load_backbone("mobilenet_v2", input_shape=(100, 100, 3), weights="imagenet")


def test_mobilenet_v2_imagenet_weights_load_from_the_data_folder(shared_data):
    import h5py

    backbone = load_backbone("mobilenet_v2", weights="imagenet")
    assert backbone.input_shape == (224, 224, 3)
    file_name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    with h5py.File(shared_data / "keras" / "models" / file_name) as stored:
        np.testing.assert_array_equal(
            backbone.model.get_layer("Conv1").get_weights()[0], stored["Conv1"]["Conv1"]["kernel"][()]
        )
    assert np.asarray(backbone.preprocess(np.full((1, 2, 2, 3), 255.0))).max() == pytest.approx(1.0)


# ------------------------------------------------------------------ two-phase fine-tuning


@pytest.mark.learned
def test_two_phases_freeze_then_unfreeze_top_with_batch_norm_frozen(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    folder = scan_image_folder(_colour_folder(tmp_path / "data", per_class=12))
    train, val, _ = image_folder_datasets(folder, image_size=(16, 16), batch_size=8, validation_fraction=0.25)
    backbone = _tiny_backbone()
    model = build_transfer_model(backbone, 2, dropout=0.0)
    base = backbone.model
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in base.layers if layer.weights}

    result = fine_tune(model, backbone, train, val, head_epochs=6, fine_tune_epochs=0, learning_rate=1e-2, verbose=0)
    for layer in base.layers:  # phase 1: the base did not move at all
        for old, new in zip(before.get(layer.name, []), layer.get_weights()):
            np.testing.assert_array_equal(old, new)
    losses = result.head_history["loss"]
    assert losses[-1] < losses[0]

    result = fine_tune(
        model, backbone, train, val, head_epochs=1, fine_tune_epochs=3, learning_rate=1e-2, unfreeze_top=3, verbose=0
    )  # conv2, bn2, relu2: bn2 stays frozen all the same
    assert result.trainable_layers == 2
    np.testing.assert_array_equal(before["conv1"][0], base.get_layer("conv1").get_weights()[0])
    assert not np.allclose(before["conv2"][0], base.get_layer("conv2").get_weights()[0])
    # Keras 3 overrides the functional training=False during fit(); trainable=False is what
    # keeps batch norm in inference mode: its statistics and scale/offset did not move.
    for old, new in zip(before["bn2"], base.get_layer("bn2").get_weights()):
        np.testing.assert_array_equal(old, new)
    assert len(result.history["loss"]) == 4


def test_multi_task_heads_with_loss_weights():
    import tensorflow as tf

    backbone = _tiny_backbone()
    model = build_transfer_model(backbone, {"colour": 2, "shape": 3}, dropout=0.0)
    assert sorted(model.output_names) == ["colour", "shape"]
    x = np.random.default_rng(0).uniform(0, 255, (16, 16, 16, 3)).astype("float32")
    y = {"colour": np.arange(16) % 2, "shape": np.arange(16) % 3}
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    result = fine_tune(
        model,
        backbone,
        ds,
        ds,
        head_epochs=2,
        fine_tune_epochs=0,
        verbose=0,
        loss_weights={"colour": 1.0, "shape": 0.5},
    )
    assert {"colour_accuracy", "shape_accuracy"} <= set(result.head_history)
    with pytest.raises(ValueError, match="num_classes\\['shape'\\] must be >= 2"):
        build_transfer_model(backbone, {"colour": 2, "shape": 1})


# ------------------------------------------------------------------ serving export


def test_export_serves_uint8_images_and_encoded_bytes(tmp_path):
    import tensorflow as tf

    backbone = _tiny_backbone()
    model = build_transfer_model(backbone, 2, dropout=0.0)
    path = export_image_classifier(model, tmp_path / "export", class_names=["blue", "red"], image_size=(16, 16))
    served = tf.saved_model.load(str(path))

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 20, 24, 3), dtype=np.uint8)
    out = served.serve(tf.constant(images))
    expected = model(tf.image.resize(tf.cast(images, tf.float32), (16, 16)), training=False).numpy()
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-6)
    names = [n.decode() for n in out["class_name"].numpy()]
    assert names == [["blue", "red"][i] for i in expected.argmax(-1)]

    from_bytes = served.serve_bytes(tf.constant([_png_bytes(image) for image in images]))
    np.testing.assert_allclose(from_bytes["probabilities"].numpy(), expected, atol=1e-6)

    # `kerasdl predict` reads any-size image files and the class names written with the export
    from kerasdl.apps.predict import predict

    files = []
    for i, image in enumerate(images[:2]):
        files.append(str(tmp_path / f"image{i}.png"))
        (tmp_path / f"image{i}.png").write_bytes(_png_bytes(image))
    rows = predict(str(path), files, top_k=1)
    assert [row[1][0][0] for row in rows] == names[:2]
    assert [row[1][0][1] for row in rows] == pytest.approx(expected[:2].max(-1), abs=1e-6)

    with pytest.raises(TypeError, match="uint8"):
        served.serve(tf.constant(images.astype("float32")))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        served.serve_bytes(tf.constant([b"garbage bytes"]))
    with pytest.raises(ValueError, match="3 class names"):
        export_image_classifier(model, tmp_path / "bad", class_names=["a", "b", "c"], image_size=(16, 16))


# ------------------------------------------------------------------ the app


def test_finetune_app_reports_bad_folders(tmp_path, capsys):
    from kerasdl.apps import finetune

    assert finetune.main([str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert finetune.main([str(tmp_path / "empty")]) == 2
    assert "no class sub-folders" in capsys.readouterr().err


@pytest.mark.slow
def test_finetune_app_end_to_end(tmp_path, capsys):
    import json

    import tensorflow as tf

    from kerasdl.apps import finetune
    from kerasdl.export import EXPORT_TOLERANCE

    root = _colour_folder(tmp_path / "data", per_class=8)
    (root / "red" / "broken.jpg").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match="broken.jpg"):
        code = finetune.main(
            [
                str(root),
                "--weights",
                "none",
                "--image-size",
                "32",
                "--head-epochs",
                "1",
                "--fine-tune-epochs",
                "1",
                "--batch-size",
                "8",
                "--export",
                str(tmp_path / "sm"),
                "--runs-dir",
                str(tmp_path / "runs"),
            ]
        )
    assert code == 0
    summary = json.loads(next((tmp_path / "runs").glob("*/summary.json")).read_text())
    assert summary["export_max_abs_diff"] <= EXPORT_TOLERANCE
    assert summary["skipped_files"][0].endswith("broken.jpg")
    served = tf.saved_model.load(summary["export_path"])
    image = (root / "red" / "0.png").read_bytes()
    assert served.serve_bytes(tf.constant([image]))["class_name"].numpy()[0] in (b"red", b"blue")


def test_library_flow_fine_tunes_and_exports_from_keyword_arguments(tmp_path):
    """``fine_tune_image_classifier`` called directly (no flags): one frozen-base epoch on a tiny
    folder returns its result, writes the summary it returns and a serving export that reloads
    and classifies encoded image bytes."""
    import json

    import tensorflow as tf

    from kerasdl.export import EXPORT_TOLERANCE
    from kerasdl.transfer import ImageClassifierResult, fine_tune_image_classifier

    root = _colour_folder(tmp_path / "data", per_class=5)
    result = fine_tune_image_classifier(
        root,
        weights=None,
        image_size=32,
        batch_size=4,
        head_epochs=1,
        fine_tune_epochs=0,
        augment=False,
        export_dir=tmp_path / "sm",
        runs_dir=tmp_path / "runs",
        jit_compile=False,
        log=lambda *a: None,
    )
    assert isinstance(result, ImageClassifierResult)
    summary = result.summary
    assert summary["weights"] is None and summary["image_size"] == [32, 32]
    assert summary["train_images"] + summary["validation_images"] == 10 and summary["epochs_run"] == 1
    assert summary["validation"]["class_names"] == ["blue", "red"]
    assert 0.0 <= result.validation_accuracy <= 1.0 and len(result.history["loss"]) == 1
    assert json.loads((result.run_dir / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert (result.run_dir / "class_names.txt").read_text().split() == ["blue", "red"]
    assert result.export_path == tmp_path / "sm" / result.run_dir.name
    assert summary["export_max_abs_diff"] <= EXPORT_TOLERANCE
    served = tf.saved_model.load(str(result.export_path))
    image = (root / "red" / "0.png").read_bytes()
    assert served.serve_bytes(tf.constant([image]))["class_name"].numpy()[0] in (b"red", b"blue")
    with pytest.raises(ValueError, match="head_epochs must be >= 1"):
        fine_tune_image_classifier(root, weights=None, head_epochs=0, runs_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_mobilenet_v2_imagenet_at_other_sizes_uses_the_224_file(shared_data):
    import h5py

    with pytest.warns(UserWarning, match="1.0_224_no_top"):
        backbone = load_backbone("mobilenet_v2", input_shape=(96, 96, 3), weights="imagenet")
    assert backbone.model.output.shape[1:] == (3, 3, 1280)
    file_name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    with h5py.File(shared_data / "keras" / "models" / file_name) as stored:
        np.testing.assert_array_equal(
            backbone.model.get_layer("Conv1").get_weights()[0], stored["Conv1"]["Conv1"]["kernel"][()]
        )
