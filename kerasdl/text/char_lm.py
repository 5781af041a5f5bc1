"""Training a character-level language model end to end: a text file → next-character
windows → :func:`kerasdl.models.rnn.char_language_model` → validation loss, a sample, and a
prompt → text SavedModel.

:func:`train_char_language_model` is the flow behind ``kerasdl textgen`` and
``benchmarks/textgen.py``; its keyword arguments are the app's flags (``--num-chars`` →
``num_chars``). The pieces it uses (vocabulary, windows, sampling, the exported generator)
are in :mod:`kerasdl.text.generation`.

The last ``validation_fraction`` of the text is held out, contiguous. Training uses Adam
with gradient clipping (``clipnorm``), keeps the weights of the epoch with the lowest
validation loss, and with ``time_budget`` stops after the first epoch that ends past it.
The validation loss is reported in **nats per character** (mean next-character
cross-entropy, natural log; bits = nats / ln 2). The export is the whole generator
(:func:`kerasdl.text.generation.export_generator`): a client sends a prompt and gets text.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class CharLanguageModelResult:
    """What :func:`train_char_language_model` returns.

    ``summary`` is the dict also written to ``summary.json`` (sizes, settings, history,
    validation loss, the sample, generation speed, paths); ``model`` the trained Keras
    model (best epoch's weights) and ``generator`` the :class:`~kerasdl.text.generation.CharGenerator`
    that sampled (and, unless ``export_dir`` is ``None``, was exported).
    """

    summary: dict
    model: Any = field(repr=False)
    generator: Any = field(repr=False)

    @property
    def val_loss_nats_per_char(self) -> float:
        return self.summary["val_loss_nats_per_char"]

    @property
    def sample(self) -> str:
        return self.summary["sample"]

    @property
    def run_dir(self) -> Path:
        return Path(self.summary["run_dir"])

    @property
    def export_path(self) -> Path | None:
        return Path(self.summary["export_dir"]) if self.summary.get("export_dir") else None


def train_char_language_model(
    *,
    text=None,
    cell: str = "gru",
    units: int = 256,
    layers: int = 1,
    embedding_dim: int = 64,
    dropout: float = 0.0,
    sequence_length: int = 100,
    batch_size: int = 64,
    epochs: int = 10,
    steps_per_epoch: int | None = None,
    learning_rate: float = 2e-3,
    clipnorm: float = 5.0,
    validation_fraction: float = 0.1,
    time_budget: float | None = None,
    prompt: str = "ROMEO:",
    num_chars: int = 400,
    temperature: float = 0.8,
    top_k: int = 0,
    export_dir="saved_models/textgen",
    runs_dir="runs/textgen",
    quiet: bool = False,
    seed: int = 0,
    jit_compile="auto",
    mixed_precision: bool = False,
    strategy: str = "auto",
    log: Callable[[str], None] = print,
) -> CharLanguageModelResult:
    """Train on ``text`` (a UTF-8 file; ``None``: ``tinyshakespeare.txt`` in the data folder),
    evaluate, sample ``num_chars`` characters after ``prompt`` and, unless ``export_dir`` is
    ``None``, export the generator to ``export_dir/<run-id>/``.

    Curves and ``summary.json`` go to ``runs_dir/<run-id>/``. A bad setting raises
    ``ValueError`` before anything is read; a missing text ``FileNotFoundError`` or
    ``DatasetNotFoundError``; a NaN/inf loss, or no finite epoch to keep,
    :class:`~kerasdl.training.callbacks.TrainingDiverged` (nothing is exported).
    ``jit_compile`` is ``"auto"``, ``True`` or ``False``.
    """
    import keras

    from kerasdl._runs import setup_runtime, write_summary
    from kerasdl._validation import check_float, check_int
    from kerasdl.export import create_run_dir
    from kerasdl.models.rnn import char_language_model
    from kerasdl.plots import plot_curves
    from kerasdl.text.generation import (
        CharGenerator,
        CharVocabulary,
        char_windows,
        export_generator,
        generate_text,
        load_text_file,
        split_ids,
    )
    from kerasdl.training import TimeBudget, compile_model, make_callbacks
    from kerasdl.training.callbacks import TrainingDiverged

    sizes = dict(
        units=units,
        layers=layers,
        embedding_dim=embedding_dim,
        sequence_length=sequence_length,
        batch_size=batch_size,
        epochs=epochs,
    )
    for name, value in sizes.items():
        check_int(name, value, minimum=1)
    if steps_per_epoch is not None:
        check_int("steps_per_epoch", steps_per_epoch, minimum=1)
    check_int("num_chars", num_chars, minimum=0)
    check_int("top_k", top_k, minimum=0)
    check_float("temperature", temperature, minimum=0.0)
    check_float("clipnorm", clipnorm, minimum=0.0)
    if time_budget is not None:
        check_float("time_budget", time_budget, minimum=0.0, min_inclusive=False)

    distribution = setup_runtime(seed=seed, mixed_precision=mixed_precision, strategy=strategy)
    corpus = load_text_file(text)
    vocabulary = CharVocabulary.from_text(corpus)
    train_ids, val_ids = split_ids(vocabulary.encode(corpus), validation_fraction)
    log(
        f"textgen: {len(corpus):,} characters, {len(vocabulary.characters)} distinct; "
        f"{len(train_ids):,} train / {len(val_ids):,} validation"
    )
    train_ds = char_windows(train_ids, sequence_length, batch_size, seed=seed)
    val_ds = char_windows(val_ids, sequence_length, batch_size, shuffle=False, drop_remainder=False)
    if steps_per_epoch is not None:
        train_ds = train_ds.repeat()

    with distribution.scope():
        model = char_language_model(vocabulary.size, embedding_dim, units, cell, layers, dropout)
        compile_model(
            model,
            "adam",
            learning_rate,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=None,
            clipnorm=clipnorm or None,
            jit_compile=jit_compile,
        )
    run_dir = create_run_dir(runs_dir)
    callbacks = make_callbacks(checkpoint_path=run_dir / "best.weights.h5")
    if time_budget is not None:
        callbacks.append(TimeBudget(time_budget))
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=2 if quiet else 1,
        shuffle=False,  # a tf.data pipeline that shuffles itself
    )
    train_seconds = time.perf_counter() - start
    # A NaN/inf loss has already ended fit with TrainingDiverged (nothing exported).
    if not (run_dir / "best.weights.h5").is_file():  # finite losses over non-finite weights: nothing kept
        raise TrainingDiverged(
            "training produced no finite model to keep: lower --learning-rate or --clipnorm; nothing exported"
        )
    model.load_weights(run_dir / "best.weights.h5")  # the epoch with the best validation loss
    val_loss = float(model.evaluate(val_ds, verbose=0))
    plot = plot_curves(
        {"train": history.history["loss"], "validation": history.history["val_loss"]},
        run_dir / "training_curves.png",
        xlabel="epoch",
        ylabel="nats per character",
        title=f"char {cell} {units}: next-character loss",
    )

    generator = CharGenerator(model, vocabulary)
    generate_text(model, vocabulary, prompt, 1, generator=generator)  # trace the graph once
    gen_start = time.perf_counter()
    sample = generate_text(
        model, vocabulary, prompt, num_chars, temperature=temperature, top_k=top_k, seed=seed, generator=generator
    )
    gen_seconds = time.perf_counter() - gen_start
    log(
        f"textgen: validation loss {val_loss:.4f} nats/char ({val_loss / math.log(2):.4f} bits/char) "
        f"after {len(history.history['loss'])} epoch(s), {train_seconds:.0f} s"
    )
    log(f"--- sample (temperature {temperature}, top-k {top_k or 'all'}) ---\n{sample}\n---")

    summary = {
        "text": str(text) if text else "tinyshakespeare.txt (data folder)",
        "characters": len(corpus),
        "vocabulary_size": vocabulary.size,
        "train_characters": int(len(train_ids)),
        "validation_characters": int(len(val_ids)),
        "model": {
            "cell": cell,
            "units": units,
            "layers": layers,
            "embedding_dim": embedding_dim,
            "dropout": dropout,
            "parameters": int(model.count_params()),
        },
        "training": {
            "epochs_run": len(history.history["loss"]),
            "steps_per_epoch": steps_per_epoch,
            "sequence_length": sequence_length,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "clipnorm": clipnorm,
            "seconds": train_seconds,
            "time_budget": time_budget,
        },
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "val_loss_nats_per_char": val_loss,
        "val_bits_per_char": val_loss / math.log(2),
        "sample": sample,
        "sample_settings": {"prompt": prompt, "num_chars": num_chars, "temperature": temperature, "top_k": top_k},
        "generation_chars_per_second": num_chars / gen_seconds if gen_seconds > 0 else None,
        "curves_png": str(plot),
        "run_dir": str(run_dir),
    }
    if export_dir is not None:
        export_path = export_generator(generator, Path(export_dir) / run_dir.name)  # named after its run
        summary["export_dir"] = str(export_path)
        log(f"textgen: exported the prompt → text SavedModel to {export_path}")
    write_summary(run_dir, summary)
    log(f"textgen: curves and summary in {run_dir}")
    return CharLanguageModelResult(summary=summary, model=model, generator=generator)
