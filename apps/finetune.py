"""``python -m apps.finetune``: runs :mod:`kerasdl.apps.finetune` (also ``kerasdl finetune``).

A shim kept so the repository's ``python -m apps.finetune`` commands keep working; the app
itself is installed with the package as ``kerasdl.apps.finetune``.
"""

import sys

from kerasdl.apps.finetune import main

if __name__ == "__main__":
    sys.exit(main())
