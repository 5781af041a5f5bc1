"""Scores of decoded strings against references: exact match, character error rate, BLEU."""

from __future__ import annotations


def _check(hypotheses, references):
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not references:
        raise ValueError("no references to score against")
    return hypotheses, references


def exact_match(hypotheses, references) -> float:
    """Fraction of hypotheses equal to their reference, character for character."""
    hypotheses, references = _check(hypotheses, references)
    return sum(h == r for h, r in zip(hypotheses, references)) / len(references)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: fewest single-character insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(hypotheses, references) -> float:
    """Total edit distance over total reference characters (the corpus-level CER of speech
    recognition: ``(S + D + I) / N``; can exceed 1)."""
    hypotheses, references = _check(hypotheses, references)
    total = sum(len(r) for r in references)
    return sum(edit_distance(h, r) for h, r in zip(hypotheses, references)) / max(total, 1)


def bleu(hypotheses, references, *, tokenize: str = "13a") -> float:
    """Corpus BLEU (Papineni et al. 2002) from ``sacrebleu`` (0–100), one reference per hypothesis.

    ``tokenize``: sacrebleu's tokenizer; ``"13a"`` (its default, words) for sentences, ``"char"``
    for strings without words such as dates and sums.
    """
    import sacrebleu

    hypotheses, references = _check(hypotheses, references)
    return float(sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenize).score)


def score_translations(hypotheses, references, *, tokenize: str = "13a") -> dict:
    """``{"exact_match", "cer", "bleu"}`` for one decoding of a held-out set."""
    return {
        "exact_match": exact_match(hypotheses, references),
        "cer": character_error_rate(hypotheses, references),
        "bleu": bleu(hypotheses, references, tokenize=tokenize),
    }
