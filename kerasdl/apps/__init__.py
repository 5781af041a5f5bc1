"""Runnable kerasdl applications, installed with the package.

Each app is a module here with ``DESCRIPTION``, ``add_arguments(parser)``, ``run(args)``
and ``main(argv=None)``; it runs as ``kerasdl NAME``, as ``python -m kerasdl.apps.NAME``
and, in a checkout of the repository, as ``python -m apps.NAME`` (``apps/NAME.py`` there is
a shim that calls this module's ``main``). App modules import TensorFlow inside ``run`` so
that ``--help`` stays instant. Modules whose name starts with ``_`` are shared helpers,
not apps.

Apps are thin: they parse flags, call library functions and print. The library never
imports this package (the import direction is apps → library).
"""

import pkgutil


def _discover() -> dict:
    return {
        info.name: f"{__name__}.{info.name}"
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
        if not info.name.startswith("_")
    }


# app name -> module; the kerasdl CLI builds one sub-command per entry.
APPS = _discover()
