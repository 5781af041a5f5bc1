"""Neural style transfer (Gatys, Ecker & Bethge 2015; seed notes 001_95a778d327d97535.txt
"Neural Style Transfer"): optimise an image G so that a pretrained CNN sees the content
image's features at a middle layer and the style image's Gram matrices at several layers.

    from kerasdl.style_transfer import load_image, transfer_style, save_png
    result = transfer_style(load_image("photo.jpg", 384), load_image("painting.jpg", 384),
                            network="vgg19", steps=300)
    save_png(result.image, "out.png")

* :func:`perceptual_features`: a frozen feature extractor from any ``keras.applications``
  CNN by name (``"vgg19"`` — the classic, default — ``"mobilenet_v2"``, ``"resnet50"``, ...),
  or any Keras CNN (e.g. a kerasdl builder) with its preprocessing, and a content layer
  and style layers (defaults per network in :data:`DEFAULT_LAYERS`).
* :func:`transfer_style`: G starts as the content image plus uniform noise and is updated
  by Adam inside one ``tf.function`` step (a standalone loop: the image being optimised
  is the only variable), clipped to [0, 1] after each step; tqdm progress bar,
  intermediate PNGs, ``tf.train.CheckpointManager`` checkpoints with resume, and a stop
  with a message on a NaN loss.
* Every PNG is written to a temporary file in the target folder and renamed into place,
  so an interrupted run never leaves a partial output file.
"""

from __future__ import annotations

import contextlib
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerasdl._validation import check_float, check_int
from kerasdl.data.pipeline import as_unit_float

# network (keras.applications name) → (content layer, style layers). VGG: Gatys et al.'s
# conv4_2 and conv1_1..conv5_1; MobileNetV2: the expansion ReLUs at each resolution.
DEFAULT_LAYERS = {
    "VGG19": ("block4_conv2", ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")),
    "VGG16": ("block4_conv2", ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")),
    "MobileNetV2": (
        "block_8_expand_relu",
        ("Conv1_relu", "block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu"),
    ),
}


# --------------------------------------------------------------------------- images


def load_image(path, max_size: int | None = None) -> np.ndarray:
    """Decode a JPEG/PNG/BMP/GIF file to uint8 ``(H, W, 3)``; with ``max_size`` the longer
    side is resized to ``max_size`` (aspect ratio kept). An undecodable file is a ``ValueError``."""
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {str(path)!r} does not exist")
    try:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError as error:
        raise ValueError(
            f"cannot decode {str(path)!r} as an image (JPEG, PNG, BMP or GIF): {error.message.splitlines()[0]}"
        ) from None
    if max_size is not None:
        image = resize_image(image.numpy(), max_size)
    return np.asarray(image, "uint8")


def resize_image(image, max_size: int | None = None, size=None) -> np.ndarray:
    """uint8 image resized to ``size=(H, W)``, or so that its longer side is ``max_size``."""
    import tensorflow as tf

    image = np.asarray(image)
    if size is None:
        max_size = check_int("max_size", max_size, minimum=8)
        scale = max_size / max(image.shape[:2])
        size = (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale)))
    resized = tf.image.resize(image, tuple(size), antialias=True).numpy()
    return np.clip(np.round(resized), 0, 255).astype("uint8")


def _replace_from_tmp(path: Path, write) -> Path:
    from kerasdl.export import atomic_file

    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        write(f)
    return path


def save_png(image, path) -> Path:
    """Write a uint8 (or [0, 1] float) ``(H, W, 3)`` image as PNG, atomically."""
    import tensorflow as tf

    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.round(image * 255.0), 0, 255).astype("uint8")
    data = tf.io.encode_png(image).numpy()
    return _replace_from_tmp(Path(path), lambda f: f.write(data))


# --------------------------------------------------------------------------- features


