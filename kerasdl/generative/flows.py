"""Whole training flows over the generative pieces, for the benchmarks and anyone scripting them.

:func:`train_and_score_vae` trains a VAE (:class:`~kerasdl.generative.vae.VAE`) and returns
its test ELBO terms; :func:`train_and_score_gan` builds a GAN (:func:`~kerasdl.generative.gan.build_gan`), trains
it on a data set's training images for a number of epochs (or a time budget), optionally
records the Inception Score every few epochs (:class:`~kerasdl.generative.callbacks.InceptionScoreCurve`),
and scores 10,000 samples at the end (:func:`~kerasdl.generative.evaluation.sample_scores`).
``benchmarks/generative.py`` reports what it returns. The gan app runs the run-folder flow
instead (resumable checkpoints, sample grids, export): see ``kerasdl.apps.gan``.
"""

from __future__ import annotations

LATENT_DIM = 100
LEARNING_RATE = 2e-4  # both networks, DCGAN's (Radford et al. 2016)
BETA_1 = 0.5
LABEL_SMOOTHING = 0.1


def train_and_score_gan(
    data,
    evaluator,
    kind: str,
    epochs: int,
    batch_size: int = 128,
    seed: int = 0,
    max_train: int | None = None,
    budget_s: float | None = None,
    jit_compile=False,
    dcgan_filters: int = 64,
    score_every: int = 0,
    d_steps: int = 1,
    conditional: bool = False,
    loss: str = "nonsaturating",
    spectral_norm: bool = False,
) -> dict:
    """Train a ``kind`` (``"mlp"`` / ``"dcgan"``) GAN on ``data`` and return its figures.

    ``data``: an image-classification data set (``x_train``/``y_train``/``x_test`` in [0, 1],
    ``num_classes``), e.g. :func:`kerasdl.data.load_image_classification`; its first
    ``max_train`` training images are scaled to [-1, 1] and batched (the last partial batch
    dropped). ``evaluator``: a :class:`~kerasdl.generative.evaluation.GenerativeEvaluator`.
    Both networks train with Adam (lr 2e-4, β₁ 0.5), a 100-D latent and one-sided label
    smoothing 0.1. ``budget_s`` stops after the epoch in which that many seconds ran out;
    ``score_every`` > 0 records the IS of 5,000 samples every that many epochs;
    ``conditional`` trains a :class:`~kerasdl.generative.gan.ConditionalGAN` whose samples
    cycle through the classes. ``loss="hinge"`` with ``spectral_norm=True`` is Miyato et al.
    2018's objective and discriminator (no label smoothing with the hinge).

    Returns a dict of the settings, parameter counts, :func:`sample_scores` of 10,000
    samples against ``data.x_test``, the IS curve, the final epoch's logs and the mean
    seconds per epoch.
    """
    from kerasdl.data import make_dataset
    from kerasdl.generative.callbacks import InceptionScoreCurve
    from kerasdl.generative.evaluation import sample_scores
    from kerasdl.generative.gan import build_gan
    from kerasdl.training import EpochTimer, TimeBudget, set_seed

    set_seed(seed)
    gan = build_gan(
        kind,
        latent_dim=LATENT_DIM,
        num_classes=data.num_classes if conditional else None,
        filters=dcgan_filters,
        d_steps=d_steps,
        label_smoothing=0.0 if loss == "hinge" else LABEL_SMOOTHING,
        loss=loss,
        spectral_norm=spectral_norm,
    )
    gan.compile(d_learning_rate=LEARNING_RATE, g_learning_rate=LEARNING_RATE, beta_1=BETA_1, jit_compile=jit_compile)
    timer, curve = EpochTimer(), []
    callbacks = [timer, InceptionScoreCurve(gan, evaluator, score_every, seed, curve)]
    callbacks += [TimeBudget(budget_s)] if budget_s else []
    x, labels = data.x_train[:max_train], (data.y_train[:max_train] if conditional else None)
    history = gan.fit(
        make_dataset(x * 2.0 - 1.0, labels, batch_size=batch_size, seed=seed, drop_remainder=True),
        epochs=epochs,
        verbose=2,
        callbacks=callbacks,
        shuffle=False,
    )
    return {
        "kind": kind,
        "filters": dcgan_filters if kind == "dcgan" else None,
        "epochs_planned": epochs,
        "epochs": len(history.history["d_loss"]),
        "budget_s": budget_s,
        "jit_compile": jit_compile,
        "train_images": len(x),
        "batch_size": batch_size,
        "latent_dim": LATENT_DIM,
        "optimizer": "2 x adam lr=2e-4 beta_1=0.5",
        "label_smoothing": gan.label_smoothing,
        "loss": loss,
        "spectral_norm": spectral_norm,
        "d_steps": d_steps,
        "conditional": conditional,
        "generated_labels": "0..9 cycled" if conditional else None,
        "parameters": {"generator": gan.generator.count_params(), "discriminator": gan.discriminator.count_params()},
        **sample_scores(evaluator, gan, data.x_test, seed),
        "inception_score_curve_5000_samples": curve,
        "final_epoch": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "seconds_per_epoch": round(sum(timer.epoch_seconds) / len(timer.epoch_seconds), 1),
    }


