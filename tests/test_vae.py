"""VAE: Sampling layer, closed-form KL, the VAE model's train/test steps and helpers."""

import numpy as np
import pytest

import kerasdl  # noqa: F401
import keras

from kerasdl.export import export_saved_model, load_keras, load_saved_model, save_keras
from kerasdl.layers.sampling import Sampling
from kerasdl.layers.sparsity import KLSparsityRegularizer
from kerasdl.generative.losses import bernoulli_reconstruction, gaussian_kl
from kerasdl.generative.vae_networks import vae_decoder, vae_encoder
from kerasdl.generative.vae import VAE, latent_manifold


def test_gaussian_kl_closed_form_matches_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    mu = np.array([[0.5, -1.0, 2.0]], "float32")
    log_var = np.array([[-0.5, 0.3, -1.2]], "float32")
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * rng.standard_normal((400_000, 3)).astype("float32")
    # KL(q || p) = E_q[log q(z) - log p(z)], both diagonal Gaussians; constants cancel.
    log_q = -0.5 * (((z - mu) / sigma) ** 2 + log_var).sum(axis=1)
    log_p = -0.5 * (z**2).sum(axis=1)
    monte_carlo = float(np.mean(log_q - log_p))
    closed = float(gaussian_kl(mu, log_var)[0])
    expected = 0.5 * float(np.sum(np.exp(log_var) + mu**2 - 1.0 - log_var))
    assert closed == pytest.approx(expected, rel=1e-5)
    assert closed == pytest.approx(monte_carlo, rel=0.01)
    assert float(gaussian_kl(np.zeros((1, 4)), np.zeros((1, 4)))[0]) == 0.0


def test_bernoulli_reconstruction_is_summed_binary_crossentropy():
    rng = np.random.default_rng(1)
    x = rng.random((2, 4, 4, 1)).astype("float32")
    p = rng.uniform(0.05, 0.95, (2, 4, 4, 1)).astype("float32")
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(2, -1).sum(axis=1)
    np.testing.assert_allclose(bernoulli_reconstruction(x, p), expected, rtol=1e-4)


def test_sampling_layer_statistics():
    mu = np.full((50_000, 2), [1.0, -2.0], "float32")
    log_var = np.full((50_000, 2), [0.0, np.log(0.25)], "float32")
    z = np.asarray(Sampling(seed=3)([mu, log_var]))
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0], atol=0.02)
    np.testing.assert_allclose(z.std(axis=0), [1.0, 0.5], atol=0.02)


def test_custom_layers_round_trip_keras_and_saved_model(tmp_path):
    inputs = keras.Input((6,), name="x")
    code = keras.layers.Dense(
        3, activation="sigmoid", name="code", activity_regularizer=KLSparsityRegularizer(0.1, 0.5)
    )(inputs)
    z_mean = keras.layers.Dense(2, name="z_mean")(code)
    z_log_var = keras.layers.Dense(
        2, name="z_log_var", bias_initializer=keras.initializers.Constant(-40.0), kernel_initializer="zeros"
    )(code)
    z = Sampling(seed=1, name="z")([z_mean, z_log_var])  # σ ≈ 2e-9: deterministic enough to compare
    model = keras.Model(inputs, z)
    x = np.random.default_rng(0).random((4, 6)).astype("float32")
    expected = np.asarray(model(x))

    restored = load_keras(save_keras(model, tmp_path / "layers.keras"), compile=False)
    assert restored.get_layer("z").get_config()["seed"] == 1
    np.testing.assert_allclose(restored(x), expected, atol=1e-5)
    served = load_saved_model(export_saved_model(model, tmp_path / "layers_sm"))
    np.testing.assert_allclose(served(x), expected, atol=1e-5)


