"""Inception Score and Fréchet distance for MNIST-like images, with an MNIST classifier.

The Inception Score (Salimans et al. 2016) and the Fréchet Inception Distance (Heusel et
al., "GANs Trained by a Two Time-Scale Update Rule...", NeurIPS 2017) use Inception v3
trained on ImageNet. For 28x28 digits that network is the wrong judge (and its weights are
not on these machines), so this module computes the **MNIST analogue**: the same formulas
with a classifier trained on the digits themselves (e.g. :func:`kerasdl.models.mnist_cnn`):

- ``IS = exp(E_x KL(p(y|x) ‖ p(y)))``: between 1 (every image gets the same class
  distribution) and the number of classes (confident, evenly spread classes); real MNIST
  test images score close to 10 with a good classifier;
- ``FD = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{½})`` between Gaussians fitted to the
  classifier's penultimate-layer features of two image sets (0 for identical sets).

Figures are comparable only between runs that use the same classifier. ``scipy.linalg.sqrtm``
computes the matrix square root. :func:`sample_scores` gives the figures
``benchmarks/generative.py`` reports for a trained GAN (IS and FD of 10,000 samples).
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_int


def inception_score_from_probs(probs, splits: int = 1) -> tuple[float, float]:
    """``exp(mean KL(p(y|x) ‖ p(y)))`` from class probabilities (N, K); mean and std over ``splits``."""
    probs = np.asarray(probs, dtype="float64")
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"probs must have shape (num_images, num_classes), got {probs.shape}")
    splits = check_int("splits", splits, minimum=1, maximum=len(probs))
    eps = 1e-12
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + eps) - np.log(marginal + eps))).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score_parts(probs, confidence: float = 0.9) -> dict:
    """Why an Inception Score is what it is: ``IS = class_perplexity / conditional_perplexity``.

    With one split, ``E_x KL(p(y|x) ‖ p(y)) = H(p(y)) − E_x H(p(y|x))``, so the score is the
    perplexity of the class marginal, ``exp H(p(y))`` (how evenly the images spread over the
    classes; at most K, below it when classes are dropped), divided by the mean conditional
    perplexity ``exp E_x H(p(y|x))`` (1 when the judge is certain of every image, larger for
    ambiguous ones). Also the judge's mean top probability and the share of images whose top
    probability is below ``confidence``, and the share of images per predicted class.
    """
    probs = np.asarray(probs, dtype="float64")
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"probs must have shape (num_images, num_classes), got {probs.shape}")
    eps = 1e-12
    marginal = probs.mean(axis=0)
    top = probs.max(axis=1)
    return {
        "class_perplexity": float(np.exp(-(marginal * np.log(marginal + eps)).sum())),
        "conditional_perplexity": float(np.exp(-(probs * np.log(probs + eps)).sum(axis=1).mean())),
        "mean_top_probability": float(top.mean()),
        f"share_below_{confidence:g}_confidence": float((top < confidence).mean()),
        "predicted_class_shares": (np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)).tolist(),
    }


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂) (Dowson & Landau 1982)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1).astype("float64"), np.atleast_1d(mu2).astype("float64")
    sigma1, sigma2 = np.atleast_2d(sigma1).astype("float64"), np.atleast_2d(sigma2).astype("float64")
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics differ in shape: {mu1.shape}/{sigma1.shape} vs {mu2.shape}/{sigma2.shape}")
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():  # singular product: offset the diagonals, as the reference code does
        offset = np.eye(len(sigma1)) * 1e-6
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean), 0.0))


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a (N, D) feature matrix."""
    features = np.asarray(features, dtype="float64")
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must have shape (N >= 2, D), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


