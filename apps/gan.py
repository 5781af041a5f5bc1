"""``python -m apps.gan``: runs :mod:`kerasdl.apps.gan` (also ``kerasdl gan``).

A shim kept so the repository's ``python -m apps.gan`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.gan``.
"""

import sys

from kerasdl.apps.gan import main

if __name__ == "__main__":
    sys.exit(main())
