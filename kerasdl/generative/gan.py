"""Generative adversarial networks as ``keras.Model`` subclasses with their own ``train_step``.

One ``train_step`` (Goodfellow et al. 2014, algorithm 1, with the non-saturating generator
loss of their §3):

1. ``d_steps`` discriminator updates on the real batch and a generated batch of the same
   size: loss ``−log D(x) − log(1 − D(G(z)))``, the real target optionally smoothed to
   ``1 − label_smoothing`` (one-sided smoothing, Salimans et al. 2016);
2. one generator update with ``−log D(G(z))``; only the generator's weights move.

``loss="hinge"`` swaps both for the hinge objective of Miyato et al. 2018 (D:
``max(0, 1 − D(x)) + max(0, 1 + D(G(z)))``, G: ``−D(G(z))``), usually with spectral
normalisation in the discriminator (``dcgan(..., spectral_norm=True)``).

Each network has its own optimizer (``compile(d_optimizer=..., g_optimizer=...)``, the
custom-model contract of :mod:`kerasdl.training.compile` once per network).
Per-example losses are averaged over the **global** batch (``tf.nn.compute_average_loss``),
so ``fit`` works under ``tf.distribute`` strategies, and the step compiles with
XLA (``compile(jit_compile=True)``; ``"auto"``, the default, turns it on with a GPU). :class:`ConditionalGAN` feeds ``(images, labels)`` batches and passes
the labels to both networks (Mirza & Osindero, "Conditional GANs", 2014).
:func:`build_gan` builds either for a kind of networks (the gan app and the benchmark use it).
"""

from __future__ import annotations

import keras
import numpy as np

from kerasdl._validation import check_choice, check_float, check_int
from kerasdl.generative.losses import GAN_LOSSES, check_label_smoothing, gan_loss_functions


DEFAULT_LEARNING_RATE = 2e-4  # DCGAN's (Radford et al. 2016), for both networks


def _optimizer(prefix, optimizer, learning_rate, beta_1):
    """One network's optimizer under the custom-model contract, wrapped for loss scaling
    under ``mixed_float16`` (the GAN applies its gradients itself, not through Keras)."""
    from kerasdl.training.compile import loss_scaled, optimizer_for

    kwargs = {"beta_1": beta_1} if optimizer in ("adam", "adamw") else {}
    return loss_scaled(
        optimizer_for(
            optimizer,
            learning_rate,
            DEFAULT_LEARNING_RATE,
            names=(f"{prefix}_optimizer", f"{prefix}_learning_rate"),
            **kwargs,
        )
    )


