"""Synthetic shapes for segmentation: images with several circles, squares and triangles,
and their per-pixel class masks (0 background, 1 circle, 2 square, 3 triangle).

Colours are random per shape and per background, and pixel noise is added, so the class
of a pixel can only be told from the shape it belongs to. Later shapes occlude earlier
ones, exactly as in the mask.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_float, check_int

SHAPE_CLASSES = ("background", "circle", "square", "triangle")


def _shape_mask(kind: int, yy, xx, cy: float, cx: float, r: float, angle: float):
    """Boolean mask of one shape centred at (cy, cx) with "radius" r, rotated by ``angle``."""
    if kind == 1:
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * (xx - cx) + sin * (yy - cy), -sin * (xx - cx) + cos * (yy - cy)
    if kind == 2:
        half = r / np.sqrt(2)
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # Equilateral triangle with circumradius r: inside all three edge half-planes.
    inside = np.ones_like(u, dtype=bool)
    for k in range(3):
        theta = angle + 2 * np.pi * k / 3 + np.pi / 3
        inside &= (np.cos(theta) * (xx - cx) + np.sin(theta) * (yy - cy)) <= r / 2
    return inside


def make_shapes(
    num_images: int,
    image_size: int = 64,
    *,
    max_shapes: int = 3,
    min_radius: float = 0.12,
    max_radius: float = 0.25,
    noise: float = 8.0,
    seed: int = 0,
):
    """``(images, masks)``: uint8 ``(N, S, S, 3)`` images and uint8 ``(N, S, S)`` class masks.

    Each image holds 1..``max_shapes`` shapes; radii are fractions of ``image_size``.
    ``noise`` is the standard deviation of the Gaussian pixel noise (0..255 scale).
    """
    num_images = check_int("num_images", num_images, minimum=1)
    image_size = check_int("image_size", image_size, minimum=8)
    max_shapes = check_int("max_shapes", max_shapes, minimum=1)
    min_radius = check_float("min_radius", min_radius, minimum=0.0, maximum=0.5, min_inclusive=False)
    max_radius = check_float("max_radius", max_radius, minimum=min_radius, maximum=0.5)
    noise = check_float("noise", noise, minimum=0.0)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:image_size, 0:image_size].astype("float32") + 0.5
    images = np.empty((num_images, image_size, image_size, 3), "float32")
    masks = np.zeros((num_images, image_size, image_size), "uint8")
    for n in range(num_images):
        image = np.broadcast_to(rng.uniform(0, 255, 3), (image_size, image_size, 3)).copy()
        for _ in range(rng.integers(1, max_shapes + 1)):
            kind = int(rng.integers(1, 4))
            r = rng.uniform(min_radius, max_radius) * image_size
            cy, cx = rng.uniform(r * 0.7, image_size - r * 0.7, 2)
            inside = _shape_mask(kind, yy, xx, cy, cx, r, rng.uniform(0, 2 * np.pi))
            colour = rng.uniform(0, 255, 3)
            while np.abs(colour - image[inside].mean(axis=0) if inside.any() else 255).max() < 60:
                colour = rng.uniform(0, 255, 3)  # keep every shape visible against what it covers
            image[inside] = colour
            masks[n][inside] = kind
        images[n] = image
    images += rng.normal(0, noise, images.shape) if noise else 0
    return np.clip(np.round(images), 0, 255).astype("uint8"), masks