def _application(name: str):
    """The ``keras.applications`` constructor called ``name`` (case and ``_`` ignored)."""
    import keras

    table = {
        n.lower(): getattr(keras.applications, n)
        for n in dir(keras.applications)
        if n[:1].isupper() and callable(getattr(keras.applications, n))
    }
    key = name.replace("_", "").replace("-", "").lower()
    if key not in table:
        raise ValueError(
            f"network must be a keras.Model or a keras.applications name, one of "
            f"{sorted(c.__name__ for c in table.values())}, got {name!r}"
        )
    return table[key]


@contextlib.contextmanager
def _weights_lookup(network: str):
    """Let Keras find ImageNet weights in the data folder; a failed download becomes a clear error."""
    from kerasdl.data.sources import DOWNLOAD_TIMEOUT_S, DatasetNotFoundError, data_dir, keras_home, user_keras_home

    root = data_dir()
    home = keras_home(root / "keras") if root is not None and (root / "keras").is_dir() else contextlib.nullcontext()
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with home:
            yield
    except Exception as error:
        if "URL fetch failure" not in str(error) and not isinstance(error, OSError):
            raise
        raise DatasetNotFoundError(
            f"No ImageNet weights for {network}: the file is neither in $KERASDL_DATA_DIR/keras/models/ nor in "
            f"{user_keras_home()}/models/, and it could not be downloaded. Pass weights=None (--weights none) for "
            f"random features, or pick a network whose weights are on disk (e.g. mobilenet_v2). ({error})"
        ) from error
    finally:
        socket.setdefaulttimeout(old_timeout)


@dataclass
class PerceptualFeatures:
    """A frozen CNN returning ``(content_features, [style_features...])`` for images in [0, 1]."""

    model: object  # keras.Model: network input → [content map, style maps...]
    preprocess: object  # callable on float images in 0..255 → the network's input
    content_layer: str
    style_layers: tuple
    network: str = ""

    def __call__(self, images):
        outputs = self.model(self.preprocess(images * 255.0), training=False)
        return outputs[0], list(outputs[1:])


def perceptual_features(
    network="vgg19", *, content_layer: str | None = None, style_layers=None, weights="imagenet", preprocess=None
) -> PerceptualFeatures:
    """A feature extractor for style transfer.

    ``network``: a ``keras.applications`` name (built with ``include_top=False`` at any
    input size, ``weights`` ``"imagenet"`` or ``None``; preprocessing = that application's
    ``preprocess_input``) or a ``keras.Model`` (e.g. ``kerasdl.models.vgg19(include_top=False,
    weights="imagenet")``) with ``preprocess`` (a callable on 0..255 float images; default
    scales to [0, 1]). ``content_layer``/``style_layers`` default to :data:`DEFAULT_LAYERS`.
    """
    import importlib

    import keras

    if isinstance(network, keras.Model):
        base, name = network, network.name
        preprocess = preprocess or (lambda x: x / 255.0)
    elif isinstance(network, str):
        constructor = _application(network)
        name = constructor.__name__
        if weights not in ("imagenet", None):
            raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
        with warnings.catch_warnings():
            # Any input size is wanted here; MobileNet-style applications warn that they load the
            # 224 px weights for an undefined size, which is what style transfer needs.
            warnings.filterwarnings("ignore", message=".*input_shape. is undefined or non-square.*")
            if weights == "imagenet":
                with _weights_lookup(name):
                    base = constructor(include_top=False, weights="imagenet", input_shape=(None, None, 3))
            else:
                base = constructor(include_top=False, weights=None, input_shape=(None, None, 3))
        preprocess = preprocess or importlib.import_module(constructor.__module__).preprocess_input
    else:
        raise ValueError(f"network must be a keras.applications name or a keras.Model, got {network!r}")
    default_content, default_style = DEFAULT_LAYERS.get(name, (None, None))
    content_layer = content_layer or default_content
    style_layers = tuple(style_layers or default_style or ())
    if content_layer is None or not style_layers:
        raise ValueError(
            f"{name} has no default layers: pass content_layer and style_layers "
            f"(conv layers such as {[layer.name for layer in base.layers if 'conv' in layer.name.lower()][:6]})"
        )
    names = {layer.name for layer in base.layers}
    unknown = [n for n in (content_layer, *style_layers) if n not in names]
    if unknown:
        raise ValueError(
            f"{name} has no layer(s) {unknown}; its layers include {[layer.name for layer in base.layers][1:12]} ..."
        )
    base.trainable = False
    outputs = [base.get_layer(content_layer).output] + [base.get_layer(n).output for n in style_layers]
    model = keras.Model(base.inputs, outputs, name=f"{name}_perceptual")
    return PerceptualFeatures(model, preprocess, content_layer, style_layers, name)


