# %% [markdown]
# # 5. Autoencoders, variational autoencoders and GANs
#
# Course notes: autoencoders, VAEs and GANs in the IBM course (`003_…`) and MIT 6.S191 lecture 4
# (`004_…`: the reparameterisation trick, the KL term, the generator/discriminator game).
#
# All three learn from unlabelled images. A denoising autoencoder learns to undo corruption; a VAE
# learns an encoder to a Gaussian latent space and a decoder back, trained on the evidence lower
# bound; a GAN's generator learns to fool a discriminator. kerasdl has a builder for each network
# and a Keras `Model` with its own `train_step` for each objective, so `fit` trains them.

# %%
import os

import numpy as np

import kerasdl  # noqa: F401
from kerasdl.data import load_image_classification
from kerasdl.generative import GAN, VAE, DenoisingAutoencoder, gan_mlp, latent_manifold, tile_images
from kerasdl.models import dense_autoencoder, vae_decoder, vae_encoder
from kerasdl.training import set_seed

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
set_seed(0)
data = load_image_classification("digits")  # 28x28 in [0, 1]; `"mnist"` with MNIST on disk
n = 256 if SMOKE else len(data.x_train)
x_train, x_test = data.x_train[:n], data.x_test[: 256 if SMOKE else None]
epochs = 1 if SMOKE else 30
print(data.name, x_train.shape)

# %%
import matplotlib.pyplot as plt


def show(images, title, ncols=8, value_range=(0.0, 1.0)):
    fig, ax = plt.subplots(figsize=(ncols * 0.5, 0.5 * int(np.ceil(len(images) / ncols)) + 0.4))
    ax.imshow(tile_images(images, ncols=ncols, value_range=value_range), cmap="gray")
    ax.set_title(title)
    ax.axis("off")


# %% [markdown]
# ## A denoising autoencoder
#
# Encoder 784 → 256 → 32, decoder back; `DenoisingAutoencoder` adds Gaussian noise to each batch
# and trains the network to reproduce the clean images.

# %%
parts = dense_autoencoder(code_size=32, hidden_units=(256,))
denoiser = DenoisingAutoencoder(parts.autoencoder, noise_std=0.3)
denoiser.compile("adam", 1e-3)
denoiser.fit(x_train, epochs=epochs, batch_size=64, verbose=0)
noisy = np.clip(x_test[:8] + np.random.default_rng(0).normal(0, 0.3, x_test[:8].shape), 0, 1).astype("float32")
cleaned = np.asarray(parts.autoencoder(noisy))
show(np.concatenate([x_test[:8], noisy, cleaned]), "clean / noisy / denoised")

# %% [markdown]
# ## A variational autoencoder with a 2-D latent space
#
# The encoder outputs $\mu$ and $\log \sigma^2$; the `Sampling` layer draws
# $z = \mu + \sigma \odot \varepsilon$ (the reparameterisation trick, so gradients reach $\mu$ and
# $\sigma$). The loss is the negative ELBO: reconstruction (Bernoulli cross-entropy summed over
# pixels) plus $KL(q(z|x) \,\|\, N(0, I)) = -\tfrac12 \sum (1 + \log\sigma^2 - \mu^2 - \sigma^2)$.

# %%
vae = VAE(
    vae_encoder(latent_dim=2, kind="dense", hidden_units=256, seed=0),
    vae_decoder(latent_dim=2, kind="dense", hidden_units=256),
)
vae.compile("adam", 1e-3)
history = vae.fit(x_train, validation_data=(x_test,), epochs=epochs, batch_size=64, verbose=0).history
print({k: round(v[-1], 2) for k, v in history.items()})

# %%
show(latent_manifold(vae.decoder, n=10), "decoder over a grid of the 2-D latent space", ncols=10)
show(vae.interpolate(x_test[0], x_test[1], steps=8), "interpolating between two test digits")

# %%
codes = vae.encode(x_test)
fig, ax = plt.subplots(figsize=(4, 4))
points = ax.scatter(codes[:, 0], codes[:, 1], c=data.y_test[: len(codes)], cmap="tab10", s=6)
fig.colorbar(points, ax=ax, label="digit")
ax.set_title("test digits in the latent space (means)")

# %% [markdown]
# ## A GAN
#
# The generator maps $z \sim N(0, I)$ to images in $[-1, 1]$ (tanh); the discriminator outputs a
# logit. `GAN.train_step` alternates a discriminator step on real and generated batches
# (one-sided label smoothing on the real labels) and a generator step with the non-saturating
# loss $-\log D(G(z))$.

# %%
gan = GAN(*gan_mlp(latent_dim=32, generator_units=(128, 256), discriminator_units=(256, 128)), label_smoothing=0.1)
gan.compile()  # two Adam optimizers, lr 2e-4, beta_1 0.5, as in DCGAN
real = x_train * 2.0 - 1.0  # the generator's range
gan_history = gan.fit(real, epochs=1 if SMOKE else 50, batch_size=64, verbose=0).history
print({k: round(v[-1], 3) for k, v in gan_history.items()})
show(gan.generate(16, seed=0), "GAN samples", value_range=(-1.0, 1.0))

# %% [markdown]
# Scoring a generator needs a judge: `kerasdl.generative.GenerativeEvaluator` wraps an MNIST
# classifier to compute the MNIST analogues of the Inception Score and the Fréchet distance.
# `python benchmarks/generative.py` trains the VAEs and GANs of the notes on MNIST (16-D VAE test
# negative ELBO 97.25 nats; conditional DCGAN IS 9.05): see [Benchmarks](../benchmarks.md).