def test_vae_builders_match_keras_io_parameter_counts():
    assert vae_encoder(latent_dim=2).count_params() == 69_076
    assert vae_decoder(latent_dim=2).count_params() == 65_089
    assert [o.shape for o in vae_encoder(kind="dense", latent_dim=16).outputs] == [(None, 16)] * 3
    # A two-layer MLP: 784·512+512 + 512·256+256 + 2·(256·16+16) encoder; the decoder mirrors it.
    deep_encoder = vae_encoder(kind="dense", latent_dim=16, hidden_units=(512, 256))
    deep_decoder = vae_decoder(kind="dense", latent_dim=16, hidden_units=(512, 256))
    assert deep_encoder.count_params() == 784 * 512 + 512 + 512 * 256 + 256 + 2 * (256 * 16 + 16)
    assert [layer.units for layer in deep_decoder.layers if layer.name.startswith("decoder_dense")] == [256, 512]
    assert deep_decoder.count_params() == 16 * 256 + 256 + 256 * 512 + 512 + 512 * 784 + 784
    with pytest.raises(ValueError, match="hidden_units"):
        vae_encoder(kind="dense", hidden_units=())
    with pytest.raises(ValueError, match="latent_dim"):
        vae_encoder(latent_dim=0)
    with pytest.raises(ValueError, match="kind"):
        vae_decoder(kind="rnn")


@pytest.mark.learned
def test_vae_loss_falls_and_reports_its_terms():
    from kerasdl.data import load_digits, scale_images

    (x_train, _), (x_test, _) = load_digits()
    x_train, x_test = scale_images(x_train), scale_images(x_test)
    keras.utils.set_random_seed(0)
    vae = VAE(
        vae_encoder(latent_dim=2, kind="dense", hidden_units=64, seed=0),
        vae_decoder(latent_dim=2, kind="dense", hidden_units=64),
    )
    vae.compile("adam", 3e-3)
    history = vae.fit(x_train, validation_data=(x_test,), epochs=4, batch_size=128, verbose=0).history
    assert set(history) >= {"loss", "reconstruction_loss", "kl_loss", "val_loss"}
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    np.testing.assert_allclose(history["loss"], np.add(history["reconstruction_loss"], history["kl_loss"]), rtol=1e-4)
    assert history["kl_loss"][-1] > 0

    assert vae.generate(5).shape == (5, 28, 28, 1)
    path = vae.interpolate(x_test[0], x_test[1], steps=4)
    ends = np.asarray(vae.decoder(vae.encode(x_test[:2])))
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-5)
    assert latent_manifold(vae.decoder, n=3).shape == (9, 28, 28, 1)


def test_vae_bad_arguments():
    encoder, decoder = vae_encoder(kind="dense", hidden_units=4), vae_decoder(kind="dense", hidden_units=4)
    with pytest.raises(ValueError, match="beta"):
        VAE(encoder, decoder, beta=0.0)
    with pytest.raises(ValueError, match="learning_rate"):
        VAE(encoder, decoder).compile("adam", learning_rate=-1e-3)
    with pytest.raises(ValueError, match="2-D latent"):
        latent_manifold(vae_decoder(latent_dim=3, kind="dense", hidden_units=4))


def test_train_and_score_vae_flow_reports_the_elbo_terms_and_binarizes():
    from types import SimpleNamespace

    from kerasdl.generative.flows import train_and_score_vae

    rng = np.random.default_rng(0)
    data = SimpleNamespace(
        x_train=rng.random((64, 28, 28, 1), dtype=np.float32), x_test=rng.random((32, 28, 28, 1), dtype=np.float32)
    )
    vae, figures = train_and_score_vae(data, "dense", latent_dim=2, epochs=1, batch_size=32, binarize=True, verbose=0)
    assert figures["train_images"] == 64 and figures["hidden_units"] == [512] and figures["epochs"] == 1
    assert figures["parameters"] == vae.encoder.count_params() + vae.decoder.count_params()
    test = figures["test"]
    assert np.isfinite(test["loss"]) and test["loss"] == pytest.approx(
        test["reconstruction_loss"] + test["kl_loss"], abs=0.01
    )
    assert figures["pixels"].startswith("statically binarized")
