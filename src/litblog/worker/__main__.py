"""``python -m litblog.worker SPEC`` is ``python -m litblog.runtime.worker SPEC``."""

import sys

from ..runtime.worker import main

sys.exit(main())
