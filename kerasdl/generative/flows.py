"""Whole training flows over the generative pieces, for the benchmarks and anyone scripting them.

:func:`train_and_score_gan` builds a GAN (:func:`~kerasdl.generative.gan.build_gan`), trains
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
    cycle through the classes.

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
        label_smoothing=LABEL_SMOOTHING,
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
        "label_smoothing": LABEL_SMOOTHING,
        "d_steps": d_steps,
        "conditional": conditional,
        "generated_labels": "0..9 cycled" if conditional else None,
        "parameters": {"generator": gan.generator.count_params(), "discriminator": gan.discriminator.count_params()},
        **sample_scores(evaluator, gan, data.x_test, seed),
        "inception_score_curve_5000_samples": curve,
        "final_epoch": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "seconds_per_epoch": round(sum(timer.epoch_seconds) / len(timer.epoch_seconds), 1),
    }
