"""Train a GAN (MLP, DCGAN or class-conditional DCGAN) on MNIST/digits and export the generator.

    python -m apps.gan --kind dcgan --epochs 5
    python -m apps.gan --kind conditional --epochs 5 --label-smoothing 0.1 --d-steps 1
    python -m apps.gan --kind mlp --resume runs/gan/<run-id> --epochs 20    # continue a run

Writes to ``runs/gan/<run-id>/``: ``samples_epoch_NNN.png`` (the same latent vectors, and
labels 0..9 for the conditional GAN, after every epoch), ``training_curves.png``
(discriminator/generator losses and D's accuracy on real and fake halves),
``checkpoints/`` (``tf.train.CheckpointManager``: both networks and both optimizers) and
``summary.json``. If a loss becomes NaN the run stops, keeps its last good checkpoint,
exports nothing and exits with status 1 (``--resume`` with a lower ``--learning-rate``
continues from that checkpoint).
Exports the generator to ``saved_models/gan/<run-id>/``: ``serve(latent: float32 (N,
latent_dim)[, label: int32 (N,)])`` → ``{"images": uint8 (N, 28, 28, 1)}``.
"""

from __future__ import annotations

import sys

from kerasdl.apps._generative import add_generative_arguments

DESCRIPTION = "train a GAN (--kind mlp|dcgan|conditional) on MNIST/digits, plot samples, export the generator"


def add_arguments(parser):
    parser.add_argument(
        "--kind",
        choices=["mlp", "dcgan", "conditional"],
        default="dcgan",
        help="mlp: Goodfellow-style fully connected; dcgan; conditional: class-conditional DCGAN",
    )
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--d-steps", type=int, default=1, help="discriminator updates per generator update")
    parser.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help="one-sided: real target 1 - this (default: 0.1 with --loss nonsaturating, 0 with hinge)",
    )
    parser.add_argument(
        "--loss",
        choices=["nonsaturating", "hinge"],
        default="nonsaturating",
        help="GAN objective: the non-saturating BCE of Goodfellow et al. or the hinge loss of Miyato et al. 2018",
    )
    parser.add_argument(
        "--spectral-norm",
        action="store_true",
        help="spectral normalisation on every discriminator weight layer (Miyato et al. 2018)",
    )
    parser.add_argument(
        "--g-learning-rate",
        type=float,
        default=None,
        help="generator's (default: --learning-rate; with --resume: the checkpoint's unless given)",
    )
    parser.add_argument("--filters", type=int, default=64, help="DCGAN base filter count")
    add_generative_arguments(parser, app="gan", epochs_mnist=5, epochs_digits=100, learning_rate=2e-4)


def run(args) -> int:
    import time

    from kerasdl.apps._common import setup_runtime
    from kerasdl.apps._generative import check_common_arguments, finish, learning_rate, load_images, run_folder
    from kerasdl._runs import record_run
    from kerasdl.generative.export import export_image_generator, verify_export
    from kerasdl.training.resumable import fit_resumable
    from kerasdl._validation import check_float, check_int

    start = time.perf_counter()
    check_common_arguments(args)
    latent_dim = check_int("latent_dim", args.latent_dim, minimum=1)
    d_learning_rate = learning_rate(args)
    g_learning_rate = d_learning_rate if args.g_learning_rate is None else args.g_learning_rate
    check_float("g_learning_rate", g_learning_rate, minimum=0.0, min_inclusive=False)
    requested = {}  # learning rates given on the command line: they win over a resumed checkpoint's
    if args.learning_rate is not None:
        requested = {"d_optimizer": args.learning_rate, "g_optimizer": args.learning_rate}
    if args.g_learning_rate is not None:
        requested["g_optimizer"] = args.g_learning_rate
    strategy = setup_runtime(args)

    from kerasdl.data import make_dataset
    from kerasdl.plots import plot_history
    from kerasdl.generative.callbacks import SampleGrid
    from kerasdl.generative.gan import build_gan

    data, epochs = load_images(args)
    conditional = args.kind == "conditional"
    num_classes = data.num_classes if conditional else None
    run_dir = run_folder(args, "gan")
    with strategy.scope():
        gan = build_gan(
            "mlp" if args.kind == "mlp" else "dcgan",
            latent_dim,
            num_classes,
            args.filters,
            args.d_steps,
            args.label_smoothing,
            loss=args.loss,
            spectral_norm=args.spectral_norm,
        )  # conditional: the class-conditional DCGAN
        gan.compile(d_learning_rate=d_learning_rate, g_learning_rate=g_learning_rate, jit_compile=args.jit)
    images = data.x_train * 2.0 - 1.0  # the generators' tanh range
    train_ds = make_dataset(
        images,
        data.y_train if conditional else None,
        batch_size=args.batch_size,
        seed=args.seed,
        drop_remainder=len(images) >= args.batch_size,
    )
    samples = SampleGrid(
        run_dir,
        gan.generator,
        latent_dim,
        num_classes=num_classes,
        value_range=(-1.0, 1.0),
        ncols=10 if conditional else 8,
        num_samples=80 if conditional else 64,
        seed=args.seed,
    )
    logs, checkpoint = fit_resumable(
        gan, train_ds, epochs, run_dir, callbacks=[samples], learning_rates=requested, announce_run=record_run
    )
    curves = plot_history(logs, run_dir / "training_curves.png", title=f"{args.kind} GAN") if logs else None
    export_path = export_image_generator(
        gan.generator,
        f"{args.export_dir}/{run_dir.name}",
        value_range=(-1.0, 1.0),
        num_classes=num_classes,
        overwrite=args.resume is not None,
    )
    summary = {
        "app": "gan",
        "kind": args.kind,
        "latent_dim": latent_dim,
        "dataset": data.name,
        "epochs_done": int(checkpoint.epoch.numpy()),
        "d_steps": args.d_steps,
        "label_smoothing": gan.label_smoothing,
        "loss": args.loss,
        "spectral_norm": args.spectral_norm,
        "final_epoch": {k: round(v[-1], 4) for k, v in logs.items()},
        "stopped_on_nan": checkpoint.stopped_on_nan,
        "run_dir": str(run_dir),
        "curves_png": str(curves),
        "last_samples_png": str(samples.paths[-1]) if samples.paths else None,
        "export": str(export_path),
        "export_max_abs_diff": verify_export(
            export_path, gan.generator, value_range=(-1.0, 1.0), num_classes=num_classes
        ),
    }
    finish(run_dir, summary, start)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
