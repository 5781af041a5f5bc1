"""One fair timing method for side-by-side benchmarks (kerasdl against a peer library, or two
variants of the same code).

:func:`compare` times two or more zero-argument callables ("sides") the same way:

1. **identical warm-up**: every side is called ``warmup`` times before anything is timed, with
   the very call (and so the very input shapes) that will be timed, so tracing, graph
   compilation and a library's one-off set-up land outside the timed calls for every side;
2. **interleaved rounds in alternating order**: round 0 runs the sides in the given order,
   round 1 in reverse, and so on (ABAB / BABA for two sides), so drift in machine load and
   "who runs first after the other" affect every side alike;
3. **robust statistics**: per side the median and the interquartile range (IQR, 25th to 75th
   percentile) of the seconds per call, in wall time (``time.perf_counter``) and in process CPU
   time (``time.process_time``: every thread of this process, so a side that only looks fast
   because it spreads work over more cores shows it); and for each side against the reference
   side the **per-round ratio** (its time / the reference's time in the same round), with its
   median and IQR. The per-round ratio cancels the load both sides saw in that round, which
   the ratio of two medians does not;
4. **machine load**: ``os.getloadavg()`` before and after, so a reader can tell a figure taken
   on an idle machine from one taken on shared, busy cores.

The result is a plain dict of floats, ints, strings and lists, ready for ``json.dumps``.

Examples:
    >>> from kerasdl.benchmarking import compare
    >>> result = compare({"kerasdl": lambda: ours(x), "art": lambda: theirs(x)}, warmup=2, rounds=20)
    >>> result["ratios"]["art"]["wall"]["median"]      # art time / kerasdl time, median over rounds

Percentiles are NumPy's default (linear interpolation). Clocks and the load source can be
injected (``wall_clock``, ``cpu_clock``, ``load_average``) so the statistics can be tested on
fake clocks.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Mapping

import numpy as np

from kerasdl._validation import check_int

MIN_ROUNDS = 20
"""Fewest timed rounds :func:`compare` accepts: fewer do not give a stable median and IQR."""


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages (``os.getloadavg()``) rounded to 2 places; ``None`` where
    the platform has none. Every benchmark records it before and after its timings."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):  # not available on this platform
        return None


def summarize(values) -> dict:
    """``{"median", "q1", "q3", "iqr", "min", "max", "mean", "n"}`` of a sequence of numbers.

    Args:
        values: the measurements (at least one).

    Returns:
        A dict of floats (``n`` is an int); quartiles by NumPy's linear interpolation.

    Raises:
        ValueError: when ``values`` is empty.
    """
    array = np.asarray(list(values), dtype="float64")
    if array.size == 0:
        raise ValueError("values must hold at least one measurement, got none")
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    return {
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "iqr": float(q3 - q1),
        "min": float(array.min()),
        "max": float(array.max()),
        "mean": float(array.mean()),
        "n": int(array.size),
    }


def round_orders(names, rounds: int) -> list[list[str]]:
    """The order the sides run in each round: as given in even rounds, reversed in odd ones."""
    names = list(names)
    return [names if index % 2 == 0 else names[::-1] for index in range(rounds)]


def compare(
    sides: Mapping[str, Callable[[], object]],
    *,
    warmup: int = 3,
    rounds: int = MIN_ROUNDS,
    calls_per_round: int = 1,
    reference: str | None = None,
    units_per_call: float | None = None,
    unit: str = "items",
    wall_clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
    load_average: Callable[[], list[float] | None] = load_average,
) -> dict:
    """Time every side with identical warm-up and alternating, interleaved rounds.

    Args:
        sides: name → zero-argument callable doing one unit of work (e.g. one attack on a batch,
            one ``train_on_batch``). At least two sides; the callables must do the same work
            with the same input shapes. A callable whose result has a ``.numpy()`` method or is a
            NumPy array is left alone (call ``.numpy()`` inside it if the work is asynchronous).
        warmup: untimed calls of every side before the first timed round (≥ 1: the first call
            traces and compiles). All sides are warmed up before any side is timed.
        rounds: timed rounds (≥ :data:`MIN_ROUNDS`); each round times every side once, the order
            alternating between the given one and its reverse.
        calls_per_round: calls per side per round; the round's time is their total divided by
            ``calls_per_round`` (use > 1 for very short calls).
        reference: the side the ratios are taken against (default: the first side).
        units_per_call: items one call processes (e.g. the batch size); adds ``per_second``
            (``units_per_call / median seconds``) to every side.
        unit: what ``units_per_call`` counts, for the record (``"images"``, ``"steps"``...).
        wall_clock: the wall clock (default ``time.perf_counter``; injectable for tests).
        cpu_clock: the CPU clock (default ``time.process_time``; injectable for tests).
        load_average: the load source (default: ``os.getloadavg()`` rounded; injectable for tests).

    Returns:
        A JSON-ready dict: ``method`` (the settings), ``load_average_before``/``_after``
        (1/5/15-minute ``os.getloadavg()``), ``order`` (the order of every round), ``sides``
        (per side: ``wall_seconds`` and ``cpu_seconds`` raw per-round lists and their
        :func:`summarize`, ``per_second``), and ``ratios`` (per non-reference side: the per-round
        ratios side / reference for wall and CPU time, summarised; ``None`` where the reference's
        clock never moved).

    Raises:
        ValueError: fewer than two sides, a side that is not callable, a bad count, an unknown
            reference.
    """
    if not isinstance(sides, Mapping) or len(sides) < 2:
        raise ValueError(f"sides must be a dict of at least two name -> callable, got {sides!r}")
    for name, fn in sides.items():
        if not isinstance(name, str) or not callable(fn):
            raise ValueError(f"sides: every entry must be str -> callable, got {name!r} -> {fn!r}")
    warmup = check_int("warmup", warmup, minimum=1)
    rounds = check_int("rounds", rounds, minimum=MIN_ROUNDS)
    calls_per_round = check_int("calls_per_round", calls_per_round, minimum=1)
    names = list(sides)
    reference = names[0] if reference is None else reference
    if reference not in sides:
        raise ValueError(f"reference must be one of {names!r}, got {reference!r}")
    if units_per_call is not None and not (isinstance(units_per_call, (int, float)) and units_per_call > 0):
        raise ValueError(f"units_per_call must be a positive number or None, got {units_per_call!r}")

    load_before = load_average()
    for name in names:  # identical warm-up, every side before any timing
        for _ in range(warmup):
            sides[name]()

    orders = round_orders(names, rounds)
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for order in orders:
        for name in order:
            fn = sides[name]
            wall_start, cpu_start = wall_clock(), cpu_clock()
            for _ in range(calls_per_round):
                fn()
            wall_end, cpu_end = wall_clock(), cpu_clock()
            wall[name].append((wall_end - wall_start) / calls_per_round)
            cpu[name].append((cpu_end - cpu_start) / calls_per_round)
    load_after = load_average()

    result = {
        "method": {
            "helper": "kerasdl.benchmarking.compare",
            "warmup_calls_per_side": warmup,
            "rounds": rounds,
            "calls_per_round": calls_per_round,
            "order": "interleaved rounds, order alternating (round 0 as given, round 1 reversed, ...)",
            "statistics": "median and interquartile range over rounds; ratios per round, side / reference",
            "reference": reference,
        },
        "load_average_before": load_before,
        "load_average_after": load_after,
        "order": orders,
        "sides": {},
        "ratios": {},
    }
    for name in names:
        entry = {
            "wall_seconds": summarize(wall[name]),
            "cpu_seconds": summarize(cpu[name]),
            "wall_seconds_per_round": wall[name],
            "cpu_seconds_per_round": cpu[name],
        }
        if units_per_call is not None:
            median = entry["wall_seconds"]["median"]
            entry["per_second"] = float(units_per_call / median) if median > 0 else None
            entry["unit"] = unit
            entry["units_per_call"] = units_per_call
        result["sides"][name] = entry
    for name in names:
        if name == reference:
            continue
        result["ratios"][name] = {
            "over": reference,
            "wall": _ratio_summary(wall[name], wall[reference]),
            "cpu": _ratio_summary(cpu[name], cpu[reference]),
        }
    return result


def _ratio_summary(numerators, denominators) -> dict | None:
    """:func:`summarize` of the per-round ratios, leaving out rounds whose reference time is 0
    (a clock too coarse for the call; counted in ``rounds_left_out``); ``None`` if none is left."""
    ratios = [n / d for n, d in zip(numerators, denominators) if d > 0]
    if not ratios:
        return None
    return {**summarize(ratios), "rounds_left_out": len(numerators) - len(ratios)}


def _ratio_text(summary) -> str:
    if summary is None:
        return "n/a"
    return f"{summary['median']:.3f} (IQR {summary['q1']:.3f}-{summary['q3']:.3f})"


def describe(result: dict, name: str | None = None) -> str:
    """One line per side of a :func:`compare` result: median wall/CPU ms (IQR) and the ratio.

    Args:
        result: what :func:`compare` returned.
        name: a label printed first (e.g. the benchmark's configuration).

    Returns:
        The text, several lines, no trailing newline.
    """
    lines = [] if name is None else [name]
    for side, entry in result["sides"].items():
        w, c = entry["wall_seconds"], entry["cpu_seconds"]
        text = (
            f"  {side:>18s}: wall {1e3 * w['median']:.2f} ms (IQR {1e3 * w['q1']:.2f}-{1e3 * w['q3']:.2f}), "
            f"CPU {1e3 * c['median']:.2f} ms (IQR {1e3 * c['q1']:.2f}-{1e3 * c['q3']:.2f})"
        )
        if entry.get("per_second") is not None:
            text += f", {entry['per_second']:.1f} {entry['unit']}/s"
        if side in result["ratios"]:
            r = result["ratios"][side]
            text += f"; / {r['over']}: wall {_ratio_text(r['wall'])}, CPU {_ratio_text(r['cpu'])}"
        lines.append(text)
    lines.append(f"  load average before {result['load_average_before']}, after {result['load_average_after']}")
    return "\n".join(lines)


def run_record(argv=None) -> dict:
    """What a benchmark JSON records about its run: the exact command, versions, machine, load.

    Args:
        argv: the command line (default: ``sys.argv``, prefixed with the interpreter).

    Returns:
        ``{"command", "python", "platform", "cpu_count", "keras", "tensorflow", "load_average"}``
        (a library that is not installed is ``None``; the load average is ``os.getloadavg()``
        now, e.g. at the start of the run).
    """
    command = [sys.executable, *sys.argv] if argv is None else list(argv)
    record = {
        "command": shlex.join(str(part) for part in command),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    for name in ("keras", "tensorflow"):
        module = sys.modules.get(name)
        record[name] = getattr(module, "__version__", None) if module is not None else None
    record["load_average"] = load_average()
    return record


def write_json(path, data, *, default=None) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically (:func:`kerasdl.export.atomic_file`):
    a run killed while writing leaves the previous file as it was. Every benchmark writes its
    results this way. ``default``: ``json.dumps``' hook for values JSON has no type for."""
    from kerasdl.export import atomic_file

    text = json.dumps(data, indent=2, default=default) + "\n"
    with atomic_file(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)


def run_script(main: Callable[[], int | None]) -> int:
    """Run a benchmark script's ``main`` the way the ``kerasdl`` command runs an app; its exit status.

    A Ctrl-C stops the script even where Python or a library would lose it (TensorFlow frees its
    functions in ``__del__`` methods that catch everything: see
    :func:`kerasdl._interrupts.interrupts_are_never_lost`), with one line on stderr instead of a
    traceback and exit status 130. Every file a benchmark writes goes through an atomic write
    (:func:`write_json`, :func:`kerasdl.export.atomic_file`), so an interrupted run leaves whole
    files: the previous results, or the parts already done where a script writes as it goes. Use it as
    ``if __name__ == "__main__": sys.exit(run_script(main))``.
    """
    from kerasdl._interrupts import interrupts_are_never_lost

    try:
        with interrupts_are_never_lost():
            return main() or 0
    except KeyboardInterrupt:
        script = os.path.basename(sys.argv[0]) or "benchmark"
        print(f"\n{script}: interrupted; the files it wrote are whole, the rest was not written", file=sys.stderr)
        return 130
