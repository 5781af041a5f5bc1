"""``python -m apps.predict``: runs :mod:`kerasdl.apps.predict` (also ``kerasdl predict``).

A shim kept so the repository's ``python -m apps.predict`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.predict``.
"""

import sys

from kerasdl.apps.predict import main

if __name__ == "__main__":
    sys.exit(main())
