"""``python -m apps.train``: runs :mod:`kerasdl.apps.train` (also ``kerasdl train``).

A shim kept so the repository's ``python -m apps.train`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.train``.
"""

import sys

from kerasdl.apps.train import main

if __name__ == "__main__":
    sys.exit(main())
