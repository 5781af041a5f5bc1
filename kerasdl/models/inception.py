"""GoogLeNet, the 22-layer Inception network (Szegedy et al. 2014), with its auxiliary classifiers.

C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke and
A. Rabinovich, "Going deeper with convolutions", arXiv:1409.4842 (CVPR 2015), table 1 and
figure 3. Nine Inception modules (:func:`kerasdl.layers.inception.inception_module`) on a
small convolutional stem, global average pooling, 40% dropout and one linear layer.

Differences from the paper, kept deliberately small:

* The two local response normalisation (LRN) layers of the stem are **omitted**: Keras has
  no LRN layer, and later work (Simonyan & Zisserman 2014; Ioffe & Szegedy 2015, who
  replaced it with batch normalisation) found it adds little. LRN has no parameters, so
  the parameter count is unchanged.
* Every convolution and pooling uses "same" padding, so the sizes of table 1 come out
  exactly at 224x224 (112, 56, 28, 14, 7) and any input size works.
* The final 7x7/1 average pooling is a global average pooling (``avg_pool``): identical
  at 224x224, and it works at other sizes too.

keras.applications has no GoogLeNet, so there are no ImageNet weights
(``weights="imagenet"`` raises ``ValueError``); ``weights`` may be a file path.

Training with the auxiliary classifiers (``aux_outputs=True``)::

    model = googlenet(input_shape=(96, 96, 3), num_classes=10, aux_outputs=True)
    compile_with_aux_losses(model, optimizer="sgd")      # loss weights 1.0, 0.3, 0.3
    model.fit(x, aux_targets(y), epochs=...)             # the same labels for all three heads
    serving = inference_model(model)                      # main output only, same weights
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_float, check_num_classes
from kerasdl.layers.blocks import (
    POOLING_CHOICES,
    check_activation,
    check_backbone_input_shape,
    global_pool,
    min_input_size,
    output_activation_for,
)
from kerasdl.layers.inception import inception_module
from kerasdl.models.weights import check_weights, load_weights

DEFAULT_INPUT_SIZE = 224

# Table 1 of Szegedy et al. 2014: (name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
# A 3x3/2 max-pooling precedes stages 4 and 5.
INCEPTION_MODULES = (
    ("inception_3a", 64, 96, 128, 16, 32, 32),
    ("inception_3b", 128, 128, 192, 32, 96, 64),
    ("inception_4a", 192, 96, 208, 16, 48, 64),
    ("inception_4b", 160, 112, 224, 24, 64, 64),
    ("inception_4c", 128, 128, 256, 24, 64, 64),
    ("inception_4d", 112, 144, 288, 32, 64, 64),
    ("inception_4e", 256, 160, 320, 32, 128, 128),
    ("inception_5a", 256, 160, 320, 32, 128, 128),
    ("inception_5b", 384, 192, 384, 48, 128, 128),
)
# The auxiliary classifiers sit on the outputs of these modules (section 5 of the paper).
AUX_AFTER = ("inception_4a", "inception_4d")

# Output names and the weights of their losses in the total loss: "the losses of the
# auxiliary classifiers were weighted by 0.3" (section 5).
MAIN_OUTPUT = "predictions"
AUX_OUTPUTS = ("aux1_predictions", "aux2_predictions")
AUX_LOSS_WEIGHTS = {MAIN_OUTPUT: 1.0, AUX_OUTPUTS[0]: 0.3, AUX_OUTPUTS[1]: 0.3}

# Every convolution and max-pooling is "same" (ceil(n / stride)) and the top is a global
# average pooling, so any size >= 1 works without the auxiliary heads. The heads' 5x5/3
# "valid" average pooling needs at least 5x5 at stage 4, after four stride-2 layers: 65.
MIN_INPUT_SIZE = 1
MIN_INPUT_SIZE_AUX = min_input_size([(7, 2, "same"), (3, 2, "same"), (3, 2, "same"), (3, 2, "same"), (5, 3, "valid")])


def _aux_classifier(x, num_classes, classifier_activation, name):
    """Auxiliary classifier of section 5: 5x5/3 average pooling, 1x1 conv with 128 filters,
    a fully connected layer of 1024 units, 70% dropout, and a linear layer with softmax."""
    x = keras.layers.AveragePooling2D(5, strides=3, padding="valid", name=f"{name}_avg_pool")(x)
    x = keras.layers.Conv2D(128, 1, padding="same", activation="relu", name=f"{name}_conv")(x)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = keras.layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return keras.layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_predictions")(x)


def googlenet(
    include_top=True,
    weights=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    aux_outputs=False,
    dropout=0.4,
):
    """GoogLeNet (Szegedy et al. 2014, table 1): 22 weight layers, 9 Inception modules.

    Parameters at 224x224x3 with 1000 classes: **6,998,552** for the main network:
    6,990,272 weights and 8,280 biases. The paper's "6.8M" is the sum of table 1's rounded
    "params" column, which counts weights only in units of K = 1024 (e.g. inception 3a:
    163,328 weights = 159K); the exact weights are 6,826K, the table's rows add to 6,798K
    (its conv1 entry, 2.7K, is below the 9,408 weights of a 7x7x3x64 kernel). Without the
    top: 5,973,552 (the classifier has 1,025,000). With ``aux_outputs=True`` the two
    auxiliary classifiers add 3,188,840 and 3,190,888 (their ``aux*_fc`` layer reads a
    4x4x128 map at 224x224: 2,098,176 parameters), **13,378,280** in all; at other input
    sizes the auxiliary heads' size changes.

    Args:
        include_top: include ``avg_pool`` → ``dropout`` → ``predictions``.
        weights: ``None`` (random initialisation) or the path of a weights file; there is
            no ``"imagenet"`` file (keras.applications has no GoogLeNet).
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``. Any size
            >= 1 (all paddings are "same"); >= 65 with ``aux_outputs`` (the aux heads' 5x5/3
            pooling needs a 5x5 stage-4 map). Height/width may be ``None`` only with
            ``include_top=False``.
        pooling: without the top, ``None`` (the 4-D output of ``inception_5b``), ``"avg"``
            or ``"max"``; ignored with the top.
        num_classes: number of classes (>= 1; 1 gives a single sigmoid unit).
        classifier_activation: activation of the classifiers (``None`` for logits).
        aux_outputs: add the two auxiliary classifiers (after ``inception_4a`` and
            ``inception_4d``) as extra outputs: the model returns
            ``[predictions, aux1_predictions, aux2_predictions]``. Train it with
            :func:`compile_with_aux_losses` (loss weights :data:`AUX_LOSS_WEIGHTS`) and
            serve :func:`inference_model` of it. Needs ``include_top=True``.
        dropout: dropout rate before ``predictions``, in [0, 1) (0.4 in the paper).

    Returns:
        A ``keras.Model`` named ``googlenet``.
    """
    check_choice("include_top", include_top, [True, False])
    check_choice("aux_outputs", aux_outputs, [True, False])
    if aux_outputs and not include_top:
        raise ValueError("aux_outputs=True needs include_top=True (the auxiliary heads are classifiers)")
    weights = check_weights(weights, imagenet_available=False)
    input_shape = check_backbone_input_shape(
        input_shape,
        include_top=include_top,
        min_size=MIN_INPUT_SIZE_AUX if aux_outputs else MIN_INPUT_SIZE,
        default_size=DEFAULT_INPUT_SIZE,
    )
    check_choice("pooling", pooling, POOLING_CHOICES)
    num_classes = check_num_classes(num_classes)
    classifier_activation = output_activation_for(
        num_classes, check_activation("classifier_activation", classifier_activation)
    )
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)

    def conv(filters, kernel, name, strides=1):
        return keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu", name=name)

    def max_pool(name):
        return keras.layers.MaxPooling2D(3, strides=2, padding="same", name=name)

    inputs = keras.Input(shape=input_shape, name="input")
    x = conv(64, 7, "conv1_7x7_s2", strides=2)(inputs)
    x = max_pool("pool1_3x3_s2")(x)
    x = conv(64, 1, "conv2_3x3_reduce")(x)
    x = conv(192, 3, "conv2_3x3")(x)
    x = max_pool("pool2_3x3_s2")(x)
    aux = []
    for spec in INCEPTION_MODULES:
        name = spec[0]
        if name == "inception_4a":
            x = max_pool("pool3_3x3_s2")(x)
        elif name == "inception_5a":
            x = max_pool("pool4_3x3_s2")(x)
        x = inception_module(x, *spec[1:], name=name)
        if aux_outputs and name in AUX_AFTER:
            aux.append(_aux_classifier(x, num_classes, classifier_activation, f"aux{len(aux) + 1}"))

    if include_top:
        x = global_pool(x, "avg")
        x = keras.layers.Dropout(dropout, name="dropout")(x)
        x = keras.layers.Dense(num_classes, activation=classifier_activation, name=MAIN_OUTPUT)(x)
    else:
        x = global_pool(x, pooling)
    outputs = [x, *aux] if aux_outputs else x
    model = keras.Model(inputs, outputs, name="googlenet")
    return load_weights(model, weights)


def inference_model(model):
    """The single-output model of a GoogLeNet built with ``aux_outputs=True``.

    It shares every layer (and so every weight) with ``model`` but stops at the main
    ``predictions`` output, so the auxiliary heads, used only as a training aid, are
    neither computed nor exported. A single-output model is returned unchanged.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {model!r}")
    if len(model.outputs) == 1:
        return model
    try:
        main = model.get_layer(MAIN_OUTPUT)
    except ValueError:
        raise ValueError(
            f"model has {len(model.outputs)} outputs but no layer named {MAIN_OUTPUT!r}; "
            "expected a googlenet(aux_outputs=True) model"
        ) from None
    return keras.Model(model.input, main.output, name=f"{model.name}_inference")


