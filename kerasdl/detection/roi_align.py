"""ROI Align (He, Gkioxari, Dollár & Girshick, "Mask R-CNN", ICCV 2017, §3) with ``tf.image.crop_and_resize``.

Each region's box is divided into ``output_size x output_size`` bins; each bin's value is the
average of ``sampling_ratio x sampling_ratio`` bilinear samples at regularly spaced points
inside the bin, with no rounding of the box to the feature grid (RoI Pool's quantisation is
what Mask R-CNN removes). ``tf.image.crop_and_resize`` samples a box bilinearly at
``crop x crop`` points spaced evenly *from edge to edge*; shrinking the box by half a sample
step on each side puts those points at the sub-bin centres, and an average pool of
``sampling_ratio x sampling_ratio`` then gives exactly ROI Align's bins (the "aligned"
variant: a pixel coordinate ``p`` lies at feature coordinate ``p / stride − ½``).
"""

from __future__ import annotations

from kerasdl._validation import check_int

__all__ = ["roi_align"]


def roi_align(features, boxes, image_size, *, output_size: int = 7, sampling_ratio: int = 2):
    """Pool ``features`` over ``boxes``.

    Args:
        features: ``(N, h, w, C)`` feature map of images of ``image_size``.
        boxes: ``(N, R, 4)`` corner boxes in image pixels.
        image_size: ``(height, width)`` of the images in pixels (may be a tensor).
        output_size: bins per side (7 in Faster/Mask R-CNN).
        sampling_ratio: bilinear samples per bin side.

    Returns:
        ``(N, R, output_size, output_size, C)`` pooled features.
    """
    import tensorflow as tf

    output_size = check_int("output_size", output_size, minimum=1)
    sampling_ratio = check_int("sampling_ratio", sampling_ratio, minimum=1)
    features = tf.convert_to_tensor(features)
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    shape = tf.shape(features)
    rows, cols = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    height, width = tf.unstack(tf.cast(image_size, tf.float32))
    num_images, num_boxes = tf.shape(boxes)[0], tf.shape(boxes)[1]
    crop = output_size * sampling_ratio

    x0, y0, x1, y1 = tf.unstack(tf.reshape(boxes, (-1, 4)), axis=-1)
    # pixel → feature coordinates (cell centres at integer positions)
    x0, x1 = x0 * cols / width - 0.5, x1 * cols / width - 0.5
    y0, y1 = y0 * rows / height - 0.5, y1 * rows / height - 0.5
    half_x, half_y = 0.5 * (x1 - x0) / crop, 0.5 * (y1 - y0) / crop  # sample points at sub-bin centres
    x0, x1, y0, y1 = x0 + half_x, x1 - half_x, y0 + half_y, y1 - half_y
    norm_y, norm_x = tf.maximum(rows - 1.0, 1.0), tf.maximum(cols - 1.0, 1.0)
    normalized = tf.stack([y0 / norm_y, x0 / norm_x, y1 / norm_y, x1 / norm_x], axis=-1)
    box_indices = tf.repeat(tf.range(num_images), num_boxes)
    pooled = tf.image.crop_and_resize(tf.cast(features, tf.float32), normalized, box_indices, (crop, crop))
    if sampling_ratio > 1:
        pooled = tf.nn.avg_pool2d(pooled, sampling_ratio, sampling_ratio, "VALID")
    pooled = tf.cast(pooled, features.dtype)
    return tf.reshape(pooled, tf.concat([[num_images, num_boxes, output_size, output_size], shape[3:]], 0))
