"""``SiameseModel``: train an embedding network with the triplet loss through ``fit()``.

One embedding network (the "twin" shared by every branch, seed notes
001_95a778d327d97535.txt "Face Recognition") is applied to every image; the loss compares
the embeddings. Two ways to feed it:

* ``mining=None``: each element is an explicit triplet ``((anchor, positive, negative),)``
  of image batches; loss = mean per-triplet ``max(d(a,p) - d(a,n) + α, 0)``.
* ``mining="batch_all" | "batch_hard" | "semi_hard"``: each element is ``(images, labels)``
  and the triplets are mined online inside the batch
  (:mod:`kerasdl.verification.losses`). Batches need several images of several
  identities: :func:`kerasdl.verification.faces.identity_batches` builds them.

``train_step``/``test_step`` are overridden with ``tf.GradientTape``, so callbacks,
``jit_compile`` and ``tf.distribute`` strategies work: per-triplet losses are averaged
with the global batch size (``tf.nn.compute_average_loss``), a mined (per-replica) batch
loss is divided by the number of replicas. ``model(images)`` / ``predict`` return embeddings.

Compile it like every custom model (:mod:`kerasdl.training.compile`):
``model.compile("adam", 2e-3)`` or ``model.compile(optimizer_instance, jit_compile="auto")``;
the loss is the triplet loss above, so no ``loss`` argument.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kerasdl._validation import check_choice, check_float
from kerasdl.verification.losses import MINING, mined_triplet_loss, pairwise_distances, triplet_loss
from kerasdl.training.compile import CustomModelCompile


@keras.saving.register_keras_serializable(package="kerasdl")
class SiameseModel(CustomModelCompile, keras.Model):
    """Triplet training around ``embedding`` (a model image → embedding); see the module docstring."""

    def __init__(self, embedding, margin: float = 0.2, mining: str | None = None, squared: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(embedding, keras.Model):
            raise ValueError(f"embedding must be a keras.Model, got {embedding!r}")
        self.embedding = embedding
        self.margin = check_float("margin", margin, minimum=0.0)
        self.mining = None if mining is None else check_choice("mining", mining, MINING)
        self.squared = bool(squared)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        # Fraction of (anchor, positive, negative) orderings that are right: d(a,p) < d(a,n).
        self.accuracy_tracker = keras.metrics.Mean(name="triplet_accuracy")
        self.built = embedding.built  # a functional embedding is built already; nothing else has weights

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, inputs, training=False):
        return self.embedding(inputs, training=training)

    def trained_variables(self) -> list:
        """The embedding network's weights: what ``train_step`` updates."""
        return self.embedding.trainable_variables

    def _loss_and_accuracy(self, data, training):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.mining is None:
            anchor, positive, negative = (self.embedding(t, training=training) for t in x)
            per_triplet = triplet_loss(anchor, positive, negative, self.margin, self.squared)
            scaled = tf.nn.compute_average_loss(per_triplet)
            d_ap = tf.reduce_sum(tf.square(anchor - positive), -1)
            d_an = tf.reduce_sum(tf.square(anchor - negative), -1)
            return scaled, tf.reduce_mean(per_triplet), tf.reduce_mean(tf.cast(d_ap < d_an, tf.float32))
        if y is None:
            raise ValueError(f"SiameseModel(mining={self.mining!r}) needs (images, labels) batches")
        embeddings = self.embedding(x, training=training)
        loss = mined_triplet_loss(y, embeddings, self.mining, self.margin, self.squared)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas, loss, _mined_accuracy(y, embeddings)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            scaled, loss, accuracy = self._loss_and_accuracy(data, training=True)
            if self.losses:  # regularisers of the embedding network
                scaled += tf.add_n(self.losses)
        variables = self.trained_variables()
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(accuracy)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        _, loss, accuracy = self._loss_and_accuracy(data, training=False)
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(accuracy)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "embedding": keras.saving.serialize_keras_object(self.embedding),
            "margin": self.margin,
            "mining": self.mining,
            "squared": self.squared,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["embedding"] = keras.saving.deserialize_keras_object(config["embedding"])
        return cls(**config)


def _mined_accuracy(labels, embeddings):
    """Fraction of anchors whose nearest other embedding has the anchor's label (top-1 retrieval)."""
    d = pairwise_distances(embeddings)
    d = d + tf.eye(tf.shape(d)[0]) * (tf.reduce_max(d) + 1.0)
    labels = tf.reshape(labels, [-1])
    nearest = tf.gather(labels, tf.argmin(d, axis=1))
    return tf.reduce_mean(tf.cast(tf.equal(nearest, labels), tf.float32))
