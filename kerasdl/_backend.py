"""Which Keras backend kerasdl runs on, and the guard for the parts that need TensorFlow.

The builders (:mod:`kerasdl.models`), layers (:mod:`kerasdl.layers`) and losses
(:mod:`kerasdl.losses`) are written with ``keras`` and ``keras.ops`` only, so they run on
any Keras 3 backend (tested on TensorFlow and JAX). Training loops built on
``tf.GradientTape``, SavedModel export, ``tf.data`` pipelines (and the elastic distortion
layer written for them) and TF Hub layers are TensorFlow features: they call :func:`require_tensorflow` where they start, so on another
backend they fail at once with a message that says why, instead of deep inside TensorFlow
(or with an ``ImportError`` on a machine that has no TensorFlow at all).
"""

from __future__ import annotations

__all__ = ["TensorFlowBackendRequired", "backend", "require_tensorflow"]


class TensorFlowBackendRequired(RuntimeError):
    """A TensorFlow-only part of kerasdl was used while Keras runs on another backend."""


def backend() -> str:
    """The name of the backend Keras runs on (``"tensorflow"``, ``"jax"``, ...)."""
    import keras

    return keras.backend.backend()


def require_tensorflow(what: str) -> None:
    """Raise :class:`TensorFlowBackendRequired` unless Keras runs on TensorFlow.

    ``what`` names the feature in the message (e.g. ``"TF Hub layers"``). Call it where a
    TensorFlow-only feature starts, before any TensorFlow import.
    """
    name = backend()
    if name != "tensorflow":
        raise TensorFlowBackendRequired(
            f"{what} needs Keras' TensorFlow backend; KERAS_BACKEND is {name!r}. Set KERAS_BACKEND=tensorflow "
            "before keras is imported (kerasdl's builders, layers and losses also run on other backends)."
        )
