"""Neural style transfer costs (Gatys, Ecker & Bethge 2015, arXiv:1508.06576; seed notes
001_95a778d327d97535.txt "Neural Style Transfer"): ``J(G) = α J_content(C, G) + β J_style(S, G)``,
plus a total-variation term that keeps the generated image smooth.

Feature maps are channels-last ``(batch, n_H, n_W, n_C)``.
"""

from __future__ import annotations

import tensorflow as tf


def content_loss(content_features, generated_features):
    """``J_content = 1 / (4 n_H n_W n_C) · Σ (a^[l](C) − a^[l](G))²`` (the seed's
    ``½ ||a(C) − a(G)||²`` with the course assignment's normalisation), averaged over the batch."""
    a_c = tf.cast(content_features, tf.float32)
    a_g = tf.cast(generated_features, tf.float32)
    return tf.reduce_mean(tf.square(a_c - a_g)) / 4.0


def gram_matrix(features):
    """Style matrix ``G_{kk'} = 1/(n_H n_W) Σ_{ij} a_{ijk} a_{ijk'}``, shape ``(batch, n_C, n_C)``.

    Dividing by the number of positions makes Gram matrices of images of different sizes
    comparable (the style image need not have the content image's size).
    """
    features = tf.cast(features, tf.float32)
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return tf.einsum("bijc,bijd->bcd", features, features) / positions


def layer_style_loss(style_features, generated_features):
    """``J^[l]_style = 1 / (4 n_C²) · Σ (G^[l](S) − G^[l](G))²`` with the position-normalised
    Gram matrices of :func:`gram_matrix` (equal to the course's
    ``1/(4 n_C² (n_H n_W)²) Σ (G_S − G_G)²`` with unnormalised Gram matrices of equal size)."""
    return tf.reduce_mean(tf.square(gram_matrix(style_features) - gram_matrix(generated_features))) / 4.0


def style_loss(style_features, generated_features, layer_weights=None):
    """``J_style = Σ_l λ_l J^[l]_style`` over several layers (lists of feature maps);
    ``layer_weights`` default to equal weights summing to 1."""
    if len(style_features) != len(generated_features) or not style_features:
        raise ValueError(f"need the same, non-zero number of style and generated feature maps, "
                         f"got {len(style_features)} and {len(generated_features)}")
    if layer_weights is None:
        layer_weights = [1.0 / len(style_features)] * len(style_features)
    if len(layer_weights) != len(style_features):
        raise ValueError(f"got {len(layer_weights)} layer_weights for {len(style_features)} style layers")
    return tf.add_n([w * layer_style_loss(s, g) for w, s, g in zip(layer_weights, style_features, generated_features)])


def total_variation_loss(images):
    """Mean absolute difference between neighbouring pixels: ``tf.image.total_variation``
    divided by the number of pixels, averaged over the batch."""
    images = tf.cast(images, tf.float32)
    pixels = tf.cast(tf.reduce_prod(tf.shape(images)[1:]), tf.float32)
    return tf.reduce_mean(tf.image.total_variation(images)) / pixels
