"""``python -m apps.detect``: runs :mod:`kerasdl.apps.detect` (also ``kerasdl detect``).

A shim kept so the repository's ``python -m apps.detect`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.detect``.
"""

import sys

from kerasdl.apps.detect import main

if __name__ == "__main__":
    sys.exit(main())
