"""Moved to :mod:`dichvucong.privacy`; kept while importers move."""
from dichvucong.privacy import *  # noqa: F401,F403
from dichvucong.privacy import MASK  # noqa: F401
