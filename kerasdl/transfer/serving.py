"""Export an image classifier as a SavedModel a client can call with no kerasdl code.

Two endpoints (``keras.export.ExportArchive``):

- ``serve`` (the default signature): ``images`` uint8 (batch, height, width, 3), any size;
- ``serve_bytes``: ``image_bytes`` string (batch,), encoded JPEG/PNG/GIF/BMP files.

Both resize bilinearly to the training size (as training did) and return
``probabilities`` float32 (batch, classes), ``class_id`` int64 (batch,) and
``class_name`` string (batch,). An empty batch gives empty outputs (as the export of
``kerasdl train`` does). A wrong dtype is refused by the signature; an undecodable
image raises ``InvalidArgumentError`` naming the problem. The class names are also written
to ``assets.extra/class_names.txt``, one per line.
"""

from __future__ import annotations

from pathlib import Path

from kerasdl.export import atomic_directory, call_on_batch


def export_image_classifier(model, path, *, class_names, image_size, overwrite: bool = False) -> Path:
    """Write ``model`` (float [0, 255] images in, class probabilities out) with both endpoints."""
    import keras
    import tensorflow as tf

    from kerasdl.transfer.data import decode_and_resize

    names = [str(name) for name in class_names]
    if len(names) != model.output_shape[-1]:
        raise ValueError(f"{len(names)} class names for a model with {model.output_shape[-1]} outputs")
    size = tuple(int(s) for s in image_size)
    names_table = tf.constant(names)

    def classify_rows(images):
        probabilities = model(images, training=False)
        class_id = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "class_id": class_id, "class_name": tf.gather(names_table, class_id)}

    def classify(images):  # float (batch, *size, 3); 0 rows give 0 rows, not a kernel's shape error
        return call_on_batch(classify_rows, images)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
    def serve(images):
        return classify(tf.image.resize(tf.cast(images, tf.float32), size))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_bytes(image_bytes):
        images = tf.map_fn(
            lambda data: decode_and_resize(data, size, from_bytes=True),
            image_bytes,
            fn_output_signature=tf.TensorSpec([*size, 3], tf.float32),
        )
        return classify(images)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve)
    archive.add_endpoint("serve_bytes", serve_bytes)
    with atomic_directory(path, overwrite=overwrite) as tmp:
        archive.write_out(str(tmp), verbose=False)
        (tmp / "assets.extra").mkdir(exist_ok=True)  # read by `kerasdl predict`; clients may use it too
        (tmp / "assets.extra" / "class_names.txt").write_text("".join(f"{name}\n" for name in names))
    return Path(path)
