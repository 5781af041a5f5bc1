# %% [markdown]
# # 7. Detection, segmentation, face verification and neural style transfer
#
# Course notes: the DeepLearning.AI review's fourth course (`001_…`): object localisation and
# YOLO (grid cells, anchor boxes, IoU, non-max suppression), U-Net, face verification with the
# triplet loss, and neural style transfer with Gram matrices.
#
# Each task has its home in kerasdl (`kerasdl.detection`, `kerasdl.models.unet` with
# `kerasdl.losses`, `kerasdl.verification`, `kerasdl.style_transfer`); the data here is synthetic or
# bundled with scikit-learn, so the guide runs anywhere.

# %%
import os
import tempfile
from pathlib import Path

import numpy as np

import kerasdl  # noqa: F401
import matplotlib.pyplot as plt
from kerasdl.training import set_seed

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
set_seed(0)
scratch = Path(tempfile.mkdtemp(prefix="kerasdl-guide-"))

# %% [markdown]
# ## Detection: YOLO on synthetic digit scenes
#
# `synthetic_digit_detection` pastes digits at random sizes and places on a canvas and records
# their boxes. `train_yolo` picks anchors by k-means on the boxes' widths and heights (IoU as
# the distance), encodes each box into the grid cell holding its centre and the best anchor, and
# trains the detector; `detect` decodes the grid and applies per-class non-max suppression.

# %%
from kerasdl.detection import (
    iou_matrix,
    detect,
    mean_average_precision,
    plot_detections,
    synthetic_digit_detection,
    train_yolo,
)

print("IoU of two unit-offset 2x2 boxes:", iou_matrix(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3]]))[0, 0])
train = synthetic_digit_detection(32 if SMOKE else 4000, image_size=64, source="digits", seed=0)
test = synthetic_digit_detection(16 if SMOKE else 300, image_size=64, source="digits", split="test", seed=1)
detector, anchors, _ = train_yolo(train, epochs=1 if SMOKE else 20, batch_size=16, filters=(8, 16, 32, 64))
detections = detect(detector, test.images / 255.0, anchors)
scores = mean_average_precision(detections, test.ground_truths(), test.num_classes)
print(f"anchors (w, h as fractions of the image):\n{np.round(anchors, 3)}")
print(f"mAP@0.5 on {len(test)} test scenes: {scores['map']:.3f}")

# %%
# mAP counts every detection down to score 0.05; the picture shows the confident ones
confident = [(b[s >= 0.3], s[s >= 0.3], c[s >= 0.3]) for b, s, c in detections[:4]]
png = plot_detections(test.images[:4], confident, scratch / "detections.png", ground_truths=test.ground_truths()[:4])
fig, ax = plt.subplots(figsize=(8, 2.5))
ax.imshow(plt.imread(png))
ax.axis("off")

# %% [markdown]
# ## Segmentation: a U-Net on synthetic shapes
#
# Every pixel gets a class (background, circle, square, triangle). The U-Net's encoder halves the
# resolution at each level and its decoder doubles it back, concatenating the encoder's features
# at the same scale (the skip connections). The loss adds a soft Dice term to the cross-entropy,
# which helps the small classes.

# %%
from kerasdl.data.shapes import make_shapes
from kerasdl.losses import CrossEntropyDiceLoss, segmentation_metrics
from kerasdl.models import unet

images, masks = make_shapes(64 if SMOKE else 4000, image_size=32, seed=0)
x = images / 255.0
split = int(0.8 * len(x))
segmenter = unet((32, 32, 3), num_classes=4, depth=3, base_filters=8, batch_norm=True)
segmenter.compile("adam", loss=CrossEntropyDiceLoss(), metrics=segmentation_metrics(4))
segmenter.fit(x[:split], masks[:split], batch_size=16, epochs=1 if SMOKE else 15, verbose=0)
results = segmenter.evaluate(x[split:], masks[split:], verbose=0, return_dict=True)
print({k: round(float(v), 3) for k, v in results.items()})

