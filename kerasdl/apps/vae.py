"""Train a variational autoencoder on MNIST (or scikit-learn's digits) and export its decoder.

    python -m apps.vae --kind conv --latent-dim 2 --epochs 10
    python -m apps.vae --resume runs/vae/<run-id> --epochs 20      # continue an interrupted run

Writes to ``runs/vae/<run-id>/``: ``training_curves.png`` (total, reconstruction and KL
loss), ``samples_epoch_NNN.png`` (the same prior draws decoded after every epoch),
``interpolation.png`` (decoded straight lines between test images' codes),
``manifold.png`` for a 2-D latent, ``checkpoints/`` and ``summary.json``. Exports the
decoder to ``saved_models/vae/<run-id>/``: ``serve(latent: float32 (N, latent_dim))`` →
``{"images": uint8 (N, 28, 28, 1)}``.
"""

from __future__ import annotations

import sys

from kerasdl.apps._generative import add_generative_arguments

DESCRIPTION = "train a VAE (dense or conv) on MNIST/digits, plot samples and manifold, export the decoder"


def add_arguments(parser):
    parser.add_argument("--kind", choices=["conv", "dense"], default="conv", help="encoder/decoder family")
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (beta-VAE); > 0")
    add_generative_arguments(parser, app="vae", epochs_mnist=10, epochs_digits=60)


def run(args) -> int:
    import time

    from kerasdl.apps._generative import check_common_arguments, finish, learning_rate, load_images, run_folder
    from kerasdl._runs import record_run
    from kerasdl.generative.export import export_image_generator, verify_export
    from kerasdl.training.resumable import fit_resumable
    from kerasdl.apps._common import setup_runtime
    from kerasdl._validation import check_float, check_int

    start = time.perf_counter()
    check_common_arguments(args)
    latent_dim = check_int("latent_dim", args.latent_dim, minimum=1)
    beta = check_float("beta", args.beta, minimum=0.0, min_inclusive=False)
    strategy = setup_runtime(args)

    import numpy as np

    from kerasdl.data import make_dataset
    from kerasdl.generative.vae_networks import vae_decoder, vae_encoder
    from kerasdl.plots import plot_history
    from kerasdl.generative.callbacks import SampleGrid, save_image_grid
    from kerasdl.generative.vae import VAE, latent_manifold

    data, epochs = load_images(args)
    run_dir = run_folder(args, "vae")
    with strategy.scope():
        vae = VAE(
            vae_encoder(latent_dim=latent_dim, kind=args.kind, seed=args.seed),
            vae_decoder(latent_dim=latent_dim, kind=args.kind),
            beta=beta,
        )
        vae.compile("adam", learning_rate(args), jit_compile=args.jit)
    train_ds = make_dataset(data.x_train, batch_size=args.batch_size, seed=args.seed)
    test_ds = make_dataset(data.x_test, batch_size=512, shuffle=False)
    samples = SampleGrid(run_dir, vae.decoder, latent_dim, value_range=(0.0, 1.0), seed=args.seed)
    logs, checkpoint = fit_resumable(
        vae,
        train_ds,
        epochs,
        run_dir,
        validation_data=test_ds,
        callbacks=[samples],
        learning_rates=None if args.learning_rate is None else {"optimizer": args.learning_rate},
        announce_run=record_run,
    )

    test = vae.evaluate(test_ds, verbose=0, return_dict=True)
    curves = plot_history(logs, run_dir / "training_curves.png", title=f"{args.kind} VAE, {latent_dim}-D latent")
    pairs = [(data.x_test[i], data.x_test[i + 1]) for i in range(0, 8, 2)]
    interpolation = np.concatenate([vae.interpolate(a, b, steps=10) for a, b in pairs])
    save_image_grid(interpolation, run_dir / "interpolation.png", ncols=10)
    save_image_grid(vae.generate(64, seed=args.seed), run_dir / "samples_final.png")
    summary = {
        "app": "vae",
        "kind": args.kind,
        "latent_dim": latent_dim,
        "beta": beta,
        "dataset": data.name,
        "epochs_done": int(checkpoint.epoch.numpy()),
        "test_loss": round(test["loss"], 3),
        "test_reconstruction_loss": round(test["reconstruction_loss"], 3),
        "test_kl_loss": round(test["kl_loss"], 3),
        "stopped_on_nan": checkpoint.stopped_on_nan,
        "run_dir": str(run_dir),
        "curves_png": str(curves),
    }
    if latent_dim == 2:
        summary["manifold_png"] = str(
            save_image_grid(latent_manifold(vae.decoder, 15), run_dir / "manifold.png", ncols=15)
        )
    export_path = export_image_generator(
        vae.decoder, f"{args.export_dir}/{run_dir.name}", value_range=(0.0, 1.0), overwrite=args.resume is not None
    )
    summary["export"] = str(export_path)
    summary["export_max_abs_diff"] = verify_export(export_path, vae.decoder, value_range=(0.0, 1.0))
    finish(run_dir, summary, start)
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