# --------------------------------------------------------------------------- optimisation


@dataclass
class StyleTransferResult:
    """What a style-transfer optimisation returns.

    Attributes:
        image: the generated image, ``uint8`` of shape ``(H, W, 3)``.
        history: per-step losses under the keys ``total``, ``content``, ``style`` and ``tv``
            (Gatys et al. 2016's content and Gram-matrix style losses plus total variation).
        steps_run: optimisation steps taken.
        seconds_per_step: median wall time of a step (the first, traced step left out).
        intermediate_pngs: paths of the intermediate images written, if any.
    """

    image: np.ndarray  # uint8 (H, W, 3)
    history: dict = field(default_factory=dict)  # per-step total/content/style/tv losses
    steps_run: int = 0
    seconds_per_step: float = 0.0
    intermediate_pngs: list = field(default_factory=list)

    @property
    def style_reduction(self) -> float:
        """Initial style loss / final style loss."""
        return self.history["style"][0] / max(self.history["style"][-1], 1e-30)


def _as_float_image(image, name):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must be an (H, W, 3) image, got shape {image.shape}")
    return as_unit_float(image)


def transfer_style(
    content_image,
    style_image,
    *,
    features: PerceptualFeatures | None = None,
    network="vgg19",
    weights="imagenet",
    steps: int = 200,
    learning_rate: float = 0.02,
    content_weight: float = 1.0,
    style_weight: float = 100.0,
    tv_weight: float = 0.0,
    style_layer_weights=None,
    noise: float = 0.1,
    seed: int = 0,
    intermediate_dir=None,
    intermediate_every: int = 0,
    checkpoint_dir=None,
    checkpoint_every: int = 50,
    progress: bool = True,
    on_step=None,
    jit_compile="auto",
) -> StyleTransferResult:
    """Optimise G = content + noise to minimise
    ``content_weight·J_content + style_weight·J_style + tv_weight·J_TV`` (:mod:`kerasdl.losses.style`).

    Images are uint8 or [0, 1] float ``(H, W, 3)``; the style image is resized to the
    content image's size. ``intermediate_every=N`` writes ``step_NNNNN.png`` to
    ``intermediate_dir`` every N steps; ``checkpoint_dir`` keeps the image, the Adam state
    and the step count every ``checkpoint_every`` steps and a rerun with the same folder
    resumes. ``on_step(step, losses)`` is called after each step.

    A NaN/inf loss or image raises :class:`~kerasdl.training.callbacks.TrainingDiverged` (a
    ``FloatingPointError``: ``kerasdl style`` reports it in one line, exit status 1) before
    that step's PNG or checkpoint is written, so no diverged image is saved or returned; the
    error names the last (finite) checkpoint, from which a rerun resumes.
    """
    import keras
    import tensorflow as tf
    from tqdm.auto import tqdm

    from kerasdl.losses.style import content_loss, style_loss, total_variation_loss
    from kerasdl.training.callbacks import TrainingDiverged

    steps = check_int("steps", steps, minimum=1)
    learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
    content_weight = check_float("content_weight", content_weight, minimum=0.0)
    style_weight = check_float("style_weight", style_weight, minimum=0.0)
    tv_weight = check_float("tv_weight", tv_weight, minimum=0.0)
    noise = check_float("noise", noise, minimum=0.0, maximum=1.0)
    intermediate_every = check_int("intermediate_every", intermediate_every, minimum=0)
    if intermediate_every and intermediate_dir is None:
        raise ValueError("intermediate_every needs intermediate_dir")
    content = _as_float_image(content_image, "content_image")
    style = _as_float_image(style_image, "style_image")
    if style.shape[:2] != content.shape[:2]:
        style = resize_image(np.round(style * 255).astype("uint8"), size=content.shape[:2]).astype("float32") / 255.0
    features = features or perceptual_features(network, weights=weights)
    if style_layer_weights is not None and len(style_layer_weights) != len(features.style_layers):
        raise ValueError(
            f"got {len(style_layer_weights)} style_layer_weights for {len(features.style_layers)} style layers"
        )

    content_target, _ = features(tf.constant(content[None]))
    _, style_targets = features(tf.constant(style[None]))
    rng = np.random.default_rng(seed)
    start = np.clip(content + rng.uniform(-noise, noise, content.shape).astype("float32"), 0.0, 1.0)
    generated = tf.Variable(start[None], name="generated_image")
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build([generated])
    step_counter = tf.Variable(0, dtype=tf.int64, name="step")
    manager = None
    if checkpoint_dir is not None:
        checkpoint = tf.train.Checkpoint(image=generated, optimizer=optimizer, step=step_counter)
        manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), max_to_keep=2)
        if manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint)

    from kerasdl.training.runtime import resolve_jit_compile

    @tf.function(jit_compile=resolve_jit_compile(jit_compile))  # XLA on with a GPU by default
    def train_step():
        with tf.GradientTape() as tape:
            content_features, style_features = features(generated)
            j_content = content_loss(content_target, content_features)
            j_style = style_loss(style_targets, style_features, style_layer_weights)
            j_tv = total_variation_loss(generated)
            total = content_weight * j_content + style_weight * j_style + tv_weight * j_tv
        optimizer.apply_gradients([(tape.gradient(total, generated), generated)])
        generated.assign(tf.clip_by_value(generated, 0.0, 1.0))  # NaN passes the clip
        # A finite loss can come with an overflowing gradient that leaves the image NaN: check both.
        return (total, j_content, j_style, j_tv), tf.reduce_all(tf.math.is_finite(generated))

    history = {"total": [], "content": [], "style": [], "tv": []}
    pngs, times = [], []
    first = int(step_counter.numpy())
    bar = tqdm(
        range(first, steps), initial=first, total=steps, desc="style transfer", disable=not progress, unit="step"
    )
    for step in bar:
        tick = time.perf_counter()
        values, image_finite = train_step()
        losses = dict(zip(history, (float(v) for v in values)))
        times.append(time.perf_counter() - tick)
        if not np.isfinite(losses["total"]) or not bool(image_finite):
            # Raised before this step's PNG or checkpoint is written: the checkpoint holds a finite image.
            kept = manager.latest_checkpoint if manager is not None else None
            what = f"loss {losses['total']}" if not np.isfinite(losses["total"]) else "the image became NaN/inf"
            where = f"the last finite image is in the checkpoint {kept}" if kept else "no finite checkpoint was saved"
            raise TrainingDiverged(
                f"style transfer diverged at step {step + 1} ({what}): lower learning_rate or style_weight; {where}",
                kept,
            )
        step_counter.assign_add(1)
        for key, value in losses.items():
            history[key].append(value)
        bar.set_postfix(style=f"{losses['style']:.3g}", content=f"{losses['content']:.3g}")
        if on_step is not None:
            on_step(step + 1, losses)
        if intermediate_every and (step + 1) % intermediate_every == 0:
            pngs.append(str(save_png(generated.numpy()[0], Path(intermediate_dir) / f"step_{step + 1:05d}.png")))
        if manager is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            manager.save(checkpoint_number=step + 1)
    bar.close()
    image = np.clip(np.round(generated.numpy()[0] * 255.0), 0, 255).astype("uint8")
    per_step = float(np.median(times[1:])) if len(times) > 1 else (times[0] if times else 0.0)
    return StyleTransferResult(image, history, len(times), per_step, pngs)