def aux_targets(y):
    """The labels ``y`` once per output of a ``googlenet(aux_outputs=True)`` model, as
    ``fit`` wants them: ``model.fit(x, aux_targets(y))`` or
    ``dataset.map(lambda x, y: (x, aux_targets(y)))``."""
    return {name: y for name in AUX_LOSS_WEIGHTS}


def compile_with_aux_losses(
    model,
    optimizer="sgd",
    loss="sparse_categorical_crossentropy",
    metrics=("accuracy",),
    loss_weights=None,
    **compile_kwargs,
):
    """Compile a GoogLeNet for training with its auxiliary classifiers.

    Every output gets ``loss``; the total loss is weighted by ``loss_weights`` (default
    :data:`AUX_LOSS_WEIGHTS`: 1.0 for ``predictions`` and 0.3 for each auxiliary head, as
    in the paper). ``metrics`` are tracked on the main output only. Extra keyword
    arguments go to ``model.compile``. Returns ``model``.
    """
    names = list(model.output_names)
    loss_weights = dict(AUX_LOSS_WEIGHTS if loss_weights is None else loss_weights)
    if sorted(names) != sorted(loss_weights):
        raise ValueError(f"loss_weights must have one entry per model output {names!r}, got {sorted(loss_weights)!r}")
    model.compile(
        optimizer=optimizer,
        loss={name: loss for name in names},
        loss_weights=loss_weights,
        metrics={MAIN_OUTPUT: list(metrics or [])},
        **compile_kwargs,
    )
    return model
