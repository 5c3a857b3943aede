"""Moved to :mod:`dichvucong.codes`; kept while importers move."""
from dichvucong.codes import *  # noqa: F401,F403
from dichvucong.codes import code_date, code_spans, find_codes  # noqa: F401
