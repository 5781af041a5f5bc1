"""``python -m apps.nas``: runs :mod:`kerasdl.apps.nas` (also ``kerasdl nas``).

A shim kept so the repository's ``python -m apps.nas`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.nas``.
"""

import sys

from kerasdl.apps.nas import main

if __name__ == "__main__":
    sys.exit(main())
