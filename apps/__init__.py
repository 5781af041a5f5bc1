"""Runnable kerasdl applications.

Each app is a module here with ``DESCRIPTION``, ``add_arguments(parser)``, ``run(args)``
and ``main(argv=None)``; it runs as ``python -m apps.NAME`` and as ``kerasdl NAME``.
App modules import TensorFlow inside ``run`` so that ``--help`` stays instant.
Modules whose name starts with ``_`` are shared helpers, not apps.
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
