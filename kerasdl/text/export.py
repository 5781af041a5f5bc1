"""A text classifier as a SavedModel that takes raw strings.

:func:`export_text_classifier` writes a model whose ``serve`` signature takes ``tf.string``
``(None,)`` (tokenisation is inside the model) through :func:`kerasdl.export.export_saved_model`,
the atomic write every kerasdl export shares, with the class names as an extra asset;
:func:`reload_and_predict` loads it back with plain TensorFlow, so callers can compare it
with the in-memory model (:func:`kerasdl.export.check_export_agrees`). Used by
``kerasdl sentiment`` and ``benchmarks/sentiment.py``.
"""

from __future__ import annotations

from pathlib import Path


def export_text_classifier(serving, path, class_names, *, overwrite: bool = False) -> Path:
    """Export ``serving`` (strings → positive probability) as a SavedModel whose ``serve``
    signature takes ``tf.string`` ``(None,)`` (an empty batch gives an empty result); class names
    go to ``assets.extra/class_names.txt``."""
    from kerasdl.export import export_saved_model

    return export_saved_model(
        serving, path, overwrite=overwrite, extra_assets={"class_names.txt": "\n".join(map(str, class_names)) + "\n"}
    )


def reload_and_predict(path, texts):
    """Probabilities from the exported SavedModel at ``path`` for ``texts``, loaded with plain TensorFlow."""
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return np.asarray(loaded.serve(tf.constant(list(texts), dtype=tf.string)))
