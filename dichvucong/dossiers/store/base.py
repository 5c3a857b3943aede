"""What every part of the repository shares: engine, sessions, pepper, lockout policies.

The mixins in the sibling modules build on :class:`RepositoryBase`; the lookup
scope keys live here because the throttle policy is chosen by their prefix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Type, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from dichvucong.codes import normalize_code
from dichvucong.dossiers.models import Dossier
from dichvucong.dossiers.store.engine import make_engine
from dichvucong.dossiers.store.validation import DossierNotFound
from dichvucong.privacy import digest
from dichvucong.settings import settings
from dichvucong.throttle import CODE_POLICY, Policy, Throttle

# --- lookup scopes -----------------------------------------------------------


def _scope(prefix: str, value: str) -> str:
    key = f"{prefix}:{value}"
    # Sender ids come from outside; very long ones are hashed to fit the column.
    if len(key) > 200:
        key = f"{prefix}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"
    return key


CODE_PREFIX = "code:"


def conversation_key(sender_id: str) -> str:
    return _scope("conv", sender_id)


def code_key(code: str) -> str:
    return _scope("code", normalize_code(code) or code.strip().upper())


# --- the shared state --------------------------------------------------------

R = TypeVar("R", bound="RepositoryBase")


class RepositoryBase:
    def __init__(
        self,
        engine: Engine,
        *,
        pepper: str | None = None,
        max_failures: int | None = None,
        lock_minutes: int | None = None,
        window_minutes: int | None = None,
    ) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        defaults = settings().dossiers
        self.pepper = defaults.pepper if pepper is None else pepper
        max_failures = max_failures or defaults.lookup_max_failures
        lock_time = dt.timedelta(minutes=lock_minutes or defaults.lookup_lock_minutes)
        # Failures are counted over a window as long as the lock itself unless
        # told otherwise: three wrong guesses spread over a day are not an attack.
        window = dt.timedelta(minutes=window_minutes or lock_minutes or defaults.lookup_lock_minutes)
        self.conversation_policy = Policy(max_failures=max_failures, lock=lock_time, window=window)
        self.code_policy = dataclasses.replace(
            CODE_POLICY, max_failures=max_failures, lock=lock_time, window=window
        )
        self.throttle = Throttle(self._sessions, self._policy)

    @classmethod
    def from_url(cls: Type[R], url: str | None = None, **kwargs) -> R:
        return cls(make_engine(url), **kwargs)

    def session(self) -> Session:
        return self._sessions()

    def schema_ready(self) -> bool:
        """True once the migrations have created the tables."""
        return inspect(self.engine).has_table(Dossier.__tablename__)

    def dispose(self) -> None:
        self.engine.dispose()

    def _digest(self, value: str, code: str) -> str:
        return digest(value, code, self.pepper)

    def _policy(self, key: str) -> Policy:
        return self.code_policy if key.startswith(CODE_PREFIX) else self.conversation_policy


# --- query helpers -----------------------------------------------------------


def ref_id(value) -> int:
    """The id of an ORM row, or the id itself."""
    return value if isinstance(value, int) else value.id


def find(session: Session, code: str, for_update: bool = False) -> Dossier | None:
    query = select(Dossier).where(Dossier.code == code)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def get_or_raise(session: Session, code: str, for_update: bool = False) -> Dossier:
    dossier = find(session, code, for_update)
    if dossier is None:
        raise DossierNotFound(f"Không tìm thấy hồ sơ có mã {code}.")
    return dossier
