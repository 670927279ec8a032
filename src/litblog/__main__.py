"""``python -m litblog`` is ``build-site``."""

import sys

from .cli import main

sys.exit(main())
