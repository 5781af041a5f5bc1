"""``python -m apps.textgen``: runs :mod:`kerasdl.apps.textgen` (also ``kerasdl textgen``).

A shim kept so the repository's ``python -m apps.textgen`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.textgen``.
"""

import sys

from kerasdl.apps.textgen import main

if __name__ == "__main__":
    sys.exit(main())
