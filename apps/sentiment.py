"""``python -m apps.sentiment``: runs :mod:`kerasdl.apps.sentiment` (also ``kerasdl sentiment``).

A shim kept so the repository's ``python -m apps.sentiment`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.sentiment``.
"""

import sys

from kerasdl.apps.sentiment import main

if __name__ == "__main__":
    sys.exit(main())
