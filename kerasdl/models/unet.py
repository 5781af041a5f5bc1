"""U-Net for semantic segmentation (Ronneberger, Fischer & Brox 2015, arXiv:1505.04597).

Contracting path: ``depth`` blocks of two 3x3 convolutions + ReLU, each followed by 2x2
max pooling, the filters doubling at every level (``base_filters * 2**level``); a
bottleneck block at ``base_filters * 2**depth``. Expanding path: at every level a 2x2
stride-2 transposed convolution halves the channels and doubles the resolution, the
contracting path's feature map at that level is **concatenated** to it (not added — the
seed notes stress this, 001_95a778d327d97535.txt "Semantic Segmentation and U-Nets"),
and two 3x3 convolutions follow. A 1x1 convolution gives per-pixel class scores.

Parameters (no batch norm, C input channels, K classes, f = base_filters)::

    conv block(c_in, c_out)    = 9*c_in*c_out + c_out + 9*c_out*c_out + c_out
    contracting level l        = block(c_{l-1}, f*2**l),   c_{-1} = C
    bottleneck                 = block(f*2**(depth-1), f*2**depth)
    expanding level l          = 4*f*2**(l+1)*f*2**l + f*2**l   (transposed conv)
                                 + block(f*2**(l+1), f*2**l)    (after the concatenation)
    head                       = f*K + K

The paper's network (572x572x1 input, depth 4, f = 64, 2 classes, ``padding="valid"``) has
31,030,658 parameters and a 388x388x2 output; ``padding="same"`` keeps the input size
(the parameter count does not depend on the padding).
"""

from __future__ import annotations

from kerasdl._validation import check_choice, check_float, check_image_shape, check_int, check_num_classes


def _valid_sizes(size: int, depth: int) -> int | None:
    """Output size of a ``padding="valid"`` U-Net for input ``size``, or None if it does not fit.

    Every 3x3 valid convolution removes 2 pixels; every pooled map must have an even size.
    """
    for _ in range(depth):
        size -= 4
        if size <= 0 or size % 2:
            return None
        size //= 2
    size -= 4
    if size <= 0:
        return None
    for _ in range(depth):
        size = size * 2 - 4
    return size if size > 0 else None


def _conv_block(x, filters: int, *, padding: str, batch_norm: bool, name: str):
    import keras

    for i in (1, 2):
        x = keras.layers.Conv2D(
            filters, 3, padding=padding, use_bias=not batch_norm, kernel_initializer="he_normal", name=f"{name}_conv{i}"
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = keras.layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def unet(
    input_shape=(128, 128, 3),
    num_classes: int = 2,
    depth: int = 4,
    base_filters: int = 64,
    *,
    padding: str = "same",
    batch_norm: bool = False,
    dropout: float = 0.0,
    output_activation: str | None = "softmax",
    name: str = "unet",
):
    """Build a U-Net; see the module docstring for the architecture and parameter formula.

    ``padding="same"`` (default) keeps the input size: height and width must be multiples of
    ``2**depth``. ``padding="valid"`` is the paper's: the output is smaller than the input
    and the skip connections are centre-cropped before the concatenation. ``dropout`` is
    applied after the deepest contracting block and the bottleneck (as in the paper).
    ``output_activation`` is ``"softmax"``/``"sigmoid"`` for probabilities or ``None`` for logits.
    """
    import keras

    depth = check_int("depth", depth, minimum=1, maximum=8)
    base_filters = check_int("base_filters", base_filters, minimum=1)
    num_classes = check_num_classes(num_classes)
    check_choice("padding", padding, ("same", "valid"))
    check_choice("output_activation", output_activation, ("softmax", "sigmoid", None))
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    input_shape = check_image_shape("input_shape", input_shape)
    if padding == "same":
        step = 2**depth
        if input_shape[0] % step or input_shape[1] % step:
            raise ValueError(
                f"input_shape={input_shape!r}: height and width must be multiples of 2**depth = {step} "
                "with padding='same'"
            )
    elif _valid_sizes(input_shape[0], depth) is None or _valid_sizes(input_shape[1], depth) is None:
        raise ValueError(
            f"input_shape={input_shape!r} does not fit a padding='valid' U-Net of depth {depth}: every "
            "pooled map must have an even size (e.g. 572 for depth 4)"
        )

    inputs = keras.Input(input_shape, name="image")
    x, skips = inputs, []
    for level in range(depth):
        x = _conv_block(x, base_filters * 2**level, padding=padding, batch_norm=batch_norm, name=f"down{level}")
        if dropout and level == depth - 1:
            x = keras.layers.Dropout(dropout, name=f"down{level}_dropout")(x)
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"down{level}_pool")(x)
    x = _conv_block(x, base_filters * 2**depth, padding=padding, batch_norm=batch_norm, name="bottleneck")
    if dropout:
        x = keras.layers.Dropout(dropout, name="bottleneck_dropout")(x)
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        x = keras.layers.Conv2DTranspose(
            filters, 2, strides=2, kernel_initializer="he_normal", name=f"up{level}_transpose"
        )(x)
        skip = skips[level]
        if padding == "valid":  # the paper's "cropping ... due to the loss of border pixels"
            dh, dw = skip.shape[1] - x.shape[1], skip.shape[2] - x.shape[2]
            skip = keras.layers.Cropping2D(((dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)), name=f"up{level}_crop")(
                skip
            )
        x = keras.layers.Concatenate(name=f"up{level}_concat")([skip, x])
        x = _conv_block(x, filters, padding=padding, batch_norm=batch_norm, name=f"up{level}")
    outputs = keras.layers.Conv2D(num_classes, 1, activation=output_activation, dtype="float32", name="classes")(x)
    return keras.Model(inputs, outputs, name=name)


def unet_parameter_count(input_channels: int, num_classes: int, depth: int = 4, base_filters: int = 64) -> int:
    """The parameter formula of the module docstring (no batch norm), for tests and docs."""

    def block(c_in, c_out):
        return 9 * c_in * c_out + c_out + 9 * c_out * c_out + c_out

    f, total, c_in = base_filters, 0, input_channels
    for level in range(depth):
        total += block(c_in, f * 2**level)
        c_in = f * 2**level
    total += block(c_in, f * 2**depth)
    for level in range(depth):
        total += 4 * f * 2 ** (level + 1) * f * 2**level + f * 2**level + block(f * 2 ** (level + 1), f * 2**level)
    return total + f * num_classes + num_classes
