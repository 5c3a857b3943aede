"""The only way the staff side talks to a citizen's conversation.

Each step triggers an ``EXTERNAL_handoff_*`` intent through the Rasa server's
authenticated API with the ticket's channel as output channel, the path the
dossier notices take: the bot itself writes the message, so web chat,
Telegram and Zalo all receive it, it is stored (redacted) in the tracker, and
the conversation's handoff slot follows the queue.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import List, Optional

from dichvucong import contract
from dichvucong.handoff.queue import HandoffQueue
from dichvucong.handoff.tickets import HandoffError, Ticket
from dichvucong.rasa_api import RasaApi, RasaUnreachable

logger = logging.getLogger(__name__)

MAX_MESSAGE = 2000


class RelayError(HandoffError):
    """The message could not reach the citizen; Vietnamese, shown to staff as is."""


def _trigger(api: RasaApi, ticket: Ticket, intent: str, entities: dict) -> None:
    try:
        reply = api.trigger_intent(ticket.conversation_id, intent, entities,
                                   output_channel=ticket.channel)
    except RasaUnreachable as error:
        raise RelayError(f"Không gửi được tới người dân ({ticket.channel}): "
                         f"máy chủ trợ lý không trả lời.") from error
    if not reply.ok:
        raise RelayError(f"Không gửi được tới người dân ({ticket.channel}): mã {reply.status}.")


def _entities(ticket: Ticket, **extra: str) -> dict:
    return {contract.ENTITY_HANDOFF_TICKET: str(ticket.id), **extra}


def announce_taken(api: RasaApi, queue: HandoffQueue, ticket_id: int, operator: str,
                   display_name: Optional[str] = None,
                   now: Optional[dt.datetime] = None) -> Ticket:
    """Take the ticket and tell the citizen a staff member has the question."""
    ticket = queue.take(ticket_id, operator, now=now)
    _trigger(api, ticket, contract.INTENT_HANDOFF_TAKEN,
             _entities(ticket, **{contract.ENTITY_HANDOFF_OPERATOR: display_name or ""}))
    return ticket


def check_message(text: Optional[str]) -> str:
    text = (text or "").strip()
    if not text:
        raise HandoffError("Tin nhắn trống.")
    if len(text) > MAX_MESSAGE:
        raise HandoffError(f"Tin nhắn quá dài (tối đa {MAX_MESSAGE} ký tự).")
    return text


def _held_by(queue: HandoffQueue, ticket_id: int, operator: str) -> Ticket:
    ticket = queue.get(ticket_id)
    if ticket.status != "active":
        raise HandoffError(f"Yêu cầu số {ticket_id} không còn mở.")
    if ticket.taken_by != operator:
        raise HandoffError(f"Yêu cầu số {ticket_id} do cán bộ {ticket.taken_by} phụ trách.")
    return ticket


def send_operator_message(api: RasaApi, queue: HandoffQueue, ticket_id: int, operator: str,
                          text: str, now: Optional[dt.datetime] = None) -> Ticket:
    """Deliver the operator's text to the citizen's channel (the ticket must be theirs)."""
    text = check_message(text)
    ticket = _held_by(queue, ticket_id, operator)
    _trigger(api, ticket, contract.INTENT_HANDOFF_MESSAGE,
             _entities(ticket, **{contract.ENTITY_HANDOFF_TEXT: text}))
    queue.touch(ticket.id, now)
    return ticket


def _announce_end(api: RasaApi, ticket: Ticket) -> None:
    _trigger(api, ticket, contract.INTENT_HANDOFF_ENDED,
             _entities(ticket, **{contract.ENTITY_HANDOFF_ENDED_BY: ticket.ended_by or ""}))


def end_by_operator(api: RasaApi, queue: HandoffQueue, ticket_id: int, operator: str,
                    now: Optional[dt.datetime] = None) -> Ticket:
    """Close the ticket and give the conversation back to the assistant."""
    _held_by(queue, ticket_id, operator)
    ticket = queue.end(ticket_id, "operator", now=now)
    if ticket is None:
        raise HandoffError(f"Yêu cầu số {ticket_id} đã kết thúc.")
    _announce_end(api, ticket)
    return ticket


def end_expired(api: RasaApi, queue: HandoffQueue,
                now: Optional[dt.datetime] = None) -> List[Ticket]:
    """The sweep: close what timed out and tell each citizen (failures are logged)."""
    ended = queue.expire(now)
    for ticket in ended:
        try:
            _announce_end(api, ticket)
        except RelayError as error:
            logger.warning("handoff %s timed out but the citizen was not told: %s",
                           ticket.id, error)
    return ended
