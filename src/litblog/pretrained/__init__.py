"""``litblog.pretrained``, the public path recipes import: it is :mod:`litblog.runtime.pretrained`."""

import sys

from ..runtime import pretrained

sys.modules[__name__] = pretrained
