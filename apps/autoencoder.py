"""``python -m apps.autoencoder``: runs :mod:`kerasdl.apps.autoencoder` (also ``kerasdl autoencoder``).

A shim kept so the repository's ``python -m apps.autoencoder`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.autoencoder``.
"""

import sys

from kerasdl.apps.autoencoder import main

if __name__ == "__main__":
    sys.exit(main())
