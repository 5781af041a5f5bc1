"""Run an exported SavedModel on sentences or image files given on the command line.

    kerasdl predict saved_models/sentiment/<run-id> "a gripping, funny film" "dull and far too long"
    kerasdl predict saved_models/demo/<run-id> digit1.png digit2.png --top-k 3

The model is loaded with plain ``tf.saved_model.load`` (no kerasdl code needed on the
serving side), and its ``serving_default`` signature decides what the inputs are
(:func:`input_kind`):

- ``tf.string`` of shape ``(None,)`` → **text**: each INPUT is a sentence. If every INPUT
  is an existing image file, the file bytes are passed instead (image models exported to
  take encoded JPEG/PNG bytes).
- ``uint8`` / float of shape ``(None, H, W, C)`` (or ``(None, H, W)``) → **images**: each
  INPUT is an image file, decoded with ``tf.io.decode_image`` and resized to ``H x W``
  with ``tf.image.resize`` (uint8 values 0..255 kept as they are).

Outputs: a string output (a translator's ``translation``, :mod:`kerasdl.seq2seq.export`) is
printed as the decoded text of each input, with its ``score`` when the model returns one. Otherwise
one probability per input (shape ``(None,)`` or ``(None, 1)``) is read as the
positive-class probability (label at ``--threshold``); several per input are class
scores, printed as the top ``--top-k``. Class names come from ``--labels`` or the export's
``assets.extra/class_names.txt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DESCRIPTION = "classify sentences or image files with an exported SavedModel"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp"}


def add_arguments(parser):
    parser.add_argument("model", help="SavedModel folder (e.g. saved_models/sentiment/<run-id>)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="sentences (text models) or image files")
    parser.add_argument("--signature", default="serving_default", help="signature to call")
    parser.add_argument("--labels", default=None, help="comma-separated class names (else from the export)")
    parser.add_argument("--threshold", type=float, default=0.5, help="binary models: positive above this")
    parser.add_argument("--top-k", type=int, default=3, help="multi-class models: classes to show")


def load_signature(path, name: str = "serving_default"):
    """``(loaded, signature, input_name, input_spec)``; clear errors for a bad folder.

    No folder: ``FileNotFoundError`` (exit status 1). A file where the folder belongs, or a
    folder whose SavedModel TensorFlow cannot read (truncated, corrupt): ``ValueError`` naming
    the path (exit status 2, as for an undecodable image), one line, no traceback.
    """
    import tensorflow as tf

    path = Path(path)
    if path.is_file():
        hint = f"; pass its folder, {path.parent}" if path.name == "saved_model.pb" else ""
        raise ValueError(f"{path} is a file, not a SavedModel folder{hint}")
    if not path.is_dir():
        raise FileNotFoundError(f"no SavedModel folder at {path}")
    if not (path / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{path} is not a SavedModel folder (no saved_model.pb inside)")
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as error:  # a truncated or corrupt export: protobuf, OS or TensorFlow errors alike
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ValueError(
            f"{path} holds a SavedModel that TensorFlow cannot load ({type(error).__name__}: {reason}); export it again"
        ) from None
    if name not in loaded.signatures:
        raise ValueError(f"{path} has no signature {name!r}; it has {sorted(loaded.signatures)}")
    signature = loaded.signatures[name]
    inputs = signature.structured_input_signature[1]
    if len(inputs) != 1:
        raise ValueError(
            f"signature {name!r} takes {len(inputs)} inputs ({sorted(inputs)}); "
            f"kerasdl predict handles single-input models"
        )
    input_name, spec = next(iter(inputs.items()))
    return loaded, signature, input_name, spec


def input_kind(spec) -> str:
    """``"text"`` for a rank-1 ``tf.string`` input, ``"images"`` for a rank-3/4 numeric one."""
    import tensorflow as tf

    rank = spec.shape.rank
    if spec.dtype == tf.string and rank == 1:
        return "text"
    if spec.dtype != tf.string and rank in (3, 4) and (spec.dtype.is_integer or spec.dtype.is_floating):
        return "images"
    raise ValueError(
        f"unsupported serving input {spec.dtype.name} of shape {spec.shape}: kerasdl predict "
        f"handles strings (None,) and images (None, H, W[, C])"
    )


def read_images(files, spec):
    """Decode ``files`` and resize them to the signature's ``(H, W)``, in its dtype."""
    import tensorflow as tf

    height, width = spec.shape[1], spec.shape[2]
    channels = spec.shape[3] if spec.shape.rank == 4 else 1
    images = []
    for name in files:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"this model takes images, and {name!r} is not an image file")
        try:
            image = tf.io.decode_image(path.read_bytes(), channels=channels or 0, expand_animations=False)
        except tf.errors.InvalidArgumentError:
            raise ValueError(f"{path}: not a decodable image (PNG, JPEG, GIF or BMP)") from None
        if height is not None and width is not None:
            image = tf.image.resize(image, (height, width))  # bilinear, float32 in the original 0..255 scale
        if spec.dtype == tf.uint8:
            image = tf.cast(tf.clip_by_value(tf.round(tf.cast(image, tf.float32)), 0, 255), tf.uint8)
        else:
            image = tf.cast(image, spec.dtype)
        if spec.shape.rank == 3:
            image = image[..., 0]
        images.append(image)
    return tf.stack(images)


