"""Autoencoder builders, sparsity penalties, denoising training and anomaly detection."""

import numpy as np
import pytest

import kerasdl  # noqa: F401  (pins the TensorFlow backend)
import keras
import tensorflow as tf

from kerasdl.anomaly import AnomalyDetector
from kerasdl.export import load_keras, save_keras
from kerasdl.layers.sparsity import KLSparsityRegularizer, sparsity_regularizer
from kerasdl.generative.autoencoder_networks import conv_autoencoder, dense_autoencoder
from kerasdl.generative.autoencoder import DenoisingAutoencoder, corrupt


@pytest.fixture(scope="module")
def digits():
    from kerasdl.data import load_digits, scale_images

    (x_train, y_train), (x_test, y_test) = load_digits()
    return scale_images(x_train), y_train, scale_images(x_test), y_test


def test_builders_return_encoder_decoder_and_match_parameter_counts():
    parts = dense_autoencoder()
    assert [m.count_params() for m in parts] == [209_184, 209_936, 419_120]
    assert parts.encoder.output_shape == (None, 32) and parts.decoder.output_shape == (None, 28, 28, 1)
    conv = conv_autoencoder(code_size=16)
    assert [m.count_params() for m in conv] == [69_008, 108_993, 178_001]
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(conv.autoencoder(x), conv.decoder(conv.encoder(x)), atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dense_autoencoder(code_size=0), "code_size"),
        (lambda: dense_autoencoder(sparsity="kl", code_activation="relu"), "code_activation='sigmoid'"),
        (lambda: dense_autoencoder(sparsity="l2"), "sparsity"),
        (lambda: conv_autoencoder(input_shape=(30, 30, 1)), "divisible by 4"),
        (lambda: KLSparsityRegularizer(target=1.0), "target"),
        (lambda: DenoisingAutoencoder(keras.Sequential(), mask_fraction=1.0), "mask_fraction"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_kl_sparsity_penalty_matches_formula_and_round_trips_keras(tmp_path):
    activations = np.random.default_rng(1).uniform(0.01, 0.3, size=(16, 5)).astype("float32")
    rho, rho_hat = 0.05, activations.mean(axis=0)
    kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    reg = KLSparsityRegularizer(target=rho, weight=3.0)
    # Keras divides activity penalties by the batch size; the regulariser multiplies it back.
    np.testing.assert_allclose(float(reg(activations)) / 16, 3.0 * kl.sum(), rtol=1e-5)
    assert isinstance(sparsity_regularizer("l1", 1e-3), keras.regularizers.L1)

    parts = dense_autoencoder(
        input_shape=(8, 8, 1),
        hidden_units=(),
        code_size=4,
        code_activation="sigmoid",
        sparsity="kl",
        sparsity_weight=0.5,
        sparsity_target=0.1,
    )
    path = save_keras(parts.autoencoder, tmp_path / "sparse.keras")
    restored = load_keras(path, compile=False)
    code = restored.get_layer("encoder").get_layer("code")
    assert isinstance(code.activity_regularizer, KLSparsityRegularizer)
    assert code.activity_regularizer.get_config() == {"target": 0.1, "weight": 0.5}
    x = np.random.default_rng(2).random((3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(restored(x), parts.autoencoder(x), atol=1e-6)


@pytest.mark.learned
def test_sparse_autoencoder_mean_code_activation_ends_near_target(digits):
    x_train, _, x_test, _ = digits
    keras.utils.set_random_seed(0)
    target = 0.05
    parts = dense_autoencoder(
        hidden_units=(64,),
        code_size=32,
        code_activation="sigmoid",
        sparsity="kl",
        sparsity_weight=0.5,
        sparsity_target=target,
    )
    before = float(np.mean(parts.encoder(x_test)))
    model = DenoisingAutoencoder(parts.autoencoder)
    model.compile("adam", 1e-2)
    model.fit(x_train, epochs=4, batch_size=128, verbose=0)
    after = float(np.mean(parts.encoder.predict(x_test, verbose=0)))
    assert abs(before - target) > 0.3  # sigmoid units start near 0.5
    assert abs(after - target) < 0.03, after


def test_corruption_is_applied_in_training_only():
    x = np.full((4, 28, 28, 1), 0.5, "float32")
    masked = corrupt(x, mask_fraction=0.3, seed=1).numpy()
    assert 0.25 < np.mean(masked == 0) < 0.35 and set(np.unique(masked)) == {0.0, 0.5}
    noisy = corrupt(x, noise_std=0.2).numpy()
    assert noisy.min() >= 0 and noisy.max() <= 1 and 0.15 < noisy.std() < 0.25
    model = DenoisingAutoencoder(dense_autoencoder(hidden_units=(), code_size=4).autoencoder, noise_std=0.5)
    np.testing.assert_allclose(model(x), model.autoencoder(x), atol=1e-6)  # inference: no corruption


@pytest.mark.learned
def test_denoising_autoencoder_improves_psnr_over_noisy_input(digits):
    x_train, _, x_test, _ = digits
    keras.utils.set_random_seed(0)
    parts = dense_autoencoder(hidden_units=(128,), code_size=32)
    model = DenoisingAutoencoder(parts.autoencoder, noise_std=0.4)
    model.compile("adam", 3e-3)
    history = model.fit(x_train, epochs=4, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    noisy = corrupt(x_test, noise_std=0.4, seed=3).numpy()
    denoised = parts.autoencoder.predict(noisy, verbose=0)
    psnr_noisy = float(tf.reduce_mean(tf.image.psnr(x_test, noisy, 1.0)))
    psnr_denoised = float(tf.reduce_mean(tf.image.psnr(x_test, denoised, 1.0)))
    assert psnr_denoised > psnr_noisy + 3.0, (psnr_noisy, psnr_denoised)


def test_anomaly_detector_thresholds_scores_and_roc_auc(digits):
    x_train, y_train, x_test, y_test = digits
    keras.utils.set_random_seed(0)
    normal = x_train[y_train == 0]
    detector = AnomalyDetector(dense_autoencoder(hidden_units=(64,), code_size=8).autoencoder, percentile=95)
    with pytest.raises(RuntimeError, match="fit"):
        detector.is_anomaly(x_test)
    detector.fit(normal[:100], normal[100:], epochs=10, batch_size=32, learning_rate=1e-2)
    val_scores = detector.score(normal[100:])
    assert detector.threshold_ == pytest.approx(np.percentile(val_scores, 95))
    assert np.mean(detector.is_anomaly(normal[100:])) <= 0.1
    assert detector.roc_auc(x_test, y_test != 0) > 0.9
    std_detector = AnomalyDetector(detector.autoencoder, threshold="std", k=2.0).calibrate(normal[100:])
    assert std_detector.threshold_ == pytest.approx(val_scores.mean() + 2.0 * val_scores.std(), rel=1e-5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        detector.score(x_test * 255.0)
    with pytest.raises(ValueError, match="threshold"):
        AnomalyDetector(detector.autoencoder, threshold="median")


@pytest.mark.learned
def test_one_class_roc_aucs_separates_a_class_from_the_others():
    """Two synthetic 'digits' (a bright left half vs a bright right half): an autoencoder
    trained on one reconstructs the other badly, so the AUC is high both ways."""
    from types import SimpleNamespace

    from kerasdl.anomaly import one_class_roc_aucs

    rng = np.random.default_rng(0)
    images = rng.uniform(0.0, 0.1, (240, 28, 28, 1)).astype("float32")
    labels = np.arange(240) % 2
    images[labels == 0, :, :14] += 0.8
    images[labels == 1, :, 14:] += 0.8
    data = SimpleNamespace(x_train=images[:160], y_train=labels[:160], x_test=images[160:], y_test=labels[160:])
    aucs = one_class_roc_aucs(data, [0, 1], epochs=3, code_size=8)
    assert set(aucs) == {"0", "1"} and min(aucs.values()) > 0.9
    with pytest.raises(ValueError, match="class 7"):
        one_class_roc_aucs(data, [7], epochs=1)
