"""Mixed precision in the custom train_step models: float16 compute, float32 outputs, loss scaling.

``mixed_float16`` runs on CPU too (slowly), so the GPU code path — Keras'
``LossScaleOptimizer`` around every optimizer, losses scaled inside the tape — is checked here.
"""

import numpy as np
import pytest


@pytest.fixture
def mixed_float16():
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy(previous)


def test_gan_under_mixed_float16_scales_both_losses(mixed_float16):
    import keras

    from kerasdl.models import gan_mlp
    from kerasdl.training import GAN

    keras.utils.set_random_seed(0)
    generator, discriminator = gan_mlp(
        latent_dim=8, image_shape=(6, 6, 1), generator_units=(16,), discriminator_units=(16,)
    )
    assert generator.get_layer("generator_dense_1").compute_dtype == "float16"
    gan = GAN(generator, discriminator)
    gan.compile()
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    images = np.random.default_rng(0).uniform(-1, 1, (32, 6, 6, 1)).astype("float32")
    before = [w.copy() for w in generator.get_weights()]
    history = gan.fit(images, batch_size=16, epochs=2, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all() and np.isfinite(history.history["g_loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, generator.get_weights()))
    assert generator(np.zeros((2, 8), "float32")).dtype == "float32"  # outputs kept float32
    assert generator.get_layer("generator_dense_1").kernel.dtype == "float32"  # master weights float32


@pytest.mark.learned
def test_vae_under_mixed_float16_learns_with_float32_outputs(mixed_float16):
    import keras

    from kerasdl.models import vae_decoder, vae_encoder
    from kerasdl.training import VAE

    keras.utils.set_random_seed(0)
    vae = VAE(
        vae_encoder(input_shape=(8, 8, 1), latent_dim=2, kind="dense", hidden_units=16),
        vae_decoder(latent_dim=2, output_shape=(8, 8, 1), kind="dense", hidden_units=16),
    )
    vae.compile(optimizer="adam")
    images = (np.random.default_rng(0).uniform(0, 1, (64, 8, 8, 1)) > 0.5).astype("float32")
    history = vae.fit(images, batch_size=16, epochs=4, verbose=0)
    assert isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    z_mean, z_log_var, z = vae.encoder(images[:2])
    assert z_mean.dtype == z_log_var.dtype == z.dtype == "float32"
    assert vae.decoder(np.zeros((1, 2), "float32")).dtype == "float32"
