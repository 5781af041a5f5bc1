"""Benchmark: training and inference throughput of each app's model, one table, one run.

    python benchmarks/throughput.py              # every model, XLA on/off x mixed precision on/off
    python benchmarks/throughput.py --quick      # fewer steps, for a smoke run
    python benchmarks/throughput.py --sections custom_vs_plain   # one section; the JSON keeps the others

For every model an app trains (the seed CNN, ResNet-20, a MobileNetV2 transfer model,
U-Net, the LSTM sentiment classifier, and the custom-``train_step`` models: VAE, DCGAN,
FGSM adversarial training): training and inference examples/s with XLA (``jit_compile``)
on and off and with mixed precision (``mixed_bfloat16`` on CPU, ``mixed_float16`` on GPU)
on and off. Two more comparisons on the same network in the same process:

- a custom ``train_step`` (GradientTape, ``compute_loss``, ``apply_gradients``: what the
  custom loops do) versus Keras' own ``train_step`` on the same network, both driven by the same
  call (``train_on_batch``) and timed by :func:`kerasdl.benchmarking.compare` (identical
  warm-up, >= 20 interleaved rounds in alternating order, median and IQR of the per-round time
  ratio, load average before/after) — target overhead <= 5%;
- a ``tf.data`` pipeline decoding PNG files (cached after the first epoch) versus
  in-memory tensors — target ratio >= 0.95 (the input pipeline must not be the bottleneck).

Timings are medians over timed steps after warm-up (compilation excluded); absolute
numbers on shared machines are noisy, so compare ratios within one run. Writes
``benchmarks/results/throughput.json`` and a Markdown table ``throughput.md`` beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from kerasdl.benchmarking import MIN_ROUNDS, compare, describe, run_record, write_json

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("table", "custom_vs_plain", "files_vs_memory")


def _median_seconds(step, steps: int, warmup: int) -> float:
    import numpy as np

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------- model factories
# Each returns (model compiled with jit_compile, train batch (x, y) or x, inference input, batch size).


def _compiled(build, make_batch, loss="sparse_categorical_crossentropy"):
    """A factory for a model trained by plain ``fit``; ``make_batch(rng, batch)`` → ``(x, y)``."""

    def factory(jit, batch):
        import numpy as np

        from kerasdl.training import compile_model

        model = compile_model(build(), "adam", 1e-3, loss=loss, metrics=(), jit_compile=jit)
        x, y = make_batch(np.random.default_rng(0), batch)
        return model, (x, y), x

    return factory


def _images(shape, num_classes):
    return lambda rng, batch: (
        rng.uniform(0, 1, (batch, *shape)).astype("float32"),
        rng.integers(0, num_classes, batch),
    )


def _float32_output(model):
    import keras

    return keras.Model(model.inputs, keras.layers.Activation("linear", dtype="float32")(model.outputs[0]))


def _mnist_cnn():
    from kerasdl.models import mnist_cnn

    return _float32_output(mnist_cnn())


def _resnet20():
    from kerasdl.models import resnet_cifar

    return _float32_output(resnet_cifar(depth=20, input_shape=(32, 32, 3), num_classes=10))


def _transfer_mobilenet_v2():
    from kerasdl.transfer import build_transfer_model, load_backbone

    backbone = load_backbone("mobilenet_v2", input_shape=(96, 96, 3), weights=None)
    backbone.model.trainable = False  # phase 1 of fine-tuning: the head trains on a frozen base
    return build_transfer_model(backbone, 2)


def _unet():
    from kerasdl.models.unet import unet

    return _float32_output(unet(input_shape=(64, 64, 3), num_classes=3, depth=3, base_filters=16))


def _lstm_sentiment():
    from kerasdl.models.rnn import rnn_classifier

    return _float32_output(
        rnn_classifier(
            vocab_size=10000, embedding_dim=64, units=64, bidirectional=True, num_classes=1, sequence_length=64
        )
    )


def _vae_factory(jit, batch):
    import numpy as np

    from kerasdl.generative.vae_networks import vae_decoder, vae_encoder
    from kerasdl.generative.vae import VAE

    model = VAE(vae_encoder(latent_dim=16), vae_decoder(latent_dim=16))
    model.compile(optimizer="adam", jit_compile=jit)
    x = np.random.default_rng(0).uniform(0, 1, (batch, 28, 28, 1)).astype("float32")
    return model, x, x


def _dcgan_factory(jit, batch):
    import numpy as np

    from kerasdl.generative.gan_networks import dcgan
    from kerasdl.generative.gan import GAN

    generator, discriminator = dcgan(latent_dim=100)
    model = GAN(generator, discriminator)
    model.compile(jit_compile=jit)
    x = np.random.default_rng(0).uniform(-1, 1, (batch, 28, 28, 1)).astype("float32")
    z = np.random.default_rng(1).normal(size=(batch, 100)).astype("float32")
    return model, x, ("generator", z)


def _adversarial_factory(jit, batch):
    import numpy as np

    from kerasdl.training.adversarial import AdversarialModel

    model = AdversarialModel(_mnist_cnn(), attack="fgsm", eps=0.1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch, 28, 28, 1)).astype("float32")
    return model, (x, rng.integers(0, 10, batch)), x


MODELS = {
    "mnist_cnn (demo/train)": (_compiled(_mnist_cnn, _images((28, 28, 1), 10)), 64),
    "resnet_cifar depth 20 (train)": (_compiled(_resnet20, _images((32, 32, 3), 10)), 64),
    "mobilenet_v2 96px head (finetune)": (_compiled(_transfer_mobilenet_v2, _images((96, 96, 3), 2)), 32),
    "unet depth 3 (segment)": (
        _compiled(
            _unet,
            lambda rng, batch: (
                rng.uniform(0, 1, (batch, 64, 64, 3)).astype("float32"),
                rng.integers(0, 3, (batch, 64, 64)),
            ),
        ),
        16,
    ),
    "bi-LSTM (sentiment)": (
        _compiled(
            _lstm_sentiment,
            lambda rng, batch: (
                rng.integers(1, 10000, (batch, 64)).astype("int32"),
                rng.integers(0, 2, (batch, 1)).astype("float32"),
            ),
            loss="binary_crossentropy",
        ),
        64,
    ),
    "VAE conv, custom train_step (vae)": (_vae_factory, 64),
    "DCGAN, custom train_step (gan)": (_dcgan_factory, 64),
    "FGSM adversarial, custom train_step (adversarial)": (_adversarial_factory, 64),
}


def measure_model(factory, batch, *, jit, mixed, steps, warmup):
    import keras
    import tensorflow as tf

    from kerasdl.training import set_mixed_precision

    keras.backend.clear_session()
    set_mixed_precision(mixed)
    try:
        model, train_batch, infer_input = factory(jit, batch)
        if isinstance(train_batch, tuple):
            train = lambda: model.train_on_batch(*train_batch)  # noqa: E731
        else:
            train = lambda: model.train_on_batch(train_batch)  # noqa: E731
        if isinstance(infer_input, tuple) and infer_input[0] == "generator":
            network, inputs = model.generator, infer_input[1]
        else:
            network, inputs = model, infer_input
        predict = tf.function(lambda x: network(x, training=False), jit_compile=jit)
        infer = lambda: tf.nest.map_structure(lambda t: t.numpy(), predict(inputs))  # noqa: E731
        train_s = _median_seconds(train, steps, warmup)
        infer_s = _median_seconds(infer, steps, warmup)
    finally:
        set_mixed_precision(False)
    return {"train_per_s": round(batch / train_s, 1), "infer_per_s": round(batch / infer_s, 1)}


# ---------------------------------------------------------------- custom train_step vs fit


def custom_vs_plain(rounds=MIN_ROUNDS, warmup=3, calls_per_round=5, batch=64):
    """The same CNN trained by Keras' own train_step and by a hand-written one, both through
    ``train_on_batch`` on the same batch, timed side by side by :func:`kerasdl.benchmarking.compare`."""
    import keras
    import numpy as np
    import tensorflow as tf

    class CustomStep(keras.Model):
        """What kerasdl's custom loops do, with nothing else: tape, compute_loss, apply."""

        def __init__(self, network):
            super().__init__()
            self.network = network

        def call(self, x, training=False):
            return self.network(x, training=training)

        def train_step(self, data):
            x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
            with tf.GradientTape() as tape:
                y_pred = self.network(x, training=True)
                loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            return self.compute_metrics(x, y, y_pred)

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, batch)
    models = {}
    for name, wrap in (("keras_train_step", lambda m: m), ("custom_train_step", CustomStep)):
        keras.utils.set_random_seed(0)  # both start from the same weights
        models[name] = wrap(_mnist_cnn())
        models[name].compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    timing = compare(
        {name: (lambda m=model: m.train_on_batch(x, y)) for name, model in models.items()},
        warmup=warmup,
        rounds=rounds,
        calls_per_round=calls_per_round,
        units_per_call=batch,
        unit="examples",
    )
    print(describe(timing, "custom train_step vs Keras' train_step (train_on_batch, same CNN, batch 64)"))
    ratio = timing["ratios"]["custom_train_step"]["wall"]
    cpu = timing["ratios"]["custom_train_step"]["cpu"] or {
        "median": float("nan"),
        "q1": float("nan"),
        "q3": float("nan"),
    }
    return {
        "call": "train_on_batch on both sides",
        "keras_train_step_per_s": round(timing["sides"]["keras_train_step"]["per_second"], 1),
        "custom_train_step_per_s": round(timing["sides"]["custom_train_step"]["per_second"], 1),
        # custom seconds / Keras seconds per round, minus 1: > 0 means the custom step is slower
        "overhead_median": round(ratio["median"] - 1.0, 4),
        "overhead_iqr": [round(ratio["q1"] - 1.0, 4), round(ratio["q3"] - 1.0, 4)],
        # the same in process CPU seconds: steadier than wall time on shared, loaded cores
        "overhead_cpu_median": round(cpu["median"] - 1.0, 4),
        "overhead_cpu_iqr": [round(cpu["q1"] - 1.0, 4), round(cpu["q3"] - 1.0, 4)],
        "timing": timing,
    }


