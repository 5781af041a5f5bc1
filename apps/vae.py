"""``python -m apps.vae``: runs :mod:`kerasdl.apps.vae` (also ``kerasdl vae``).

A shim kept so the repository's ``python -m apps.vae`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.vae``.
"""

import sys

from kerasdl.apps.vae import main

if __name__ == "__main__":
    sys.exit(main())
