"""Tell subscribers that their dossier moved, through the Rasa server's API.

The notifier only says *which* dossier changed and why; the bot composes the
message itself (``action_notify_dossier_update``) on the channel the citizen
subscribed from, so web chat, Telegram and Zalo all get the same text.
"""
from __future__ import annotations

import logging
from typing import Optional

from dichvucong import contract
from dichvucong.dossiers.models import StatusEvent, Subscription
from dichvucong.dossiers.store import DossierRepository
from dichvucong.rasa_api import RasaApi, RasaUnreachable
from dichvucong.settings import settings

logger = logging.getLogger(__name__)

UPDATE_INTENT = contract.INTENT_DOSSIER_UPDATE
REMINDER_INTENT = contract.INTENT_DOSSIER_REMINDER


class NotificationError(RuntimeError):
    pass


def trigger(subscription: Subscription, intent: str, entities: dict) -> None:
    api = settings().rasa_api
    try:
        reply = RasaApi(api.url, api.token).trigger_intent(
            subscription.recipient_id, intent, entities, output_channel=subscription.channel
        )
    except RasaUnreachable as error:
        raise NotificationError(f"không gửi được tới {subscription.channel}: {error}") from error
    if not reply.ok:
        raise NotificationError(f"không gửi được tới {subscription.channel}: mã {reply.status}")


def notify_status_change(repo: DossierRepository, event: StatusEvent) -> int:
    """Send one update per active subscriber; returns how many were sent."""
    sent, failures = 0, []
    for subscription in repo.subscribers(event.dossier.code):
        if repo.was_notified(subscription, "status", event):
            continue
        try:
            trigger(subscription, UPDATE_INTENT, {"dossier_code": event.dossier.code})
        except NotificationError as error:
            failures.append(str(error))
            continue
        repo.mark_notified(event.dossier, subscription, "status", event)
        sent += 1
    if failures:
        raise NotificationError("; ".join(failures))
    return sent


def send_reminders(repo: DossierRepository, today=None, days: Optional[int] = None) -> int:
    """Overdue and stalled notices, each sent once per subscriber (for cron)."""
    sent = 0
    for dossier, subscription, kind in repo.pending_reminders(today, days):
        try:
            trigger(subscription, REMINDER_INTENT, {"dossier_code": dossier.code, "reminder": kind})
        except NotificationError as error:
            logger.warning("reminder for %s not sent: %s", dossier.code, error)
            continue
        repo.mark_notified(dossier, subscription, kind)
        sent += 1
    return sent
