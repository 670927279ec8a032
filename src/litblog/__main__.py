"""``python -m litblog`` is ``build-site``."""

import sys

from .buildtime.commands.cli import main

sys.exit(main())
