"""Face verification (1:1) and one-shot recognition (1:K) with a learned embedding.

Seed notes (001_95a778d327d97535.txt "Face Recognition"): learn a similarity function
``d(img1, img2)``; ``d <= t`` → "same", ``d > t`` → "different". Recognition against a
database of K people answers the closest person's identity, or "not recognised" when no
one is within ``t``. One image per person is enough (one-shot learning): the embedding is
learned once, on other people, and a new person is enrolled by storing one embedding.

* :func:`choose_threshold` picks ``t`` on validation pairs from scikit-learn's ROC curve
  (the threshold maximising Youden's J = TPR − FPR).
* :class:`Verifier` answers ``verify(image_a, image_b) → (same, distance)``.
* :class:`Gallery` enrols one image per person and answers ``identify(image)``.

Distances are Euclidean between L2-normalised embeddings (0..2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerasdl._validation import check_float, check_int
from kerasdl.data.pipeline import as_unit_float

NOT_RECOGNISED = "not recognised"


def make_pairs(identities, num_pairs: int, *, seed: int = 0):
    """``(index_a, index_b, same)``: ``num_pairs`` index pairs, half same-identity, half not."""
    identities = np.asarray(identities)
    num_pairs = check_int("num_pairs", num_pairs, minimum=2)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(identities == c) for c in np.unique(identities)]
    multi = [g for g in groups if len(g) >= 2]
    if not multi or len(groups) < 2:
        raise ValueError("pairs need at least two identities and one identity with two or more images")
    a, b, same = [], [], []
    for i in range(num_pairs):
        if i % 2 == 0:
            group = multi[rng.integers(len(multi))]
            x, y = rng.choice(group, 2, replace=False)
        else:
            g1, g2 = rng.choice(len(groups), 2, replace=False)
            x, y = rng.choice(groups[g1]), rng.choice(groups[g2])
        a.append(x), b.append(y), same.append(i % 2 == 0)
    return np.array(a), np.array(b), np.array(same)


def embedding_distances(emb_a, emb_b):
    """Row-wise Euclidean distance between two ``(N, D)`` embedding arrays."""
    return np.linalg.norm(np.asarray(emb_a, "float64") - np.asarray(emb_b, "float64"), axis=-1)


@dataclass
class ThresholdChoice:
    """The verification threshold :func:`choose_threshold` picked, with its scores on the pairs it was chosen on.

    Attributes:
        threshold: pairs at a distance ``<= threshold`` are called "same identity".
        roc_auc: area under the ROC curve of ``-distance`` as the score.
        true_positive_rate: fraction of same-identity pairs accepted at the threshold.
        false_positive_rate: fraction of different-identity pairs accepted at the threshold.
        accuracy: fraction of pairs classified correctly at the threshold.
    """

    threshold: float
    roc_auc: float
    true_positive_rate: float
    false_positive_rate: float
    accuracy: float


def choose_threshold(distances, same) -> ThresholdChoice:
    """The distance threshold maximising TPR − FPR on labelled pairs (scikit-learn ROC).

    ``same`` is True for same-identity pairs. The score is ``-distance`` (closer = more
    alike); a pair is called "same" when ``distance <= threshold``.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    distances, same = np.asarray(distances, "float64"), np.asarray(same, bool)
    if distances.shape != same.shape or distances.ndim != 1:
        raise ValueError(f"distances and same must be 1-D of equal length, got {distances.shape} and {same.shape}")
    if same.all() or not same.any():
        raise ValueError("choosing a threshold needs both same-identity and different-identity pairs")
    fpr, tpr, thresholds = roc_curve(same, -distances)
    best = int(np.argmax(tpr - fpr))
    threshold = float(min(-thresholds[best], distances.max()))  # roc_curve's first threshold is +inf
    accuracy = float(np.mean((distances <= threshold) == same))
    return ThresholdChoice(
        threshold, float(roc_auc_score(same, -distances)), float(tpr[best]), float(fpr[best]), accuracy
    )


def _as_batch(images, input_shape):
    """One image or a batch → float32 batch in [0, 1] (uint8 is divided by 255)."""
    images = as_unit_float(images)
    rank = len(input_shape)
    grey = input_shape[-1] == 1
    if grey and (images.ndim == rank - 1 or (images.ndim == rank and images.shape[-1] != 1)):
        images = images[..., None]  # (H, W) image or (N, H, W) batch of grey images
    if images.ndim == rank:
        images = images[None]
    if images.ndim != rank + 1 or tuple(images.shape[1:]) != tuple(input_shape):
        raise ValueError(f"images must have shape {tuple(input_shape)} (or a batch of them), got {images.shape}")
    return images


