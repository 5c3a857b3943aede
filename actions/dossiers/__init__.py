"""Moved to :mod:`dichvucong.dossiers`; kept until the last importers move."""
from dichvucong.dossiers import *  # noqa: F401,F403
