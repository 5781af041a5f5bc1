"""MkDocs hooks for kerasdl's documentation site (``hooks:`` in mkdocs.yml).

Two kinds of pages are generated at build time, so neither can go stale:

* **API reference.** One page per public module of ``kerasdl``, each holding a single
  mkdocstrings directive (``::: kerasdl.models.resnet``). Modules are discovered from the
  package's files (:func:`public_modules`), so a module added to the package gets a page
  and a nav entry on the next build with no edit here. Private modules (a name component
  starting with ``_``) and the command-line layer (:data:`EXCLUDED`) are left out.
* **Guides.** Every ``docs/guides/*.py`` (jupytext percent scripts) is executed by
  ``tools/render_guides.py`` in one subprocess and turned into a Markdown page with its
  printed output and matplotlib figures. Guides run in smoke mode (``KERASDL_GUIDE_SMOKE=1``,
  a few seconds each) unless ``KERASDL_GUIDE_FULL=1`` is set. Results are cached under
  ``build/docs-guides/`` keyed by the guides' sources, the package's sources and the mode,
  so ``mkdocs serve`` does not re-run them on every edit of an unrelated page.

A guide that raises fails the build, as a broken reference does under ``mkdocs build --strict``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kerasdl"
GUIDES_DIR = ROOT / "docs" / "guides"
CACHE_DIR = ROOT / "build" / "docs-guides"

# The command-line layer: documented on the command-line page, not an import API.
EXCLUDED = ("kerasdl.apps", "kerasdl.cli")


def public_modules(package_dir: Path = PACKAGE) -> list[str]:
    """Dotted names of kerasdl's public modules, found from the files on disk.

    A module is public when no component of its dotted name starts with ``_`` (so
    ``kerasdl._runs`` and ``kerasdl.apps._common`` are private) and it is not under one
    of :data:`EXCLUDED`. Packages are listed by their own name (``kerasdl.models``).

    Args:
        package_dir: the ``kerasdl`` package directory.

    Returns:
        Sorted dotted module names, the package itself first.
    """
    names = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part.startswith("_") for part in parts[1:]) or "__pycache__" in parts:
            continue
        # only modules Python can import: every folder above is a package
        folders = path.relative_to(package_dir.parent).parents
        if not all((package_dir.parent / folder / "__init__.py").exists() for folder in list(folders)[:-1]):
            continue
        name = ".".join(parts)
        if any(name == ex or name.startswith(ex + ".") for ex in EXCLUDED):
            continue
        names.append(name)
    return sorted(set(names), key=lambda n: (n != "kerasdl", n))


def _reference_uri(module: str) -> str:
    return "reference/" + module.replace(".", "/") + ".md"


def _reference_nav(modules: list[str]) -> list:
    """Nested nav entries: one section per package, its own page first, then its modules."""
    packages = {m for m in modules if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    tree: dict = {}
    for module in modules:
        parts = module.split(".")
        node = tree
        for depth in range(1, len(parts)):
            prefix = ".".join(parts[:depth])
            if prefix in packages and prefix != "kerasdl":
                node = node.setdefault(prefix, {})
        node.setdefault("__pages__", []).append(module)

    def build(node):
        entries = []
        for module in node.get("__pages__", []):
            if module in packages and module in node:
                continue
            entries.append({module: _reference_uri(module)})
        for key in sorted(k for k in node if k != "__pages__"):
            children = build(node[key])
            entries.append({key: [{key: _reference_uri(key)}, *children]})
        return entries

    return build(tree)


def _guide_title(path: Path) -> str:
    """The guide's first Markdown heading, or its file name."""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.lstrip("# ").strip()
        if line.startswith("# #") and stripped:
            return stripped
    return path.stem.replace("_", " ")


def guide_scripts() -> list[Path]:
    """The guides, ``docs/guides/[0-9]*.py``, in file-name order (the course order)."""
    return sorted(GUIDES_DIR.glob("[0-9]*.py"))


def _guides_key(scripts: list[Path], smoke: bool) -> str:
    digest = hashlib.sha256(b"smoke" if smoke else b"full")
    for path in [*scripts, ROOT / "tools" / "render_guides.py", *sorted(PACKAGE.rglob("*.py"))]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def render_guides_cached() -> Path:
    """Run every guide (cached) and return the folder that holds the rendered pages."""
    scripts = guide_scripts()
    smoke = os.environ.get("KERASDL_GUIDE_FULL") != "1"
    out = CACHE_DIR / ("smoke" if smoke else "full") / _guides_key(scripts, smoke)
    if not (out / "DONE").exists():
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if smoke:
            env["KERASDL_GUIDE_SMOKE"] = "1"
        else:
            env.pop("KERASDL_GUIDE_SMOKE", None)
        command = [sys.executable, str(ROOT / "tools" / "render_guides.py"), "--out", str(out)]
        subprocess.run(command + [str(s) for s in scripts], check=True, env=env, cwd=ROOT)
        (out / "DONE").write_text("ok\n")
    return out


def on_config(config):
    """Append the generated reference and guide pages to the nav."""
    nav = list(config["nav"] or [])
    guides = [{_guide_title(p): f"guides/{p.stem}.md"} for p in guide_scripts()]
    for entry in nav:
        if isinstance(entry, dict) and "Guides" in entry:
            entry["Guides"] = list(entry["Guides"]) + guides
    nav.append({"API reference": _reference_nav(public_modules())})
    config["nav"] = nav
    return config


def on_files(files, config):
    """Add the reference pages and the rendered guides (pages and figures) to the build."""
    for module in public_modules():
        files.append(File.generated(config, _reference_uri(module), content=f"# `{module}`\n\n::: {module}\n"))
    # The guide scripts themselves are sources, not pages or assets of the site.
    for file in list(files):
        if file.src_uri.startswith("guides/") and file.src_uri.endswith(".py"):
            files.remove(file)
    if guide_scripts():
        rendered = render_guides_cached()
        for path in sorted(rendered.rglob("*")):
            if path.is_file() and path.suffix in (".md", ".png"):
                uri = "guides/" + path.relative_to(rendered).as_posix()
                files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
