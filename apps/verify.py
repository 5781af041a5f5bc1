"""``python -m apps.verify``: runs :mod:`kerasdl.apps.verify` (also ``kerasdl verify``).

A shim kept so the repository's ``python -m apps.verify`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.verify``.
"""

import sys

from kerasdl.apps.verify import main

if __name__ == "__main__":
    sys.exit(main())
