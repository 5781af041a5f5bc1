"""``python -m apps.translate``: runs :mod:`kerasdl.apps.translate` (also ``kerasdl translate``).

A shim kept so the repository's ``python -m apps.translate`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.translate``.
"""

import sys

from kerasdl.apps.translate import main

if __name__ == "__main__":
    sys.exit(main())
