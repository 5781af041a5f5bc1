"""Pretrained backbones for transfer learning: ``keras.applications``, kerasdl builders, TF Hub.

Every backbone comes back as a :class:`LoadedBackbone`: a model (or layer) mapping images
to features, and the preprocessing it was trained with, applied to float pixels in
[0, 255]. ``weights`` is ``"imagenet"`` (looked up the way Keras looks it up: the data
folder's ``keras/models/``, the Keras cache, one short download attempt), ``None`` (random
initialisation) or the path of a weights file, validated by
:func:`kerasdl.models.weights.check_weights` like every builder's; a missing ImageNet file
raises :class:`kerasdl.models.weights.WeightsNotFoundError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kerasdl._validation import check_image_shape
from kerasdl.models.weights import WeightsNotFoundError, check_weights, fetch_imagenet_weights

HUB_PREFIX = "hub:"


@dataclass(frozen=True)
class KerasApplication:
    """A ``keras.applications`` network usable as a backbone."""

    constructor: str  # attribute of keras.applications
    preprocess_module: str  # keras.applications.<module>.preprocess_input
    default_size: int
    notop_file: str  # the no-top ImageNet file name; "{size}" is the input size

    def imagenet_file(self, input_shape) -> str:
        """The file Keras fetches for ``input_shape``."""
        height, width = input_shape[:2]
        if "{size}" in self.notop_file:
            # MobileNetV2 publishes one file per square input size; at any other size Keras
            # loads the default-size one (the convolution weights fit every size).
            published = height == width and height in (96, 128, 160, 192, 224)
            return self.notop_file.format(size=height if published else self.default_size)
        return self.notop_file


KERAS_BACKBONES = {
    "mobilenet_v2": KerasApplication(
        "MobileNetV2", "mobilenet_v2", 224, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5"
    ),
    "efficientnet_b0": KerasApplication("EfficientNetB0", "efficientnet", 224, "efficientnetb0_notop.h5"),
    "resnet50": KerasApplication("ResNet50", "resnet50", 224, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "vgg16": KerasApplication("VGG16", "vgg16", 224, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
}

# kerasdl builders whose ImageNet weights are keras.applications' files, with the matching
# preprocessing; other builders see pixels scaled to [0, 1].
_KERASDL_PREPROCESS = {
    "mobilenet": "mobilenet",
    "mobilenet_v2": "mobilenet_v2",
    "vgg16": "vgg16",
    "vgg19": "vgg19",
    "resnet50": "resnet",
    "resnet101": "resnet",
    "resnet152": "resnet",
    "resnet50_v2": "resnet_v2",
    "resnet101_v2": "resnet_v2",
    "resnet152_v2": "resnet_v2",
    **{f"efficientnet_b{i}": "efficientnet" for i in range(8)},
}


@dataclass
class LoadedBackbone:
    """A feature extractor and the preprocessing it expects (on float pixels in [0, 255])."""

    name: str
    model: object  # keras.Model or keras.layers.Layer
    preprocess: object  # callable: float tensor in [0, 255] -> network input
    input_shape: tuple
    weights: str | None

    @property
    def fine_tunable_layers(self) -> list:
        """The layers ``unfreeze_top`` counts from the end (one entry for a TF Hub layer)."""
        return list(getattr(self.model, "layers", [self.model]))


def backbone_names() -> list[str]:
    """Names :func:`load_backbone` accepts (besides ``hub:<handle-or-path>``)."""
    from kerasdl.models import BUILDERS

    return sorted(KERAS_BACKBONES) + sorted(f"kerasdl:{name}" for name in BUILDERS)


def _preprocess_from(module_name: str):
    import keras

    return getattr(keras.applications, module_name).preprocess_input


def _no_weights_hint(error, name):
    """``error`` (a :class:`WeightsNotFoundError`) with the command line's way out added."""
    return WeightsNotFoundError(
        f"{error} No ImageNet weights for backbone {name!r}: give a weights file "
        f"(--weights PATH) or train from random initialisation (--weights none)."
    )


def _keras_application(name, spec: KerasApplication, input_shape, weights) -> LoadedBackbone:
    import keras

    constructor = getattr(keras.applications, spec.constructor)

    def build(w):
        return constructor(include_top=False, weights=w, input_shape=input_shape)

    if weights == "imagenet":
        file_name = spec.imagenet_file(input_shape)
        any_size = _any_size_weights(spec, file_name)
        if any_size is not None:
            import warnings

            warnings.warn(
                f"{spec.constructor}: no ImageNet file for input shape {input_shape} on disk; using "
                f"{any_size.name} (the same convolution weights, trained at {spec.default_size} px)",
                stacklevel=3,
            )
            return LoadedBackbone(
                name, build(str(any_size)), _preprocess_from(spec.preprocess_module), input_shape, weights
            )
        try:
            model = fetch_imagenet_weights(spec.constructor, file_name, lambda: build("imagenet"))
        except WeightsNotFoundError as error:
            raise _no_weights_hint(error, name) from error
    else:
        model = build(weights)
    return LoadedBackbone(name, model, _preprocess_from(spec.preprocess_module), input_shape, weights)


