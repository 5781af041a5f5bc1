"""``python -m apps.demo``: runs :mod:`kerasdl.apps.demo` (also ``kerasdl demo``).

A shim kept so the repository's ``python -m apps.demo`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.demo``.
"""

import sys

from kerasdl.apps.demo import main

if __name__ == "__main__":
    sys.exit(main())