class Verifier:
    """``verify(image_a, image_b) → (same, distance)`` with an embedding model and a threshold.

    Images are uint8 (0..255) or float in [0, 1], of the embedding model's input shape.
    """

    def __init__(self, embedding_model, threshold: float):
        self.model = embedding_model
        self.threshold = check_float("threshold", threshold, minimum=0.0)
        self.input_shape = tuple(embedding_model.input_shape[1:])

    def embed(self, images) -> np.ndarray:
        """Embeddings ``(N, D)`` of one image or a batch (uint8 images are scaled to [0, 1])."""
        batch = _as_batch(images, self.input_shape)
        return np.asarray(self.model.predict(batch, batch_size=256, verbose=0))

    def verify(self, image_a, image_b) -> tuple[bool, float]:
        """``(same_person, distance)``: same when the embeddings' Euclidean distance is ``<= threshold``."""
        distance = float(embedding_distances(self.embed(image_a), self.embed(image_b))[0])
        return distance <= self.threshold, distance


class Gallery:
    """One-shot recognition: enrol one image per person, then identify a face or answer
    :data:`NOT_RECOGNISED` when no enrolled face is within the threshold."""

    def __init__(self, verifier: Verifier):
        self.verifier = verifier
        self.names: list = []
        self.embeddings = np.zeros((0, 0), "float32")

    def __len__(self) -> int:
        return len(self.names)

    def enroll(self, images, names) -> "Gallery":
        """Add people: a batch of images and one name per image (names must be new)."""
        names = list(names)
        embeddings = self.verifier.embed(images)
        if len(embeddings) != len(names):
            raise ValueError(f"got {len(embeddings)} images for {len(names)} names")
        duplicates = sorted({str(n) for n in names if names.count(n) > 1 or n in self.names})
        if duplicates:
            raise ValueError(f"names must be unique in the gallery; repeated: {', '.join(duplicates)}")
        self.embeddings = embeddings if not self.names else np.concatenate([self.embeddings, embeddings])
        self.names += names
        return self

    def identify(self, images):
        """``[(name or NOT_RECOGNISED, distance to the nearest enrolled face), ...]``, one per image."""
        if not self.names:
            raise ValueError("the gallery has no faces: enroll at least one person before identifying")
        queries = self.verifier.embed(images)
        distances = np.linalg.norm(queries[:, None, :] - self.embeddings[None, :, :], axis=-1)
        nearest = distances.argmin(axis=1)
        return [
            (self.names[j] if distances[i, j] <= self.verifier.threshold else NOT_RECOGNISED, float(distances[i, j]))
            for i, j in enumerate(nearest)
        ]


def one_shot_evaluation(verifier: Verifier, images, identities, *, seed: int = 0) -> dict:
    """One-shot recognition on ``images`` of people the network never saw.

    Half of the identities are enrolled with one random image each; the queries are their
    other images (should be recognised) and every image of the other half (impostors,
    should be "not recognised"). Returns top-1 accuracy among enrolled people ignoring
    the threshold, accuracy with the threshold, and the impostor rejection rate.
    """
    images, identities = np.asarray(images), np.asarray(identities)
    rng = np.random.default_rng(seed)
    people = rng.permutation(np.unique(identities))
    if len(people) < 2:
        raise ValueError("one-shot evaluation needs at least two identities")
    enrolled, impostors = people[: (len(people) + 1) // 2], people[(len(people) + 1) // 2 :]
    gallery_idx = np.array([rng.choice(np.flatnonzero(identities == p)) for p in enrolled])
    gallery = Gallery(verifier).enroll(images[gallery_idx], [int(p) for p in enrolled])
    known = np.flatnonzero(np.isin(identities, enrolled) & ~np.isin(np.arange(len(images)), gallery_idx))
    answers = gallery.identify(images[known])
    query_emb = verifier.embed(images[known])
    nearest = np.array(gallery.names)[
        np.linalg.norm(query_emb[:, None] - gallery.embeddings[None], axis=-1).argmin(axis=1)
    ]
    result = {
        "enrolled_people": len(enrolled),
        "known_queries": int(len(known)),
        "top1_accuracy": float(np.mean(nearest == identities[known])),
        "accuracy_with_threshold": float(np.mean([a == int(t) for (a, _), t in zip(answers, identities[known])])),
    }
    if len(impostors):
        unknown = np.flatnonzero(np.isin(identities, impostors))
        rejected = [a == NOT_RECOGNISED for a, _ in gallery.identify(images[unknown])]
        result.update(impostor_queries=int(len(unknown)), impostor_rejection_rate=float(np.mean(rejected)))
    return result
