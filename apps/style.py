"""``python -m apps.style``: runs :mod:`kerasdl.apps.style` (also ``kerasdl style``).

A shim kept so the repository's ``python -m apps.style`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.style``.
"""

import sys

from kerasdl.apps.style import main

if __name__ == "__main__":
    sys.exit(main())