def train_and_score_vae(
    data,
    kind: str = "dense",
    latent_dim: int = 2,
    epochs: int = 10,
    batch_size: int = 128,
    seed: int = 0,
    binarize: bool = False,
    hidden_units=512,
    train_on_all: bool = False,
    learning_rate: float = 1e-3,
    verbose=2,
):
    """Train a VAE (Kingma & Welling 2014) on ``data`` and return ``(vae, figures)``.

    Args:
        data: an image-classification data set with ``x_train`` / ``x_test`` in [0, 1].
        kind: ``"dense"`` or ``"conv"`` (the keras.io example's encoder/decoder), see
            :func:`~kerasdl.generative.vae_networks.vae_encoder`.
        latent_dim: size of the latent code.
        epochs: training epochs (Adam at ``learning_rate``).
        batch_size: training batch size.
        seed: seeds the weights, the shuffling and the binarization.
        binarize: statically binarize the pixels, each drawn once as Bernoulli(intensity)
            (Salakhutdinov & Murray 2008), so the Bernoulli likelihood is a proper one and
            the negative ELBO is in nats.
        hidden_units: the dense encoder's hidden widths (the decoder mirrors them).
        train_on_all: train on train + test, as keras.io's VAE example does (its reported
            loss is then a training loss).

    Returns:
        The trained VAE and a dict of its settings, parameter count, the last epoch's
        training losses, the test losses (negative ELBO = reconstruction + KL, single-sample
        estimate) and the mean seconds per epoch.
    """
    import numpy as np

    from kerasdl.data import make_dataset
    from kerasdl.generative.vae import VAE
    from kerasdl.generative.vae_networks import vae_decoder, vae_encoder
    from kerasdl.training import EpochTimer, set_seed

    set_seed(seed)
    x_train, x_test = data.x_train, data.x_test
    if train_on_all:
        x_train = np.concatenate([x_train, x_test])
    if binarize:
        rng = np.random.default_rng(seed)
        x_train, x_test = ((rng.random(x.shape) < x).astype("float32") for x in (x_train, x_test))
    vae = VAE(
        vae_encoder(latent_dim=latent_dim, kind=kind, hidden_units=hidden_units, seed=seed),
        vae_decoder(latent_dim=latent_dim, kind=kind, hidden_units=hidden_units),
    )
    vae.compile(learning_rate=learning_rate)
    timer = EpochTimer()
    history = vae.fit(
        make_dataset(x_train, batch_size=batch_size, seed=seed),
        epochs=epochs,
        verbose=verbose,
        callbacks=[timer],
        shuffle=False,
    )
    test = vae.evaluate(make_dataset(x_test, batch_size=500, shuffle=False), verbose=0, return_dict=True)
    return vae, {
        "kind": kind,
        "hidden_units": list(np.atleast_1d(hidden_units).tolist()) if kind == "dense" else None,
        "train_images": len(x_train),
        "parameters": vae.encoder.count_params() + vae.decoder.count_params(),
        "latent_dim": latent_dim,
        "epochs": epochs,
        "pixels": f"statically binarized, Bernoulli(intensity), seed {seed}" if binarize else "grey levels in [0, 1]",
        "batch_size": batch_size,
        "optimizer": f"adam lr={learning_rate:g}",
        "train_final_epoch": {k: round(float(v[-1]), 3) for k, v in history.history.items()},
        "test": {k: round(float(v), 3) for k, v in test.items()},
        "seconds_per_epoch": round(sum(timer.epoch_seconds) / len(timer.epoch_seconds), 1),
    }
