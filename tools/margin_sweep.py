"""Run the learned-threshold tests over several seeds and oneDNN settings; report any that flip.

A learned-threshold test (``@pytest.mark.learned``: a loss falls by a factor, an accuracy
passes a bar) must pass on every machine of the same kind, not only on the one it was
written on. Another machine may pick other oneDNN kernels (AVX-512 or AVX2) or none, and
a different seed is a different trajectory. This script runs ``pytest -m learned`` once per
(setting, seed offset) — ``--seed-offset`` shifts every ``keras.utils.set_random_seed`` call,
see ``tests/conftest.py`` — and writes which tests failed where::

    python tools/margin_sweep.py                      # offsets 0 1 2, three kernel settings
    python tools/margin_sweep.py --offsets 0 1 2 3 4 --settings onednn onednn-off

Settings: ``onednn`` (TensorFlow's default on x86), ``onednn-off``
(``TF_ENABLE_ONEDNN_OPTS=0``: Eigen kernels) and ``avx2`` (oneDNN capped at AVX2 with
``ONEDNN_MAX_CPU_ISA``, as on a CPU without AVX-512). The JSON goes to
``benchmarks/results/test_margins.json``; the exit status is 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "onednn": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "onednn-off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "avx2": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}
# Capping oneDNN below the CPU's real ISA is an emulation: TensorFlow still sees the CPU's
# bfloat16 support and asks oneDNN for bf16 kernels it then refuses, which aborts the
# process. A real AVX2-only CPU takes TensorFlow's own bf16 path, so the emulation skips
# the mixed-precision tests rather than reporting that abort.
SETTING_PYTEST_ARGS = {"avx2": ["-k", "not mixed_precision"]}


def run_once(setting: str, offset: int, marker: str, extra: list[str]) -> dict:
    """One pytest run; returns ``{"failed": [...], "passed": n, "seconds": s}``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        env = {**os.environ, **SETTINGS[setting]}
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-m",
            marker,
            f"--seed-offset={offset}",
            f"--junitxml={report}",
            *SETTING_PYTEST_ARGS.get(setting, []),
            *extra,
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        seconds = time.perf_counter() - start
        if not report.is_file():
            return {"failed": ["<pytest did not run>"], "passed": 0, "seconds": round(seconds, 1)}
        cases = ET.parse(report).getroot().iter("testcase")
        failed, passed = [], 0
        for case in cases:
            name = f"{case.get('classname')}::{case.get('name')}"
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(name)
            elif case.find("skipped") is None:
                passed += 1
    return {"failed": failed, "passed": passed, "seconds": round(seconds, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offsets", type=int, nargs="+", default=[0, 1, 2], help="seed offsets to try")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--marker", default="learned and not slow", help="pytest -m expression selecting the tests")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "test_margins.json"))
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (e.g. a test file)")
    args = parser.parse_args(argv)
    if any(offset < 0 for offset in args.offsets):
        parser.error("--offsets must be >= 0")

    runs, load_before = [], os.getloadavg()
    for setting in args.settings:
        for offset in args.offsets:
            result = run_once(setting, offset, args.marker, args.pytest_args)
            runs.append({"setting": setting, "seed_offset": offset, **result})
            status = "ok" if not result["failed"] else f"FAILED {', '.join(result['failed'])}"
            print(
                f"{setting:11s} offset {offset}: {result['passed']} passed, {result['seconds']:.0f} s  {status}",
                flush=True,
            )
    flipped = sorted({name for run in runs for name in run["failed"]})
    summary = {
        "runs": runs,
        "flipped": flipped,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(tmp, output)
    print(f"\n{len(runs)} runs; tests that failed in any: {flipped or 'none'}; written to {output}")
    return 1 if flipped else 0


if __name__ == "__main__":
    sys.exit(main())
