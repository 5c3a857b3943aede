"""Moved to :mod:`dichvucong.settings`; kept until the last importers move."""
from dichvucong.settings import *  # noqa: F401,F403
