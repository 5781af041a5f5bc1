"""Parallel data for sequence-to-sequence learning: dates, number addition, TSV corpora.

- :func:`date_pairs`: human-written dates → ISO 8601 (``"Thursday, May 3, 1979"`` →
  ``"1979-05-03"``), the classic attention exercise. Faker draws the dates, Babel writes them
  in the formats of several locales (CLDR's short/medium/long/full and common patterns). The
  split is by date: no test date occurs in training, in any format.
- :func:`addition_pairs`: ``"535+61"`` → ``"596"`` as in keras.io's "Sequence to sequence
  learning for performing number addition" (operands of 1 to ``digits`` digits, each
  unordered pair once); training and test pairs are disjoint.
- :func:`read_parallel_tsv`: ``source<TAB>target`` lines (the Anki/Tatoeba files of the
  TensorFlow NMT tutorial; further columns, such as their attribution, are ignored). Bad lines
  are skipped with a warning naming the line number.
"""

from __future__ import annotations

import datetime
import random
import warnings
from pathlib import Path

from kerasdl._validation import check_float, check_int

# Locales whose formats the date task mixes.
DATE_LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL")
# CLDR names and patterns. Every all-numeric pattern is day-first: with month-first ones as well,
# "03/05/79" would be March or May and no model could be right on it. (Babel's en_US "short",
# M/d/yy, is therefore left out; en_US dates come with month names.)
DATE_PATTERNS = (
    "medium",
    "long",
    "full",
    "d MMM y",
    "d MMMM y",
    "dd.MM.yy",
    "dd/MM/y",
    "d.M.y",
    "MMMM d, y",
    "EEE, MMM d, y",
    "EEEE d MMMM y",
    "dd MMM yy",
)
# Two-digit years are unambiguous within one century of dates.
DATE_RANGE = (datetime.date(1950, 1, 1), datetime.date(2049, 12, 31))


def format_date(date: datetime.date, pattern: str, locale: str) -> str:
    """``date`` written with Babel in ``locale`` (a CLDR format name or a pattern)."""
    from babel.dates import format_date as babel_format

    return babel_format(date, format=pattern, locale=locale)


def date_pairs(num_train: int, num_test: int, *, test_fraction: float = 0.1, seed: int = 0):
    """Human-written dates and their ISO form, split by date.

    Every date in ``DATE_RANGE`` goes to the test side with probability ``test_fraction``
    (seeded); then Faker draws dates (``date_between_dates``) and each drawn date becomes one
    pair in a random locale and format, until each side has its count.

    Returns:
        ``(train, test)``: lists of ``(source, target)`` string pairs.

    Raises:
        ValueError: a count below 1 or a fraction outside (0, 1).
    """
    from faker import Faker

    num_train = check_int("num_train", num_train, minimum=1)
    num_test = check_int("num_test", num_test, minimum=1)
    test_fraction = check_float(
        "test_fraction", test_fraction, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
    )
    rng = random.Random(seed)
    days = (DATE_RANGE[1] - DATE_RANGE[0]).days + 1
    test_days = {d for d in range(days) if rng.random() < test_fraction}
    fake = Faker()
    fake.seed_instance(seed)
    train, test = [], []
    while len(train) < num_train or len(test) < num_test:
        date = fake.date_between_dates(date_start=DATE_RANGE[0], date_end=DATE_RANGE[1])
        side = test if (date - DATE_RANGE[0]).days in test_days else train
        if len(side) >= (num_test if side is test else num_train):
            continue
        source = format_date(date, rng.choice(DATE_PATTERNS), rng.choice(DATE_LOCALES))
        side.append((source, date.isoformat()))
    return train, test


def _random_number(rng: random.Random, digits: int) -> int:
    # keras.io: a number of 1..digits random digits (so small numbers are common).
    return int("".join(rng.choice("0123456789") for _ in range(rng.randint(1, digits))))


