"""``python -m apps.segment``: runs :mod:`kerasdl.apps.segment` (also ``kerasdl segment``).

A shim kept so the repository's ``python -m apps.segment`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.segment``.
"""

import sys

from kerasdl.apps.segment import main

if __name__ == "__main__":
    sys.exit(main())
