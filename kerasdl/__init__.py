"""kerasdl: Keras 3 builders, training loops and apps for the classic deep-learning curriculum.

Backend contract
----------------
kerasdl uses Keras' **TensorFlow backend by default**: importing the package sets
``KERAS_BACKEND=tensorflow`` when the user has chosen no backend (the variable is unset)
and Keras is not imported yet, and does nothing else. A backend chosen explicitly, or the
one of a Keras imported before kerasdl, is respected:

* ``KERAS_BACKEND=jax`` (or any Keras 3 backend): the backend-neutral core works: the
  model builders (:mod:`kerasdl.models`), layers (:mod:`kerasdl.layers`) and losses
  (:mod:`kerasdl.losses`) import, build and run with ``keras`` / ``keras.ops`` only.
* TensorFlow-only parts (``tf.GradientTape`` train loops, SavedModel export, ``tf.data``
  pipelines, TF Hub layers) raise :class:`kerasdl._backend.TensorFlowBackendRequired`
  (a ``RuntimeError`` saying "... needs Keras' TensorFlow backend; KERAS_BACKEND is 'jax'")
  where they start.

The default is TensorFlow because GradientTape, ``tf.function`` XLA compilation, SavedModel
export and TF Hub, which the training loops and apps use, are TensorFlow features. Import
the sub-packages you need::

    from kerasdl import models, data, training, export, analysis
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

if "keras" not in _sys.modules:
    # Only the default: an explicit KERAS_BACKEND wins, and once Keras is imported its
    # backend is fixed, so setting the variable then would only misreport it.
    _os.environ.setdefault("KERAS_BACKEND", "tensorflow")
