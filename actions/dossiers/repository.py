"""Moved to :mod:`dichvucong.dossiers.store`; kept until the last importers move."""
from dichvucong.dossiers.store import *  # noqa: F401,F403
