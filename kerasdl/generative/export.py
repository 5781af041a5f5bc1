"""Image generators (GAN generators, VAE and autoencoder decoders) as SavedModels.

:func:`export_image_generator` writes ``serve(latent[, label]) → {"images": uint8}`` through
:func:`kerasdl.export.atomic_directory`, the atomic write every kerasdl export shares, with
the latent width and the label range checked inside the graph (so a client without kerasdl
sees clear errors); :func:`verify_export` reloads it with plain TensorFlow and compares it
with the in-memory generator. Used by the generative apps and ``benchmarks/generative.py``.
"""

from __future__ import annotations

from pathlib import Path

# Exported images may differ from the in-memory model's by rounding at most (1 grey level).
MAX_EXPORT_DIFF = 1


def export_image_generator(
    generator, path, *, value_range=(0.0, 1.0), num_classes: int | None = None, overwrite: bool = False
) -> Path:
    """Write ``generator`` as a SavedModel: ``serve(latent[, label]) → {"images": uint8 (N, H, W, C)}``.

    ``latent``: float32 (N, latent_dim); ``label`` (conditional generators): int32 (N,).
    An empty batch (N = 0) gives 0 images of the generator's image shape: the generator runs
    through :func:`kerasdl.export.call_on_batch`, because TensorFlow's CPU (oneDNN) transposed
    convolution returns a 0-row batch with the wrong channel count on some builds.
    A generator with NaN/inf weights is refused (``TrainingDiverged``): NaN would serve as
    black images. The rescaling from ``value_range`` to 0..255 and the cast happen inside the graph. A
    latent of the wrong width, a label outside [0, num_classes) or a label count that differs
    from the latent count fails with ``InvalidArgumentError`` naming the input.
    """
    import keras
    import tensorflow as tf

    from kerasdl.export import atomic_directory, call_on_batch
    from kerasdl.training.callbacks import check_finite_weights

    check_finite_weights(generator, "generator")
    latent_dim = int(generator.inputs[0].shape[-1])
    low, high = (float(v) for v in value_range)

    def to_uint8(images):
        images = (tf.cast(images, tf.float32) - low) / (high - low)
        return tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)

    def checked_latent(latent):
        check = tf.debugging.assert_equal(
            tf.shape(latent)[1],
            latent_dim,
            message=f"latent must have shape (batch, {latent_dim}): this generator takes {latent_dim}-D latent vectors",
        )
        with tf.control_dependencies([check]):
            return tf.ensure_shape(tf.identity(latent), [None, latent_dim])

    archive = keras.export.ExportArchive()
    archive.track(generator)
    latent_spec = tf.TensorSpec([None, None], tf.float32, name="latent")
    if num_classes is None:

        def serve(latent):  # an empty batch gives 0 images (kerasdl.export.call_on_batch)
            return call_on_batch(lambda z: {"images": to_uint8(generator(z, training=False))}, checked_latent(latent))

        archive.add_endpoint("serve", serve, input_signature=[latent_spec])
    else:

        def serve(latent, label):
            latent = checked_latent(latent)
            checks = [
                tf.debugging.assert_equal(
                    tf.shape(label)[0], tf.shape(latent)[0], message="label must hold one class per latent vector"
                ),
                tf.debugging.assert_greater_equal(label, 0, message=f"label must lie in [0, {num_classes - 1}]"),
                tf.debugging.assert_less(label, num_classes, message=f"label must lie in [0, {num_classes - 1}]"),
            ]
            with tf.control_dependencies(checks):
                label = tf.identity(label)
            # checked before call_on_batch, which pads an empty latent batch (and its labels) to one row
            return call_on_batch(lambda z, y: {"images": to_uint8(generator([z, y], training=False))}, latent, label)

        archive.add_endpoint(
            "serve", serve, input_signature=[latent_spec, tf.TensorSpec([None], tf.int32, name="label")]
        )
    with atomic_directory(path, overwrite=overwrite) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return Path(path)


def verify_export(path, generator, *, value_range=(0.0, 1.0), num_classes: int | None = None, seed: int = 0) -> int:
    """Reload the export with plain TensorFlow and return max |uint8 difference| vs the in-memory generator."""
    import numpy as np
    import tensorflow as tf

    from kerasdl.export import check_export_agrees
    from kerasdl.generative.callbacks import to_uint8

    latent_dim = int(generator.inputs[0].shape[-1])
    z = np.random.default_rng(seed).standard_normal((16, latent_dim)).astype("float32")
    inputs = [z] if num_classes is None else [z, (np.arange(16) % num_classes).astype("int32")]
    expected = to_uint8(generator(inputs if num_classes else z, training=False), value_range)
    loaded = tf.saved_model.load(str(path))  # keep a reference: its variables die with it
    served = loaded.serve(*[tf.constant(a) for a in inputs])["images"].numpy()
    if served.dtype != np.uint8:
        raise RuntimeError(f"export returned {served.dtype} images, expected uint8")
    return int(check_export_agrees(served, expected, tolerance=MAX_EXPORT_DIFF, what="images (grey levels)"))
