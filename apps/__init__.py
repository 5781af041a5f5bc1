"""Runnable kerasdl applications.

Each app is a module here with ``DESCRIPTION``, ``add_arguments(parser)``, ``run(args)``
and ``main(argv=None)``; it runs as ``python -m apps.NAME`` and as ``kerasdl NAME``.
App modules import TensorFlow inside ``run`` so that ``--help`` stays instant.
"""

# app name -> module; the kerasdl CLI builds one sub-command per entry.
APPS = {
    "demo": "apps.demo",
    "train": "apps.train",
}