def _any_size_weights(spec: KerasApplication, file_name: str) -> Path | None:
    """For a family publishing one no-top file per input size (MobileNetV2): when the file
    for this size is not on disk but the default-size one is, that one's path (its
    convolution weights fit any input size). ``None`` otherwise, and Keras' own lookup runs."""
    from kerasdl.data.sources import data_dir, user_keras_home

    if "{size}" not in spec.notop_file:
        return None
    root = data_dir()
    homes = ([root / "keras"] if root is not None else []) + [user_keras_home()]  # run_keras_loader's order

    def on_disk(file):
        return next((home / "models" / file for home in homes if (home / "models" / file).is_file()), None)

    if on_disk(file_name) is not None:
        return None
    return on_disk(spec.notop_file.format(size=spec.default_size))


def _kerasdl_builder(name, input_shape, weights) -> LoadedBackbone:
    import inspect

    import keras

    from kerasdl.models import BUILDERS

    if name not in BUILDERS:
        raise ValueError(f"unknown kerasdl builder {name!r}; choose one of {sorted(BUILDERS)}")
    builder = BUILDERS[name]
    if "include_top" not in inspect.signature(builder).parameters:
        raise ValueError(f"kerasdl builder {name!r} has no include_top switch, so it cannot serve as a backbone")
    try:
        model = builder(input_shape=input_shape, include_top=False, weights=weights)
    except WeightsNotFoundError as error:
        raise _no_weights_hint(error, name) from error
    if weights is not None and name in _KERASDL_PREPROCESS:
        preprocess = _preprocess_from(_KERASDL_PREPROCESS[name])
    else:
        preprocess = keras.layers.Rescaling(1 / 255, name="scale_to_unit")
    return LoadedBackbone(f"kerasdl:{name}", model, preprocess, input_shape, weights)


def _hub_model(handle, input_shape) -> LoadedBackbone:
    import keras

    from kerasdl.layers.hub import HubLayer

    # TF Hub image feature-vector models take float images in [0, 1] (the TF Hub image
    # signature convention) and return (batch, features).
    layer = HubLayer(handle, trainable=False, name="hub_backbone")
    return LoadedBackbone(
        f"{HUB_PREFIX}{handle}", layer, keras.layers.Rescaling(1 / 255, name="scale_to_unit"), input_shape, "hub"
    )


def load_backbone(name: str, *, input_shape=None, weights="imagenet") -> LoadedBackbone:
    """Load a backbone without its classifier.

    ``name``: ``mobilenet_v2``, ``efficientnet_b0``, ``resnet50``, ``vgg16``
    (``keras.applications``), ``kerasdl:<builder>`` (any kerasdl builder with an
    ``include_top`` switch, e.g. ``kerasdl:resnet18``), or ``hub:<handle-or-path>`` (a TF
    Hub image feature-vector model, through the Keras 3 :class:`kerasdl.layers.hub.HubLayer`;
    ``weights`` is ignored: the Hub model carries its own).
    ``input_shape`` defaults to the network's native 224x224x3.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"backbone must be a non-empty string, got {name!r}")
    if name.startswith(HUB_PREFIX):
        shape = check_image_shape("input_shape", input_shape or (224, 224, 3), min_size=1)
        return _hub_model(name[len(HUB_PREFIX) :], shape)
    weights = check_weights(weights)
    if name.startswith("kerasdl:"):
        shape = check_image_shape("input_shape", input_shape or (224, 224, 3), min_size=1)
        return _kerasdl_builder(name[len("kerasdl:") :], shape, weights)
    if name not in KERAS_BACKBONES:
        raise ValueError(
            f"unknown backbone {name!r}; choose one of {sorted(KERAS_BACKBONES)}, 'kerasdl:<builder>' "
            f"or 'hub:<handle-or-path>'"
        )
    spec = KERAS_BACKBONES[name]
    shape = check_image_shape("input_shape", input_shape or (spec.default_size,) * 2 + (3,), min_size=32)
    if shape[-1] != 3:
        raise ValueError(f"ImageNet backbones take 3-channel images, got input_shape {shape}")
    return _keras_application(name, spec, shape, weights)
