"""Neural style transfer costs (Gatys, Ecker & Bethge 2015, arXiv:1508.06576; seed notes
001_95a778d327d97535.txt "Neural Style Transfer"): ``J(G) = α J_content(C, G) + β J_style(S, G)``,
plus a total-variation term that keeps the generated image smooth.

Feature maps are channels-last ``(batch, n_H, n_W, n_C)``. Written with ``keras.ops`` only, so
the costs run on any Keras backend.
"""

from __future__ import annotations

import functools
import operator

from keras import ops


def content_loss(content_features, generated_features):
    """``J_content = 1 / (4 n_H n_W n_C) · Σ (a^[l](C) − a^[l](G))²`` (the seed's
    ``½ ||a(C) − a(G)||²`` with the course assignment's normalisation), averaged over the batch."""
    a_c = ops.cast(content_features, "float32")
    a_g = ops.cast(generated_features, "float32")
    return ops.mean(ops.square(a_c - a_g)) / 4.0


def gram_matrix(features):
    """Style matrix ``G_{kk'} = 1/(n_H n_W) Σ_{ij} a_{ijk} a_{ijk'}``, shape ``(batch, n_C, n_C)``.

    Dividing by the number of positions makes Gram matrices of images of different sizes
    comparable (the style image need not have the content image's size).
    """
    features = ops.cast(features, "float32")
    shape = ops.shape(features)
    positions = ops.cast(shape[1] * shape[2], "float32")
    return ops.einsum("bijc,bijd->bcd", features, features) / positions


def layer_style_loss(style_features, generated_features):
    """``J^[l]_style = 1 / (4 n_C²) · Σ (G^[l](S) − G^[l](G))²`` with the position-normalised
    Gram matrices of :func:`gram_matrix` (equal to the course's
    ``1/(4 n_C² (n_H n_W)²) Σ (G_S − G_G)²`` with unnormalised Gram matrices of equal size)."""
    return ops.mean(ops.square(gram_matrix(style_features) - gram_matrix(generated_features))) / 4.0


def style_loss(style_features, generated_features, layer_weights=None):
    """``J_style = Σ_l λ_l J^[l]_style`` over several layers (lists of feature maps);
    ``layer_weights`` default to equal weights summing to 1."""
    if len(style_features) != len(generated_features) or not style_features:
        raise ValueError(
            f"need the same, non-zero number of style and generated feature maps, "
            f"got {len(style_features)} and {len(generated_features)}"
        )
    if layer_weights is None:
        layer_weights = [1.0 / len(style_features)] * len(style_features)
    if len(layer_weights) != len(style_features):
        raise ValueError(f"got {len(layer_weights)} layer_weights for {len(style_features)} style layers")
    return functools.reduce(
        operator.add, [w * layer_style_loss(s, g) for w, s, g in zip(layer_weights, style_features, generated_features)]
    )


def total_variation_loss(images):
    """Mean absolute difference between neighbouring pixels: TensorFlow's
    ``tf.image.total_variation`` (the absolute differences of vertical and of horizontal
    neighbours, summed per image) divided by the number of pixels, averaged over the batch.

    ``images`` is ``(batch, H, W, C)``; a single ``(H, W, C)`` image is summed as one, as
    ``tf.image.total_variation`` does.
    """
    images = ops.cast(images, "float32")
    rank = len(images.shape)
    if rank not in (3, 4):
        raise ValueError(f"images must be (H, W, C) or (batch, H, W, C), got shape {tuple(images.shape)}")
    if rank == 3:  # the neighbour differences tf.image.total_variation takes
        vertical = images[1:, :, :] - images[:-1, :, :]
        horizontal = images[:, 1:, :] - images[:, :-1, :]
    else:
        vertical = images[:, 1:, :, :] - images[:, :-1, :, :]
        horizontal = images[:, :, 1:, :] - images[:, :, :-1, :]
    per_image_axes = None if rank == 3 else (1, 2, 3)
    variation = ops.sum(ops.abs(vertical), axis=per_image_axes) + ops.sum(ops.abs(horizontal), axis=per_image_axes)
    pixels = ops.cast(ops.prod(ops.shape(images)[1:]), "float32")
    return ops.mean(variation) / pixels
