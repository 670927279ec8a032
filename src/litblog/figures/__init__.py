"""``litblog.figures``, the public path recipes import: it is :mod:`litblog.common.figures`."""

import sys

from ..common import figures

sys.modules[__name__] = figures
