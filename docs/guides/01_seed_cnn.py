# %% [markdown]
# # 1. The seed CNN and the arithmetic of the quizzes
#
# Course notes: the MNIST CNN of *Fundamentals of Deep Learning* (`002_…`, "99.4%") and the
# shape, parameter and neuron-count questions of the FIT3181/5215 quizzes (`000_…`, weeks 3–4).
#
# The seed network is conv 5x5x32 → max-pool 2 → conv 5x5x64 → max-pool 2 → dense 1024 + dropout
# 0.5 → 10, with ReLU, He initialisation and Adam. `kerasdl.models.mnist_cnn` builds it; this guide
# first does the quiz arithmetic with `kerasdl.analysis` and then trains it.
#
# Set `KERASDL_GUIDE_SMOKE=1` to run the whole guide in a few seconds (a few hundred images, one epoch).

# %%
import os

import numpy as np

import kerasdl  # noqa: F401  (pins Keras' TensorFlow backend before keras is imported)
from kerasdl import analysis
from kerasdl.data import load_image_classification, make_dataset
from kerasdl.models import mnist_cnn
from kerasdl.training import compile_model, set_seed

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
set_seed(0)

# %% [markdown]
# ## Output shapes by the formula
#
# Along one axis a window of size $k$, stride $s$ and padding $p$ over $n$ inputs gives
# $\lfloor (n + 2p - k)/s \rfloor + 1$ outputs. The quiz's PyTorch stack, `Conv2d(3, 32, 3, stride=2,
# padding=1)` then `Conv2d(32, 64, 3, stride=1, padding=1)` on a 224x224 RGB image:

# %%
print(analysis.conv_output_size(224, kernel_size=3, stride=2, padding=1))  # 112
chain = analysis.output_shape_chain(
    (3, 224, 224),
    [
        ("conv", dict(filters=32, kernel_size=3, stride=2, padding=1)),
        ("conv", dict(filters=64, kernel_size=3, padding=1)),
    ],
    data_format="channels_first",
)
print(chain)  # [(32, 112, 112), (64, 112, 112)]: the quiz's [1, 32, 112, 112] and [1, 64, 112, 112]
# neurons in a layer = filters x H_out x W_out
print("neurons after the second conv:", int(np.prod(chain[-1])))

# %% [markdown]
# The seed CNN itself, walked by the same formulas (Keras' `padding="same"` keeps 28 → 28):

# %%
seed_specs = [
    ("conv", dict(filters=32, kernel_size=5, padding=2)),
    ("pool", dict(pool_size=2)),
    ("conv", dict(filters=64, kernel_size=5, padding=2)),
    ("pool", dict(pool_size=2)),
    "flatten",
    ("dense", dict(units=1024)),
    ("dense", dict(units=10)),
]
for spec, shape in zip(seed_specs, analysis.output_shape_chain((28, 28, 1), seed_specs)):
    print(f"{spec if isinstance(spec, str) else spec[0]:8s} -> {shape}")

# %% [markdown]
# ## Parameters, multiply-accumulates and receptive fields of the built model
#
# A conv layer has $(k \cdot k \cdot C_{in} + 1) \cdot C_{out}$ parameters and costs
# $H_{out} W_{out} C_{out} k^2 C_{in}$ multiply-accumulates (MACs). `analysis.model_summary_table`
# reads both off the built Keras model, layer by layer; the first conv by hand:

# %%
model = mnist_cnn()
print("first conv parameters by hand:", (5 * 5 * 1 + 1) * 32)
print("first conv MACs by hand:      ", analysis.conv_macs(28, 28, 1, 32, 5))
print(analysis.model_summary_table(model))

# %%
for rf in analysis.receptive_fields(model):
    if rf.class_name in ("Conv2D", "MaxPooling2D"):
        print(f"{rf.name:10s} receptive field {rf.receptive_field:2d} px, jump {rf.jump}")

# %% [markdown]
# The 1024-unit dense layer holds 3,212,288 of the 3,274,634 parameters, while the two convolutions
# hold most of the MACs: parameters and computation live in different places.
#
# ## Training it
#
# kerasdl's data loaders return images scaled to [0, 1]. scikit-learn's bundled digits, resized to
# 28x28, need no download (with MNIST on disk, `load_image_classification("mnist")` loads it instead).

# %%
data = load_image_classification(
    "digits"
)  # scikit-learn digits resized to 28x28, with an ImageClassificationData wrapper
n_train = 256 if SMOKE else len(data.x_train)
epochs = 1 if SMOKE else 5
train = make_dataset(data.x_train[:n_train], data.y_train[:n_train], batch_size=64, seed=0)
test = make_dataset(data.x_test, data.y_test, batch_size=256, shuffle=False)
model = compile_model(mnist_cnn(), "adam", 1e-3)
history = model.fit(train, epochs=epochs, validation_data=test, verbose=0)
loss, accuracy = model.evaluate(test, verbose=0)
print(f"{data.name}: {n_train} training images, {epochs} epoch(s), test accuracy {accuracy:.4f}")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(history.history["accuracy"], "o-", label="train")
ax.plot(history.history["val_accuracy"], "o-", label="test")
ax.set_xlabel("epoch")
ax.set_ylabel("accuracy")
ax.legend()
ax.set_title("seed CNN on the digits")

# %% [markdown]
# On real MNIST the same model reaches 99.44% test accuracy in 12 epochs
# (`python benchmarks/mnist_cnn.py`; see [Benchmarks](../benchmarks.md)). `kerasdl demo` runs this
# flow end to end and also exports a SavedModel that takes uint8 images.

# %% [markdown]
# ## An ensemble of seeds
#
# The notes' "Model Ensembles": *train multiple independent models; at test time average their
# results.* `kerasdl.ensembles.fit_and_evaluate_ensemble` trains `members` copies of the builder, one
# seed each (with `augment`, each member also sees its own random shifts and rotations), combines
# them into one Keras model (mean of the softmax outputs here; `"geometric"` and `"vote"` are the
# other methods) and scores every member and the combination on the test split.

# %%
from kerasdl.ensembles import fit_and_evaluate_ensemble

run = fit_and_evaluate_ensemble(
    mnist_cnn,
    data,
    members=3 if SMOKE else 5,
    epochs=epochs,
    augment={"translation": 0.1, "rotation": 0.025},
    method="mean",
)
scores = run.evaluation
print("members' test accuracies:", ", ".join(f"{a:.4f}" for a in scores.member_accuracies))
print(f"mean member {scores.mean_member_accuracy:.4f}, ensemble {scores.ensemble_accuracy:.4f}")
print(f"one model for serving: {run.ensemble.name}, {run.ensemble.count_params():,} parameters")

# %% [markdown]
# The combined model has one input and one output, so `kerasdl.export.export_saved_model` exports
# it like any other. `kerasdl train mnist_cnn --ensemble 5 --augment` does the same from the command
# line, and `kerasdl train mnist_cnn --snapshot-ensemble 5` trains the members in one run with a
# restarted cosine rate (Huang et al. 2017). On real MNIST, `python benchmarks/ensembles.py`
# trains 10 members for 30 epochs each on all 60,000 images, shifted and rotated: the members score
# 99.50-99.61% on the test set and their mean 99.69%, against 99.47% for 5 snapshots of one run
# that costs a twentieth of the time (see [Benchmarks](../benchmarks.md)).