# %%
predicted = segmenter.predict(x[split : split + 4], verbose=0).argmax(-1)
fig, axes = plt.subplots(3, 4, figsize=(6, 4.5))
for i in range(4):
    for row, (picture, cmap) in enumerate(
        ((images[split + i], None), (masks[split + i], "viridis"), (predicted[i], "viridis"))
    ):
        axes[row, i].imshow(picture, cmap=cmap, vmin=0 if cmap else None, vmax=3 if cmap else None)
        axes[row, i].axis("off")
axes[0, 0].set_title("image / true mask / predicted", fontsize=8, loc="left")

# %% [markdown]
# ## Verification: one-shot learning with the triplet loss
#
# An embedding network maps a face to a vector; the triplet loss
# $\max(\|f(a) - f(p)\|^2 - \|f(a) - f(n)\|^2 + \text{margin}, 0)$ pulls an anchor towards another
# image of the same person and pushes it from a different person. Verification then thresholds the
# distance, chosen on validation people. With the Olivetti faces on disk the guide uses them (40
# people); otherwise the ten digits play ten "people".

# %%
from kerasdl.verification import (
    SiameseModel,
    embedding_network,
    evaluate_verifier,
    load_identities,
    olivetti_available,
    train_verifier,
)

people = load_identities("olivetti" if olivetti_available() and not SMOKE else "digits")
embedding = embedding_network(people.input_shape, embedding_dim=32, filters=(16, 32, 64))
siamese = SiameseModel(embedding, margin=0.2, mining="batch_all")
siamese.compile("adam", 1e-3)
train_verifier(
    siamese,
    people,
    epochs=1 if SMOKE else 40,
    steps_per_epoch=2 if SMOKE else 20,
    identities_per_batch=4,
    images_per_identity=4,
    verbose=0,
)
verdict = evaluate_verifier(embedding, people, num_pairs=200 if SMOKE else 4000)
print(
    f"{people.name}: threshold {verdict.choice.threshold:.3f}, test ROC AUC on unseen identities "
    f"{verdict.test_roc_auc:.3f}, verification accuracy {verdict.test_accuracy:.3f}"
)

# %% [markdown]
# ## Neural style transfer
#
# Gatys et al. (2016) optimise the pixels of an image so that its deep features match a content
# image and the Gram matrices $G_{ij} = \sum_x F_i(x) F_j(x)$ of its features at several layers
# match a style image. The feature network is a pretrained CNN (MobileNetV2 here; VGG19 in the
# paper); without the ImageNet weights on disk a randomly initialised one stands in, and smoke
# mode uses a three-layer untrained CNN: the optimisation runs, the result means little.

# %%
from sklearn.datasets import load_sample_image

from kerasdl.models.weights import WeightsNotFoundError
from kerasdl.style_transfer import perceptual_features, resize_image, transfer_style

content = resize_image(load_sample_image("china.jpg"), max_size=64 if SMOKE else 256)
style = resize_image(load_sample_image("flower.jpg"), max_size=64 if SMOKE else 256)
if SMOKE:
    import keras

    tiny = keras.Sequential(
        [keras.Input((None, None, 3))]
        + [keras.layers.Conv2D(8, 3, strides=2, activation="relu", name=f"conv{i}") for i in (1, 2, 3)]
    )
    features = perceptual_features(tiny, content_layer="conv3", style_layers=("conv1", "conv2", "conv3"))
else:
    try:
        features = perceptual_features("mobilenet_v2", weights="imagenet")
    except WeightsNotFoundError:
        features = perceptual_features("mobilenet_v2", weights=None)
styled = transfer_style(content, style, features=features, steps=2 if SMOKE else 200, progress=False)
print(f"{styled.steps_run} steps, style loss {styled.style_reduction:.1f}x lower, {styled.seconds_per_step:.3f} s/step")
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, picture, title in zip(axes, (content, style, styled.image), ("content", "style", "result")):
    ax.imshow(picture)
    ax.set_title(title)
    ax.axis("off")

# %% [markdown]
# The apps: `kerasdl detect`, `kerasdl segment`, `kerasdl verify` and `kerasdl style`. The measured
# figures (YOLO mAP@0.5 0.961 on 8,000 scenes, U-Net mIoU 0.913, Olivetti ROC AUC 0.978 on unseen
# people) are on the [Benchmarks](../benchmarks.md) page with their commands.
