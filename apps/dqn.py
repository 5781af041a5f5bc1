"""``python -m apps.dqn``: runs :mod:`kerasdl.apps.dqn` (also ``kerasdl dqn``).

A shim kept so the repository's ``python -m apps.dqn`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.dqn``.
"""

import sys

from kerasdl.apps.dqn import main

if __name__ == "__main__":
    sys.exit(main())
