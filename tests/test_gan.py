"""GAN builders, losses, the GAN/ConditionalGAN train steps, checkpoints, resume, NaN stop."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import kerasdl  # noqa: F401
import keras

from kerasdl.generative.losses import (
    discriminator_loss,
    gan_loss_functions,
    generator_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from kerasdl.generative.gan_networks import dcgan, gan_mlp
from kerasdl.generative.gan import GAN, ConditionalGAN
from kerasdl.generative.callbacks import SampleGrid
from kerasdl.training.resumable import TrainingCheckpoint

REPO = Path(__file__).resolve().parents[1]


def tiny_mlp(num_classes=None, latent_dim=8, image_shape=(8, 8, 1)):
    return gan_mlp(
        latent_dim=latent_dim,
        image_shape=image_shape,
        generator_units=(32,),
        discriminator_units=(32,),
        num_classes=num_classes,
    )


def test_builders_match_reference_parameter_counts():
    generator, discriminator = dcgan()
    assert (generator.count_params(), discriminator.count_params()) == (2_330_944, 212_865)  # TF DCGAN tutorial
    generator, discriminator = dcgan(discriminator_filters=128)  # D: 3,328 + 819,456 + (7·7·256 + 1)
    assert (generator.count_params(), discriminator.count_params()) == (2_330_944, 835_329)
    with pytest.raises(ValueError, match="discriminator_filters"):
        dcgan(discriminator_filters=0)
    generator, discriminator = gan_mlp()
    assert (generator.count_params(), discriminator.count_params()) == (1_486_352, 1_460_225)
    generator, discriminator = dcgan(latent_dim=16, filters=8, num_classes=10)
    images = np.asarray(generator([np.zeros((3, 16), "float32"), np.array([0, 5, 9])]))
    assert images.shape == (3, 28, 28, 1) and float(np.abs(images).max()) <= 1.0
    assert discriminator([images, np.array([0, 5, 9])]).shape == (3, 1)
    with pytest.raises(ValueError, match="divisible by 4"):
        dcgan(image_shape=(30, 30, 1))
    with pytest.raises(ValueError, match="num_classes"):
        gan_mlp(num_classes=1)


def test_build_gan_builds_the_model_of_each_kind():
    """The app and the benchmark build their GANs here: the kind picks the networks, num_classes the model."""
    from kerasdl.generative.gan import build_gan

    gan = build_gan("mlp", latent_dim=16, d_steps=2, label_smoothing=0.2)
    assert type(gan) is GAN and gan.generator.name == "mlp_generator" and gan.latent_dim == 16
    assert (gan.d_steps, gan.label_smoothing) == (2, 0.2)
    gan = build_gan("dcgan", latent_dim=16, filters=8, num_classes=10)
    assert isinstance(gan, ConditionalGAN) and gan.num_classes == 10
    reference = dcgan(16, filters=8, num_classes=10)
    assert gan.generator.name == "dcgan_generator" and gan.generator.count_params() == reference[0].count_params()
    assert gan.discriminator.count_params() == reference[1].count_params()
    assert len(gan.discriminator.inputs) == 2 and gan.label_smoothing == 0.1
    with pytest.raises(ValueError, match="kind"):
        build_gan("conditional")


def test_losses_on_logits_with_one_sided_label_smoothing():
    real, fake = np.array([2.0, -1.0], "float32"), np.array([0.5, -3.0], "float32")
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    np.testing.assert_allclose(discriminator_loss(real, fake), -np.log(sig(real)) - np.log(1 - sig(fake)), rtol=1e-5)
    smoothed = -(0.9 * np.log(sig(real)) + 0.1 * np.log(1 - sig(real))) - np.log(1 - sig(fake))
    np.testing.assert_allclose(discriminator_loss(real, fake, 0.1), smoothed, rtol=1e-5)
    np.testing.assert_allclose(generator_loss(fake), -np.log(sig(fake)), rtol=1e-5)  # non-saturating


def test_hinge_losses_on_hand_made_logits():
    """Miyato et al. 2018, eq. 16-17: D pays max(0, 1 - D(x)) + max(0, 1 + D(G(z))), G pays -D(G(z))."""
    real = np.array([2.0, 0.5, -1.0], "float32")
    fake = np.array([-2.0, 0.0, 1.5], "float32")
    np.testing.assert_allclose(hinge_discriminator_loss(real, fake), [0.0 + 0.0, 0.5 + 1.0, 2.0 + 2.5])
    np.testing.assert_allclose(hinge_generator_loss(fake), [2.0, 0.0, -1.5])
    d_loss, g_loss = gan_loss_functions("hinge")
    np.testing.assert_allclose(d_loss(real[:, None], fake[:, None]), [0.0, 1.5, 4.5])  # (N, 1) logits too
    d_loss, g_loss = gan_loss_functions("nonsaturating", 0.1)
    np.testing.assert_allclose(d_loss(real, fake), discriminator_loss(real, fake, 0.1), rtol=1e-6)
    np.testing.assert_allclose(g_loss(fake), generator_loss(fake), rtol=1e-6)
    with pytest.raises(ValueError, match="label_smoothing=0.1 has no meaning with loss='hinge'"):
        gan_loss_functions("hinge", 0.1)
    with pytest.raises(ValueError, match="loss"):
        gan_loss_functions("wasserstein")


def test_spectral_norm_wraps_every_discriminator_weight_layer():
    generator, discriminator = dcgan(spectral_norm=True)
    wrapped = [layer.name for layer in discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert wrapped == ["discriminator_conv_1_sn", "discriminator_conv_2_sn", "logit_sn"]
    assert not any(isinstance(layer, keras.layers.SpectralNormalization) for layer in generator.layers)
    trainable = sum(int(np.prod(w.shape)) for w in discriminator.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in discriminator.non_trainable_weights)
    assert trainable == 212_865 and non_trainable == 64 + 128 + 1  # one u vector per wrapped layer
    _, mlp_discriminator = gan_mlp(spectral_norm=True)
    assert sum(int(np.prod(w.shape)) for w in mlp_discriminator.trainable_weights) == 1_460_225
    assert [layer.name for layer in mlp_discriminator.layers if layer.name.endswith("_sn")] == [
        "discriminator_dense_1_sn",
        "discriminator_dense_2_sn",
        "discriminator_dense_3_sn",
        "logit_sn",
    ]
    with pytest.raises(ValueError, match="spectral_norm"):
        dcgan(spectral_norm="yes")


def test_hinge_gan_with_spectral_norm_trains_one_step():
    from kerasdl.generative.gan import build_gan

    keras.utils.set_random_seed(0)
    gan = build_gan("dcgan", latent_dim=8, filters=4, loss="hinge", spectral_norm=True)
    assert gan.loss_name == "hinge" and gan.label_smoothing == 0.0
    assert build_gan("mlp", latent_dim=8).label_smoothing == 0.1  # the non-saturating default is unchanged
    # the same networks at 8x8 so the step is quick
    gan = GAN(*dcgan(latent_dim=8, image_shape=(8, 8, 1), filters=4, spectral_norm=True), loss="hinge")
    gan.compile()
    u_before = gan.discriminator.get_layer("logit_sn").vector_u.numpy().copy()
    d_before = gan.discriminator.trainable_weights[0].numpy().copy()
    real = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
    logs = gan.train_on_batch(real, return_dict=True)
    assert all(np.isfinite(logs[key]) for key in ("d_loss", "g_loss")), logs
    assert logs["d_loss"] >= 0.0  # a hinge is never negative
    assert not np.allclose(u_before, gan.discriminator.get_layer("logit_sn").vector_u.numpy())  # power iteration ran
    assert not np.allclose(d_before, gan.discriminator.trainable_weights[0].numpy())
    with pytest.raises(ValueError, match="no meaning with loss='hinge'"):
        GAN(gan.generator, gan.discriminator, loss="hinge", label_smoothing=0.1)


@pytest.mark.learned
def test_gan_generator_learns_the_data_and_d_steps_count():
    keras.utils.set_random_seed(0)
    target = np.zeros((8, 8, 1), "float32")
    target[2:6, 3:5] = 1.0  # every real image is this bar, in [-1, 1]
    real = np.repeat(target[None] * 2 - 1, 2048, axis=0)
    gan = GAN(*tiny_mlp(), d_steps=2, label_smoothing=0.1)
    gan.compile(d_learning_rate=5e-3, g_learning_rate=5e-3)
    distance = lambda: float(np.abs(gan.generate(64) - (target * 2 - 1)).mean())  # noqa: E731
    before = distance()
    history = gan.fit(real, epochs=2, batch_size=32, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"}
    # seed offsets 0-5 (identical with oneDNN on, off and AVX2-only): after/before 0.06-0.09
    # after 2 epochs; after 1 epoch it was 0.27-0.55, too close to any bar
    assert distance() < 0.3 * before, (before, distance())
    assert int(gan.d_optimizer.iterations) == 2 * int(gan.g_optimizer.iterations) == 2 * 2 * 64


def test_gan_train_step_compiles_with_xla():
    keras.utils.set_random_seed(0)
    gan = GAN(*tiny_mlp())
    gan.compile(jit_compile=True)
    before = [w.copy() for w in gan.generator.get_weights()]
    history = gan.fit(
        np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32"), epochs=1, batch_size=32, verbose=0
    ).history
    assert gan.jit_compile is True and np.isfinite(history["d_loss"][0]) and np.isfinite(history["g_loss"][0])
    assert any(not np.allclose(a, b) for a, b in zip(before, gan.generator.get_weights()))


@pytest.mark.slow  # tests/test_distribute.py runs a custom-loop model on two replicas in the fast suite
def test_gan_under_mirrored_strategy_on_two_logical_cpus():
    script = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import kerasdl, keras
        from kerasdl.generative.gan_networks import gan_mlp
        from kerasdl.generative.gan import GAN
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            gan = GAN(*gan_mlp(latent_dim=4, image_shape=(4, 4, 1), generator_units=(8,), discriminator_units=(8,)))
            gan.compile()
        x = np.random.default_rng(0).uniform(-1, 1, (32, 4, 4, 1)).astype("float32")
        h = gan.fit(x, epochs=1, batch_size=16, verbose=0).history
        print("REPLICAS", strategy.num_replicas_in_sync, "D", h["d_loss"][0], "STEPS", int(gan.g_optimizer.iterations.numpy()))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    fields = out.stdout.split("REPLICAS")[-1].split()
    assert fields[0] == "2" and np.isfinite(float(fields[2])) and fields[4] == "2"


def test_conditional_gan_trains_on_labelled_batches():
    keras.utils.set_random_seed(0)
    cgan = ConditionalGAN(*tiny_mlp(num_classes=3), num_classes=3)
    cgan.compile()
    x = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
    history = cgan.fit(x, np.arange(32) % 3, epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(history["g_loss"][0])
    assert cgan.generate(6, labels=[0, 1, 2, 0, 1, 2]).shape == (6, 8, 8, 1)
    with pytest.raises(ValueError, match="labels"):
        cgan.generate(2, labels=[0, 3])
    with pytest.raises(ValueError, match="labels"):
        cgan.fit(x, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda g: g.compile(d_learning_rate=0.0), "d_learning_rate"),
        (lambda g: g.compile(g_learning_rate=-1.0), "g_learning_rate"),
        (lambda g: GAN(g.generator, g.discriminator, label_smoothing=0.5), "label_smoothing"),
        (lambda g: GAN(g.generator, g.discriminator, d_steps=0), "d_steps"),
        (lambda g: GAN(g.generator, g.discriminator, latent_dim=3), "latent_dim"),
    ],
)
def test_bad_gan_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(GAN(*tiny_mlp()))


class Interrupt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt when epoch ``at`` (0-based) begins, like a killed run."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_from_last_checkpoint(tmp_path):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    gan = GAN(*tiny_mlp())
    gan.compile()
    checkpoint = TrainingCheckpoint(tmp_path / "ckpt", gan, verbose=False)
    grid = SampleGrid(tmp_path / "samples", gan.generator, latent_dim=8, num_samples=4)
    with pytest.raises(KeyboardInterrupt):
        gan.fit(x, epochs=3, batch_size=32, verbose=0, callbacks=[checkpoint, grid, Interrupt(at=2)])
    assert [p.name for p in grid.paths] == ["samples_epoch_001.png", "samples_epoch_002.png"]
    saved_weights = gan.generator.get_weights()

    resumed = GAN(*tiny_mlp())  # a fresh process would build the same networks
    resumed.compile()
    checkpoint2 = TrainingCheckpoint(tmp_path / "ckpt", resumed, verbose=False)
    assert checkpoint2.restore() == 2
    for a, b in zip(saved_weights, resumed.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.g_optimizer.iterations) == 4 and int(resumed.d_optimizer.iterations) == 4
    history = resumed.fit(x, epochs=3, initial_epoch=2, batch_size=32, verbose=0, callbacks=[checkpoint2])
    assert history.epoch == [2] and int(checkpoint2.epoch.numpy()) == 3
    assert checkpoint2.latest.endswith("ckpt-3")


class PoisonWeights(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            kernel = self.model.discriminator.get_layer("logit").kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path, capsys):
    gan = GAN(*tiny_mlp())
    gan.compile()
    checkpoint = TrainingCheckpoint(tmp_path / "ckpt", gan, verbose=False)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    history = gan.fit(x, epochs=4, batch_size=32, verbose=0, callbacks=[checkpoint, PoisonWeights()])
    assert len(history.epoch) == 2  # stopped during the second epoch
    assert "non-finite loss at epoch 2" in capsys.readouterr().out
    assert checkpoint.latest.endswith("ckpt-1") and int(checkpoint.epoch.numpy()) == 1
    assert all(np.isfinite(w).all() for w in gan.discriminator.get_weights())  # last good weights back
