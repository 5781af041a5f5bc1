"""The documentation site's contracts, checked without building it (no TensorFlow import; < 2 s).

* every public module, class and function of kerasdl has a docstring, and every public method
  of a public class has one unless it overrides a framework hook (Keras' ``call``,
  ``get_config``, callbacks' ``on_*`` ...), whose meaning the base class documents;
* every docstring parses as Google style without the warnings that fail ``mkdocs build --strict``
  (an ``Args:`` entry naming a parameter the signature lacks, e.g. ``a, b: ...``);
* the API reference covers every public module (the generator discovers them from the files);
* docs/benchmarks.md is exactly what tools/benchmark_page.py makes of benchmarks/results/*.json.

Public (as in the task): named in the module's ``__all__``, or not starting with ``_``. Only
objects defined in kerasdl are checked (re-exports are checked where they are defined), and the
modules are read statically with griffe, the library mkdocstrings renders them with.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest

griffe = pytest.importorskip("griffe", reason="griffe comes with the docs/dev extra (mkdocstrings[python])")

ROOT = Path(__file__).resolve().parent.parent

# Methods that override a documented framework hook: Keras layers/models/losses/callbacks,
# LearningRateSchedule, pickle's Unpickler.
HOOKS = {
    "build",
    "call",
    "compute_output_shape",
    "compute_output_spec",
    "compute_mask",
    "get_config",
    "from_config",
    "train_step",
    "test_step",
    "predict_step",
    "find_class",
    "persistent_load",
}


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def package():
    return griffe.load("kerasdl", search_paths=[str(ROOT)], resolve_aliases=False)


@pytest.fixture(scope="module")
def modules():
    # the same discovery the site's reference pages use (mkdocs imports the hooks module itself)
    pytest.importorskip("mkdocs", reason="mkdocs comes with the docs/dev extra")
    return _load_tool("mkdocs_hooks").public_modules()


def _module(package, name):
    return package if name == "kerasdl" else package[name[len("kerasdl.") :]]


def _is_public(module, name):
    exported = module.exports  # the names in __all__ (None without one)
    return (exported is not None and name in exported) or not name.startswith("_")


def _public_objects(package, modules):
    """(dotted name, griffe object) of every public class, function and method defined in kerasdl."""
    for module_name in modules:
        module = _module(package, module_name)
        yield module_name, module
        for name, member in module.members.items():
            if member.is_alias or member.kind.value not in ("class", "function") or not _is_public(module, name):
                continue
            yield f"{module_name}.{name}", member
            if member.kind.value == "class":
                for method_name, method in member.members.items():
                    if method.is_alias or method.kind.value != "function" or method_name.startswith("_"):
                        continue
                    if method_name in HOOKS or method_name.startswith("on_"):
                        continue
                    yield f"{module_name}.{name}.{method_name}", method


def test_reference_covers_every_public_module(modules):
    files = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "kerasdl").rglob("*.py")
    }
    expected = {
        m
        for m in files
        if not any(part.startswith("_") for part in m.split(".")[1:])
        and not m.startswith(("kerasdl.apps", "kerasdl.cli"))
        and all((ROOT / Path(*m.split(".")[:i]) / "__init__.py").exists() for i in range(1, len(m.split("."))))
    }
    assert set(modules) == expected
    assert {"kerasdl", "kerasdl.models", "kerasdl.models.resnet", "kerasdl.analysis"} <= set(modules)
    assert not any(m.startswith("kerasdl.apps") or m.startswith("kerasdl._") for m in modules)


def test_every_public_name_has_a_docstring(package, modules):
    missing = []
    for dotted, obj in _public_objects(package, modules):
        if obj.docstring is None or not obj.docstring.value.strip():
            missing.append(dotted)
    assert not missing, "public names without a docstring:\n  " + "\n  ".join(missing)


def test_docstrings_parse_as_google_style_without_warnings(package, modules, caplog):
    # griffe logs a warning for each problem mkdocs --strict would fail on
    caplog.set_level(logging.WARNING, logger="griffe")
    for _, obj in _public_objects(package, modules):
        if obj.docstring is not None:
            obj.docstring.parse("google", warn_missing_types=False)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not problems, "docstrings mkdocstrings cannot render cleanly:\n  " + "\n  ".join(problems)


def test_benchmark_page_is_current():
    page_tool = _load_tool("benchmark_page")
    expected = page_tool.render_page()
    current = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert current == expected, "docs/benchmarks.md is stale: run python tools/benchmark_page.py"


def test_benchmark_page_tolerates_missing_keys_and_new_files(tmp_path):
    page_tool = _load_tool("benchmark_page")
    # a registered benchmark that recorded almost nothing, one with a wrong layout, and a new one
    (tmp_path / "mnist_cnn.json").write_text('{"test_accuracy": 0.5}')
    (tmp_path / "rl.json").write_text('{"dqn": {"runs": "not a list"}, "nas": [1, 2]}')
    (tmp_path / "brand_new.json").write_text(
        '{"command": "python benchmarks/brand_new.py --fast", "score": 0.25,'
        ' "runs": [{"seed": 0, "accuracy": 0.5}, {"seed": 1, "loss": 2.0}]}'
    )
    page = page_tool.render_page(tmp_path)
    assert "| test accuracy | 50.00% |" in page
    assert "## Brand new" in page and "`python benchmarks/brand_new.py --fast`" in page
    assert "| score | 0.25 |" in page
    assert "|  | seed | accuracy | loss |" in page and "| 1 | 1 | – | 2 |" in page  # a row per run
    assert "`nas / 0` | 1 |" not in page and "`nas` | [1, 2] |" in page


def test_site_nav_lists_every_guide_and_every_reference_page(modules):
    hooks = _load_tool("mkdocs_hooks")
    config = hooks.on_config({"nav": [{"Home": "index.md"}, {"Guides": ["guides/index.md"]}]})
    guides = config["nav"][1]["Guides"]
    assert [next(iter(entry.values())) for entry in guides[1:]] == [
        f"guides/{p.stem}.md" for p in hooks.guide_scripts()
    ]
    assert all(next(iter(entry)) for entry in guides[1:])  # titled from the guides' first headings

    def pages(entries):
        for entry in entries:
            (value,) = entry.values()
            yield from pages(value) if isinstance(value, list) else [value]

    reference = config["nav"][-1]["API reference"]
    listed = list(pages(reference))
    assert sorted(listed) == sorted(hooks._reference_uri(m) for m in modules)  # each module once