class GAN(keras.Model):
    """``GAN(generator, discriminator, latent_dim=None, d_steps=1, label_smoothing=0.0, loss="nonsaturating")``.

    ``generator``: latent vectors → images; ``discriminator``: images → one logit per image
    (see :mod:`kerasdl.generative.gan_networks`). ``latent_dim`` defaults to the generator's input size.
    ``loss``: ``"nonsaturating"`` (Goodfellow et al. 2014) or ``"hinge"`` (Miyato et al. 2018;
    then ``label_smoothing`` must be 0), see :func:`kerasdl.generative.losses.gan_loss_functions`.
    ``fit`` takes batches of real images (scaled to the generator's output range, e.g.
    [-1, 1] for tanh) and reports ``d_loss``, ``g_loss`` and ``d_real_accuracy``/
    ``d_fake_accuracy`` (how often D is right on each half). ``gan(z)`` generates.
    """

    conditional = False

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim: int | None = None,
        d_steps: int = 1,
        label_smoothing: float = 0.0,
        loss: str = "nonsaturating",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        g_latent = int(generator.inputs[0].shape[-1])
        self.latent_dim = check_int("latent_dim", g_latent if latent_dim is None else latent_dim, minimum=1)
        if self.latent_dim != g_latent:
            raise ValueError(f"latent_dim={latent_dim} does not match the generator's input size {g_latent}")
        self.d_steps = check_int("d_steps", d_steps, minimum=1)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.loss_name = loss
        self._d_loss_fn, self._g_loss_fn = gan_loss_functions(loss, self.label_smoothing)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_accuracy = keras.metrics.Mean(name="d_real_accuracy")
        self.d_fake_accuracy = keras.metrics.Mean(name="d_fake_accuracy")
        self.built = True  # both networks are built; fit must not trace call() on image batches

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_accuracy, self.d_fake_accuracy]

    def compile(
        self,
        d_optimizer="adam",
        g_optimizer="adam",
        d_learning_rate=None,
        g_learning_rate=None,
        beta_1: float = 0.5,
        *,
        jit_compile="auto",
        **kwargs,
    ):
        """Two optimizers, instances or names (Adam with β₁ = 0.5 and lr 2e-4, as in DCGAN, by default).

        The custom-model contract of :mod:`kerasdl.training.compile`, once per network:
        ``d_learning_rate``/``g_learning_rate`` (``None``: 2e-4) go with an optimizer given
        by name, ``beta_1`` with a named Adam/AdamW. ``jit_compile``: ``"auto"`` (XLA with a
        GPU), ``True`` or ``False``. Call under the strategy's ``scope()`` when training
        distributed. ``kwargs`` go to ``keras.Model.compile`` (e.g. ``steps_per_execution``).
        """
        from kerasdl._backend import require_tensorflow

        require_tensorflow("the GAN's train_step (tf.GradientTape)")
        from kerasdl.training.runtime import resolve_jit_compile

        beta_1 = check_float("beta_1", beta_1, minimum=0.0, maximum=1.0, max_inclusive=False)
        self.d_optimizer = _optimizer("d", d_optimizer, d_learning_rate, beta_1)
        self.g_optimizer = _optimizer("g", g_optimizer, g_learning_rate, beta_1)
        if self.d_optimizer is self.g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two different optimizer instances")
        super().compile(jit_compile=resolve_jit_compile(jit_compile), **kwargs)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def checkpoint_trackables(self) -> dict:
        """What :class:`~kerasdl.training.resumable.TrainingCheckpoint` saves."""
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "d_optimizer": self.d_optimizer,
            "g_optimizer": self.g_optimizer,
        }

    # The conditional subclass overrides these three to pass labels along.
    def _unpack(self, data):
        return (data[0] if isinstance(data, (tuple, list)) else data), None

    def _generate(self, z, labels, training):
        return self.generator(z, training=training)

    def _discriminate(self, images, labels, training):
        return self.discriminator(images, training=training)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _noise(self, batch_size):
        import tensorflow as tf

        return tf.random.normal((batch_size, self.latent_dim))

    def train_step(self, data):
        import tensorflow as tf

        real, labels = self._unpack(data)
        batch_size = tf.shape(real)[0]
        for _ in range(self.d_steps):  # unrolled: d_steps is a small Python int
            z = self._noise(batch_size)
            with tf.GradientTape() as tape:
                fake = self._generate(z, labels, training=True)
                real_logits = self._discriminate(real, labels, training=True)
                fake_logits = self._discriminate(fake, labels, training=True)
                d_per_example = self._d_loss_fn(real_logits, fake_logits)
                d_loss = self.d_optimizer.scale_loss(tf.nn.compute_average_loss(d_per_example))
            variables = self.discriminator.trainable_variables
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))

        z = self._noise(batch_size)
        with tf.GradientTape() as tape:
            fake_logits_g = self._discriminate(self._generate(z, labels, training=True), labels, training=True)
            g_per_example = self._g_loss_fn(fake_logits_g)
            g_loss = self.g_optimizer.scale_loss(tf.nn.compute_average_loss(g_per_example))
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))

        self.d_loss_tracker.update_state(d_per_example)
        self.g_loss_tracker.update_state(g_per_example)
        self.d_real_accuracy.update_state(tf.cast(tf.reshape(real_logits, [-1]) > 0, "float32"))
        self.d_fake_accuracy.update_state(tf.cast(tf.reshape(fake_logits, [-1]) < 0, "float32"))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        import tensorflow as tf

        real, labels = self._unpack(data)
        z = self._noise(tf.shape(real)[0])
        real_logits = self._discriminate(real, labels, training=False)
        fake_logits = self._discriminate(self._generate(z, labels, training=False), labels, training=False)
        self.d_loss_tracker.update_state(self._d_loss_fn(real_logits, fake_logits))
        self.g_loss_tracker.update_state(self._g_loss_fn(fake_logits))
        self.d_real_accuracy.update_state(tf.cast(tf.reshape(real_logits, [-1]) > 0, "float32"))
        self.d_fake_accuracy.update_state(tf.cast(tf.reshape(fake_logits, [-1]) < 0, "float32"))
        return {m.name: m.result() for m in self.metrics}

    def generate(self, num_samples: int, labels=None, seed: int = 0) -> np.ndarray:
        """``num_samples`` images from z ~ N(0, I) (``seed`` fixes z)."""
        num_samples = check_int("num_samples", num_samples, minimum=1)
        z = np.random.default_rng(seed).standard_normal((num_samples, self.latent_dim)).astype("float32")
        return np.asarray(self.generator.predict(z, batch_size=256, verbose=0))


