"""``python -m apps.adversarial``: runs :mod:`kerasdl.apps.adversarial` (also ``kerasdl adversarial``).

A shim kept so the repository's ``python -m apps.adversarial`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.adversarial``.
"""

import sys

from kerasdl.apps.adversarial import main

if __name__ == "__main__":
    sys.exit(main())
