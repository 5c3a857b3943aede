"""Dossiers: national codes, the store (status history, subscriptions, lookups), CSV import, notices."""

from dichvucong.codes import EXAMPLE_CODE, find_code, is_valid_code, normalize_code
from dichvucong.dossiers.models import (
    STATUS_LABELS,
    STATUSES,
    Dossier,
    Status,
    StatusEvent,
    Subscription,
)
from dichvucong.dossiers.store import (
    DossierError,
    DossierExists,
    DossierNotFound,
    DossierRepository,
    code_key,
    conversation_key,
    migrate,
)

__all__ = [
    "EXAMPLE_CODE",
    "STATUSES",
    "STATUS_LABELS",
    "Dossier",
    "DossierError",
    "DossierExists",
    "DossierNotFound",
    "DossierRepository",
    "Status",
    "StatusEvent",
    "Subscription",
    "code_key",
    "conversation_key",
    "find_code",
    "is_valid_code",
    "migrate",
    "normalize_code",
]
