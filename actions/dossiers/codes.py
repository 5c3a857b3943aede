"""Moved to :mod:`dichvucong.dossiers.codes`; kept while importers move."""
from dichvucong.dossiers.codes import *  # noqa: F401,F403
from dichvucong.dossiers.codes import code_date, code_spans, find_codes  # noqa: F401
