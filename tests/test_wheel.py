"""The wheel is the product: built from this checkout, it installs only ``kerasdl``, and the
CLI and every app's ``--help`` run from that install alone.

The wheel is built from a copy of the checkout (without .git, .venv, build outputs), so a
stale ``build/`` folder cannot leak old files into it, and installed with
``pip install --no-deps --target``. The commands then run from a folder outside the
repository with ``PYTHONPATH`` set to the install, so the repository's own ``kerasdl`` (and
its ``apps/`` shims) cannot stand in for the installed one.
"""

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# what a fresh checkout holds but a build must not read: VCS, virtualenvs, build outputs, run folders
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "runs", "saved_models", "results"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """``(wheel file, install folder)``: the wheel built from this checkout and installed with --target."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(root / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel_file,) = (root / "dist").glob("kerasdl-*.whl")
    target = root / "site"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(target),
            str(wheel_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    return wheel_file, target


def _run_installed(target, cwd, *args, timeout=300):
    """``python *args`` that can import only the installed kerasdl (cwd outside the repository)."""
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_wheel_holds_only_the_kerasdl_package(wheel):
    wheel_file, target = wheel
    names = zipfile.ZipFile(wheel_file).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"kerasdl"}, sorted(top_level)
    assert "kerasdl/apps/__init__.py" in names and "kerasdl/apps/gan.py" in names and "kerasdl/cli.py" in names
    assert not any(name.startswith(("apps/", "tests/", "benchmarks/", "tools/")) for name in names)
    assert {p.name for p in target.iterdir() if not p.name.endswith(".dist-info")} <= {"kerasdl", "bin"}


def test_list_and_every_apps_help_run_from_the_install(wheel, tmp_path):
    _, target = wheel
    script = r"""
import contextlib, io, sys
from pathlib import Path
import kerasdl
from kerasdl import cli
from kerasdl.apps import APPS

assert Path(kerasdl.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), kerasdl.__file__
listing = io.StringIO()
with contextlib.redirect_stdout(listing):
    assert cli.main(["list"]) == 0
assert "mnist_cnn" in listing.getvalue() and "gan" in listing.getvalue(), listing.getvalue()
for name in APPS:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            cli.main([name, "--help"])
        except SystemExit as stop:
            assert stop.code == 0, (name, stop.code)
        else:
            raise AssertionError(f"{name} --help did not exit")
    assert out.getvalue().startswith(f"usage: kerasdl {name}"), out.getvalue()
print(" ".join(APPS))
"""
    result = _run_installed(target, tmp_path, "-c", script, str(target))
    assert result.returncode == 0, result.stderr
    apps = result.stdout.split()
    assert {"demo", "train", "gan", "detect", "sentiment"} <= set(apps), apps

    # each app as its own module, and the console script the wheel declares
    for name in apps:
        module = _run_installed(target, tmp_path, "-m", f"kerasdl.apps.{name}", "--help", timeout=120)
        assert module.returncode == 0 and module.stdout.startswith(f"usage: python -m kerasdl.apps.{name}"), (
            name,
            module.stderr,
        )
    entry_points = (next(target.glob("kerasdl-*.dist-info")) / "entry_points.txt").read_text()
    assert "kerasdl = kerasdl.cli:main" in entry_points


def test_demo_trains_one_epoch_from_the_install(wheel, tmp_path):
    _, target = wheel
    result = _run_installed(
        target, tmp_path, "-m", "kerasdl.cli", "demo", "--epochs", "1", "--dataset", "digits", timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "SavedModel" in result.stdout or "export" in result.stdout, result.stdout
    assert (tmp_path / "saved_models" / "demo").is_dir() and (tmp_path / "runs" / "demo").is_dir()


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``import X``, ``from X import ...``; relative imports resolved
    against the kerasdl package they sit in), at any depth of the file."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = ".".join(path.relative_to(REPO).with_suffix("").parts[: -node.level])
                names.add(f"{package}.{node.module}" if node.module else package)
            else:
                names.add(node.module)
    return names


def test_the_library_imports_neither_the_apps_nor_the_cli():
    """Import direction apps → library: outside ``kerasdl/apps`` and ``kerasdl/cli.py`` no module
    of the package imports ``kerasdl.apps``, the repository's ``apps`` shims or ``kerasdl.cli``."""
    offenders = {}
    for path in sorted((REPO / "kerasdl").rglob("*.py")):
        relative = path.relative_to(REPO)
        if relative.parts[1] == "apps" or relative.as_posix() == "kerasdl/cli.py":
            continue
        bad = {
            name
            for name in _imported_modules(path)
            if name.split(".")[0] == "apps" or name.startswith(("kerasdl.apps", "kerasdl.cli"))
        }
        if bad:
            offenders[relative.as_posix()] = sorted(bad)
    assert offenders == {}


def _app_imports(path: Path) -> list[str]:
    """The app modules ``path`` imports: the top-level ``apps`` shims or ``kerasdl.apps``
    (``from kerasdl import apps`` included)."""
    tree = ast.parse(path.read_text(), str(path))
    from_kerasdl = {
        f"kerasdl.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "kerasdl"
        for alias in node.names
    }
    return sorted(
        name
        for name in _imported_modules(path) | from_kerasdl
        if name.split(".")[0] == "apps" or name == "kerasdl.apps" or name.startswith("kerasdl.apps.")
    )


def test_benchmarks_import_the_installed_library_without_path_edits():
    """Benchmarks run against the installed kerasdl: no ``sys.path`` edits, no import of the
    repository's top-level ``apps`` shims (``benchmarks/dcgan_jax*.py`` included) and none of
    ``kerasdl.apps`` (an app is a command line; what a benchmark runs is a library flow)."""
    offenders = {}
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        edits = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ]
        apps = _app_imports(path)
        if edits or apps:
            offenders[path.name] = {"sys.path at lines": edits, "imports": apps}
    assert offenders == {}


def test_the_benchmarks_of_the_moved_flows_call_the_library():
    """sentiment, textgen and finetune_alpaca run ``kerasdl.text.classifier``,
    ``kerasdl.text.char_lm`` and ``kerasdl.transfer`` (their apps' flows), not the apps."""
    expected = {
        "sentiment.py": "kerasdl.text.classifier",
        "textgen.py": "kerasdl.text.char_lm",
        "finetune_alpaca.py": "kerasdl.transfer",
    }
    for name, module in expected.items():
        imported = _imported_modules(REPO / "benchmarks" / name)
        assert module in imported and _app_imports(REPO / "benchmarks" / name) == [], (name, sorted(imported))


def test_the_app_import_check_sees_every_spelling(tmp_path):
    """The check above is not blind: each way of importing an app is caught."""
    for line in (
        "import apps.gan",
        "from apps import gan",
        "import kerasdl.apps.gan",
        "from kerasdl.apps import gan",
        "from kerasdl import apps",
        "from kerasdl.apps.sentiment import run",
    ):
        (tmp_path / "bench.py").write_text(line + "\n")
        assert _app_imports(tmp_path / "bench.py"), line
    (tmp_path / "bench.py").write_text("from kerasdl import text\nimport kerasdl.applications_like\n")
    assert _app_imports(tmp_path / "bench.py") == []