class GenerativeEvaluator:
    """IS and FD with a trained classifier (softmax output) as the judge.

    ``feature_layer``: the layer whose output serves as features (name or index; default
    the penultimate layer, e.g. ``mnist_cnn``'s 1024-unit ``fc1`` through ``dropout``,
    which is the identity at inference). Images are float (N, H, W, C) in [0, 1]; pass
    ``value_range=(-1, 1)`` for tanh generators.
    """

    def __init__(self, classifier, feature_layer=-2, batch_size: int = 500):
        import keras

        self.classifier = classifier
        layer = (
            classifier.get_layer(feature_layer) if isinstance(feature_layer, str) else classifier.layers[feature_layer]
        )
        self.features_model = keras.Model(classifier.inputs, layer.output, name="generative_eval_features")
        self.batch_size = check_int("batch_size", batch_size, minimum=1)

    def _prepare(self, images, value_range):
        low, high = value_range
        raw = np.asarray(images, dtype="float32")
        images = (raw - low) / (high - low)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or len(images) == 0:
            raise ValueError(f"images must be a non-empty batch (N, H, W[, C]), got shape {raw.shape}")
        if not np.isfinite(images).all() or images.min() < -1e-3 or images.max() > 1.0 + 1e-3:
            raise ValueError(
                f"images must hold values in value_range={tuple(value_range)}, "
                f"got values in [{raw.min():g}, {raw.max():g}]"
            )
        return np.clip(images, 0.0, 1.0)  # float rounding at the ends only

    def probabilities(self, images, value_range=(0.0, 1.0)) -> np.ndarray:
        """The judge classifier's class probabilities ``p(y|x)`` for ``images`` (pixel values in ``value_range``)."""
        return np.asarray(
            self.classifier.predict(self._prepare(images, value_range), batch_size=self.batch_size, verbose=0)
        )

    def features(self, images, value_range=(0.0, 1.0)) -> np.ndarray:
        """The judge's penultimate-layer features, ``(N, D)``: what the Fréchet distance compares."""
        return np.asarray(
            self.features_model.predict(self._prepare(images, value_range), batch_size=self.batch_size, verbose=0)
        ).reshape(len(images), -1)

    def inception_score(self, images, splits: int = 10, value_range=(0.0, 1.0)) -> tuple[float, float]:
        """MNIST-analogue Inception Score (mean, std over ``splits``)."""
        return inception_score_from_probs(self.probabilities(images, value_range), splits=splits)

    def inception_score_parts(self, images, value_range=(0.0, 1.0)) -> dict:
        """:func:`inception_score_parts` of the judge's probabilities for ``images``."""
        return inception_score_parts(self.probabilities(images, value_range))

    def frechet_distance(self, images_a, images_b, value_range_a=(0.0, 1.0), value_range_b=(0.0, 1.0)) -> float:
        """MNIST-analogue Fréchet distance between two image sets."""
        stats_a = feature_statistics(self.features(images_a, value_range_a))
        stats_b = feature_statistics(self.features(images_b, value_range_b))
        return frechet_distance_from_stats(*stats_a, *stats_b)


def round_parts(parts: dict, digits: int = 4) -> dict:
    """:func:`inception_score_parts` with every value rounded to ``digits`` decimals (for JSON)."""
    return {
        k: [round(v, digits) for v in value] if isinstance(value, list) else round(value, digits)
        for k, value in parts.items()
    }


def sample_scores(
    evaluator: GenerativeEvaluator, gan, reference_images, seed: int = 0, num_samples: int = 10_000, splits: int = 10
) -> dict:
    """IS (``splits`` splits) and FD to ``reference_images`` (in [0, 1]) of ``gan.generate(num_samples, seed=seed)``.

    ``gan``: a :class:`~kerasdl.generative.gan.GAN` (tanh samples in [-1, 1]). Returns the
    rounded figures ``inception_score``, ``inception_score_std``, ``frechet_distance_to_test``,
    ``samples`` and ``inception_score_parts``.
    """
    samples = gan.generate(num_samples, seed=seed)
    probs = evaluator.probabilities(samples, value_range=(-1, 1))
    inception, inception_std = inception_score_from_probs(probs, splits=splits)
    fd = evaluator.frechet_distance(samples, reference_images, value_range_a=(-1, 1))
    return {
        "inception_score": round(inception, 3),
        "inception_score_std": round(inception_std, 3),
        "frechet_distance_to_test": round(fd, 3),
        "samples": num_samples,
        "inception_score_parts": round_parts(inception_score_parts(probs)),
    }
