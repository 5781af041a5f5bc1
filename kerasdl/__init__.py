"""kerasdl: Keras 3 builders, training loops and apps for the classic deep-learning curriculum.

kerasdl runs on Keras 3 with the TensorFlow backend only: GradientTape, ``tf.function``
XLA compilation, SavedModel export and TF Hub are TensorFlow features. Importing the
package sets ``KERAS_BACKEND=tensorflow`` (before Keras is imported) and does nothing
else; import the sub-packages you need::

    from kerasdl import models, data, training, export, analysis
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

if "keras" in _sys.modules and _os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
    raise ImportError(
        "kerasdl needs the TensorFlow backend, but Keras was already imported with "
        f"KERAS_BACKEND={_os.environ['KERAS_BACKEND']!r}. Import kerasdl before keras, "
        "or set KERAS_BACKEND=tensorflow."
    )
_os.environ["KERAS_BACKEND"] = "tensorflow"
