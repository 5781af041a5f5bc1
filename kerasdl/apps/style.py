"""Neural style transfer: paint CONTENT in the style of STYLE.

    kerasdl style photo.jpg painting.jpg --out out.png --steps 300
    python -m apps.style photo.jpg painting.jpg --network mobilenet_v2 --image-size 224

Optimises an image (content + noise) with Adam so that a pretrained CNN sees the content
image's features at a middle layer and the style image's Gram matrices at several layers
(:mod:`kerasdl.style_transfer`). VGG19 is the classic network; its ImageNet weights come
from the data folder or the Keras cache (``--network mobilenet_v2`` uses the MobileNetV2
weights shipped in ``$KERASDL_DATA_DIR/keras/models/``; ``--weights none`` runs with random
features). Writes OUT atomically (an interrupted run leaves no partial file), intermediate
PNGs, the loss curves and ``summary.json`` under ``runs/style/<run-id>/``. No model is
trained, so nothing is exported: the output is the image.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kerasdl.apps._common import jit_flag, new_run_dir, write_summary

DESCRIPTION = "neural style transfer: optimise an image to match CONTENT's features and STYLE's Gram matrices"


def add_arguments(parser):
    parser.add_argument("content", help="content image (JPEG/PNG)")
    parser.add_argument("style", help="style image (JPEG/PNG)")
    parser.add_argument("--out", default="stylised.png", help="output PNG (written atomically)")
    parser.add_argument("--steps", type=int, default=200, help="Adam steps")
    parser.add_argument("--content-weight", type=float, default=1.0, help="α, weight of the content cost")
    parser.add_argument("--style-weight", type=float, default=100.0, help="β, weight of the style cost")
    parser.add_argument("--tv-weight", type=float, default=0.0, help="weight of the total-variation cost")
    parser.add_argument("--learning-rate", type=float, default=0.02, help="Adam learning rate (image in [0, 1])")
    parser.add_argument("--network", default="vgg19", help="keras.applications CNN (vgg19, vgg16, mobilenet_v2, ...)")
    parser.add_argument(
        "--weights",
        choices=["imagenet", "none"],
        default="imagenet",
        help="pretrained ImageNet features, or random ones (none)",
    )
    parser.add_argument("--content-layer", default=None, help="content layer (default: per network)")
    parser.add_argument("--style-layers", default=None, help="comma-separated style layers (default: per network)")
    parser.add_argument("--image-size", type=int, default=256, help="longer side of the working image, pixels")
    parser.add_argument("--noise", type=float, default=0.1, help="uniform noise added to the starting image")
    parser.add_argument(
        "--intermediate-every", type=int, default=50, help="write an intermediate PNG every N steps (0: never)"
    )
    parser.add_argument("--runs-dir", default="runs/style")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "on", "off"],
        default="auto",
        help="XLA for the optimisation step (auto: on with a GPU)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from kerasdl._validation import check_int
    from kerasdl.plots import plot_curves
    from kerasdl.style_transfer import load_image, perceptual_features, save_png, transfer_style
    from kerasdl.training import set_seed

    check_int("image-size", args.image_size, minimum=16)
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must be a .png path, got {args.out!r}")
    set_seed(args.seed)
    content = load_image(args.content, args.image_size)
    style = load_image(args.style, args.image_size)
    style_layers = [s.strip() for s in args.style_layers.split(",")] if args.style_layers else None
    features = perceptual_features(
        args.network,
        content_layer=args.content_layer,
        style_layers=style_layers,
        weights=None if args.weights == "none" else "imagenet",
    )
    run_dir = new_run_dir(args.runs_dir)
    print(
        f"{features.network} features (weights: {args.weights}); content layer {features.content_layer}, "
        f"style layers {', '.join(features.style_layers)}; image {content.shape[1]}x{content.shape[0]}"
    )
    result = transfer_style(
        content,
        style,
        features=features,
        steps=args.steps,
        learning_rate=args.learning_rate,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        tv_weight=args.tv_weight,
        noise=args.noise,
        seed=args.seed,
        intermediate_dir=run_dir / "intermediate",
        intermediate_every=args.intermediate_every,
        checkpoint_dir=run_dir / "checkpoints",
        progress=not args.quiet,
        jit_compile=jit_flag(args.jit_compile),
    )
    save_png(result.image, out)
    import numpy as np

    curves = plot_curves(
        {k: np.log10(np.maximum(v, 1e-30)) for k, v in result.history.items() if k != "tv" or args.tv_weight},
        run_dir / "losses.png",
        ylabel="log10 cost (unweighted content/style)",
        title="style transfer costs",
    )
    history = result.history
    summary = {
        "content": str(args.content),
        "style": str(args.style),
        "out": str(out),
        "network": features.network,
        "weights": args.weights,
        "content_layer": features.content_layer,
        "style_layers": list(features.style_layers),
        "image_size": list(content.shape[:2]),
        "steps": result.steps_run,
        "learning_rate": args.learning_rate,
        "content_weight": args.content_weight,
        "style_weight": args.style_weight,
        "tv_weight": args.tv_weight,
        "initial": {k: v[0] for k, v in history.items()},
        "final": {k: v[-1] for k, v in history.items()},
        "style_reduction": result.style_reduction,
        "seconds_per_step": result.seconds_per_step,
        "intermediate_pngs": result.intermediate_pngs,
        "losses_png": str(curves),
        "run_dir": str(run_dir),
    }
    write_summary(run_dir, summary)
    print(
        f"\nStyle loss {history['style'][0]:.4g} → {history['style'][-1]:.4g} ({result.style_reduction:.1f}x lower), "
        f"content loss {history['content'][0]:.4g} → {history['content'][-1]:.4g}"
    )
    print(f"  {result.seconds_per_step:.3f} s/step over {result.steps_run} steps; image written to {out}")
    print(f"  summary {run_dir / 'summary.json'}")
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