# ---------------------------------------------------------------- input pipeline


def files_vs_memory(epochs=3, batch=64):
    """The seed CNN trained from decoded PNG files (tf.data, cached) vs in-memory arrays."""
    import keras
    import numpy as np
    from PIL import Image

    from kerasdl.data import load_digits, make_dataset
    from kerasdl.training import EpochTimer, compile_model
    from kerasdl.transfer import image_folder_datasets, scan_image_folder

    (x, y), _ = load_digits(image_size=28)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (image, label) in enumerate(zip(x, y)):
            folder = Path(tmp) / str(label)
            folder.mkdir(exist_ok=True)
            Image.fromarray(image.reshape(28, 28)).save(folder / f"{i}.png")
        folder = scan_image_folder(tmp, check_decode=False)
        from_files, _, _ = image_folder_datasets(
            folder, image_size=(28, 28), batch_size=batch, validation_fraction=0.05
        )
        from_files = from_files.map(lambda images, labels: (images[..., :1] / 255.0, labels))
        n = int(len(folder.paths) * 0.95)  # as many images as the files' training split
        in_memory = make_dataset(x[:n].astype("float32") / 255.0, y[:n], batch, shuffle=True)

        seconds = {}
        for name, dataset in (("files", from_files), ("memory", in_memory)):
            keras.backend.clear_session()
            model = compile_model(_mnist_cnn(), "adam", 1e-3, jit_compile=False)
            timer = EpochTimer()
            model.fit(dataset, epochs=epochs, verbose=0, callbacks=[timer])
            seconds[name] = float(np.median(timer.epoch_seconds[1:]))  # epoch 1 decodes and fills the cache
    return {
        "files_epoch_s": round(seconds["files"], 3),
        "memory_epoch_s": round(seconds["memory"], 3),
        "ratio": round(seconds["memory"] / seconds["files"], 3),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps (compilation) per measurement")
    parser.add_argument("--quick", action="store_true", help="3 timed steps, 1 warm-up")
    parser.add_argument("--models", nargs="*", default=None, help="subset of model names (substring match)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "throughput.json")
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="what to measure (default: all); the JSON keeps the figures of the sections not run",
    )
    parser.add_argument("--rounds", type=int, default=30, help=f"custom_vs_plain: interleaved rounds (>= {MIN_ROUNDS})")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup = 3, 1
    if args.rounds < MIN_ROUNDS:
        parser.error(f"--rounds must be >= {MIN_ROUNDS}")
    from kerasdl.training import gpu_available

    gpu = gpu_available()
    results = {}
    if set(args.sections) != set(SECTIONS) and args.out.is_file():
        results = json.loads(args.out.read_text())  # keep the sections this run does not measure
    results.update(
        {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, GPU: {gpu}",
            "mixed_precision_policy": "mixed_float16" if gpu else "mixed_bfloat16",
        }
    )
    results.setdefault("runs", {})
    rows = []
    if "table" in args.sections:
        results.update({"steps": args.steps, "warmup": args.warmup, "models": {}})
        results["runs"]["table"] = run_record()
        for name, (factory, batch) in MODELS.items():
            if args.models and not any(part in name for part in args.models):
                continue
            entry = {"batch": batch}
            for jit in (False, True):
                for mixed in (False, True):
                    key = f"xla_{'on' if jit else 'off'}_mp_{'on' if mixed else 'off'}"
                    try:
                        entry[key] = measure_model(
                            factory, batch, jit=jit, mixed=mixed, steps=args.steps, warmup=args.warmup
                        )
                    except Exception as error:  # a configuration a model does not support is a result too
                        entry[key] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
                    print(f"{name:52s} {key:18s} {entry[key]}", flush=True)
            results["models"][name] = entry
            rows.append((name, entry))
        write_json(args.out, results)  # keep the table if a later part fails
    if "custom_vs_plain" in args.sections:
        results["runs"]["custom_vs_plain"] = run_record()
        results["custom_train_step_vs_fit"] = custom_vs_plain(rounds=args.rounds, warmup=max(args.warmup, 3))
        summary = {k: v for k, v in results["custom_train_step_vs_fit"].items() if k != "timing"}
        print("custom train_step vs Keras' train_step:", summary, flush=True)
        write_json(args.out, results)
    if "files_vs_memory" in args.sections:
        results["runs"]["files_vs_memory"] = run_record()
        results["files_vs_memory"] = files_vs_memory()
        print("tf.data from PNG files vs in-memory:", results["files_vs_memory"], flush=True)
        write_json(args.out, results)
    if not rows:
        print(f"wrote {args.out}")
        return 0

    header = (
        "| model | batch | train/s XLA off | XLA on | XLA off + MP | XLA on + MP | infer/s XLA off | XLA on "
        "| XLA off + MP | XLA on + MP |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    keys = ("xla_off_mp_off", "xla_on_mp_off", "xla_off_mp_on", "xla_on_mp_on")

    def cell(entry, key, field):
        value = entry[key].get(field)
        return "error" if value is None else f"{value:g}"

    from kerasdl.export import atomic_file

    table = header + "".join(
        f"| {name} | {entry['batch']} | "
        + " | ".join(cell(entry, k, "train_per_s") for k in keys)
        + " | "
        + " | ".join(cell(entry, k, "infer_per_s") for k in keys)
        + " |\n"
        for name, entry in rows
    )
    with atomic_file(args.out.with_suffix(".md")) as tmp:
        Path(tmp).write_text(table)
    print(table)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
