"""Moved to :mod:`dichvucong.dossiers.models`; kept until the last importers move."""
from dichvucong.dossiers.models import *  # noqa: F401,F403
