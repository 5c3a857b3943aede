"""All reads and writes of dossiers, their history, subscriptions and lookups.

Every public method opens and commits its own short transaction and returns
detached ORM objects whose columns stay readable (``expire_on_commit=False``).
Errors caused by bad input raise :class:`DossierError`, a ``ValueError`` whose
message is Vietnamese and can be shown to staff as is.

The package is split by concern; :class:`DossierRepository` puts the parts
together and is what callers use:

- ``engine``: engines, Alembic configuration, ``migrate`` and ``downgrade``;
- ``validation``: the errors and the input rules (no database);
- ``base``: shared state (sessions, pepper, lockout policies), lookup scope keys;
- ``dossiers``: register, correct, move and list dossiers, status history;
- ``verification``: second-factor checks and lockout (``dichvucong.throttle``);
- ``subscriptions``: subscriptions and the once-only notice log.
"""

from dichvucong.dossiers.store.base import CODE_PREFIX, code_key, conversation_key
from dichvucong.dossiers.store.engine import (
    ALEMBIC_INI,
    MIGRATIONS_DIR,
    alembic_config,
    downgrade,
    make_engine,
    migrate,
)
from dichvucong.dossiers.store.subscriptions import DossierRef, Reminder, Subscriptions
from dichvucong.dossiers.store.validation import (
    DossierError,
    DossierExists,
    DossierNotFound,
    check_status_change,
    fmt_date,
)
from dichvucong.dossiers.store.verification import Verification


class DossierRepository(Verification, Subscriptions):
    """Dossiers, history, lookups and subscriptions over one engine.

    Build it with ``DossierRepository(engine)`` or ``DossierRepository.from_url(url)``.
    """


__all__ = [
    "ALEMBIC_INI",
    "CODE_PREFIX",
    "MIGRATIONS_DIR",
    "DossierError",
    "DossierExists",
    "DossierNotFound",
    "DossierRef",
    "DossierRepository",
    "Reminder",
    "alembic_config",
    "check_status_change",
    "code_key",
    "conversation_key",
    "downgrade",
    "fmt_date",
    "make_engine",
    "migrate",
]
