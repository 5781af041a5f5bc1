"""Turn a fixed-size CNN classifier into a fully convolutional sliding-window model.

P. Sermanet, D. Eigen, X. Zhang, M. Mathieu, R. Fergus and Y. LeCun, "OverFeat: Integrated
recognition, localization and detection using convolutional networks", ICLR 2014
(arXiv:1312.6229), §3.5; J. Long, E. Shelhamer and T. Darrell, "Fully convolutional networks
for semantic segmentation", CVPR 2015, §3.1.

A Dense layer on a flattened ``h x w x c`` map is an ``h x w`` convolution with ``units``
filters (each filter holds one unit's weights, reshaped), and a Dense layer on a vector is a
1x1 convolution. Rewriting the head this way gives a network that accepts any image at least
as large as the original input; on a larger image it computes, in one pass and sharing the
convolutions of overlapping windows, the original classifier's output for every window
placed at a multiple of the network's total stride (the course notes' "convolutional
implementation of sliding windows").

Public API: :func:`convolutionalize` and :func:`sliding_window_stride`.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice

__all__ = ["convolutionalize", "sliding_window_stride"]

_L = keras.layers
# Layers that act on each position (or a local window) the same way at any image size.
_LOCAL_LAYERS = (
    _L.InputLayer, _L.Conv2D, _L.DepthwiseConv2D, _L.SeparableConv2D,
    _L.MaxPooling2D, _L.AveragePooling2D, _L.BatchNormalization,
    _L.Activation, _L.ReLU, _L.LeakyReLU, _L.ELU, _L.Softmax,
    _L.Dropout, _L.SpatialDropout2D, _L.GaussianNoise, _L.GaussianDropout, _L.AlphaDropout,
    _L.ActivityRegularization, _L.Rescaling, _L.Identity, _L.Dense,
    _L.Add, _L.Subtract, _L.Multiply, _L.Average, _L.Maximum, _L.Minimum, _L.Concatenate,
    _L.ZeroPadding2D, _L.Cropping2D,
)  # fmt: skip
# Layers after the flatten/global pooling that work position-wise on a map.
_HEAD_LAYERS = (
    _L.Dense, _L.Activation, _L.ReLU, _L.LeakyReLU, _L.ELU, _L.Softmax, _L.Dropout,
    _L.GaussianNoise, _L.GaussianDropout, _L.AlphaDropout, _L.ActivityRegularization,
    _L.BatchNormalization, _L.Identity,
)  # fmt: skip
_BOUNDARIES = (_L.Flatten, _L.GlobalAveragePooling2D, _L.GlobalMaxPooling2D)


def _real_layers(model):
    return [layer for layer in model.layers if not isinstance(layer, _L.InputLayer)]


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise ValueError(
            f"model {model.name!r} must be a built functional or Sequential model "
            "(a subclassed model has no layer graph to convert)"
        )
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"model {model.name!r} must have one input and one output, got {len(inputs)} and {len(outputs)}"
        )
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        raise ValueError(
            f"model {model.name!r} must take fixed-size (height, width, channels) images, got input shape {shape!r}"
        )
    return inputs[0], outputs[0]


def _uses_padding(layer) -> bool:
    if isinstance(layer, (_L.ZeroPadding2D, _L.Cropping2D)):
        return True
    if getattr(layer, "padding", "valid") != "same":
        return False
    window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None) or (1, 1)
    return any(k > 1 for k in window)


def _split(model):
    """Check ``model``; return (input, boundary layer, head layers in order)."""
    model_input, model_output = _check_model(model)
    layers = _real_layers(model)
    boundaries = [layer for layer in layers if isinstance(layer, _BOUNDARIES)]
    if not boundaries:
        raise ValueError(
            f"model {model.name!r} has no Flatten, GlobalAveragePooling2D or GlobalMaxPooling2D "
            "layer between its convolutional part and its Dense head, so there is nothing to "
            "convolutionalize"
        )
    if len(boundaries) > 1:
        raise ValueError(
            f"model {model.name!r} has several flatten/global-pooling layers "
            f"({[b.name for b in boundaries]}); only one classifier head can be converted"
        )
    boundary = boundaries[0]
    if len(boundary._inbound_nodes) != 1:
        raise ValueError(f"layer {boundary.name!r} is called more than once; cannot convert")
    if getattr(boundary, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"layer {boundary.name!r} must be channels_last, got {boundary.data_format!r}")
    if isinstance(boundary, _L.Flatten) and len(boundary.input.shape) != 4:
        raise ValueError(
            f"layer {boundary.name!r} must flatten a 4-D (batch, height, width, channels) map, "
            f"got {tuple(boundary.input.shape)!r}"
        )

    # The head: a chain from the boundary to the model output.
    head, tensor = [], boundary.output
    while tensor is not model_output:
        consumers = [layer for layer in layers if any(
            any(t is tensor for t in node.input_tensors) for node in layer._inbound_nodes
        )]  # fmt: skip
        if len(consumers) != 1:
            raise ValueError(
                f"the head after {boundary.name!r} must be a single chain of layers, but "
                f"{len(consumers)} layers read the same tensor"
            )
        layer = consumers[0]
        if not isinstance(layer, _HEAD_LAYERS) or len(layer._inbound_nodes) != 1:
            raise ValueError(
                f"layer {layer.name!r} ({type(layer).__name__}) after {boundary.name!r} cannot be "
                "turned into a convolution: the head may hold only Dense, activation, dropout "
                "and batch-norm layers, each called once"
            )
        head.append(layer)
        tensor = layer.output
    return model_input, boundary, head


def convolutionalize(model, *, allow_padding: bool = False, name: str | None = None):
    """The fully convolutional twin of a CNN classifier, for sliding-window inference.

    ``model``'s layers up to its Flatten (or global pooling) are copied (new layers, same
    weights); the boundary and the Dense head are rewritten:

    * ``Flatten`` + first ``Dense(units)`` on an ``h x w x c`` map → ``Conv2D(units, (h, w))``
      named like the Dense layer, kernel ``W.reshape(h, w, c, units)``;
    * ``GlobalAveragePooling2D`` / ``GlobalMaxPooling2D`` over an ``h x w`` map →
      ``AveragePooling2D`` / ``MaxPooling2D`` with an ``(h, w)`` window and stride 1
      (named like the pooling layer);
    * every later ``Dense(units)`` → ``Conv2D(units, 1)``, kernel ``W.reshape(1, 1, in,
      units)``; activations, dropout and batch norm are copied (they act on the last axis).

    The result takes ``(None, None, channels)`` images. On the original size it gives the
    original output as a ``1 x 1`` map; on an image of ``H x W`` it gives an
    ``((H - h0) // s + 1) x ((W - w0) // s + 1)`` map whose entry ``(i, j)`` is the original
    model's output on the crop ``image[i*s : i*s + h0, j*s : j*s + w0]`` (``h0 x w0`` the
    original input size, ``s`` = :func:`sliding_window_stride`).

    That equality is exact only when nothing before the head pads (valid convolutions and
    poolings, no ZeroPadding2D/Cropping2D): inside a large image a 'same'-padded layer sees
    the neighbouring pixels where the crop would have seen zeros. Such models are rejected
    unless ``allow_padding=True`` (the converted model is then the usual, approximate, dense
    evaluation that fully convolutional networks use).

    Args:
        model: a built functional or Sequential ``keras.Model`` with one channels-last image
            input of fixed size, local layers (convolutions, poolings, batch norm,
            activations, dropout, merges) up to exactly one Flatten / GlobalAveragePooling2D
            / GlobalMaxPooling2D layer, then a chain of Dense (and activation, dropout,
            batch-norm) layers.
        allow_padding: convert models whose convolutional part pads (see above).
        name: name of the new model (default ``"{model.name}_fully_conv"``).

    Returns:
        A ``keras.Model`` with input ``(None, None, None, channels)`` and output
        ``(None, rows, cols, outputs)``.

    Raises:
        ValueError: ``model`` cannot be converted (the message names the layer and why).
    """
    check_choice("allow_padding", allow_padding, [True, False])
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"name must be None or a non-empty string, got {name!r}")
    model_input, boundary, head = _split(model)

    features = keras.Model(model_input, boundary.input, name=f"{model.name}_features")
    feature_layers = _real_layers(features)
    for layer in feature_layers:
        if not isinstance(layer, _LOCAL_LAYERS) or isinstance(layer, keras.Model):
            raise ValueError(
                f"layer {layer.name!r} ({type(layer).__name__}) before {boundary.name!r} is not "
                "a local layer (convolution, pooling, batch norm, activation, dropout, merge), "
                "so it cannot slide over a larger image"
            )
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ValueError(f"layer {layer.name!r} must be channels_last, got {layer.data_format!r}")
        if _uses_padding(layer) and not allow_padding:
            raise ValueError(
                f"layer {layer.name!r} ({type(layer).__name__}) pads its input, so the sliding "
                "windows of the converted model would not equal the original model on the "
                "crops; pass allow_padding=True to convert it anyway"
            )

    channels = model_input.shape[-1]
    new_input = keras.Input(shape=(None, None, channels), name=model_input.name)
    if feature_layers:  # new layers with the same weights (the original stays independent)
        clone = keras.models.clone_model(features, input_tensors=new_input)
        for old, new in zip(feature_layers, _real_layers(clone)):
            new.set_weights(old.get_weights())
        x = clone.output
    else:  # the image itself is flattened
        x = new_input

    map_shape = tuple(boundary.input.shape[1:])  # (h, w, c)
    if isinstance(boundary, _L.GlobalAveragePooling2D | _L.GlobalMaxPooling2D):
        pool = _L.AveragePooling2D if isinstance(boundary, _L.GlobalAveragePooling2D) else _L.MaxPooling2D
        x = pool(pool_size=map_shape[:2], strides=1, name=boundary.name)(x)
        pending_kernel = (1, 1, map_shape[2])  # later Dense layers see a 1x1 map
    else:
        pending_kernel = map_shape  # the first Dense becomes an h x w convolution

    for layer in head:
        if isinstance(layer, _L.Dense):
            kernel, *bias = layer.get_weights()
            kh, kw, cin = pending_kernel
            if kernel.shape[0] != kh * kw * cin:
                raise ValueError(
                    f"layer {layer.name!r} has {kernel.shape[0]} inputs, expected {kh}*{kw}*{cin} = {kh * kw * cin}"
                )
            config = layer.get_config()
            conv = _L.Conv2D(
                layer.units,
                (kh, kw),
                activation=config["activation"],
                use_bias=layer.use_bias,
                kernel_initializer=config.get("kernel_initializer"),
                bias_initializer=config.get("bias_initializer"),
                kernel_regularizer=config.get("kernel_regularizer"),
                bias_regularizer=config.get("bias_regularizer"),
                activity_regularizer=config.get("activity_regularizer"),
                kernel_constraint=config.get("kernel_constraint"),
                bias_constraint=config.get("bias_constraint"),
                dtype=config.get("dtype"),
                name=layer.name,
            )
            x = conv(x)
            conv.set_weights([kernel.reshape(kh, kw, cin, layer.units), *bias])
            pending_kernel = (1, 1, layer.units)
        else:
            new_layer = type(layer).from_config(layer.get_config())
            x = new_layer(x)
            new_layer.set_weights(layer.get_weights())
    return keras.Model(new_input, x, name=name or f"{model.name}_fully_conv")


def sliding_window_stride(model) -> tuple[int, int]:
    """Rows and columns between two neighbouring windows of :func:`convolutionalize`'s model.

    The "jump" (product of the strides) of the map that reaches ``model``'s Flatten / global
    pooling, from :func:`kerasdl.analysis.receptive_fields` (e.g. 4 for LeNet-5's two 2x2
    poolings).
    """
    from kerasdl.analysis import receptive_fields

    model_input, boundary, _ = _split(model)
    if boundary.input is model_input:  # the image itself is flattened: windows 1 pixel apart
        return (1, 1)
    records = receptive_fields(keras.Model(model_input, boundary.input))
    jump = records[-1].jump_per_axis
    return (int(jump[0]), int(jump[1]))
