"""Max-pooling over time that respects the padding mask.

Conneau et al., "Supervised Learning of Universal Sentence Representations from Natural
Language Inference Data", EMNLP 2017, §3.2: a bidirectional LSTM whose hidden states are
max-pooled over the time steps ("BiLSTM-max") encodes a sentence better than its last
state or their mean. Keras' ``GlobalMaxPooling1D`` ignores the mask the embedding emits
(so padded steps would take part in the max), hence this small layer; the mean over the
unpadded steps needs nothing new (``GlobalAveragePooling1D`` honours the mask).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kerasdl")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """``(batch, steps, features)`` → ``(batch, features)``: the maximum over the steps the
    mask keeps (``mask[b, t]`` true). A sequence with every step masked gives zeros, not
    ``-inf``. Without a mask it equals ``keras.layers.GlobalMaxPooling1D``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.max(inputs, axis=1)
        keep = keras.ops.expand_dims(keras.ops.cast(mask, "bool"), -1)
        lowest = keras.ops.full_like(inputs, float("-inf"))
        pooled = keras.ops.max(keras.ops.where(keep, inputs, lowest), axis=1)
        return keras.ops.where(keras.ops.any(keep, axis=1), pooled, keras.ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None  # one vector per sequence: nothing left to mask

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