def _class_names(path, option):
    if option:
        return [name.strip() for name in option.split(",")]
    names_file = Path(path) / "assets.extra" / "class_names.txt"
    return names_file.read_text().split("\n")[:-1] if names_file.is_file() else None


def _scores(outputs):
    """The class scores among a signature's outputs: ``probabilities`` when named so (the
    image-classifier export also returns ``class_id`` and ``class_name``), else the one
    floating-point output."""
    import numpy as np

    if "probabilities" in outputs:
        return np.asarray(outputs["probabilities"], dtype="float64")
    floating = [value for value in outputs.values() if value.dtype.is_floating]
    if len(floating) != 1:
        raise ValueError(f"cannot tell which output holds the scores among {sorted(outputs)}")
    return np.asarray(floating[0], dtype="float64")


def _texts(outputs):
    """``(texts, scores or None)`` for a string-in, string-out model such as the translate app's
    export: one that returns ``translation``, or strings and no float outputs but ``score``.
    ``None`` for anything else (a classifier's ``class_name`` strings come with probabilities)."""
    import numpy as np
    import tensorflow as tf

    strings = {name: value for name, value in outputs.items() if value.dtype == tf.string}
    scores = [name for name, value in outputs.items() if value.dtype.is_floating and name != "score"]
    if not strings or ("translation" not in strings and scores):
        return None  # a classifier (its class_name strings beside the probabilities) goes to _scores
    if "translation" in strings:
        texts = strings["translation"]
    elif len(strings) == 1:
        texts = next(iter(strings.values()))
    else:
        raise ValueError(f"cannot tell which output holds the text among {sorted(strings)}")
    text_scores = np.asarray(outputs["score"], dtype="float64").reshape(-1) if "score" in outputs else None
    return [t.decode("utf-8") for t in np.asarray(texts).reshape(-1)], text_scores


def predict(model, inputs, *, signature="serving_default", labels=None, threshold=0.5, top_k=3):
    """Rows ``(input, [(class name, score), ...])``, best first, for ``inputs``.

    A model that returns strings gives ``(input, [(decoded text, score)], None)`` per input.
    """
    import numpy as np
    import tensorflow as tf

    from kerasdl._validation import check_float, check_int

    check_float("threshold", threshold, minimum=0.0, maximum=1.0)
    check_int("top_k", top_k, minimum=1)
    _, fn, input_name, spec = load_signature(model, signature)
    kind = input_kind(spec)
    if kind == "text":
        if all(Path(i).suffix.lower() in IMAGE_SUFFIXES and Path(i).is_file() for i in inputs):
            batch = tf.constant([Path(i).read_bytes() for i in inputs])  # encoded-image models
        else:
            batch = tf.constant(list(inputs), dtype=tf.string)
        outputs = fn(**{input_name: batch})
        texts = _texts(outputs)
        if texts is not None:  # string → string (a translator): one row (text, score) per input
            decoded, text_scores = texts
            return [
                (item, [(text, float(text_scores[i]) if text_scores is not None else float("nan"))], None)
                for i, (item, text) in enumerate(zip(inputs, decoded))
            ]
        scores = _scores(outputs)
    elif spec.shape[1] is None or spec.shape[2] is None:  # any-size images: one call per image
        scores = np.concatenate([_scores(fn(**{input_name: read_images([item], spec)})) for item in inputs])
    else:
        scores = _scores(fn(**{input_name: read_images(inputs, spec)}))
    scores = scores.reshape(len(inputs), -1)
    names = labels if labels is not None else _class_names(model, None)
    rows = []
    for item, row in zip(inputs, scores):
        if row.size == 1:
            p = float(row[0])
            binary = names if names and len(names) == 2 else ["negative", "positive"]
            rows.append((item, [(binary[1], p)] if p >= threshold else [(binary[0], 1.0 - p)], p))
        else:
            order = np.argsort(row)[::-1][:top_k]
            named = [(names[i] if names and i < len(names) else str(i), float(row[i])) for i in order]
            rows.append((item, named, None))
    return rows


def run(args) -> int:
    labels = _class_names(args.model, args.labels)
    for item, classes, positive in predict(
        args.model, args.inputs, signature=args.signature, labels=labels, threshold=args.threshold, top_k=args.top_k
    ):
        shown = item if len(item) <= 60 else item[:57] + "..."
        if positive is not None:
            print(f"{classes[0][0]:>10s}  p(positive)={positive:.4f}  {shown}")
        else:
            print(f"{shown}: " + ", ".join(f"{name} {score:.4f}" for name, score in classes))
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
