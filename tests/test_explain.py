"""Explanations on hand-built models whose right answer is known: a bright square that alone
drives class 0 must be what saliency, Grad-CAM, occlusion and LIME point at."""

import numpy as np
import pytest

import kerasdl  # noqa: F401
import keras

from kerasdl.explain import (
    completeness_gap,
    find_last_conv_layer,
    first_layer_filters,
    grad_cam,
    integrated_gradients,
    layer_embeddings,
    lime_image,
    lime_tabular,
    occlusion_sensitivity,
    saliency,
    smoothgrad,
    top_activating_patches,
    tsne_embedding,
)

SIZE = 12
SQUARE = (slice(0, 4), slice(8, 12))  # top-right 4x4 cell


def square_image(rows=SQUARE[0], cols=SQUARE[1]):
    image = np.zeros((SIZE, SIZE, 1), "float32")
    image[rows, cols] = 1.0
    return image


@pytest.fixture(scope="module")
def detector():
    """Class-0 logit = mean(relu(x)), class-1 logit = -mean(relu(x)); softmax output."""
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Conv2D(1, 1, activation="relu", name="detect", kernel_initializer="ones")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(x)
    model = keras.Model(inputs, outputs, name="detector")
    model.get_layer("out").set_weights([np.array([[1.0, -1.0]], "float32"), np.zeros(2, "float32")])
    return model


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            keras.layers.Conv2D(4, 3, activation="tanh", name="conv1"),
            keras.layers.Conv2D(6, 3, activation="tanh", name="conv2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        name="cnn",
    )


def inside(mask_map):
    return mask_map[SQUARE].mean(), np.delete(mask_map.reshape(-1), np.flatnonzero(square_image()[..., 0])).mean()


def test_saliency_and_smoothgrad_point_at_the_square(detector, tmp_path):
    image = square_image()
    maps = saliency(detector, image, class_index=0, path=tmp_path / "saliency.png")
    assert maps.shape == (1, SIZE, SIZE)
    np.testing.assert_allclose(maps[0][SQUARE], 1.0 / SIZE**2, rtol=1e-5)  # d mean(relu(x)) / dx
    assert inside(maps[0])[1] == 0.0
    assert (tmp_path / "saliency.png").stat().st_size > 0
    smooth = smoothgrad(detector, image, class_index=0, n_samples=16, noise_level=0.2)[0]
    square, background = inside(smooth)
    assert square > 1.5 * background > 0


def test_integrated_gradients_are_complete(cnn):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (3, SIZE, SIZE, 1)).astype("float32")
    attributions = integrated_gradients(cnn, x, class_index=[0, 1, 2], steps=64)
    assert attributions.shape == x.shape
    gap, difference = completeness_gap(cnn, x, attributions, class_index=[0, 1, 2])
    assert np.all(np.abs(difference) > 1e-2)  # a non-trivial check
    assert np.all(np.abs(gap) <= 0.01 * np.abs(difference) + 1e-4)
    coarse = integrated_gradients(cnn, x, class_index=[0, 1, 2], steps=2)
    assert np.abs(completeness_gap(cnn, x, coarse, class_index=[0, 1, 2])[0]).max() > np.abs(gap).max()
    # with a baseline equal to the input, every attribution is zero
    assert np.all(integrated_gradients(cnn, x[:1], baseline=x[0], steps=4) == 0)


def test_grad_cam_finds_the_last_conv_layer_and_the_square(detector, cnn, tmp_path):
    assert find_last_conv_layer(cnn) == "conv2"
    assert find_last_conv_layer(detector) == "detect"
    cam = grad_cam(detector, square_image(), class_index=0, path=tmp_path / "cam.png")
    assert cam.shape == (1, SIZE, SIZE) and cam.max() == pytest.approx(1.0)
    square, background = inside(cam[0])
    assert square > 0.9 and background < 0.1
    assert grad_cam(cnn, np.zeros((2, SIZE, SIZE, 1)), layer_name="conv1").shape == (2, SIZE, SIZE)
    with pytest.raises(ValueError, match="layer_name 'nope' is not a layer of 'cnn'"):
        grad_cam(cnn, np.zeros((1, SIZE, SIZE, 1)), layer_name="nope")
    with pytest.raises(ValueError, match="needs a 4-D feature map"):
        grad_cam(cnn, np.zeros((1, SIZE, SIZE, 1)), layer_name="flatten")
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="has no Conv2D"):
        find_last_conv_layer(dense)


