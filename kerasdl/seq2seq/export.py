"""Export a :class:`~kerasdl.seq2seq.translator.Translator` as a string → string SavedModel.

The SavedModel holds the tokenizers, the encoder, the one-step decoder and the decoding loop,
so a client with only TensorFlow calls it on a batch of strings::

    loaded = tf.saved_model.load(path)
    loaded.signatures["serving_default"](texts=tf.constant(["3 May 1979"]))["translation"]

Signatures: ``serving_default`` (beam search with the translator's width and α) and ``greedy``;
both take ``texts`` (``(B,)`` string) and return ``translation`` (``(B,)`` string) and
``score`` (``(B,)`` float32: the normalised beam score, or the greedy summed log-probability).
An empty batch returns empty outputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf


def export_translator(translator, path, *, overwrite: bool = False, metadata: dict | None = None) -> Path:
    """Write ``translator`` as a SavedModel at ``path``, atomically (:func:`kerasdl.export.atomic_directory`).

    ``metadata`` (JSON-serialisable) goes to ``assets.extra/translator.json``. Returns the path.
    """
    from kerasdl._backend import require_tensorflow
    from kerasdl.export import atomic_directory

    require_tensorflow("translator export")
    signatures = {
        "serving_default": translator.translate.get_concrete_function(),
        "greedy": translator.translate_greedy.get_concrete_function(),
    }
    with atomic_directory(path, overwrite=overwrite) as tmp:
        tf.saved_model.save(translator, os.fspath(tmp), signatures=signatures)
        info = {
            "beam_width": translator.beam_width,
            "alpha": translator.alpha,
            "max_length": translator.max_length,
            "attention": translator.attention,
            **(metadata or {}),
        }
        (tmp / "assets.extra").mkdir(exist_ok=True)
        (tmp / "assets.extra" / "translator.json").write_text(json.dumps(info, indent=2) + "\n")
    return Path(path)


def call_exported(path_or_loaded, texts, signature: str = "serving_default"):
    """``(translations, scores)`` from an exported translator (a path or a loaded SavedModel)."""
    loaded = (
        tf.saved_model.load(os.fspath(path_or_loaded)) if isinstance(path_or_loaded, (str, Path)) else path_or_loaded
    )
    out = loaded.signatures[signature](texts=tf.constant(list(texts), dtype=tf.string))
    return [t.decode("utf-8") for t in out["translation"].numpy()], out["score"].numpy()


def check_export_agrees(path, translator, texts) -> dict:
    """Reload the SavedModel with plain TensorFlow and compare it with ``translator`` on ``texts``.

    Both signatures must return the same strings as the in-memory graph, and scores within
    1e-4. Returns ``{"texts": n, "max_score_diff": ...}``; raises ``RuntimeError`` otherwise.
    """
    loaded = tf.saved_model.load(os.fspath(path))
    worst = 0.0
    batch = tf.constant(list(texts), dtype=tf.string)
    for signature, method in (("serving_default", translator.translate), ("greedy", translator.translate_greedy)):
        reloaded, reloaded_scores = call_exported(loaded, texts, signature)
        expected = method(batch)
        expected_texts = [t.decode("utf-8") for t in expected["translation"].numpy()]
        if reloaded != expected_texts:
            bad = next(i for i, (a, b) in enumerate(zip(reloaded, expected_texts)) if a != b)
            raise RuntimeError(
                f"reloaded translator ({signature}) disagrees on {texts[bad]!r}: {reloaded[bad]!r} vs "
                f"{expected_texts[bad]!r} in memory"
            )
        diff = float(np.max(np.abs(reloaded_scores - expected["score"].numpy()), initial=0.0))
        if diff > 1e-4:
            raise RuntimeError(f"reloaded translator ({signature}) scores differ by {diff:.3g}")
        worst = max(worst, diff)
    return {"texts": len(texts), "max_score_diff": worst}
