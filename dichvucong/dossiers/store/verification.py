"""Second-factor checks on citizens' lookups, and the lockout that guards them.

A citizen proves a dossier is theirs with digits of the identity number or
phone; answers for unknown codes and wrong digits cost the same work and look
the same. Repeated failures are counted by :mod:`dichvucong.throttle`.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Iterable

from dichvucong import metrics
from dichvucong.codes import normalize_code
from dichvucong.dossiers.models import Dossier
from dichvucong.dossiers.store.base import code_key
from dichvucong.dossiers.store.dossiers import DossierRecords
from dichvucong.dossiers.store.validation import require_code
from dichvucong.privacy import digits_only, normalize_identity, normalize_phone

_DUMMY = "0" * 64


class Verification(DossierRecords):
    # --- identity checks -----------------------------------------------------

    def verify(self, code: str, digits: str) -> Dossier | None:
        """The dossier if ``digits`` prove the citizen owns it, else None.

        ``digits`` are the last four digits of the identity number or of the
        registered phone (a full identity or phone number also works). An
        unknown code and wrong digits give the same None after the same
        amount of work, so the answer does not reveal which codes exist.
        """
        canonical = normalize_code(code or "") or ""
        dossier = self.get(canonical) if canonical else None
        number = digits_only(digits or "")
        if len(number) == 4:
            candidate = number
            targets = [_attr(dossier, "id_last4_digest"), _attr(dossier, "phone_last4_digest")]
        elif normalize_identity(number):
            candidate = number
            targets = [_attr(dossier, "id_digest")]
        elif normalize_phone(digits or ""):
            candidate = normalize_phone(digits or "")
            targets = [_attr(dossier, "phone_digest")]
        else:
            candidate = number
            targets = []
        found = dossier if self._matches(candidate, canonical, targets) and dossier else None
        metrics.LOOKUPS.labels("verified" if found else "refused").inc()
        return found

    def verify_phone(self, code: str, phone: str) -> Dossier | None:
        """The dossier if ``phone`` (e.g. a contact shared on Telegram) is the registered one."""
        canonical = normalize_code(code or "") or ""
        dossier = self.get(canonical) if canonical else None
        candidate = normalize_phone(phone or "") or ""
        ok = self._matches(candidate, canonical, [_attr(dossier, "phone_digest")])
        found = dossier if ok and candidate and dossier else None
        metrics.LOOKUPS.labels("verified" if found else "refused").inc()
        return found

    def _matches(self, candidate: str, code: str, targets: Iterable[str | None]) -> bool:
        computed = self._digest(candidate, code)
        ok = False
        for target in targets:
            # Compare against a dummy when there is nothing stored, to keep timing flat.
            ok |= hmac.compare_digest(computed, target or _DUMMY) and target is not None
        return ok

    # --- lockout (dichvucong.throttle) ----------------------------------------

    def check_locked(
        self, keys: Iterable[str], now: dt.datetime | None = None
    ) -> dt.datetime | None:
        """The time until which any of ``keys`` is locked, or None if none is."""
        return self.throttle.locked_until(keys, now)

    def record_failure(
        self, keys: Iterable[str], now: dt.datetime | None = None
    ) -> dt.datetime | None:
        """Count one failed lookup against every key; returns the lock end if now locked."""
        return self.throttle.fail(keys, now)

    def clear_failures(self, keys: Iterable[str]) -> None:
        """A successful lookup: the streaks end (the daily and monthly caps still count)."""
        self.throttle.succeed(keys)

    def unlock(self, code: str) -> int:
        """Staff lift a dossier code's lock (e.g. after a citizen's call)."""
        return self.throttle.unlock([code_key(require_code(code))])


def _attr(dossier: Dossier | None, name: str) -> str | None:
    return getattr(dossier, name) if dossier is not None else _DUMMY
