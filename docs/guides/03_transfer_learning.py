# %% [markdown]
# # 3. Transfer learning and fine-tuning
#
# Course notes: transfer learning in the FIT3181/5215 quizzes (`000_…`), the DeepLearning.AI
# review's "use open-source implementations and pretrained weights" and its alpaca/MobileNetV2
# assignment (`001_…`), and the IBM course (`003_…`).
#
# The recipe: take a network trained on ImageNet, drop its classifier, put a new head on the frozen
# features and train only that; then unfreeze the top layers and continue at a lower learning rate.
# `kerasdl.transfer` does the two phases (`fine_tune`), with the backbone's own preprocessing inside
# the model, and batch normalisation kept frozen when layers are unfrozen.
#
# The ImageNet weights are read from the data folder (`KERASDL_DATA_DIR`) or Keras' cache. Without
# them the guide uses a randomly initialised backbone, so only the mechanics show; smoke mode uses
# kerasdl's small CIFAR ResNet-20 (`"kerasdl:resnet_cifar"`), untrained, for speed.

# %%
import os

import numpy as np

import kerasdl  # noqa: F401
import keras
from kerasdl.data import data_dir, image_augmentation, load_image_classification
from kerasdl.models.weights import WeightsNotFoundError
from kerasdl.training import set_seed
from kerasdl.transfer import backbone_names, build_transfer_model, fine_tune, load_backbone

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
set_seed(0)
print("backbones:", backbone_names())

# %% [markdown]
# ## Data
#
# With the alpaca images on disk (`$KERASDL_DATA_DIR/alpaca/<class>/*.jpg`) the guide fine-tunes
# on them like the course assignment; otherwise it uses the bundled digits as 3-channel images.

# %%
alpaca = data_dir() / "alpaca" if data_dir() is not None else None
size = 32 if SMOKE else 160
if alpaca is not None and alpaca.is_dir() and not SMOKE:
    from kerasdl.transfer import image_folder_datasets, scan_image_folder

    folder = scan_image_folder(alpaca)
    train_ds, val_ds, val_labels = image_folder_datasets(folder, image_size=(size, size), batch_size=32)
    class_names = folder.class_names
else:
    import tensorflow as tf

    digits = load_image_classification("digits")
    n = 128 if SMOKE else len(digits.x_train)

    def as_rgb(x):  # [0, 1] grey 28x28 -> [0, 255] RGB size x size, what the backbones take
        return tf.image.resize(np.repeat(x, 3, axis=-1) * 255.0, (size, size)).numpy()

    train_ds = tf.data.Dataset.from_tensor_slices((as_rgb(digits.x_train[:n]), digits.y_train[:n])).batch(32)
    val_ds = tf.data.Dataset.from_tensor_slices((as_rgb(digits.x_test[:n]), digits.y_test[:n])).batch(64)
    class_names = [str(i) for i in range(10)]
print("classes:", class_names)

# %% [markdown]
# ## A pretrained backbone and a new head
#
# `load_backbone` returns the feature extractor and the preprocessing it expects on [0, 255]
# pixels; `build_transfer_model` wires image → augmentation → preprocessing → frozen base →
# pooling → dropout → softmax.

# %%
try:
    if SMOKE:
        backbone = load_backbone("kerasdl:resnet_cifar", input_shape=(size, size, 3), weights=None)
    else:
        backbone = load_backbone("mobilenet_v2", input_shape=(size, size, 3), weights="imagenet")
except WeightsNotFoundError as error:
    print("no ImageNet weights here, using random ones:", str(error).splitlines()[0])
    backbone = load_backbone("mobilenet_v2", input_shape=(size, size, 3), weights=None)
augment = image_augmentation(translation=0.05, rotation=0.05, flip=True, value_range=(0.0, 255.0), seed=0)
model = build_transfer_model(backbone, len(class_names), augmentation=augment)
trainable = sum(keras.ops.size(w) for w in model.trainable_weights)
print(
    f"{backbone.name} ({backbone.weights} weights): {model.count_params():,d} parameters, {int(trainable):,d} trainable"
)

# %% [markdown]
# ## Two phases: head only, then the top of the base
#
# Phase 2 unfreezes the last `unfreeze_top` layers of the base and trains at
# `learning_rate * fine_tune_lr_factor`, continuing the epoch count.

# %%
epochs = (1, 1) if SMOKE else (5, 5)
result = fine_tune(
    model,
    backbone,
    train_ds,
    val_ds,
    head_epochs=epochs[0],
    fine_tune_epochs=epochs[1],
    unfreeze_top=30,
    learning_rate=1e-3,
    verbose=0,
)
print("layers unfrozen for fine-tuning:", result.trainable_layers)
for key in ("accuracy", "val_accuracy"):
    print(key, [round(v, 4) for v in result.history[key]])

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3))
history = result.history
ax.plot(history["val_accuracy"], "o-", label="validation")
ax.plot(history["accuracy"], "o-", label="train")
ax.axvline(epochs[0] - 0.5, color="grey", ls="--", label="fine-tuning starts")
ax.set_xlabel("epoch")
ax.set_ylabel("accuracy")
ax.legend()

# %% [markdown]
# The command line does the same on any folder of images and exports a SavedModel that takes uint8
# images: `kerasdl finetune ../shared/data/alpaca --backbone mobilenet_v2 --weights imagenet`
# (`kerasdl.transfer.fine_tune_image_classifier`). On the alpaca images it reaches 93.9% validation
# accuracy with the head alone and 98.5% after fine-tuning (`python benchmarks/finetune_alpaca.py`,
# see [Benchmarks](../benchmarks.md)).
