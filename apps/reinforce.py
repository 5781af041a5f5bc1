"""``python -m apps.reinforce``: runs :mod:`kerasdl.apps.reinforce` (also ``kerasdl reinforce``).

A shim kept so the repository's ``python -m apps.reinforce`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.reinforce``.
"""

import sys

from kerasdl.apps.reinforce import main

if __name__ == "__main__":
    sys.exit(main())
