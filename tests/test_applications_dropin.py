"""kerasdl's ImageNet twins as drop-in replacements for keras.applications.

``input_tensor`` on every builder that mirrors a keras.applications model, the Keras-named
builders (``ResNet50``, ``MobileNetV2``, ...) with keras.applications' own signature, and
Keras' own ``preprocess_input`` / ``decode_predictions`` reachable from each family module.
The deep twins (ResNet-101/152, EfficientNet-B1...B7) build slowly, so the full sweep is slow;
one twin per family runs always.
"""

import importlib
import inspect

import keras
import numpy as np
import pytest

# kerasdl.models exports the builder function ``mobilenet``, which hides the module of that name.
vgg, resnet, mobilenet, efficientnet = (
    importlib.import_module(f"kerasdl.models.{name}") for name in ("vgg", "resnet", "mobilenet", "efficientnet")
)

# kerasdl module, kerasdl builder, keras.applications name, keras.applications module
TWINS = [
    (vgg, "vgg16", "VGG16", "vgg16"),
    (vgg, "vgg19", "VGG19", "vgg19"),
    (resnet, "resnet50", "ResNet50", "resnet"),
    (resnet, "resnet101", "ResNet101", "resnet"),
    (resnet, "resnet152", "ResNet152", "resnet"),
    (resnet, "resnet50_v2", "ResNet50V2", "resnet_v2"),
    (resnet, "resnet101_v2", "ResNet101V2", "resnet_v2"),
    (resnet, "resnet152_v2", "ResNet152V2", "resnet_v2"),
    (mobilenet, "mobilenet", "MobileNet", "mobilenet"),
    (mobilenet, "mobilenet_v2", "MobileNetV2", "mobilenet_v2"),
    *[(efficientnet, f"efficientnet_b{i}", f"EfficientNetB{i}", "efficientnet") for i in range(8)],
]
# One twin per family runs always, checked against its documented no-top count (equal to
# keras.applications', which tests/test_models.py, test_resnet.py, test_mobilenet.py and
# test_efficientnet.py check); the slow sweep builds keras.applications' own model beside each twin.
FAST = {"vgg16": 14_714_688, "resnet50_v2": 23_564_800, "mobilenet": 3_228_864, "efficientnet_b0": 4_049_571}


def _params(twin):
    module, builder, keras_name, _ = twin
    marks = () if builder in FAST else (pytest.mark.slow,)
    return pytest.param(module, builder, keras_name, id=builder, marks=marks)


@pytest.mark.parametrize("module, builder, keras_name", [_params(t) for t in TWINS])
def test_input_tensor_builds_on_the_tensor_with_keras_parameter_counts(module, builder, keras_name):
    """Each twin on an existing keras.Input: the model's input is that tensor, and the
    parameter count equals keras.applications' built on a tensor of the same shape."""
    tensor = keras.Input((32, 32, 3))
    model = getattr(module, builder)(input_tensor=tensor, include_top=False, pooling="avg")
    assert model.inputs[0] is tensor and len(model.inputs) == 1
    if builder in FAST:
        assert model.count_params() == FAST[builder]
        return
    reference = getattr(keras.applications, keras_name)(
        input_tensor=keras.Input((32, 32, 3)), include_top=False, pooling="avg", weights=None
    )
    assert model.count_params() == reference.count_params()
    assert model.output_shape == reference.output_shape


def test_input_tensor_inside_a_larger_graph():
    """A backbone on an intermediate tensor: the model's input is the Input it comes from, as in Keras."""
    image = keras.Input((40, 48, 3), name="raw")
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1, name="scale")(image)
    model = mobilenet.mobilenet_v2(input_tensor=scaled, include_top=False, alpha=0.35)
    assert model.inputs[0] is image
    assert model.output_shape == (None, 2, 2, 1280)
    assert model.get_layer("Conv1").input is scaled  # the network starts from the given tensor


def test_input_tensor_errors():
    with pytest.raises(ValueError, match="does not match the shape of input_tensor"):
        resnet.resnet50(input_tensor=keras.Input((64, 64, 3)), input_shape=(32, 32, 3), include_top=False)
    with pytest.raises(ValueError, match="must be a Keras tensor"):
        vgg.vgg16(input_tensor=np.zeros((1, 32, 32, 3)), include_top=False)
    with pytest.raises(ValueError, match="batch of images"):
        efficientnet.efficientnet_b0(input_tensor=keras.Input((64,)), include_top=False)
    with pytest.raises(ValueError, match="at least 32"):  # the usual input checks still apply
        vgg.vgg16(input_tensor=keras.Input((16, 16, 3)), include_top=False)


@pytest.mark.parametrize("module, builder, keras_name, keras_module", TWINS, ids=[t[1] for t in TWINS])
def test_keras_names_signatures_and_functions(module, builder, keras_name, keras_module):
    """Same name and signature as keras.applications; Keras' own preprocess_input/decode_predictions."""
    application = getattr(module, keras_name)
    reference = getattr(keras.applications, keras_name)
    assert inspect.signature(application) == inspect.signature(reference)
    assert application.__name__ == keras_name
    keras_family = importlib.import_module(f"keras.applications.{keras_module}")
    suffix = "_v2" if keras_module in ("resnet_v2", "mobilenet_v2") else ""
    for function in ("preprocess_input", "decode_predictions"):
        ours = getattr(module, function + suffix)
        assert ours.__module__.startswith("keras.")  # Keras' function, not a copy
        images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        if function == "preprocess_input":
            np.testing.assert_allclose(ours(images.copy()), getattr(keras_family, function)(images.copy()))
    if keras_module in ("resnet", "mobilenet", "efficientnet"):  # the very same object
        assert module.preprocess_input is keras_family.preprocess_input


def test_code_written_for_keras_applications_runs_with_the_import_changed():
    """The keras.io "fine-tune on a new set of classes" pattern, with only the import changed:
    ``from keras.applications.resnet import ...`` → ``from kerasdl.models.resnet import ...``."""
    from kerasdl.models.mobilenet import MobileNet
    from kerasdl.models.resnet import ResNet50, decode_predictions, preprocess_input

    inputs = keras.Input(shape=(32, 32, 3))
    base = ResNet50(weights=None, include_top=False, input_tensor=inputs)  # keras.applications' call
    x = keras.layers.GlobalAveragePooling2D()(base.output)
    outputs = keras.layers.Dense(5, activation="softmax")(x)
    model = keras.Model(inputs=base.input, outputs=outputs)
    assert model.inputs[0] is inputs and base.name == "resnet50"
    images = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    assert model(preprocess_input(images)).shape == (1, 5)

    classifier = MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None, classifier_activation=None)
    assert classifier.output_shape == (None, 1000)  # classes=1000, as keras.applications
    assert classifier.get_layer("predictions").activation.__name__ == "linear"
    assert decode_predictions is keras.applications.resnet.decode_predictions  # reads ImageNet's class index


def test_keras_named_builders_default_to_imagenet_weights_and_rename():
    assert inspect.signature(vgg.VGG16).parameters["weights"].default == "imagenet"
    model = mobilenet.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=3, name="tiny_head")
    assert model.name == "tiny_head" and model.output_shape == (None, 3)
    with pytest.raises(ValueError, match="num_classes=1000"):  # the usual ImageNet checks, under Keras' name
        resnet.ResNet50(classes=10)