def addition_pairs(num_train: int, num_test: int, *, digits: int = 3, seed: int = 0):
    """``("a+b", "a+b's value")`` pairs as in keras.io's addition example, train and test disjoint.

    Each unordered pair ``{a, b}`` occurs at most once across both lists (keras.io dedupes
    ``a+b`` and ``b+a``); the first ``num_train`` drawn go to training, the next ``num_test``
    to the test list.

    Raises:
        ValueError: counts below 1, or more pairs than ``digits`` allows.
    """
    num_train = check_int("num_train", num_train, minimum=1)
    num_test = check_int("num_test", num_test, minimum=1)
    digits = check_int("digits", digits, minimum=1, maximum=9)
    possible = (10**digits) * (10**digits + 1) // 2
    if num_train + num_test > possible // 2:
        raise ValueError(
            f"num_train + num_test = {num_train + num_test} is more than half of the {possible} distinct "
            f"sums of {digits}-digit numbers; use fewer pairs or more digits"
        )
    rng = random.Random(seed)
    seen, pairs = set(), []
    while len(pairs) < num_train + num_test:
        a, b = _random_number(rng, digits), _random_number(rng, digits)
        key = (min(a, b), max(a, b))
        if key in seen:
            continue
        seen.add(key)
        pairs.append((f"{a}+{b}", str(a + b)))
    return pairs[:num_train], pairs[num_train:]


def read_parallel_tsv(path, *, max_pairs: int | None = None, lowercase: bool = False):
    """``(source, target)`` pairs from a tab-separated file, one pair per line.

    Column 1 is the source, column 2 the target; further columns are ignored. A line without a
    tab, with an empty source or target, or that is not UTF-8 is skipped with a ``UserWarning``
    naming its line number; blank lines are skipped silently.

    Args:
        path: the file.
        max_pairs: stop after this many good pairs (``None``: all).
        lowercase: lower-case both sides.

    Returns:
        List of ``(source, target)`` pairs, in file order.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file holds no good pair.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no TSV file at {str(path)!r}")
    if max_pairs is not None:
        max_pairs = check_int("max_pairs", max_pairs, minimum=1)
    pairs, skipped = [], 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                warnings.warn(f"{path}: line {number} is not valid UTF-8; skipped", stacklevel=2)
                skipped += 1
                continue
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                warnings.warn(f"{path}: line {number} has no tab (source<TAB>target expected); skipped", stacklevel=2)
                skipped += 1
                continue
            source, target = fields[0].strip(), fields[1].strip()
            if not source or not target:
                side = "source" if not source else "target"
                warnings.warn(f"{path}: line {number} has an empty {side}; skipped", stacklevel=2)
                skipped += 1
                continue
            if lowercase:
                source, target = source.lower(), target.lower()
            pairs.append((source, target))
            if max_pairs is not None and len(pairs) >= max_pairs:
                break
    if not pairs:
        raise ValueError(f"{path} holds no source<TAB>target line ({skipped} bad line(s) skipped)")
    return pairs


def split_pairs(pairs, test_fraction: float = 0.1, *, seed: int = 0):
    """Split ``pairs`` by source text (every copy of a source on one side), seeded.

    Returns:
        ``(train, test)``.

    Raises:
        ValueError: fewer than two distinct sources, or a fraction outside (0, 1).
    """
    test_fraction = check_float(
        "test_fraction", test_fraction, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
    )
    sources = sorted({source for source, _ in pairs})
    if len(sources) < 2:
        raise ValueError(f"need at least 2 distinct source texts to split, got {len(sources)}")
    rng = random.Random(seed)
    rng.shuffle(sources)
    cut = min(max(1, round(len(sources) * test_fraction)), len(sources) - 1)
    test_sources = set(sources[:cut])
    train = [p for p in pairs if p[0] not in test_sources]
    test = [p for p in pairs if p[0] in test_sources]
    return train, test
