"""Moved to :mod:`dichvucong.knowledge.base`; kept until the last importers move."""
from dichvucong.knowledge.base import *  # noqa: F401,F403