def test_occlusion_peaks_on_the_square(detector):
    maps = occlusion_sensitivity(detector, square_image(), class_index=0, patch_size=4)
    assert maps.shape == (1, SIZE, SIZE)
    square, background = inside(maps[0])
    assert square > 0 and background == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="patch_size must be <= 12"):
        occlusion_sensitivity(detector, square_image(), patch_size=20)


def test_lime_image_and_tabular(detector, tmp_path):
    pytest.importorskip("lime", reason="LIME needs the optional 'lime' package (explain / dev extra)")
    result = lime_image(
        detector,
        square_image(),
        class_index=0,
        num_samples=200,
        segmentation="grid",
        cell=4,
        path=tmp_path / "lime.png",
    )
    assert result["segments"].shape == (SIZE, SIZE) and len(result["segment_weights"]) == 9
    top_segment = max(result["segment_weights"], key=result["segment_weights"].get)
    assert np.all(result["segments"][SQUARE] == top_segment)
    assert (
        result["heatmap"][SQUARE].min()
        > np.abs(np.delete(result["heatmap"].reshape(-1), np.flatnonzero(square_image()[..., 0]))).max()
    )
    assert (tmp_path / "lime.png").is_file()

    tabular = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    tabular.set_weights([np.array([[4.0], [0.0], [-1.0], [0.0]], "float32"), np.zeros(1, "float32")])
    rows = np.random.default_rng(0).normal(size=(200, 4)).astype("float32")
    explained = lime_tabular(tabular, rows, rows[0], class_index=1, feature_names=["a", "b", "c", "d"], num_samples=500)
    names = [name for name, _ in explained["weights"]]
    assert names[:2] == ["a", "c"]
    assert explained["weights"][0][1] > 0 > explained["weights"][1][1]


def test_embeddings_filters_and_top_patches(cnn, tmp_path):
    rng = np.random.default_rng(0)
    left = [square_image(slice(r, r + 4), slice(0, 4)) for r in range(0, 8)]
    right = [square_image(slice(r, r + 4), slice(8, 12)) for r in range(0, 8)]
    x = np.stack(left + right) + rng.uniform(0, 0.05, (16, SIZE, SIZE, 1)).astype("float32")
    assert layer_embeddings(cnn, x, "conv1").shape == (16, 10 * 10 * 4)
    points = tsne_embedding(cnn, x, "conv1", labels=[0] * 8 + [1] * 8, perplexity=4, path=tmp_path / "tsne.png")
    assert points.shape == (16, 2) and (tmp_path / "tsne.png").is_file()
    with pytest.raises(ValueError, match="perplexity must be smaller than the number of examples"):
        tsne_embedding(cnn, x, "conv1", perplexity=30)

    filters = first_layer_filters(cnn, path=tmp_path / "filters.png")
    assert filters.shape == (4, 3, 3, 1) and filters.min() == 0.0 and filters.max() == 1.0
    assert (tmp_path / "filters.png").is_file()

    # conv 3x3 of ones twice: a 5x5 receptive field summing brightness
    summing = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            keras.layers.Conv2D(1, 3, kernel_initializer="ones", name="c1"),
            keras.layers.Conv2D(1, 3, kernel_initializer="ones", name="c2"),
        ]
    )
    images = rng.uniform(0, 0.1, (10, SIZE, SIZE, 1)).astype("float32")
    images[3, 2:5, 2:5] = 1.0
    images[7, 6:9, 5:8] = 1.0
    result = top_activating_patches(summing, images, channels=[0], k=2, path=tmp_path / "patches.png")
    entry = result["channels"][0]
    assert result["layer_name"] == "c2" and result["patch_size"] == 5
    assert sorted(entry["images"].tolist()) == [3, 7]
    assert entry["patches"].shape == (2, 5, 5, 1)
    assert np.all(entry["patches"].reshape(2, -1).sum(axis=1) >= 9.0)  # each patch holds its whole blob
    assert (tmp_path / "patches.png").is_file()
    with pytest.raises(ValueError, match=r"channels must be in \[0, 0\]"):
        top_activating_patches(summing, images, channels=[3])
