"""``python -m litblog`` is ``build-site``."""

import sys

from .build.cli import main

sys.exit(main())
