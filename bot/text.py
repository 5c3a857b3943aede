"""Moved to :mod:`dichvucong.text`; kept until the last importers move."""
from dichvucong.text import *  # noqa: F401,F403
