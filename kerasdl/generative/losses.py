"""Losses of the generative models: VAE (ELBO terms) and GAN (discriminator / generator).

GAN objectives (``GAN_LOSSES``): ``"nonsaturating"`` (Goodfellow et al. 2014, with one-sided
label smoothing) and ``"hinge"`` (Lim & Ye 2017; Miyato et al. 2018, "Spectral normalization for
generative adversarial networks", ICLR, eq. 16-17), picked by :func:`gan_loss_functions`.

All functions return **per-example** losses (shape ``(batch,)``); the training loops in
:mod:`kerasdl.generative.vae` and :mod:`kerasdl.generative.gan` average them over the global
batch (``tf.nn.compute_average_loss``), so they are correct under a distribution strategy.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_float


def _sum_over_non_batch_axes(x):
    return keras.ops.sum(keras.ops.reshape(x, (keras.ops.shape(x)[0], -1)), axis=1)


def gaussian_kl(z_mean, z_log_var):
    """KL(N(μ, σ²) ‖ N(0, I)) in closed form, summed over latent dimensions, per example.

    ``−½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)`` (Kingma & Welling 2014, appendix B). The IBM
    notes (seed 003 §5.12) write it as ``½ Σ (exp(σ) + μ² − 1 − σ)``, where their "σ" is the
    log-variance: the same formula.
    """
    z_mean = keras.ops.cast(z_mean, "float32")
    z_log_var = keras.ops.cast(z_log_var, "float32")
    return -0.5 * keras.ops.sum(1.0 + z_log_var - keras.ops.square(z_mean) - keras.ops.exp(z_log_var), axis=-1)


def bernoulli_reconstruction(x, x_reconstructed, from_logits: bool = False):
    """−log p(x | z) for Bernoulli pixels: binary cross-entropy **summed** over pixels, per example.

    ``x`` holds pixel intensities in [0, 1]; ``x_reconstructed`` the decoder's probabilities
    (or logits with ``from_logits=True``). Summed, not averaged, so it is in nats per image
    and adds to the KL term to give the negative ELBO.
    """
    x = keras.ops.cast(x, "float32")
    x_reconstructed = keras.ops.cast(x_reconstructed, "float32")
    return _sum_over_non_batch_axes(keras.ops.binary_crossentropy(x, x_reconstructed, from_logits=from_logits))


def mean_pixel_crossentropy(x, x_reconstructed):
    """Binary cross-entropy averaged over pixels, per example (what ``loss="binary_crossentropy"`` computes)."""
    x = keras.ops.cast(x, "float32")
    x_reconstructed = keras.ops.cast(x_reconstructed, "float32")
    flat = keras.ops.binary_crossentropy(x, x_reconstructed)
    return keras.ops.mean(keras.ops.reshape(flat, (keras.ops.shape(flat)[0], -1)), axis=1)


def check_label_smoothing(label_smoothing) -> float:
    """One-sided label smoothing: the real target becomes ``1 − label_smoothing``, in [0, 0.5)."""
    return check_float("label_smoothing", label_smoothing, minimum=0.0, maximum=0.5, max_inclusive=False)


def discriminator_loss(real_logits, fake_logits, label_smoothing: float = 0.0):
    """Discriminator loss ``−log D(x) − log(1 − D(G(z)))`` on logits, per example.

    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, eq. 1. With one-sided
    label smoothing (Salimans et al., "Improved Techniques for Training GANs", 2016, §3.4)
    the real target is ``1 − label_smoothing``; the fake target stays 0.
    """
    real_logits = keras.ops.reshape(keras.ops.cast(real_logits, "float32"), (-1,))
    fake_logits = keras.ops.reshape(keras.ops.cast(fake_logits, "float32"), (-1,))
    real_target = keras.ops.full_like(real_logits, 1.0 - label_smoothing)
    real = keras.ops.binary_crossentropy(real_target, real_logits, from_logits=True)
    fake = keras.ops.binary_crossentropy(keras.ops.zeros_like(fake_logits), fake_logits, from_logits=True)
    return real + fake


def generator_loss(fake_logits):
    """Non-saturating generator loss ``−log D(G(z))`` on logits, per example.

    Goodfellow et al. 2014, §3: maximising log D(G(z)) instead of minimising
    log(1 − D(G(z))) gives strong gradients early, when D rejects every sample.
    """
    fake_logits = keras.ops.reshape(keras.ops.cast(fake_logits, "float32"), (-1,))
    return keras.ops.binary_crossentropy(keras.ops.ones_like(fake_logits), fake_logits, from_logits=True)


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss ``max(0, 1 − D(x)) + max(0, 1 + D(G(z)))`` on logits, per example.

    Miyato et al. 2018, eq. 16 (after Lim & Ye 2017, "Geometric GAN"): real logits above 1 and
    fake logits below −1 cost nothing, so D stops pushing examples it already separates by a
    margin.
    """
    real_logits = keras.ops.reshape(keras.ops.cast(real_logits, "float32"), (-1,))
    fake_logits = keras.ops.reshape(keras.ops.cast(fake_logits, "float32"), (-1,))
    return keras.ops.relu(1.0 - real_logits) + keras.ops.relu(1.0 + fake_logits)


def hinge_generator_loss(fake_logits):
    """Hinge generator loss ``−D(G(z))`` on logits, per example (Miyato et al. 2018, eq. 17)."""
    return -keras.ops.reshape(keras.ops.cast(fake_logits, "float32"), (-1,))


GAN_LOSSES = ("nonsaturating", "hinge")


def gan_loss_functions(loss: str = "nonsaturating", label_smoothing: float = 0.0):
    """``(d_loss(real_logits, fake_logits), g_loss(fake_logits))`` for a GAN objective.

    Args:
        loss: ``"nonsaturating"`` (:func:`discriminator_loss` / :func:`generator_loss`) or
            ``"hinge"`` (:func:`hinge_discriminator_loss` / :func:`hinge_generator_loss`).
        label_smoothing: one-sided smoothing of the real target, for ``"nonsaturating"`` only.

    Returns:
        The two per-example loss functions.

    Raises:
        ValueError: an unknown ``loss``, or ``label_smoothing`` > 0 with ``"hinge"`` (the hinge has
            no target to smooth).
    """
    from kerasdl._validation import check_choice

    check_choice("loss", loss, GAN_LOSSES)
    label_smoothing = check_label_smoothing(label_smoothing)
    if loss == "hinge":
        if label_smoothing:
            raise ValueError(
                f"label_smoothing={label_smoothing} has no meaning with loss='hinge' (no target to smooth); use 0"
            )
        return hinge_discriminator_loss, hinge_generator_loss
    return (lambda real, fake: discriminator_loss(real, fake, label_smoothing)), generator_loss
