"""The Inception module of GoogLeNet (Szegedy et al. 2014).

C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke and
A. Rabinovich, "Going deeper with convolutions", arXiv:1409.4842 (CVPR 2015), figure 2(b).

Four branches see the same input and are concatenated on the channel axis::

    input ─┬─ 1x1 conv (f1x1) ─────────────────────────────┐
           ├─ 1x1 conv (f3x3_reduce) ─ 3x3 conv (f3x3) ────┤
           ├─ 1x1 conv (f5x5_reduce) ─ 5x5 conv (f5x5) ────┼─ concat → f1x1+f3x3+f5x5+pool_proj
           └─ 3x3 max-pool, stride 1 ─ 1x1 conv (pool_proj)┘

Every convolution has "same" padding, a bias and a ReLU, so the spatial size is kept.
The 1x1 "reduce" convolutions are bottlenecks: they shrink the channels before the
expensive 3x3/5x5 convolutions. On a 28x28x192 input, a 5x5 convolution to 32 channels
costs 28*28*32*5*5*192 = 120,422,400 multiplications; putting a 1x1 convolution to 16
channels in front costs 28*28*16*192 + 28*28*32*5*5*16 = 2,408,448 + 10,035,200 =
12,443,648, about a tenth (:mod:`kerasdl.analysis` counts both off a built model).
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_int


def inception_module(x, f1x1, f3x3_reduce, f3x3, f5x5_reduce, f5x5, pool_proj, name):
    """Add an Inception module (figure 2(b) of Szegedy et al. 2014) on ``x``; return its output.

    Args:
        x: a 4-D channels-last Keras tensor.
        f1x1: filters of the 1x1 branch.
        f3x3_reduce: filters of the 1x1 bottleneck before the 3x3 convolution.
        f3x3: filters of the 3x3 convolution.
        f5x5_reduce: filters of the 1x1 bottleneck before the 5x5 convolution.
        f5x5: filters of the 5x5 convolution.
        pool_proj: filters of the 1x1 convolution after the 3x3/1 max-pooling.
        name: prefix of the layer names: ``{name}_1x1``, ``{name}_3x3_reduce``,
            ``{name}_3x3``, ``{name}_5x5_reduce``, ``{name}_5x5``, ``{name}_pool``,
            ``{name}_pool_proj`` and ``{name}_concat`` (the names of the Caffe reference
            model, with ``_`` for ``/``).

    Returns:
        A tensor with the input's height and width and
        ``f1x1 + f3x3 + f5x5 + pool_proj`` channels.

    Parameters: ``C*f1x1 + C*r3 + 9*r3*f3x3 + C*r5 + 25*r5*f5x5 + C*pool_proj`` weights
    plus one bias per filter, for ``C`` input channels (e.g. 163,696 for GoogLeNet's
    inception 3a on 192 channels).
    """
    filters = {
        "f1x1": f1x1,
        "f3x3_reduce": f3x3_reduce,
        "f3x3": f3x3,
        "f5x5_reduce": f5x5_reduce,
        "f5x5": f5x5,
        "pool_proj": pool_proj,
    }
    for arg, value in filters.items():
        check_int(arg, value, minimum=1)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if len(x.shape) != 4:
        raise ValueError(f"inception_module needs a 4-D (batch, height, width, channels) input, got {x.shape}")

    def conv(filters, kernel, suffix):
        return keras.layers.Conv2D(filters, kernel, padding="same", activation="relu", name=f"{name}_{suffix}")

    branch1 = conv(f1x1, 1, "1x1")(x)
    branch3 = conv(f3x3, 3, "3x3")(conv(f3x3_reduce, 1, "3x3_reduce")(x))
    branch5 = conv(f5x5, 5, "5x5")(conv(f5x5_reduce, 1, "5x5_reduce")(x))
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    branch_pool = conv(pool_proj, 1, "pool_proj")(pooled)
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")([branch1, branch3, branch5, branch_pool])
