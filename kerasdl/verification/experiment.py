"""The verification experiment: build an embedding, train it with triplets, choose the
threshold on validation people and measure verification and one-shot recognition on
people never seen in training.

This is the flow ``kerasdl.apps.verify`` and ``benchmarks/vision_tasks.py`` share; each
adds only its own flags, printing, plots and files around it:

1. :func:`build_embedding`: the small CNN from scratch, or a pretrained backbone's frozen
   block features (:mod:`kerasdl.verification.features`) under a trained projection;
2. wrap it in :class:`~kerasdl.verification.siamese.SiameseModel` and compile it (inside
   the caller's ``tf.distribute`` scope, which is why this step stays with the caller);
3. :func:`train_verifier`: ``fit`` on P×K identity batches of the training people
   (:func:`~kerasdl.verification.faces.identity_batches`), optionally validated on the
   validation people;
4. :func:`evaluate_verifier`: threshold by ROC on validation pairs, ROC AUC and accuracy on
   test pairs, one-shot recognition on the test people.

TensorFlow only (``tf.data`` batches, the GradientTape ``train_step``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerasdl.verification.verifier import (
    ThresholdChoice,
    Verifier,
    choose_threshold,
    embedding_distances,
    make_pairs,
    one_shot_evaluation,
)

__all__ = ["VerificationResult", "build_embedding", "evaluate_verifier", "train_verifier"]


def build_embedding(
    data,
    embedding_dim: int = 64,
    *,
    filters=(32, 64, 128, 256),
    loaded=None,
    feature_layers="auto3",
    unfreeze_top: int = 0,
    num_pairs: int = 4000,
    seed: int = 0,
):
    """The embedding network for ``data`` (:class:`~kerasdl.verification.faces.IdentityData`).

    ``loaded=None``: :func:`~kerasdl.verification.embedding.embedding_network`'s small CNN
    with ``filters``. Otherwise ``loaded`` is a :func:`kerasdl.transfer.load_backbone` result:
    its ``feature_layers`` (names, or ``"autoN"`` ranked on the seen people with
    ``num_pairs`` pairs, :func:`~kerasdl.verification.features.chosen_layer_features`) feed a
    projection with dropout 0.2, and the backbone is frozen except its last ``unfreeze_top``
    layers. Returns ``(embedding, the feature layers or None, their scores or None)``.
    """
    from kerasdl.verification.embedding import embedding_network

    if loaded is None:
        return embedding_network(data.input_shape, embedding_dim, filters=filters), None, None
    from kerasdl.transfer.finetune import set_trainable_top
    from kerasdl.verification.features import chosen_layer_features

    features, layers, scores = chosen_layer_features(loaded, feature_layers, data, num_pairs=num_pairs, seed=seed)
    set_trainable_top(loaded, unfreeze_top)
    return embedding_network(data.input_shape, embedding_dim, backbone=features, dropout=0.2), layers, scores


def train_verifier(
    model,
    data,
    *,
    epochs: int,
    steps_per_epoch: int,
    identities_per_batch: int = 8,
    images_per_identity: int = 4,
    augment: bool = False,
    validation_steps: int | None = None,
    seed: int = 0,
    callbacks=(),
    verbose: int = 2,
):
    """``model.fit`` (a compiled :class:`~kerasdl.verification.siamese.SiameseModel`) on
    endless P×K batches of ``data``'s training people; returns the Keras ``History``.

    P is ``identities_per_batch`` capped at the number of people of the split. ``augment``:
    :func:`~kerasdl.verification.faces.face_augmentation` (seeded with ``seed``) on the
    training batches. ``validation_steps``: validate on that many batches of the validation
    people (batch seed ``seed + 1``) after each epoch; ``None`` skips validation.
    """
    from kerasdl.verification.faces import face_augmentation, identity_batches

    def batches(x, y, batch_seed, augmentation=None):
        return identity_batches(
            x,
            y,
            identities_per_batch=min(identities_per_batch, len(np.unique(y))),
            images_per_identity=images_per_identity,
            seed=batch_seed,
            augment=augmentation,
        )

    augmentation = face_augmentation(seed=seed) if augment else None
    validation = {}
    if validation_steps is not None:
        validation = {
            "validation_data": batches(data.x_val, data.y_val, seed + 1),
            "validation_steps": validation_steps,
        }
    return model.fit(
        batches(data.x_train, data.y_train, seed, augmentation),
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        verbose=verbose,
        callbacks=list(callbacks),
        shuffle=False,  # a tf.data pipeline: P×K batches drawn at random already
        **validation,
    )


@dataclass
class VerificationResult:
    """What :func:`evaluate_verifier` measured; ``verifier`` carries the chosen threshold."""

    verifier: Verifier
    choice: ThresholdChoice  # threshold, validation ROC AUC / TPR / FPR / accuracy
    test_distances: np.ndarray
    test_same: np.ndarray
    test_roc_auc: float
    test_accuracy: float
    one_shot: dict


def evaluate_verifier(embedding, data, *, num_pairs: int = 4000, seed: int = 0) -> VerificationResult:
    """Choose the threshold on ``num_pairs`` validation pairs (pair seed ``seed``), then score
    ``num_pairs`` test pairs (seed ``seed + 1``) and one-shot recognition on the test people."""
    from sklearn.metrics import roc_auc_score

    verifier = Verifier(embedding, threshold=0.0)

    def pair_distances(x, y, pair_seed):
        a, b, same = make_pairs(y, num_pairs, seed=pair_seed)
        emb = verifier.embed(x)
        return embedding_distances(emb[a], emb[b]), same

    val_d, val_same = pair_distances(data.x_val, data.y_val, seed)
    choice = choose_threshold(val_d, val_same)
    verifier.threshold = choice.threshold
    test_d, test_same = pair_distances(data.x_test, data.y_test, seed + 1)
    return VerificationResult(
        verifier=verifier,
        choice=choice,
        test_distances=test_d,
        test_same=test_same,
        test_roc_auc=float(roc_auc_score(test_same, -test_d)),
        test_accuracy=float(np.mean((test_d <= choice.threshold) == test_same)),
        one_shot=one_shot_evaluation(verifier, data.x_test, data.y_test, seed=seed),
    )
