"""Repository shims for ``python -m apps.NAME``.

The apps live in the installed package, :mod:`kerasdl.apps` (``kerasdl/apps/NAME.py``);
the wheel installs no top-level ``apps`` package. Each ``apps/NAME.py`` here only runs
``kerasdl.apps.NAME``'s ``main``, so the commands written as ``python -m apps.NAME`` keep
working from a checkout. Outside the repository use ``kerasdl NAME`` or
``python -m kerasdl.apps.NAME``.
"""
