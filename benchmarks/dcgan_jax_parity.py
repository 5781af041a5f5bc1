"""Check that ``benchmarks/dcgan_jax.py``'s JAX port of ``GAN.train_step`` is the same algorithm.

Replays the steps that ``dcgan_jax.py --parity DIR`` took (dropout-free DCGAN, same initial
weights, real batches and noise) through ``kerasdl.generative.gan.GAN.train_step`` under
TensorFlow, then compares each step's losses and accuracies and the final weights of both
networks. Exits 1 when a difference exceeds the tolerance, or is not at least 100 times smaller
than how far the weights moved in training (a check that would pass on untrained weights is none).

    KERAS_BACKEND=jax python benchmarks/dcgan_jax.py --parity /tmp/parity   # JAX venv
    python benchmarks/dcgan_jax_parity.py /tmp/parity                          # project venv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def replay(directory: Path) -> dict:
    import tensorflow as tf

    from kerasdl.generative.gan_networks import dcgan
    from kerasdl.generative.gan import GAN

    config = json.loads((directory / "jax_metrics.json").read_text())
    inputs = np.load(directory / "inputs.npz")
    noise = inputs["noise"]  # (steps, d_steps + 1, batch, latent): the order train_step draws it in

    class ReplayedNoiseGAN(GAN):
        draws = iter(noise.reshape(-1, *noise.shape[2:]))

        def _noise(self, batch_size):
            return tf.constant(next(self.draws))

    generator, discriminator = dcgan(latent_dim=noise.shape[-1], filters=config["filters"], dropout=0.0)
    generator.load_weights(directory / "generator_initial.weights.h5")
    discriminator.load_weights(directory / "discriminator_initial.weights.h5")
    gan = ReplayedNoiseGAN(
        generator, discriminator, d_steps=config["d_steps"], label_smoothing=config["label_smoothing"]
    )
    gan.compile(
        d_learning_rate=config["d_learning_rate"], g_learning_rate=config["g_learning_rate"], beta_1=config["beta_1"]
    )
    per_step = []
    for real in inputs["real"]:
        gan.reset_metrics()  # the trackers average over calls; one step each here
        per_step.append({k: float(v) for k, v in gan.train_step(tf.constant(real)).items()})

    jax_generator, jax_discriminator = dcgan(latent_dim=noise.shape[-1], filters=config["filters"], dropout=0.0)

    def largest_differences(stage):  # per network: the largest |TF weight − JAX-written weight|
        jax_generator.load_weights(directory / f"generator_{stage}.weights.h5")
        jax_discriminator.load_weights(directory / f"discriminator_{stage}.weights.h5")
        return {
            name: max(float(np.max(np.abs(a - b))) for a, b in zip(tf_net.get_weights(), other.get_weights()))
            for name, tf_net, other in (
                ("generator", generator, jax_generator),
                ("discriminator", discriminator, jax_discriminator),
            )
        }

    weight_diff = largest_differences("final")
    moved = largest_differences("initial")  # how far training moved the weights
    metric_diff = max(abs(t[k] - j[k]) for t, j in zip(per_step, config["per_step"]) for k in t)
    return {
        "steps": len(per_step),
        "max_metric_difference": metric_diff,
        "max_weight_difference": weight_diff,
        "max_weight_change_in_training": moved,
        "tensorflow_per_step": per_step,
        "jax_per_step": config["per_step"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="what dcgan_jax.py --parity wrote")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args(argv)
    if not (args.directory / "jax_metrics.json").is_file():
        parser.error(f"{args.directory}: no jax_metrics.json; run dcgan_jax.py --parity {args.directory} first")
    report = replay(args.directory)
    print(json.dumps(report, indent=1))
    worst = max(report["max_metric_difference"], *report["max_weight_difference"].values())
    ok = worst <= args.tolerance and min(report["max_weight_change_in_training"].values()) > 100 * worst
    print(
        f"parity {'OK' if ok else 'FAILED'}: largest difference {worst:.2e} (tolerance {args.tolerance:g}); "
        f"weights moved by up to {report['max_weight_change_in_training']}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
