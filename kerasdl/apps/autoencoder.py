"""Train a (sparse, denoising) autoencoder on MNIST/digits and export its decoder.

    python -m apps.autoencoder --kind conv --code-size 16 --noise-std 0.3 --epochs 5
    python -m apps.autoencoder --kind dense --code-size 64 --code-activation sigmoid --sparsity kl \
        --sparsity-target 0.05 --sparsity-weight 0.1

Training corrupts each batch (Gaussian noise ``--noise-std``, masking noise
``--mask-fraction``) and reconstructs the clean images (``DenoisingAutoencoder``); with no
noise it is a plain autoencoder. Writes to ``runs/autoencoder/<run-id>/``:
``reconstructions.png`` (rows: clean, corrupted, reconstructed test images),
``training_curves.png``, ``checkpoints/`` and ``summary.json`` (test PSNR of the corrupted
input and of the reconstruction, mean code activation). Exports the decoder to
``saved_models/autoencoder/<run-id>/``: ``serve(latent: float32 (N, code_size))`` →
``{"images": uint8 (N, 28, 28, 1)}``.
"""

from __future__ import annotations

import sys

from kerasdl.apps._generative import add_generative_arguments

DESCRIPTION = "train a dense/conv (sparse, denoising) autoencoder on MNIST/digits and export the decoder"


def add_arguments(parser):
    parser.add_argument("--kind", choices=["dense", "conv"], default="dense")
    parser.add_argument("--code-size", type=int, default=32, help="bottleneck width")
    parser.add_argument(
        "--code-activation",
        choices=["relu", "sigmoid", "linear", "tanh"],
        default=None,
        help="default: relu (dense), linear (conv); sigmoid for --sparsity kl",
    )
    parser.add_argument("--sparsity", choices=["none", "l1", "kl"], default="none", help="penalty on the code")
    parser.add_argument("--sparsity-weight", type=float, default=1e-4, help="L1 coefficient or KL weight beta")
    parser.add_argument("--sparsity-target", type=float, default=0.05, help="KL sparsity target rho")
    parser.add_argument("--noise-std", type=float, default=0.0, help="Gaussian corruption in training")
    parser.add_argument("--mask-fraction", type=float, default=0.0, help="masking corruption in training")
    add_generative_arguments(parser, app="autoencoder", epochs_mnist=5, epochs_digits=40)


def run(args) -> int:
    import time

    from kerasdl.apps._common import setup_runtime
    from kerasdl.apps._generative import check_common_arguments, finish, learning_rate, load_images, run_folder
    from kerasdl._runs import record_run
    from kerasdl.generative.export import export_image_generator, verify_export
    from kerasdl.training.resumable import fit_resumable

    start = time.perf_counter()
    check_common_arguments(args)
    code_activation = args.code_activation or (
        "sigmoid" if args.sparsity == "kl" else "relu" if args.kind == "dense" else "linear"
    )
    strategy = setup_runtime(args)

    import numpy as np
    import tensorflow as tf

    from kerasdl.data import make_dataset
    from kerasdl.generative.autoencoder_networks import autoencoder
    from kerasdl.plots import plot_history
    from kerasdl.generative.autoencoder import DenoisingAutoencoder, corrupt
    from kerasdl.generative.callbacks import save_image_grid

    with strategy.scope():  # builds (and validates every option) before any data is read
        parts = autoencoder(
            args.kind,
            code_size=args.code_size,
            code_activation=code_activation,
            sparsity=args.sparsity,
            sparsity_weight=args.sparsity_weight,
            sparsity_target=args.sparsity_target,
        )
        model = DenoisingAutoencoder(parts.autoencoder, args.noise_std, args.mask_fraction)
        model.compile("adam", learning_rate(args), jit_compile=args.jit)
    data, epochs = load_images(args)
    run_dir = run_folder(args, "autoencoder")
    train_ds = make_dataset(data.x_train, batch_size=args.batch_size, seed=args.seed)
    test_ds = make_dataset(data.x_test, batch_size=512, shuffle=False)
    logs, checkpoint = fit_resumable(
        model,
        train_ds,
        epochs,
        run_dir,
        validation_data=test_ds,
        learning_rates=None if args.learning_rate is None else {"optimizer": args.learning_rate},
        announce_run=record_run,
    )

    clean = data.x_test
    noisy = corrupt(clean, args.noise_std, args.mask_fraction, seed=args.seed).numpy()
    reconstructed = np.asarray(parts.autoencoder.predict(noisy, batch_size=512, verbose=0))
    psnr_noisy = float(tf.reduce_mean(tf.image.psnr(clean, noisy, max_val=1.0)))
    psnr_reconstructed = float(tf.reduce_mean(tf.image.psnr(clean, reconstructed, max_val=1.0)))
    save_image_grid(
        np.concatenate([clean[:10], noisy[:10], reconstructed[:10]]), run_dir / "reconstructions.png", ncols=10
    )
    codes = np.asarray(parts.encoder.predict(clean, batch_size=512, verbose=0))
    curves = plot_history(logs, run_dir / "training_curves.png", title=f"{args.kind} autoencoder") if logs else None
    export_path = export_image_generator(
        parts.decoder, f"{args.export_dir}/{run_dir.name}", value_range=(0.0, 1.0), overwrite=args.resume is not None
    )
    summary = {
        "app": "autoencoder",
        "kind": args.kind,
        "code_size": args.code_size,
        "code_activation": code_activation,
        "sparsity": args.sparsity,
        "noise_std": args.noise_std,
        "mask_fraction": args.mask_fraction,
        "dataset": data.name,
        "epochs_done": int(checkpoint.epoch.numpy()),
        "test_psnr_corrupted_input": round(psnr_noisy, 2) if np.isfinite(psnr_noisy) else None,
        "test_psnr_reconstruction": round(psnr_reconstructed, 2),
        "mean_code_activation": round(float(codes.mean()), 4),
        "stopped_on_nan": checkpoint.stopped_on_nan,
        "run_dir": str(run_dir),
        "curves_png": str(curves),
        "export": str(export_path),
        "export_max_abs_diff": verify_export(export_path, parts.decoder, value_range=(0.0, 1.0)),
    }
    finish(run_dir, summary, start)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
