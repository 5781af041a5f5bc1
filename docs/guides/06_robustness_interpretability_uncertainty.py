# %% [markdown]
# # 6. Adversarial robustness, interpretability and uncertainty
#
# Course notes: adversarial attacks and adversarial training, and interpretability, in the
# FIT3181/5215 quizzes (`000_…`); LIME in the IBM course (`003_…`); evidential deep learning and
# uncertainty in MIT 6.S191 (`004_…`).
#
# One small CNN, three questions: how easily can it be fooled (FGSM, PGD) and does adversarial
# training help; which pixels does it look at (saliency, Grad-CAM, integrated gradients); and how
# sure is it (Monte Carlo dropout, an evidential Dirichlet head).

# %%
import os

import numpy as np

import kerasdl  # noqa: F401
import keras
from kerasdl.attacks import FGSM, PGD, evaluate_attack
from kerasdl.data import load_image_classification
from kerasdl.explain import grad_cam, integrated_gradients, saliency
from kerasdl.layers import DirichletEvidence
from kerasdl.losses import DirichletEvidentialLoss, KLAnnealing
from kerasdl.models import mnist_cnn
from kerasdl.training import AdversarialModel, compile_model, set_seed
from kerasdl.uncertainty import dirichlet_uncertainty, mc_dropout_predict

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
set_seed(0)
data = load_image_classification("digits")
n = 256 if SMOKE else len(data.x_train)
x_train, y_train = data.x_train[:n], data.y_train[:n]
x_eval, y_eval = data.x_test[: 64 if SMOKE else 300], data.y_test[: 64 if SMOKE else 300]
epochs = 1 if SMOKE else 5
model = compile_model(mnist_cnn(), "adam", 1e-3)
model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0)
print("clean test accuracy:", round(model.evaluate(x_eval, y_eval, verbose=0)[1], 4))

# %% [markdown]
# ## Attacks
#
# FGSM moves every pixel by $\varepsilon$ in the direction of the sign of the loss gradient,
# $x' = \mathrm{clip}(x + \varepsilon\, \mathrm{sign}(\nabla_x L))$. PGD repeats smaller steps and
# projects back into the $\varepsilon$-ball. The success rate counts the correctly classified
# images the attack turns wrong.

# %%
steps = 3 if SMOKE else 40
attacks = (
    (FGSM(0.1), PGD(0.1, steps=steps))
    if SMOKE
    else (FGSM(0.1), FGSM(0.3), PGD(0.1, steps=steps), PGD(0.3, steps=steps))
)
for attack in attacks:
    result = evaluate_attack(model, (x_eval, y_eval), attack)
    print(
        f"{type(attack).__name__} eps={attack.eps}: robust accuracy {result['robust_accuracy']:.3f}, "
        f"success rate {result['success_rate']:.3f}"
    )

# %% [markdown]
# ## Adversarial training
#
# `AdversarialModel` wraps a model and trains on $\alpha L(x) + (1 - \alpha) L(x_{adv})$, the
# adversarial examples made on the fly from the current weights (Goodfellow et al. 2015;
# Madry et al. 2018 train on PGD examples only, $\alpha = 0$).

# %%
robust = AdversarialModel(mnist_cnn(), "fgsm", eps=0.1, alpha=0.5)
robust.compile(keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
robust.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0)
for name, m in (("standard", model), ("adversarially trained", robust.model)):
    r = evaluate_attack(m, (x_eval, y_eval), PGD(0.1, steps=steps))
    print(f"{name:22s} clean {r['clean_accuracy']:.3f}, under PGD eps=0.1: {r['robust_accuracy']:.3f}")

# %% [markdown]
# ## Which pixels matter
#
# A saliency map is $|\partial \text{score} / \partial x|$; Grad-CAM weights the last conv layer's
# maps by their pooled gradients; integrated gradients average the gradient along the straight
# path from a black image and sum to the score difference (completeness).

# %%
import matplotlib.pyplot as plt

images = x_eval[:4]
maps = {
    "saliency": saliency(model, images),
    "Grad-CAM": grad_cam(model, images),
    "integrated gradients": np.abs(integrated_gradients(model, images, steps=4 if SMOKE else 64)).sum(-1),
}
fig, axes = plt.subplots(len(images), 1 + len(maps), figsize=(2 * (1 + len(maps)), 2 * len(images)))
for row, image in enumerate(images):
    axes[row, 0].imshow(image[..., 0], cmap="gray")
    for col, (name, heat) in enumerate(maps.items(), start=1):
        axes[row, col].imshow(np.squeeze(heat[row]), cmap="jet")
        axes[row, col].set_title(name if row == 0 else "", fontsize=8)
for ax in axes.ravel():
    ax.axis("off")

# %% [markdown]
# ## How sure is the model?
#
# **Monte Carlo dropout** (Gal & Ghahramani 2016) keeps dropout on at prediction time; the spread
# of many passes estimates the model's uncertainty. **Evidential learning** (Sensoy et al. 2018)
# makes the network output Dirichlet concentrations $\alpha$; the uncertainty mass is $K/\sum\alpha$.
# Both should be less sure on noise than on digits.

# %%
noise = np.random.default_rng(0).uniform(0, 1, x_eval[:32].shape).astype("float32")
for name, x in (("test digits", x_eval[:32]), ("uniform noise", noise)):
    mc = mc_dropout_predict(model, x, n_samples=5 if SMOKE else 50)
    top = mc["mean"].max(-1)
    print(
        f"MC dropout on {name:13s}: mean top probability {top.mean():.3f}, mean std of it {mc['std'].max(-1).mean():.3f}"
    )

# %%
evidential = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        DirichletEvidence(10),
    ]
)
loss = DirichletEvidentialLoss(annealing_epochs=max(1, epochs))
evidential.compile(keras.optimizers.Adam(1e-3), loss=loss)
evidential.fit(
    x_train,
    keras.utils.to_categorical(y_train, 10),
    batch_size=64,
    epochs=epochs,
    callbacks=[KLAnnealing(loss)],
    verbose=0,
)
for name, x in (("test digits", x_eval), ("uniform noise", noise)):
    u = dirichlet_uncertainty(np.asarray(evidential.predict(x, verbose=0)))
    print(f"evidential on {name:13s}: mean uncertainty mass K/S = {u['uncertainty'].mean():.3f}")

# %% [markdown]
# `python benchmarks/robustness.py` checks the attacks against the Adversarial Robustness Toolbox
# (success rates within 0.34 points) and measures 91.0% robust accuracy under PGD-40 after one epoch
# of adversarial training on MNIST: see [Benchmarks](../benchmarks.md). The app is
# `kerasdl adversarial`.