class ConditionalGAN(GAN):
    """A class-conditional GAN: ``fit`` takes ``(images, integer labels)`` batches.

    Both networks take ``[x, label]`` (``kerasdl.generative.gan_networks`` builders with
    ``num_classes``); generated batches use the real batch's labels, so D judges
    "is this a real image **of this class**".
    """

    conditional = True

    def __init__(self, generator, discriminator, num_classes: int, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)

    def _unpack(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("ConditionalGAN.fit needs (images, labels) batches")
        import tensorflow as tf

        return data[0], tf.cast(tf.reshape(data[1], [-1]), "int32")

    def _generate(self, z, labels, training):
        return self.generator([z, labels], training=training)

    def _discriminate(self, images, labels, training):
        return self.discriminator([images, labels], training=training)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def generate(self, num_samples: int, labels=None, seed: int = 0) -> np.ndarray:
        """``num_samples`` images of the given ``labels`` (default: 0, 1, ... cycled)."""
        num_samples = check_int("num_samples", num_samples, minimum=1)
        labels = np.arange(num_samples) % self.num_classes if labels is None else np.asarray(labels)
        if labels.shape != (num_samples,) or labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must be {num_samples} integers in [0, {self.num_classes - 1}], got {labels!r}")
        z = np.random.default_rng(seed).standard_normal((num_samples, self.latent_dim)).astype("float32")
        return np.asarray(self.generator.predict([z, labels.astype("int32")], batch_size=256, verbose=0))


KINDS = ("mlp", "dcgan")


def build_gan(
    kind: str = "dcgan",
    latent_dim: int = 100,
    num_classes: int | None = None,
    filters: int = 64,
    d_steps: int = 1,
    label_smoothing: float | None = None,
    loss: str = "nonsaturating",
    spectral_norm: bool = False,
) -> GAN:
    """The GAN model of a ``kind`` of networks (:mod:`kerasdl.generative.gan_networks`), not compiled.

    ``kind``: ``"mlp"`` (:func:`gan_mlp`) or ``"dcgan"`` (:func:`dcgan` with ``filters``).
    With ``num_classes`` both networks take labels and the model is a :class:`ConditionalGAN`;
    without, a :class:`GAN`. ``d_steps``, ``label_smoothing`` (``None``: 0.1 with the
    non-saturating loss, 0 with the hinge) and ``loss`` (``"nonsaturating"`` or ``"hinge"``) go to
    the model; ``spectral_norm`` wraps every weight layer of the discriminator in
    ``keras.layers.SpectralNormalization`` (Miyato et al. 2018). The gan app
    (``--kind mlp|dcgan|conditional``, conditional = class-conditional DCGAN) and
    ``benchmarks/generative.py`` build their GANs here.
    """
    from kerasdl.generative.gan_networks import dcgan, gan_mlp

    check_choice("kind", kind, KINDS)
    check_choice("loss", loss, GAN_LOSSES)
    if label_smoothing is None:
        label_smoothing = 0.0 if loss == "hinge" else 0.1
    networks = (
        gan_mlp(latent_dim=latent_dim, num_classes=num_classes, spectral_norm=spectral_norm)
        if kind == "mlp"
        else dcgan(latent_dim=latent_dim, filters=filters, num_classes=num_classes, spectral_norm=spectral_norm)
    )
    options = {"d_steps": d_steps, "label_smoothing": label_smoothing, "loss": loss}
    if num_classes is None:
        return GAN(*networks, **options)
    return ConditionalGAN(*networks, num_classes=num_classes, **options)
