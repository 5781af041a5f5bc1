"""Train kerasdl's DCGAN on a GPU machine that has JAX but no TensorFlow; score it here.

kerasdl's GAN training loop is TensorFlow-only (``GAN.train_step`` uses
``tf.GradientTape``), and the GPU machine lent to some tasks has JAX, not TensorFlow (its
image holds no TensorFlow, and the wheel is far over what can be carried there). kerasdl's
builders, layers and losses are backend-neutral (see ``kerasdl/__init__.py``), so this script
imports the **same builder** (``kerasdl.generative.gan_networks.dcgan``), the **same losses**
(``kerasdl.generative.losses``) and the **same evaluator**
(``kerasdl.generative.evaluation.GenerativeEvaluator``) normally, on Keras' JAX backend, and
ports only ``kerasdl.generative.gan.GAN.train_step`` to ``jax.grad``: d_steps
discriminator updates on a real and a generated batch, then one generator update with the
non-saturating loss, each network with its own Adam, every ``training=True`` forward pass
updating batch-norm statistics and dropout seeds as it does under TensorFlow.

It writes generator weights (``.weights.h5``, backend-independent) at chosen epochs and a
JSON history; ``python benchmarks/generative.py --sections dcgan_weights --dcgan-weights
FILE ...`` then scores them on this machine with the package's own evaluator (the
``mnist_cnn`` judge, IS and FD of 10,000 samples), so only the training loop is the port.

``--parity DIR`` checks the port: it trains a dropout-free DCGAN for a few steps from saved
initial weights and noise and writes everything to DIR; ``benchmarks/dcgan_jax_parity.py``
replays the same steps through ``kerasdl.generative.gan.GAN`` under TensorFlow and compares.

    KERAS_BACKEND=jax python benchmarks/dcgan_jax.py --mnist mnist.npz --filters 64 \\
        --epochs 50 --save-at 10 25 50 --out results_dir
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# The JAX backend, chosen before keras (and kerasdl, which would otherwise default to
# TensorFlow) is imported. An explicit KERAS_BACKEND=jax in the environment is the same.
os.environ["KERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

from kerasdl.benchmarking import write_json  # noqa: E402
from kerasdl.export import atomic_file  # noqa: E402
from kerasdl.generative.evaluation import GenerativeEvaluator  # noqa: E402
from kerasdl.generative import losses  # noqa: E402
from kerasdl.generative.gan_networks import dcgan  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


class JaxGAN:
    """The port of ``GAN.train_step``: state is (g_trainable, g_other, d_trainable, d_other,
    g_optimizer_vars, d_optimizer_vars); ``step`` is one jitted ``train_step``."""

    def __init__(
        self,
        generator,
        discriminator,
        losses,
        d_steps,
        label_smoothing,
        d_learning_rate,
        g_learning_rate,
        beta_1,
        ema_momentum=None,
    ):
        import jax
        import keras

        self.generator, self.discriminator, self.losses = generator, discriminator, losses
        self.d_steps, self.label_smoothing = d_steps, label_smoothing
        self.latent_dim = int(generator.inputs[0].shape[-1])
        # ema_momentum: Keras' own optimizer EMA of G's weights (what GAN.compile(g_optimizer=...) takes)
        ema = {"use_ema": True, "ema_momentum": ema_momentum} if ema_momentum else {}
        self.g_optimizer = keras.optimizers.Adam(g_learning_rate, beta_1=beta_1, **ema)
        self.d_optimizer = keras.optimizers.Adam(d_learning_rate, beta_1=beta_1)
        self.g_optimizer.build(generator.trainable_variables)
        self.d_optimizer.build(discriminator.trainable_variables)
        self.step = jax.jit(self._train_step)

    def state(self):
        values = lambda variables: [v.value for v in variables]  # noqa: E731
        return (
            values(self.generator.trainable_variables),
            values(self.generator.non_trainable_variables),
            values(self.discriminator.trainable_variables),
            values(self.discriminator.non_trainable_variables),
            values(self.g_optimizer.variables),
            values(self.d_optimizer.variables),
        )

    def assign(self, state):
        """Write a state back into the Keras variables (before saving weights)."""
        groups = (
            self.generator.trainable_variables,
            self.generator.non_trainable_variables,
            self.discriminator.trainable_variables,
            self.discriminator.non_trainable_variables,
            self.g_optimizer.variables,
            self.d_optimizer.variables,
        )
        for variables, values in zip(groups, state):
            for variable, value in zip(variables, values):
                variable.assign(value)

    def _d_loss(self, d_tv, d_ntv, g_tv, g_ntv, real, z):
        fake, g_ntv = self.generator.stateless_call(g_tv, g_ntv, z, training=True)
        real_logits, d_ntv = self.discriminator.stateless_call(d_tv, d_ntv, real, training=True)
        fake_logits, d_ntv = self.discriminator.stateless_call(d_tv, d_ntv, fake, training=True)
        per_example = self.losses.discriminator_loss(real_logits, fake_logits, self.label_smoothing)
        return per_example.mean(), (d_ntv, g_ntv, per_example, real_logits, fake_logits)

    def _g_loss(self, g_tv, g_ntv, d_tv, d_ntv, z):
        fake, g_ntv = self.generator.stateless_call(g_tv, g_ntv, z, training=True)
        fake_logits, d_ntv = self.discriminator.stateless_call(d_tv, d_ntv, fake, training=True)
        per_example = self.losses.generator_loss(fake_logits)
        return per_example.mean(), (g_ntv, d_ntv, per_example)

    def _train_step(self, state, real, zs):
        """``zs``: (d_steps + 1, batch, latent) noise, one slice per forward pass of G."""
        import jax

        g_tv, g_ntv, d_tv, d_ntv, g_opt, d_opt = state
        for i in range(self.d_steps):
            grads, (d_ntv, g_ntv, d_per, real_logits, fake_logits) = jax.grad(self._d_loss, has_aux=True)(
                d_tv, d_ntv, g_tv, g_ntv, real, zs[i]
            )
            d_tv, d_opt = self.d_optimizer.stateless_apply(d_opt, grads, d_tv)
        grads, (g_ntv, d_ntv, g_per) = jax.grad(self._g_loss, has_aux=True)(g_tv, g_ntv, d_tv, d_ntv, zs[-1])
        g_tv, g_opt = self.g_optimizer.stateless_apply(g_opt, grads, g_tv)
        metrics = {
            "d_loss": d_per.mean(),
            "g_loss": g_per.mean(),
            "d_real_accuracy": (real_logits.reshape(-1) > 0).mean(),
            "d_fake_accuracy": (fake_logits.reshape(-1) < 0).mean(),
        }
        return (g_tv, g_ntv, d_tv, d_ntv, g_opt, d_opt), metrics


def _generate(generator, num_samples, seed):
    """``GAN.generate``: z from ``np.random.default_rng(seed)``, so the same weights give the same samples."""
    z = np.random.default_rng(seed).standard_normal((num_samples, int(generator.inputs[0].shape[-1])))
    return np.asarray(generator.predict(z.astype("float32"), batch_size=256, verbose=0))


def _final_scores(evaluator, generator, x_test, seed):
    """The figures generative.py reports: 10,000 samples, IS over 10 splits, FD to the test set."""
    samples = _generate(generator, 10_000, seed)
    inception, inception_std = evaluator.inception_score(samples, splits=10, value_range=(-1, 1))
    fd = evaluator.frechet_distance(samples, x_test, value_range_a=(-1, 1))
    return {
        "inception_score": round(inception, 3),
        "inception_score_std": round(inception_std, 3),
        "samples": 10_000,
        "frechet_distance_to_test": round(fd, 3),
    }


def _train(args):
    import jax
    import keras

    keras.utils.set_random_seed(args.seed)
    generator, discriminator = dcgan(
        latent_dim=100, filters=args.filters, dropout=args.dropout, discriminator_filters=args.discriminator_filters
    )
    gan = JaxGAN(
        generator,
        discriminator,
        losses,
        args.d_steps,
        args.label_smoothing,
        args.d_learning_rate,
        args.g_learning_rate,
        args.beta_1,
        args.ema_momentum,
    )
    with np.load(args.mnist) as data:
        images = data["x_train"].astype("float32")[..., None] / 127.5 - 1.0  # [-1, 1], as the benchmark
        x_test = data["x_test"].astype("float32")[..., None] / 255.0
    images = jax.device_put(images)
    evaluator = GenerativeEvaluator(keras.saving.load_model(args.judge)) if args.judge else None
    batches = len(images) // args.batch_size  # drop_remainder, as the benchmark
    key = jax.random.PRNGKey(args.seed)
    state, history, out = gan.state(), [], Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = args.tag or f"dcgan_f{args.filters}" + (f"_d{args.d_steps}" if args.d_steps != 1 else "")
    start = time.perf_counter()
    print(
        f"{tag}: {generator.count_params():,} G / {discriminator.count_params():,} D parameters, "
        f"{batches} batches of {args.batch_size} per epoch on {jax.devices()[0]}",
        flush=True,
    )
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        key, shuffle_key, noise_key = jax.random.split(key, 3)
        order = jax.random.permutation(shuffle_key, len(images))[: batches * args.batch_size]
        order = order.reshape(batches, args.batch_size)
        noise = jax.random.normal(noise_key, (batches, args.d_steps + 1, args.batch_size, gan.latent_dim))
        sums = None
        for b in range(batches):
            state, metrics = gan.step(state, images[order[b]], noise[b])
            sums = metrics if sums is None else jax.tree.map(lambda a, m: a + m, sums, metrics)
        means = {k: round(float(v) / batches, 4) for k, v in sums.items()}
        if not np.isfinite(means["d_loss"]) or not np.isfinite(means["g_loss"]):
            raise SystemExit(f"{tag}: non-finite loss at epoch {epoch}: {means}")
        seconds = time.perf_counter() - epoch_start
        history.append({"epoch": epoch, "seconds": round(seconds, 2), **means})
        out_of_time = args.budget_s and time.perf_counter() - start > args.budget_s
        last = epoch == args.epochs or out_of_time
        score_now = evaluator is not None and (last or epoch % args.score_every == 0)
        save_now = epoch in args.save_at or last
        if score_now or save_now:
            gan.assign(state)
            if score_now:  # as generative.py's score curve
                samples = _generate(generator, 5_000, args.seed)
                history[-1]["inception_score_5000"] = round(
                    evaluator.inception_score(samples, splits=5, value_range=(-1, 1))[0], 3
                )
            if save_now and not args.ema_momentum:
                generator.save_weights(out / f"{tag}_e{epoch}.weights.h5")
            if args.ema_momentum:  # the same, with G's weights swapped for their moving average
                raw = generator.get_weights()
                gan.g_optimizer.finalize_variable_values(generator.trainable_variables)
                generator.set_weights(generator.get_weights())  # own buffers: predict donates them, not the EMA's
                if score_now:
                    history[-1]["ema_inception_score_5000"] = round(
                        evaluator.inception_score(
                            _generate(generator, 5_000, args.seed), splits=5, value_range=(-1, 1)
                        )[0],
                        3,
                    )
                if save_now:
                    generator.save_weights(out / f"{tag}_ema_e{epoch}.weights.h5")
                if last and evaluator:
                    ema_final = _final_scores(evaluator, generator, x_test, args.seed)
                generator.set_weights(raw)
            state = gan.state()  # Keras' jitted predict donates the buffers it ran on: read them back
        print(f"{tag} epoch {epoch}: {history[-1]} ({seconds:.1f} s)", flush=True)
        if out_of_time:
            print(f"{tag}: time budget {args.budget_s} s spent after epoch {epoch}", flush=True)
            break
    summary = {
        "filters": args.filters,
        "discriminator_filters": args.discriminator_filters or args.filters,
        "dropout": args.dropout,
        "d_steps": args.d_steps,
        "batch_size": args.batch_size,
        "label_smoothing": args.label_smoothing,
        "optimizer": f"adam beta_1={args.beta_1}, D lr {args.d_learning_rate}, G lr {args.g_learning_rate}",
        "g_ema_momentum": args.ema_momentum,
        "seed": args.seed,
        "device": str(jax.devices()[0]),
        "jax": jax.__version__,
        "keras": keras.__version__,
        "epochs": len(history),
        "parameters": {"generator": generator.count_params(), "discriminator": discriminator.count_params()},
        "seconds_per_epoch_after_first": round(float(np.mean([h["seconds"] for h in history[1:]] or [0])), 2),
        "history": history,
    }
    if evaluator:
        summary["final"] = {"epoch": len(history), **_final_scores(evaluator, generator, x_test, args.seed)}
        if args.ema_momentum:
            summary["final_ema"] = {"epoch": len(history), **ema_final}
        print(f"{tag}: {summary['final']} EMA: {summary.get('final_ema')}", flush=True)
    write_json(out / f"{tag}.json", summary)  # atomic: a reader never sees half a file


def _parity(args):
    """A few steps of a dropout-free DCGAN (dropout draws differ between backends) from
    fixed weights, batches and noise; everything goes to ``args.parity`` for the TF replay."""
    import keras

    keras.utils.set_random_seed(args.seed)
    generator, discriminator = dcgan(latent_dim=100, filters=args.filters, dropout=0.0)
    out = Path(args.parity)
    out.mkdir(parents=True, exist_ok=True)
    generator.save_weights(out / "generator_initial.weights.h5")
    discriminator.save_weights(out / "discriminator_initial.weights.h5")
    gan = JaxGAN(
        generator,
        discriminator,
        losses,
        args.d_steps,
        args.label_smoothing,
        args.d_learning_rate,
        args.g_learning_rate,
        args.beta_1,
    )
    rng = np.random.default_rng(args.seed)
    steps = args.parity_steps
    real = rng.uniform(-1, 1, (steps, args.batch_size, 28, 28, 1)).astype("float32")
    noise = rng.standard_normal((steps, args.d_steps + 1, args.batch_size, 100)).astype("float32")
    state, per_step = gan.state(), []
    for s in range(steps):
        state, metrics = gan.step(state, real[s], noise[s])
        per_step.append({k: float(v) for k, v in metrics.items()})
    gan.assign(state)
    generator.save_weights(out / "generator_final.weights.h5")
    discriminator.save_weights(out / "discriminator_final.weights.h5")
    with atomic_file(out / "inputs.npz", suffix=".npz") as tmp:
        np.savez(tmp, real=real, noise=noise)
    write_json(
        out / "jax_metrics.json",
        {
            "filters": args.filters,
            "d_steps": args.d_steps,
            "label_smoothing": args.label_smoothing,
            "d_learning_rate": args.d_learning_rate,
            "g_learning_rate": args.g_learning_rate,
            "beta_1": args.beta_1,
            "per_step": per_step,
        },
    )
    print(json.dumps(per_step))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mnist",
        default=str(REPO.parent / "shared" / "data" / "mnist" / "mnist.npz"),
        help="Keras-format mnist.npz (x_train uint8 60000x28x28)",
    )
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--d-steps", type=int, default=1)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--d-learning-rate", type=float, default=2e-4)
    parser.add_argument("--g-learning-rate", type=float, default=2e-4)
    parser.add_argument("--dropout", type=float, default=0.3, help="dcgan(dropout=...): the discriminator's")
    parser.add_argument("--discriminator-filters", type=int, default=None, help="dcgan(discriminator_filters=...)")
    parser.add_argument(
        "--ema-momentum",
        type=float,
        default=None,
        help="also score an exponential moving average of G's weights (Adam(use_ema=True))",
    )
    parser.add_argument("--tag", help="file name stem (default dcgan_f<filters>)")
    parser.add_argument("--beta-1", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-at", type=int, nargs="*", default=[], help="epochs whose generator weights to write")
    parser.add_argument("--budget-s", type=float, default=0, help="stop (saving weights) after this many seconds")
    parser.add_argument("--judge", help="the benchmark's mnist_cnn judge (.keras): score IS / FD on the device")
    parser.add_argument("--score-every", type=int, default=5, help="with --judge: IS of 5,000 samples every N epochs")
    parser.add_argument("--out", default="dcgan_jax_out")
    parser.add_argument("--parity", metavar="DIR", help="write a parity check for dcgan_jax_parity.py and exit")
    parser.add_argument("--parity-steps", type=int, default=3)
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.epochs < 1 or args.d_steps < 1:
        parser.error("--batch-size, --epochs and --d-steps must be >= 1")
    if args.score_every < 1:
        parser.error("--score-every must be >= 1")
    if args.judge and not Path(args.judge).is_file():
        parser.error(f"--judge {args.judge}: no such file")
    if not args.parity and not Path(args.mnist).is_file():
        parser.error(f"--mnist {args.mnist}: no such file (Keras-format mnist.npz)")
    (_parity if args.parity else _train)(args)


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
