"""What kerasdl's ImageNet twins share to be drop-in replacements for ``keras.applications``.

Used by :mod:`kerasdl.models.vgg`, :mod:`~kerasdl.models.resnet`, :mod:`~kerasdl.models.mobilenet`
and :mod:`~kerasdl.models.efficientnet`:

* ``input_tensor``: build the network on an existing Keras tensor, as ``keras.applications``
  does (:func:`resolve_input_tensor`, :func:`image_input`, :func:`model_inputs`): the input
  shape is read from the tensor, and the model's inputs are the ``keras.Input`` tensors the
  given tensor comes from (``keras.utils.get_source_inputs``), so ``model.inputs[0] is
  input_tensor`` when ``input_tensor`` is an ``Input``.
* :func:`keras_application`: a builder under its ``keras.applications`` name (``ResNet50``,
  ``MobileNetV2``, ...) with ``keras.applications``' exact signature: the same argument order
  and defaults (``weights="imagenet"``), ``classes`` for ``num_classes`` and ``name``.
"""

from __future__ import annotations

import inspect

import keras


def resolve_input_tensor(input_tensor, input_shape):
    """The ``input_shape`` to build with when the caller gave ``input_tensor`` (else ``input_shape``).

    Raises:
        ValueError: ``input_tensor`` is not a Keras tensor (Keras 3's ``keras.applications``
            accepts no other), is not a batch of images, or disagrees with ``input_shape``.
    """
    if input_tensor is None:
        return input_shape
    if not keras.backend.is_keras_tensor(input_tensor):
        raise ValueError(
            "input_tensor must be a Keras tensor (the output of keras.Input() or of a layer), "
            f"got {type(input_tensor).__name__}"
        )
    shape = tuple(input_tensor.shape[1:])
    if len(shape) != 3:
        raise ValueError(
            f"input_tensor must be a batch of images (batch, height, width, channels), got {input_tensor.shape}"
        )
    if input_shape is not None and tuple(input_shape) != shape:
        raise ValueError(f"input_shape={tuple(input_shape)!r} does not match the shape of input_tensor, {shape!r}")
    return shape


def image_input(input_tensor, input_shape):
    """The tensor the network starts from: ``input_tensor``, or a new ``keras.Input`` named ``input``."""
    return keras.Input(shape=input_shape, name="input") if input_tensor is None else input_tensor


def model_inputs(input_tensor, image):
    """The ``inputs`` of the finished ``keras.Model``: ``image``, or the ``keras.Input`` tensors
    ``input_tensor`` is computed from (as ``keras.applications``)."""
    if input_tensor is None:
        return image
    sources = keras.utils.get_source_inputs(input_tensor)
    return sources[0] if len(sources) == 1 else sources


def keras_application(builder, keras_name: str):
    """``builder`` under the name and signature of ``keras.applications.<keras_name>``.

    The returned function takes exactly the arguments of the ``keras.applications`` function,
    in its order and with its defaults (``weights="imagenet"``), passes ``classes`` on as
    ``num_classes``, and renames the model when ``name`` is given, so code written for
    ``keras.applications`` runs unchanged on kerasdl's network.
    """
    reference = getattr(keras.applications, keras_name)
    signature = inspect.signature(reference)

    def application(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        options = dict(arguments.arguments)
        options["num_classes"] = options.pop("classes")
        name = options.pop("name", None)
        model = builder(**options)
        if name is not None:
            model.name = name
        return model

    application.__name__ = application.__qualname__ = keras_name
    application.__module__ = builder.__module__
    application.__signature__ = signature
    application.__doc__ = (
        f"``keras.applications.{keras_name}``, built by kerasdl's :func:`{builder.__name__}`.\n\n"
        f"The same arguments, order and defaults as ``keras.applications.{keras_name}``, "
        f"``{keras_name}{signature}``; ``classes`` is :func:`{builder.__name__}`'s ``num_classes``, and "
        "``name`` renames the model. The network, its layer names and parameter counts are the "
        "same, so ``weights='imagenet'`` loads the same file.\n"
    )
    return application
