"""A Keras 3 layer around a TF Hub model or any TF2 SavedModel, fine-tunable with any optimizer.

Why this exists: ``tensorflow_hub`` 0.16's ``hub.KerasLayer`` subclasses ``tf_keras``
(Keras 2) and cannot sit in a Keras 3 model (tensorflow/hub issues #903, #920), and Keras 3's
own ``keras.layers.TFSMLayer(path, trainable=True)`` cannot be fine-tuned with Adam (Keras
3.15, measured here): it wraps each restored variable under its TensorFlow name, which ends
in ``":0"`` (``"dense_kernel:0"``); Adam names its slot variables ``f"{name}_momentum"`` and
opens a ``tf.name_scope`` with that name, and ``':'`` is not allowed in a scope name, so the
first training step fails with "'dense_kernel:0_momentum' is not a valid scope name"
(plain SGD has no slots and works). :class:`HubLayer` wraps the *same* restored
``tf.Variable`` objects (no copy: training updates the SavedModel's variables) in Keras variables
named without the ``":0"`` suffix and with ``/`` replaced, so optimizer slots get valid
names.

Loading follows the TF Hub "reusable SavedModel" API (https://www.tensorflow.org/hub/reusable_saved_models):
the restored object is called as ``obj(inputs, training=...)`` and lists its weights in
``obj.variables`` / ``obj.trainable_variables``; ``obj.regularization_losses`` are added
to the layer's losses when it is trainable. A SavedModel without ``__call__`` (e.g. one
written by ``model.export``) is called through ``signature`` (default: ``serve`` or
``serving_default``), with ``output_key`` picking one output of a dict-returning signature.

Handles: a local folder (``/path/to/saved_model``), or a TF Hub / Kaggle URL resolved by
``tensorflow_hub.resolve`` into the TF Hub cache (``$TFHUB_CACHE_DIR``, default a
``tfhub_modules`` folder in the temp dir): a URL already in that cache loads offline. A URL
that is not cached on a machine without internet raises :class:`HubModelNotFoundError`
naming the handle and how to use a local copy instead.

TensorFlow backend only: on another Keras backend :class:`HubLayer` raises
:class:`kerasdl._backend.TensorFlowBackendRequired` (TensorFlow and ``tensorflow_hub`` are
imported lazily, so importing this module costs nothing there).
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import keras

from kerasdl._backend import require_tensorflow
from kerasdl.data.sources import DOWNLOAD_TIMEOUT_S, DatasetNotFoundError, _offline

_URL_PREFIXES = ("http://", "https://", "gs://")


class HubModelNotFoundError(DatasetNotFoundError):
    """A TF Hub handle is neither a local SavedModel nor in the TF Hub cache, and could not be
    downloaded (a :class:`FileNotFoundError`, so the apps report it with exit status 1)."""


def hub_cache_dir() -> Path:
    """The TF Hub cache ``tensorflow_hub`` uses: ``$TFHUB_CACHE_DIR`` or ``<tmp>/tfhub_modules``."""
    from tensorflow_hub import resolver

    return Path(resolver.tfhub_cache_dir(use_temp=True))


def _cached_module_dir(handle: str) -> Path:
    # tensorflow_hub caches a URL handle under sha1(handle) (compressed_module_resolver._module_dir).
    return hub_cache_dir() / hashlib.sha1(handle.encode("utf8")).hexdigest()


def resolve_handle(handle) -> str:
    """Local folder of the SavedModel that ``handle`` names (a path, or a URL via the TF Hub cache).

    A local path must be a SavedModel folder (``saved_model.pb`` inside). A URL goes through
    ``tensorflow_hub.resolve`` (which returns a cached copy without touching the network);
    when it is not cached and cannot be downloaded (no internet, or ``KERASDL_OFFLINE=1``),
    :class:`HubModelNotFoundError` says so and how to use a local copy.
    """
    if isinstance(handle, os.PathLike):
        handle = os.fspath(handle)
    if not isinstance(handle, str) or not handle:
        raise ValueError(f"handle must be a TF Hub URL or a SavedModel folder path, got {handle!r}")
    if not handle.startswith(_URL_PREFIXES):
        path = Path(handle).expanduser()
        if not (path / "saved_model.pb").is_file():
            raise FileNotFoundError(f"{handle!r} is not a SavedModel folder (no saved_model.pb inside)")
        return str(path)
    import tensorflow_hub as hub

    how = (
        f"Download it on a machine with internet (e.g. python -c \"import tensorflow_hub as hub; "
        f"print(hub.resolve('{handle}'))\"), copy the folder here and pass its local path, or copy "
        f"the TF Hub cache folder and point TFHUB_CACHE_DIR at it (this handle is cached as "
        f"{_cached_module_dir(handle)})."
    )
    cached = _cached_module_dir(handle)
    if _offline() and not (cached / "saved_model.pb").is_file():
        raise HubModelNotFoundError(
            f"TF Hub model {handle!r} is not in the TF Hub cache {hub_cache_dir()} "
            f"and KERASDL_OFFLINE=1 forbids downloading it. {how}"
        )
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        return hub.resolve(handle)
    except (OSError, ValueError) as error:  # urllib's URLError is an OSError
        raise HubModelNotFoundError(f"could not load TF Hub model {handle!r} ({error}). {how}") from error
    finally:
        socket.setdefaulttimeout(old_timeout)


def _load(hub, path: str):
    """``hub.load(path)``; when the SavedModel uses ops TensorFlow itself lacks (a
    ``tensorflow_text`` tokenizer inside, as in the KerasHub BERT exports), import
    ``tensorflow_text`` to register them and load again."""
    try:
        return hub.load(path)
    except Exception as error:  # TensorFlow reports an unknown op as NotFoundError or ValueError
        if "Op type not registered" not in str(error):
            raise
        try:
            import tensorflow_text  # noqa: F401  (registers the tokenizer ops)
        except ImportError:
            raise ModuleNotFoundError(
                f"{path} uses TensorFlow Text ops (a tokenizer inside the model): pip install tensorflow-text "
                f"(the version matching TensorFlow) and import tensorflow_text before loading it"
            ) from error
        return hub.load(path)


def _keras_variable_name(tf_name: str) -> str:
    """``"encoder/dense/kernel:0"`` → ``"encoder_dense_kernel"``: a name Keras and the optimizers
    can use as a scope (the ``":0"`` suffix is what breaks Adam's slot names in TFSMLayer)."""
    return tf_name.split(":")[0].replace("/", "_")


@keras.saving.register_keras_serializable(package="kerasdl")
class HubLayer(keras.layers.Layer):
    """A TF Hub model or TF2 SavedModel as a Keras 3 layer (frozen, or fine-tuned with any optimizer).

    Args:
        handle: a local SavedModel folder or a TF Hub URL (resolved through the TF Hub cache,
            see :func:`resolve_handle`).
        trainable: fine-tune the model's trainable variables (``False``: a fixed feature
            extractor, as ``hub.KerasLayer(trainable=False)``). When trainable, the model is
            called with ``training=True`` during ``fit`` if its ``__call__`` accepts it
            (dropout inside the encoder); frozen, it is always called with ``training=False``.
        signature: call this signature (e.g. ``"serving_default"``) instead of ``obj.__call__``.
            Default: ``__call__`` when the SavedModel has one, else ``serve`` /
            ``serving_default``.
        output_key: the output to return when the callable returns a dict (required when the
            dict has more than one entry).

    The layer's weights are the SavedModel's own variables (the same objects), so a
    ``.keras`` round trip stores the fine-tuned values and reloads them on top of a fresh
    load of ``handle``; ``model.export`` writes them into the new SavedModel.

    Example (a sentence encoder fine-tuned with Adam)::

        encoder = HubLayer("saved_models/encoder", trainable=True)
        text = keras.Input(shape=(), dtype="string")
        model = keras.Model(text, keras.layers.Dense(1, activation="sigmoid")(encoder(text)))
        model.compile(keras.optimizers.Adam(1e-4), "binary_crossentropy")
    """

    def __init__(
        self, handle, trainable: bool = False, signature: str | None = None, output_key: str | None = None, **kwargs
    ):
        # Restored TF Hub / SavedModel functions are TensorFlow graphs: TensorFlow backend only.
        require_tensorflow("HubLayer (TF Hub / SavedModel layers)")
        super().__init__(trainable=bool(trainable), **kwargs)
        self.handle = os.fspath(handle) if isinstance(handle, os.PathLike) else handle
        self.signature = signature
        self.output_key = output_key
        import tensorflow_hub as hub

        self._hub_model = _load(hub, resolve_handle(self.handle))
        self._callable, self._has_training_argument = self._pick_callable()
        trainable_vars, other_vars = self._restored_variables()
        for variable in trainable_vars:
            self._track_variable(self._wrap(variable, trainable=True))
        for variable in other_vars:
            self._track_variable(self._wrap(variable, trainable=False))
        self._regularization_losses = list(getattr(self._hub_model, "regularization_losses", None) or [])
        self.built = True

    # ----------------------------------------------------------------- loading helpers
    def _pick_callable(self):
        obj = self._hub_model
        if self.signature is None and callable(obj):
            import inspect

            try:
                parameters = inspect.signature(obj.__call__).parameters
            except (TypeError, ValueError):
                parameters = {}
            return obj, "training" in parameters
        signatures = dict(getattr(obj, "signatures", {}) or {})
        name = self.signature
        if name is None:
            name = next((n for n in ("serve", "serving_default") if n in signatures or hasattr(obj, n)), None)
            if name is None:
                raise ValueError(
                    f"{self.handle!r} has no __call__ and no 'serve'/'serving_default' signature; "
                    f"pass signature= one of {sorted(signatures)}"
                )
        if name in signatures:
            return signatures[name], False
        if hasattr(obj, name):
            return getattr(obj, name), False
        raise ValueError(f"signature {name!r} is not in {self.handle!r}; available: {sorted(signatures)}")

    def _restored_variables(self):
        """(trainable, non-trainable) restored tf.Variables, each once, in a fixed order."""
        obj = self._hub_model
        if isinstance(getattr(obj, "variables", None), (list, tuple)) or hasattr(obj, "trainable_variables"):
            everything = list(getattr(obj, "variables", []) or [])
            trainable = list(getattr(obj, "trainable_variables", []) or [])
        else:  # a plain SavedModel (e.g. model.export): the variables its function captures
            everything = list(getattr(self._callable, "variables", []) or [])
            trainable = list(getattr(self._callable, "trainable_variables", []) or [])
        trainable_ids = {id(v) for v in trainable}
        seen, first, rest = set(), [], []
        for variable in trainable + everything:
            if id(variable) in seen:
                continue
            seen.add(id(variable))
            (first if id(variable) in trainable_ids else rest).append(variable)
        return first, rest

    @staticmethod
    def _wrap(variable, trainable: bool):
        # On the TensorFlow backend, keras.Variable(initializer=<tf.Variable>) keeps that very
        # tf.Variable as its value (no copy), so gradients of the restored function reach it and
        # optimizer updates change the hub model. Only the name differs from TFSMLayer's.
        return keras.Variable(
            initializer=variable,
            trainable=trainable,
            dtype=variable.dtype,
            shape=tuple(variable.shape),
            name=_keras_variable_name(variable.name),
        )

    # ----------------------------------------------------------------- Keras API
    def call(self, inputs, training=None):
        kwargs = {}
        if self._has_training_argument:
            kwargs["training"] = bool(training) and self.trainable
        outputs = self._callable(inputs, **kwargs)
        if isinstance(outputs, dict):
            if self.output_key is not None:
                if self.output_key not in outputs:
                    raise ValueError(
                        f"output_key {self.output_key!r} is not an output of {self.handle!r}; "
                        f"outputs: {sorted(outputs)}"
                    )
                outputs = outputs[self.output_key]
            elif len(outputs) == 1:
                outputs = next(iter(outputs.values()))
            else:
                raise ValueError(f"{self.handle!r} returns several outputs {sorted(outputs)}: pass output_key")
        if self.trainable and training:
            for loss in self._regularization_losses:
                self.add_loss(loss())
        return outputs

    def compute_output_spec(self, inputs, training=None):
        # The restored function is a TensorFlow graph: trace it once on a symbolic spec.
        import tensorflow as tf

        spec = tf.TensorSpec(inputs.shape, inputs.dtype)
        concrete = tf.function(lambda x: self.call(x, training=False)).get_concrete_function(spec)
        out = concrete.structured_outputs
        return keras.KerasTensor(tuple(out.shape), dtype=out.dtype.name)

    def get_config(self):
        config = super().get_config()
        config.update({"handle": self.handle, "signature": self.signature, "output_key": self.output_key})
        return config
