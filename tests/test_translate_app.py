"""``kerasdl translate`` end to end with tiny flags: scores for greedy and beam, the attention heat
map, the string → string SavedModel (reloaded by a plain-TensorFlow client in a subprocess and by
``kerasdl predict``), the TSV reader's warnings and bad flags. One app run serves every test."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TINY = ["--units", "16", "--embedding-dim", "8", "--epochs", "1", "--batch-size", "32", "--quiet"]
WORDS = ("cat", "dog", "bird", "fish", "cow", "hen", "pig", "owl", "bee", "ant", "fox", "yak")


@pytest.fixture(scope="module")
def tsv_run(tmp_path_factory):
    from kerasdl.apps import translate

    root = tmp_path_factory.mktemp("translate")
    lines = [f"{w}\t{w[::-1]}" for w in WORDS]
    path = root / "pairs.tsv"
    path.write_text("\n".join(lines[:5] + ["broken line"] + lines[5:]) + "\n")
    argv = ["--task", "tsv", "--tsv", str(path), "--test-fraction", "0.25", "--attention", "luong"]
    argv += ["--beam-width", "3", "--runs-dir", str(root / "runs"), "--export-dir", str(root / "exports"), *TINY]
    with pytest.warns(UserWarning, match="line 6 has no tab"):
        assert translate.main(argv) == 0
    (run_dir,) = (root / "runs").iterdir()
    return json.loads((run_dir / "summary.json").read_text())


def test_app_reports_scores_heat_map_and_export(tsv_run):
    summary = tsv_run
    assert summary["task"] == "tsv" and summary["train_pairs"] == 9 and summary["test_pairs"] == 3
    assert summary["bleu_tokenize"] == "13a"
    for method in ("greedy", "beam"):
        scores = summary["scores"][method]
        assert 0.0 <= scores["exact_match"] <= 1.0 and scores["cer"] >= 0.0 and 0.0 <= scores["bleu"] <= 100.0
    assert Path(summary["attention_png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["export_check"]["texts"] == 4  # the 3 held-out inputs and the empty string
    info = json.loads((Path(summary["export_dir"]) / "assets.extra" / "translator.json").read_text())
    assert info["beam_width"] == 3 and info["attention"] == "luong" and info["task"] == "tsv"


def test_plain_tensorflow_client_calls_the_export(tsv_run):
    sources = [source for source, _, _ in tsv_run["examples"]]
    client = textwrap.dedent(
        """
        import json, sys
        import tensorflow as tf
        loaded = tf.saved_model.load(sys.argv[1])
        texts = tf.constant(json.loads(sys.argv[2]))
        beam = loaded.signatures["serving_default"](texts=texts)
        greedy = loaded.signatures["greedy"](texts=texts)
        empty = loaded.signatures["serving_default"](texts=tf.constant([], tf.string))
        print(json.dumps({
            "beam": [t.decode() for t in beam["translation"].numpy()],
            "greedy": [t.decode() for t in greedy["translation"].numpy()],
            "empty": int(empty["translation"].shape[0]),
            "kerasdl_loaded": any(name.startswith("kerasdl") for name in sys.modules),
        }))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", client, tsv_run["export_dir"], json.dumps(sources)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert not result["kerasdl_loaded"] and result["empty"] == 0
    # The app decoded the same inputs with the same beam search in memory.
    assert result["beam"] == [output for _, output, _ in tsv_run["examples"]]
    assert len(result["greedy"]) == len(sources)


def test_kerasdl_predict_prints_translations(tsv_run, capsys):
    from kerasdl.apps import predict

    source, output, _ = tsv_run["examples"][0]
    assert predict.main([tsv_run["export_dir"], source]) == 0
    assert f"{source}: {output} " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--task", "tsv"],  # no --tsv
        ["--task", "dates", "--tsv", "x.tsv"],  # --tsv without --task tsv
        ["--beam-width", "0"],
        ["--schedule", "warm"],
        ["--task", "tsv", "--tsv", "missing.tsv"],
    ],
)
def test_bad_flags_are_refused(argv, tmp_path):
    from kerasdl.apps import translate

    assert translate.main([*argv, "--runs-dir", str(tmp_path / "runs"), "--no-export"]) in (1, 2)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_unknown_attention_is_a_usage_error():
    from kerasdl.apps import translate

    with pytest.raises(SystemExit) as exit_info:
        translate.main(["--attention", "general"])
    assert exit_info.value.code == 2
