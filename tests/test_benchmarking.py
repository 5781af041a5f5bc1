"""kerasdl.benchmarking: compare on fake clocks (warm-up before timing, alternating order,
statistics), the run record, atomic JSON, and run_script's Ctrl-C contract for benchmark scripts."""

import ast
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from kerasdl.benchmarking import (
    MIN_ROUNDS,
    compare,
    describe,
    round_orders,
    run_record,
    run_script,
    summarize,
    write_json,
)

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


class FakeMachine:
    """Wall and CPU clocks that advance only when a side runs, by a scripted amount per call."""

    def __init__(self, wall_cost, cpu_cost):
        self.wall = 0.0
        self.cpu = 0.0
        self.log = []  # ("call", side) or ("clock",) in the order they happen
        self.calls = {}
        self.wall_cost, self.cpu_cost = wall_cost, cpu_cost

    def side(self, name):
        def run():
            index = self.calls.get(name, 0)
            self.calls[name] = index + 1
            self.log.append(("call", name))
            self.wall += self.wall_cost(name, index)
            self.cpu += self.cpu_cost(name, index)

        return run

    def wall_clock(self):
        self.log.append(("clock",))
        return self.wall

    def cpu_clock(self):
        return self.cpu


def loads():
    values = iter([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    return lambda: next(values)


def test_warmup_runs_every_side_before_any_timing_and_rounds_alternate():
    machine = FakeMachine(lambda name, i: 1.0, lambda name, i: 1.0)
    result = compare(
        {"a": machine.side("a"), "b": machine.side("b")},
        warmup=3,
        rounds=MIN_ROUNDS,
        wall_clock=machine.wall_clock,
        cpu_clock=machine.cpu_clock,
        load_average=loads(),
    )
    first_clock = machine.log.index(("clock",))
    warmup_calls = [event[1] for event in machine.log[:first_clock]]
    assert sorted(warmup_calls) == ["a"] * 3 + ["b"] * 3  # identical warm-up, all before the first timing
    timed = [event[1] for event in machine.log[first_clock:] if event[0] == "call"]
    expected = []
    for index in range(MIN_ROUNDS):
        expected += ["a", "b"] if index % 2 == 0 else ["b", "a"]
    assert timed == expected  # ABBA ABBA ...: a runs first in even rounds, b in odd ones
    assert result["order"] == round_orders(["a", "b"], MIN_ROUNDS)
    assert result["load_average_before"] == [1.0, 2.0, 3.0] and result["load_average_after"] == [4.0, 5.0, 6.0]
    assert machine.calls == {"a": 3 + MIN_ROUNDS, "b": 3 + MIN_ROUNDS}


def test_three_sides_alternate_between_given_and_reversed_order():
    assert round_orders(["x", "y", "z"], 4) == [["x", "y", "z"], ["z", "y", "x"], ["x", "y", "z"], ["z", "y", "x"]]


def test_statistics_on_fake_clocks():
    # round i: side a takes i+1 s of wall (half of it CPU); b takes twice a's wall and 3x its own wall in CPU
    warmup = 2

    def wall_cost(name, index):
        if index < warmup:
            return 100.0  # warm-up calls are slow and must not count
        seconds = float(index - warmup + 1)
        return seconds if name == "a" else 2.0 * seconds

    def cpu_cost(name, index):
        return 0.5 * wall_cost(name, index) if name == "a" else 3.0 * wall_cost(name, index)

    machine = FakeMachine(wall_cost, cpu_cost)
    result = compare(
        {"a": machine.side("a"), "b": machine.side("b")},
        warmup=warmup,
        rounds=20,
        units_per_call=8,
        unit="images",
        wall_clock=machine.wall_clock,
        cpu_clock=machine.cpu_clock,
        load_average=loads(),
    )
    a, b = result["sides"]["a"], result["sides"]["b"]
    rounds = np.arange(1, 21, dtype=float)
    assert a["wall_seconds_per_round"] == list(rounds)
    assert a["wall_seconds"]["median"] == pytest.approx(10.5)
    assert a["wall_seconds"]["q1"] == pytest.approx(5.75) and a["wall_seconds"]["q3"] == pytest.approx(15.25)
    assert a["wall_seconds"]["iqr"] == pytest.approx(9.5)
    assert a["cpu_seconds"]["median"] == pytest.approx(5.25)
    assert b["wall_seconds"]["median"] == pytest.approx(21.0) and b["cpu_seconds"]["median"] == pytest.approx(63.0)
    assert a["per_second"] == pytest.approx(8 / 10.5) and a["unit"] == "images"
    ratio = result["ratios"]["b"]
    assert ratio["over"] == "a" and "a" not in result["ratios"]
    assert ratio["wall"]["median"] == pytest.approx(2.0) and ratio["wall"]["iqr"] == pytest.approx(0.0)
    assert ratio["cpu"]["median"] == pytest.approx(12.0)  # (3 * 2s) / (0.5 * 1s) per round
    json.dumps(result)  # JSON-ready
    text = describe(result, "fake")
    assert "fake" in text and "load average before [1.0, 2.0, 3.0]" in text


def test_per_round_ratio_cancels_load_that_the_ratio_of_medians_keeps():
    # A load spike hits both sides in the same rounds: per-round ratios stay at 1.5.
    spikes = {3, 7, 11, 15, 19}

    def wall_cost(name, index):
        round_index = index - 1
        load = 10.0 if round_index in spikes else 1.0
        return load * (1.0 if name == "ours" else 1.5)

    machine = FakeMachine(wall_cost, lambda name, i: 0.0)
    result = compare(
        {"ours": machine.side("ours"), "theirs": machine.side("theirs")},
        warmup=1,
        rounds=20,
        calls_per_round=1,
        wall_clock=machine.wall_clock,
        cpu_clock=machine.cpu_clock,
        load_average=lambda: None,
    )
    assert result["ratios"]["theirs"]["wall"]["median"] == pytest.approx(1.5)
    assert result["ratios"]["theirs"]["wall"]["iqr"] == pytest.approx(0.0)
    assert result["ratios"]["theirs"]["wall"]["rounds_left_out"] == 0
    assert result["ratios"]["theirs"]["cpu"] is None  # the CPU clock never moved: no ratio, not inf or nan
    assert "CPU n/a" in describe(result)


def test_calls_per_round_divides_and_reference_can_be_chosen():
    machine = FakeMachine(lambda name, i: {"a": 1.0, "b": 4.0}[name], lambda name, i: 0.5)
    result = compare(
        {"a": machine.side("a"), "b": machine.side("b")},
        warmup=1,
        rounds=20,
        calls_per_round=3,
        reference="b",
        wall_clock=machine.wall_clock,
        cpu_clock=machine.cpu_clock,
        load_average=lambda: None,
    )
    assert machine.calls == {"a": 1 + 60, "b": 1 + 60}
    assert result["sides"]["a"]["wall_seconds"]["median"] == pytest.approx(1.0)
    assert result["ratios"]["a"]["wall"]["median"] == pytest.approx(0.25) and "b" not in result["ratios"]


def test_summarize_matches_numpy():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    stats = summarize(values)
    assert stats["median"] == np.median(values) and stats["n"] == 8
    assert stats["q1"] == np.percentile(values, 25) and stats["q3"] == np.percentile(values, 75)
    with pytest.raises(ValueError, match="values"):
        summarize([])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sides": {"a": lambda: None}}, "at least two"),
        ({"sides": {"a": lambda: None, "b": 3}}, "callable"),
        ({"rounds": MIN_ROUNDS - 1}, "rounds must be >= 20"),
        ({"warmup": 0}, "warmup must be >= 1"),
        ({"calls_per_round": 0}, "calls_per_round"),
        ({"reference": "c"}, "reference must be one of"),
        ({"units_per_call": 0}, "units_per_call"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {"sides": {"a": lambda: None, "b": lambda: None}, **kwargs}
    with pytest.raises(ValueError, match=message):
        compare(**arguments)


def test_run_record_and_atomic_json(tmp_path):
    record = run_record(["python", "benchmarks/x.py", "--flag", "a b"])
    assert record["command"] == "python benchmarks/x.py --flag 'a b'" and record["cpu_count"] >= 1
    assert record["load_average"] is None or len(record["load_average"]) == 3
    path = tmp_path / "results" / "x.json"
    write_json(path, {"figure": 1.5, "record": record})
    assert json.loads(path.read_text())["figure"] == 1.5
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]  # no temporary left behind


def test_run_script_passes_the_exit_status_and_turns_ctrl_c_into_130(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["benchmarks/some_benchmark.py", "--flag"])
    assert run_script(lambda: None) == 0 and run_script(lambda: 3) == 3

    def swallows_the_interrupt_then_works_on():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the interrupt lands here...
        except:  # noqa: E722 (...and is lost, as in a library's __del__)
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # a benchmark's next epochs
            time.sleep(0.01)
        return 0

    started = time.monotonic()
    assert run_script(swallows_the_interrupt_then_works_on) == 130
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert "some_benchmark.py: interrupted" in err and "Traceback" not in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler given back


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda path: path.name)
def test_every_benchmark_script_runs_its_main_through_run_script(script):
    tree = ast.parse(script.read_text())
    [guard] = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    assert "sys.exit(run_script(main))" in ast.unparse(guard), f"{script.name}: a Ctrl-C could be lost"
