"""Benchmark: char-RNN on tiny Shakespeare under a fixed CPU budget, and generation speed.

    python benchmarks/textgen.py                       # 600 s of training (default settings below)
    python benchmarks/textgen.py --time-budget 1200 --units 512

Trains with ``kerasdl.text.char_lm.train_char_language_model`` (the textgen app's flow;
``char_language_model``: Embedding 64 → GRU → Dense logits; Adam,
clipnorm 5) on the first 90 % of ``tinyshakespeare.txt`` for ``--time-budget`` seconds of
wall-clock training (it stops after the first epoch of ``--steps-per-epoch`` steps that ends
past the budget), then reports the validation loss on the last 10 % in nats per character
(target ≤ 1.6) at the best epoch, and the generation speed in characters per second of the
exported-graph sampler (state carried step to step; one character per step, batch 1),
timed over ``--num-chars`` characters after a warm-up call. Writes
``benchmarks/results/textgen.json``.

The data folder defaults to ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from kerasdl.benchmarking import write_json

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-budget", type=float, default=600.0, help="training seconds")
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--num-chars", type=int, default=2000, help="characters generated for the speed figure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "textgen.json")
    args = parser.parse_args(argv)

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)

    import keras
    import tensorflow as tf

    from kerasdl.text.char_lm import train_char_language_model
    from kerasdl.training import gpu_available

    start = time.perf_counter()
    summary = train_char_language_model(
        cell=args.cell,
        units=args.units,
        batch_size=args.batch_size,
        sequence_length=args.sequence_length,
        learning_rate=args.learning_rate,
        steps_per_epoch=args.steps_per_epoch,
        epochs=100000,
        time_budget=args.time_budget,
        num_chars=args.num_chars,
        seed=args.seed,
        runs_dir="/tmp/kerasdl-bench/runs/textgen",
        export_dir="/tmp/kerasdl-bench/saved_models/textgen",
        quiet=True,
        temperature=0.8,
    ).summary
    result = {
        "benchmark": "textgen",
        "data": "tinyshakespeare.txt: first 90% train, last 10% validation (contiguous)",
        "settings": {**summary["model"], **summary["training"]},
        "val_loss_nats_per_char": round(summary["val_loss_nats_per_char"], 4),
        "val_bits_per_char": round(summary["val_bits_per_char"], 4),
        "val_loss_per_epoch": [round(v, 4) for v in summary["history"]["val_loss"]],
        "train_steps": summary["training"]["epochs_run"] * args.steps_per_epoch,
        "generation_chars_per_second": round(summary["generation_chars_per_second"], 1),
        "generation": f"{args.num_chars} chars, batch 1, temperature 0.8, state carried (tf.while_loop graph)",
        "sample": summary["sample"][:600],
        "total_seconds": round(time.perf_counter() - start, 1),
        "device": "GPU" if gpu_available() else f"CPU ({os.cpu_count()} cores, shared)",
        "load_average_at_end": os.getloadavg()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "targets": {"val_loss_nats_per_char_max": 1.6},
        "target_met": summary["val_loss_nats_per_char"] <= 1.6,
    }
    write_json(args.out, result)
    print(json.dumps(result, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
